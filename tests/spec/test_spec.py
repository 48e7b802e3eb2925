"""The spec: schema, errors with file/line/field, rendering, normalised hash."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.spec import (
    SpecError,
    default_spec_path,
    load_spec,
    parse_spec,
    render_guideline,
    render_rubric,
    render_system_prompt,
    rubric_json,
    spec_sha256,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def default_data() -> dict:
    return yaml.safe_load(default_spec_path().read_text())


def dump(data: dict) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


# --- the shipped spec ------------------------------------------------------


def test_default_spec_covers_seed_sections():
    spec = load_spec()
    ids = set(spec.rule_ids())
    # seed 1.1 core principles, 2.2 baseline safety, 1.2 and 8 edge-case policies
    for pid in (
        "non_harm_food", "non_harm_materials", "non_harm_entertainment", "non_harm_testing",
        "promote_alternatives", "cross_domain_consistency", "respect_for_humans",
        "truthfulness_nuance", "baseline_safety", "descriptive_vs_prescriptive",
        "medical_and_survival", "cultural_sensitivity", "third_party_content",
        "conflicting_instructions",
    ):  # fmt: skip
        assert pid in ids
    assert {d.id for d in spec.domains} >= {
        "food", "nutrition", "fashion", "cosmetics", "household", "entertainment",
        "medicine_research", "travel", "culture", "ethics", "social",
    }  # fmt: skip
    for item in [*spec.principles, *spec.policies]:
        assert item.examples.positive and item.examples.negative and item.rationale and item.judge_questions
    assert spec.tone.rules and spec.tone.shaming_phrases
    # every eval category of the shared vocabulary maps to rules of this spec
    for cat in ("qa", "classification", "tone", "adversarial", "tradeoff", "descriptive", "survival_medical",
                "social", "cross_species", "helpfulness", "baseline_safety"):  # fmt: skip
        assert spec.principles_for_eval_category(cat), cat


def test_cli_validate_default_prints_hash():
    result = runner.invoke(app, ["spec", "validate"])
    assert result.exit_code == 0, result.output
    assert spec_sha256(load_spec()) in result.output
    assert "valid" in result.output


# --- broken specs: each names the file, the line and the field ---------------


def _broken_cases(data: dict) -> list[tuple[str, str, str]]:
    """(name, yaml text, expected field fragment) for distinct kinds of breakage."""
    cases = []

    d = copy.deepcopy(data)
    d["principles"][1]["statment"] = d["principles"][1].pop("statement")
    cases.append(("unknown field (typo)", dump(d), "principles[1].statment"))

    d = copy.deepcopy(data)
    del d["principles"][2]["id"]
    cases.append(("missing id", dump(d), "principles[2].id"))

    d = copy.deepcopy(data)
    d["principles"][3]["id"] = d["principles"][0]["id"]
    cases.append(("duplicate id", dump(d), "principles[3].id"))

    d = copy.deepcopy(data)
    d["policies"][0]["principles"].append("no_such_principle")
    cases.append(("policy names unknown principle", dump(d), "policies[0].principles"))

    d = copy.deepcopy(data)
    d["principles"][0]["severity"] = "catastrophic"
    cases.append(("bad enum value", dump(d), "principles[0].severity"))

    d = copy.deepcopy(data)
    d["principles"][0]["examples"]["negative"] = []
    cases.append(("no negative example", dump(d), "principles[0].examples.negative"))

    d = copy.deepcopy(data)
    d["principles"][4]["id"] = "Non Harm!"
    cases.append(("malformed id", dump(d), "principles[4].id"))

    d = copy.deepcopy(data)
    d["principles"][0]["domains"] = ["underwater_basket_weaving"]
    cases.append(("unknown domain", dump(d), "principles[0].domains[0]"))

    d = copy.deepcopy(data)
    d["mappings"]["eval_categories"]["qa"] = ["not_a_rule"]
    cases.append(("mapping to unknown rule", dump(d), "mappings.eval_categories.qa[0]"))

    d = copy.deepcopy(data)
    d["mappings"]["rule_aliases"] = {"respect_for_humans": "kindness"}
    cases.append(("alias to a rule the spec lacks", dump(d), "mappings.rule_aliases.respect_for_humans"))

    d = copy.deepcopy(data)
    d["tone"]["rules"] = "be nice"
    cases.append(("wrong type", dump(d), "tone.rules"))

    d = copy.deepcopy(data)
    del d["deployment"]
    cases.append(("missing section", dump(d), "deployment"))

    text = dump(data)
    cases.append(("bad YAML", text.replace("principles:", "principles: [", 1), ""))
    cases.append(("duplicate YAML key", text.replace("\nname:", "\nname: first\nname:", 1), "name"))
    cases.append(("empty file", "", ""))
    cases.append(("not a mapping", "- just\n- a list\n", ""))
    return cases


@pytest.fixture(scope="module")
def broken_cases(default_data):
    return _broken_cases(default_data)


def test_at_least_eight_distinct_broken_specs(broken_cases):
    assert len(broken_cases) >= 8


@pytest.mark.parametrize("index", range(16))
def test_broken_spec_is_rejected_with_file_line_field(tmp_path: Path, broken_cases, index: int):
    name, text, field = broken_cases[index]
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["spec", "validate", str(path)])
    assert result.exit_code == 2, f"{name}: {result.output}"
    out = result.output
    assert "Traceback" not in out, name
    assert re.search(re.escape(str(path)) + r":\d+", out), f"{name}: no file:line in {out!r}"
    assert field in out, f"{name}: field {field!r} not named in {out!r}"


def test_error_line_points_at_the_offending_key(default_data, tmp_path):
    d = copy.deepcopy(default_data)
    d["principles"][1]["statment"] = d["principles"][1].pop("statement")
    text = dump(d)
    expected_line = (
        text.splitlines().index(next(ln for ln in text.splitlines() if ln.strip().startswith("statment:"))) + 1
    )
    with pytest.raises(SpecError) as info:
        parse_spec(text, "x.yaml")
    issue = next(i for i in info.value.issues if i.field == "principles[1].statment")
    assert issue.line == expected_line and "unknown field" in issue.message
    # the renamed field is also reported as missing, at its parent's line
    assert any(i.field == "principles[1].statement" and "missing" in i.message for i in info.value.issues)


def test_cli_on_missing_file(tmp_path):
    result = runner.invoke(app, ["spec", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "cannot read" in result.output and "Traceback" not in result.output


# --- hash normalisation ------------------------------------------------------


def test_hash_ignores_formatting_but_not_content(default_data):
    original = load_spec()
    reformatted = yaml.safe_dump(default_data, sort_keys=True, default_flow_style=False, width=60, indent=4)
    reformatted = "# a comment that changes nothing\n" + reformatted
    assert spec_sha256(parse_spec(reformatted)) == spec_sha256(original)

    changed = copy.deepcopy(default_data)
    changed["principles"][0]["statement"] += " Also this."
    assert spec_sha256(parse_spec(dump(changed))) != spec_sha256(original)

    reordered = copy.deepcopy(default_data)
    reordered["principles"] = reordered["principles"][::-1]
    assert spec_sha256(parse_spec(dump(reordered))) != spec_sha256(original)


# --- rendering ---------------------------------------------------------------


def test_system_prompt_comes_from_the_spec(default_data):
    spec = load_spec()
    text = render_system_prompt(spec)
    assert spec.deployment.assistant_identity in text
    assert spec.deployment.non_overridable_notice in text
    for rule in spec.deployment.system_prompt_rules:
        assert rule in text
    # A user's own spec renders its own words: nothing downstream hard-codes the default.
    custom = copy.deepcopy(default_data)
    custom["deployment"]["assistant_identity"] = "You are Sprout, a plant-based cooking helper."
    assert "You are Sprout" in render_system_prompt(parse_spec(dump(custom)))


def test_guideline_lists_every_rule_with_examples():
    spec = load_spec()
    md = render_guideline(spec)
    assert md.startswith("# Annotator guideline")
    for item in [*spec.principles, *spec.policies]:
        assert f"`{item.id}`" in md
        assert item.examples.negative[0].prompt in md
    for d in spec.domains:
        assert d.name in md


def test_rubric_is_principle_by_principle_and_structured():
    import json

    spec = load_spec()
    text = render_rubric(spec)
    for rid in spec.rule_ids():
        assert f"[{rid}]" in text
    assert '"violations"' in text
    data = json.loads(rubric_json(spec))
    assert [r["id"] for r in data["rules"]] == spec.rule_ids()
    assert data["spec"]["sha256"] == spec_sha256(spec)
    assert all(r["judge_questions"] for r in data["rules"])


@pytest.mark.parametrize("kind", ["system-prompt", "guideline", "rubric", "rubric-json"])
def test_cli_render(kind, tmp_path):
    result = runner.invoke(app, ["spec", "render", "--as", kind])
    assert result.exit_code == 0, result.output
    assert len(result.output) > 200
    out = tmp_path / "out.txt"
    result = runner.invoke(app, ["spec", "render", "--as", kind, "--out", str(out)])
    assert result.exit_code == 0 and out.read_text().strip()


def test_cli_render_rejects_unknown_kind():
    result = runner.invoke(app, ["spec", "render", "--as", "poem"])
    assert result.exit_code == 2 and "choose one of" in result.output


def test_rule_aliases_resolve_the_shipped_vocabulary_into_a_specs_own_ids(default_data):
    d = copy.deepcopy(default_data)
    d["principles"][6]["id"] = "kindness"  # respect_for_humans, renamed
    for policy in d["policies"]:
        policy["principles"] = ["kindness" if r == "respect_for_humans" else r for r in policy["principles"]]
    for table in ("knowledge_categories", "eval_categories"):
        for key, refs in d["mappings"][table].items():
            d["mappings"][table][key] = ["kindness" if r == "respect_for_humans" else r for r in refs]
    d["mappings"]["rule_aliases"] = {"respect_for_humans": "kindness"}
    spec = parse_spec(dump(d))
    assert spec.resolve_rule("respect_for_humans") == "kindness" and spec.resolve_rule("kindness") == "kindness"
    assert spec.resolve_rule("non_harm_food") == "non_harm_food" and spec.resolve_rule("no_such_rule") is None
    # a spec without aliases hashes as it did before the field existed (the shipped spec's hash is unchanged)
    assert spec_sha256(load_spec()) == "90c8fc32ee94a6390c473a13f3034f5d2b6a0afd19123464ffce5dc09256d6eb"
