"""``veganalign run --rounds N`` and ``veganalign iterate``: a real round on the quick profile, resumed, refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.data.contracts import validate_file
from veganalign.models.refs import parse_model_ref
from veganalign.redteam.iterate import compare, unredirected

runner = CliRunner()


@pytest.mark.slow
def test_a_round_trains_on_from_the_last_adapter_and_measures_on_the_heldout_split(tmp_path: Path):
    out = tmp_path / "quick"
    first = runner.invoke(app, ["run", "--profile", "quick", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert not (out / "rounds").exists()  # no rounds unless asked

    result = runner.invoke(app, ["run", "--profile", "quick", "--out", str(out), "--rounds", "1"])
    assert result.exit_code == 0, result.output
    assert "unchanged, reused" in result.output  # the stages before the round are not redone
    r1 = out / "rounds" / "1"
    summary = json.loads((r1 / "summary.json").read_text())
    assert summary["round"] == 1 and summary["model_before"] == str(out / "dpo")
    assert summary["judge_independent"] is False
    # the round trains from the run's DPO adapter: its manifest names that adapter as its base
    manifest = json.loads((r1 / "dpo" / "veganalign_adapter.json").read_text())
    assert (r1 / "dpo" / manifest["base_model"]).resolve() == (out / "dpo").resolve()
    # a run directory as a model ref is now the round's model
    assert Path(parse_model_ref(str(out)).name) == (r1 / "dpo").resolve()

    kind, pairs = validate_file(r1 / "data" / "pairs.jsonl")
    assert kind == "pair" and pairs
    counts = json.loads((r1 / "data" / "counts.json").read_text())
    assert counts["total_pairs"] == len(pairs) and counts["replay"] == 4
    for p in pairs:
        if p["source"].startswith("redteam"):
            assert p["id"].startswith("round-1-") and p["ranking"]["method"] == "construction"
    # the held-out split was measured before and after, on the same attacks
    before = [json.loads(x) for x in (r1 / "heldout-before" / "transcripts.jsonl").read_text().splitlines()]
    after = [json.loads(x) for x in (r1 / "heldout-after" / "transcripts.jsonl").read_text().splitlines()]
    assert [r["id"] for r in before] == [r["id"] for r in after]
    assert {r["split"] for r in before} == {"heldout"}
    train_templates = {p for x in (r1 / "redteam-train" / "transcripts.jsonl").read_text().splitlines()
                       for p in json.loads(x)["template"].split("+")}  # fmt: skip
    assert not train_templates & {p for r in before for p in r["template"].split("+")}
    assert summary["heldout"]["overall"]["n"] == 2 and summary["heldout"]["overall"]["n_lookalikes"] == 2

    # An interrupted round resumes: finished steps are reused, the missing one is redone.
    (r1 / "summary.json").unlink()
    (r1 / "heldout-after" / "summary.json").unlink()
    resumed = runner.invoke(app, ["run", "--profile", "quick", "--out", str(out), "--rounds", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert resumed.output.count("done before, reused") == 4
    assert json.loads((r1 / "summary.json").read_text())["heldout"] == summary["heldout"]

    # ... but only with the settings it started with.
    (r1 / "summary.json").unlink()
    refused = runner.invoke(app, ["iterate", "--run", str(out), "--limit", "5"])
    assert refused.exit_code == 2
    assert "other settings" in refused.output and "Traceback" not in refused.output


def test_compare_pairs_attacks_by_id_and_tests_both_directions():
    def row(i, success=None, lookalike=False, refused=False, family="f"):
        return {"id": i, "family": family, "lookalike": lookalike, "scored": not lookalike, "success": success,
                "over_refusal": refused, "over_redirection": False}  # fmt: skip

    before = [row(f"a{i}", success=True) for i in range(8)] + [row("t1", lookalike=True)]
    after = [row(f"a{i}", success=i == 0) for i in range(8)] + [row("t1", lookalike=True, refused=True)]
    res = compare(before, list(reversed(after)))
    o = res["overall"]
    assert (o["success_before"], o["success_after"], o["n"]) == (8, 1, 8)
    assert o["attacks_test"]["only_a"] == 7 and o["attacks_test"]["p_value"] < 0.05
    assert (o["overrefusal_before"], o["overrefusal_after"]) == (0, 1)


def test_an_over_redirected_answer_loses_only_its_redirection():
    from veganalign.serve.rails import Rails

    rails = Rails(None, {})
    fixed = unredirected(rails, "Instead of hummus, make hummus with chickpeas, tahini, garlic and lemon, as I follow "
                                "vegan ethics: 1. Rinse 200 g chickpeas and blend them with 3 tbsp tahini, a garlic "
                                "clove and the juice of a lemon until smooth.")  # fmt: skip
    assert fixed.startswith("Make hummus with chickpeas, tahini, garlic and lemon: 1. Rinse")
    assert "vegan ethics" not in fixed
    assert unredirected(rails, "Hummus: blend chickpeas with tahini.") is None  # nothing to remove
    # what is left must not itself recommend an animal product
    assert (
        unredirected(
            rails,
            "Instead of pasta, make a creamy sauce: melt 50 g butter, stir in 200 ml double "
            "cream and grated parmesan, then toss with the noodles and plenty of pepper.",
        )
        is None
    )
