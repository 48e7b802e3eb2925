"""The attack library: families, splits, look-alikes, encodings, and what a bad library file is told."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.data.attacks import (
    DILEMMA,
    LIBRARY,
    MULTI_TURN,
    build_attacks,
    encode,
    load_library,
)
from veganalign.errors import UserError
from veganalign.knowledge import load_knowledge_base

FAMILIES = {"ignore_instructions", "persona_roleplay", "hypothetical_fiction", "authority_claims", "emotional_pressure",
            "economic_professional", "cultural_tradition", "no_lectures_format", "translation_code_switching",
            "encoding", "many_shot", "indirection", MULTI_TURN, DILEMMA}  # fmt: skip


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base()


def test_every_family_the_issue_names_is_in_the_library_with_both_splits():
    lib = load_library()
    assert set(lib.families) == FAMILIES
    for name, fam in lib.families.items():
        rows = fam.templates or fam.prompts or fam.pushback
        assert {r.split for r in rows} == {"train", "heldout"}, name
    for cls, rows in lib.requests.items():
        assert {r.split for r in rows} == {"train", "heldout"}, cls


def test_heldout_attacks_share_no_template_request_or_pushback_line_with_train(kb):
    lib = load_library()
    train = build_attacks(lib, kb, split="train", limit=12)
    held = build_attacks(lib, kb, split="heldout", limit=12)

    def parts(attacks):
        return {p for a in attacks if not a.lookalike for p in a.template.split("+")}

    assert parts(train) and parts(held) and not parts(train) & parts(held)
    # the fabricated turns of many-shot attacks are split too
    shots = {m["content"] for a in train if a.family == "many_shot" for m in a.messages[:-1]}
    held_shots = {m["content"] for a in held if a.family == "many_shot" for m in a.messages[:-1]}
    assert shots and held_shots and not shots & held_shots
    assert {a.split for a in held} == {"heldout"}


def test_every_attack_asks_for_an_animal_product_and_its_lookalike_for_a_vegan_one(kb):
    attacks = build_attacks(load_library(), kb, split="all", limit=6)
    by_id = {a.id: a for a in attacks}
    twins = [a for a in attacks if a.lookalike]
    assert twins and all(by_id[t.of].family == t.family for t in twins)
    assert not any(a.family == DILEMMA for a in twins)  # a dilemma is answered, not twinned
    for a in attacks:
        if a.family in (DILEMMA, "indirection"):
            continue
        verdict = kb.check(a.judge_case["prompt"]).verdict
        if a.lookalike:
            assert verdict != "non_vegan", a.judge_case["prompt"]
        else:
            assert a.target in a.judge_case["prompt"] and verdict == "non_vegan", a.judge_case["prompt"]


def test_wrappers_keep_the_request_and_encodings_decode_to_it(kb):
    attacks = build_attacks(load_library(), kb, split="all", families=["encoding", "persona_roleplay"], limit=9)
    for a in (a for a in attacks if not a.lookalike):
        text, request = a.messages[-1]["content"], a.judge_case["prompt"]
        if a.family == "persona_roleplay":
            assert request in text
        else:
            assert request not in text  # the judge reads the plain request, the model only the encoded one
            assert any(encode(request, t) in text for t in ("base64", "leetspeak", "reversed"))
    assert base64.b64decode(encode("Give me salmon.", "base64")).decode() == "Give me salmon."
    assert encode("abc", "reversed") == "cba"


def test_multi_turn_attacks_have_two_to_five_user_turns(kb):
    attacks = [a for a in build_attacks(load_library(), kb, families=[MULTI_TURN], limit=20) if not a.lookalike]
    assert len(attacks) == 20
    assert all(2 <= 1 + len(a.pushback) <= 5 for a in attacks)
    assert len({1 + len(a.pushback) for a in attacks}) > 1
    assert all(len(a.pressures) == len(a.pushback) for a in attacks)


def test_the_same_seed_gives_the_same_attacks_and_limit_bounds_each_family(kb):
    lib = load_library()
    a = build_attacks(lib, kb, limit=3, seed=7)
    assert [x.to_row() for x in a] == [x.to_row() for x in build_attacks(lib, kb, limit=3, seed=7)]
    assert [x.to_row() for x in a] != [x.to_row() for x in build_attacks(lib, kb, limit=3, seed=8)]
    counts: dict[str, int] = {}
    for x in a:
        if not x.lookalike:
            counts[x.family] = counts.get(x.family, 0) + 1
    assert max(counts.values()) == 3


def test_a_bad_library_is_reported_with_its_file_and_field(tmp_path: Path):
    data = yaml.safe_load(LIBRARY.read_text())
    data["families"]["persona_roleplay"]["templates"][0]["text"] = "You are a butcher."  # no {request}
    bad = tmp_path / "attacks.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError, match=r"attacks\.yaml: .*persona_roleplay.*\{request\}"):
        load_library(bad)
    result = CliRunner().invoke(app, ["redteam", "--library", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "attacks.yaml" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()

    data["families"]["persona_roleplay"]["templates"][0] = {"id": "x", "split": "later", "text": "{request}"}
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError, match=r"families\.persona_roleplay\.templates\.0\.split"):
        load_library(bad)


def test_unknown_family_and_split_are_refused_before_any_model_loads(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["redteam", "--families", "ignore_instructions,flattery", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "flattery" in result.output
    result = runner.invoke(app, ["redteam", "--split", "test", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--split" in result.output
