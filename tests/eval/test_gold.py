"""The gold set, who labeled it, each judge's agreement with it, and a team's own labels."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.eval.judges.rules import RuleJudge

runner = CliRunner()


def test_gold_set_shape_and_agreement():
    from veganalign.eval.gold import agreement, load_gold

    gold = load_gold()
    cats = {g["category"] for g in gold}
    assert len(gold) >= 200 and all(sum(g["category"] == c for g in gold) >= 40 for c in cats)
    real = [g for g in gold if g["source"] not in ("authored", "unknown")]
    assert len(real) >= len(gold) / 2 and {g["source"] for g in real} >= {"base", "base+spec", "tuned"}
    assert all("arm" not in g and "model" not in g for g in gold)  # labelers saw no arm or model
    traps = [g for g in gold if g["source"] == "authored"]
    assert traps and sum(g["label"]["aligned"] for g in traps) == len(traps) / 2  # balanced outcomes
    result = agreement(RuleJudge(), gold)
    assert set(result["categories"]) == cats
    for a in result["categories"].values():
        assert a["flag"] == (a["kappa"] is None or a["kappa"] < 0.6)
    assert result["labelers"]["overall"]["n"] >= 100 and result["labelers"]["overall"]["kappa"] > 0.6


def test_the_shipped_agreement_file_is_what_the_shipped_judge_scores_today():
    """Trust figures in reports come from this file: it must match a fresh re-judging of the gold set.

    When it does not (the judge's code or the knowledge base changed, so its version did),
    regenerate it: veganalign agreement --judge rules --write --markdown docs/judge-agreement.md
    """
    from veganalign.eval.gold import agreement, find_agreement

    judge = RuleJudge()
    shipped = find_agreement(judge.version)
    assert shipped is not None, f"no agreement file for {judge.version}: run veganalign agreement --write"
    assert agreement(judge) == shipped


def test_the_labels_say_who_wrote_them():
    from veganalign.eval.gold import GOLD_DIR, labels_phrase, shipped_annotators

    who = shipped_annotators()
    # the gold labels were written by model-based annotators from LABELING.md; reports must not call them people
    assert who["kind"] == "model" and "LABELING.md" in who["instructions"]
    assert labels_phrase(who).startswith("model-based annotators, not people")
    assert "annotator" in (GOLD_DIR / "LABELING.md").read_text()


def test_a_team_brings_its_own_labels_and_recomputes_the_trust_figures(tmp_path):
    from veganalign.eval.gold import judge_trust, load_gold

    gold = [g for g in load_gold() if g["category"] in ("adversarial", "tone")][:40]
    labels = tmp_path / "labels.jsonl"
    rows = []
    for i, g in enumerate(gold):  # two annotators; the second disagrees on every fifth item
        rows.append({"id": g["id"], "annotator": "ana", "aligned": g["label"]["aligned"], "created_at": "2026-12-01"})
        rows.append({"id": g["id"], "annotator": "ben", "aligned": g["label"]["aligned"] != (i % 5 == 0)})
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    trust_dir = tmp_path / "trust"
    args = ["agreement", "--labels", str(labels), "--annotators", "people", "--out", str(trust_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    judge = RuleJudge()
    written = json.loads((trust_dir / f"agreement-{judge.version}.json").read_text())
    assert written["items"] == 40 and set(written["categories"]) == {"adversarial", "tone"}
    assert written["labels"]["kind"] == "people" and written["labels"]["annotators"] == ["ana", "ben"]
    assert written["labelers"]["overall"]["n"] == 40 and written["labelers"]["overall"]["accuracy"] == 0.8
    assert 0 < written["labels"]["agreement"]["alpha"] < 0.8  # 8 disagreements in 40: far from perfect
    # eval and run read these figures with --trust; reports then say people wrote the labels
    trust = judge_trust(judge, trust_dir)
    assert trust["measured"] and trust["applies"] and trust["labels"]["kind"] == "people"
    assert trust["gold_items"] == 40
    # bad input is named, never a traceback
    labels.write_text('{"id": "nope", "annotator": "ana", "aligned": true}\n')
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "labels.jsonl:1" in result.output and "no gold item" in result.output
    result = runner.invoke(app, ["agreement", "--labels", str(labels)])
    assert result.exit_code == 2 and "--annotators" in result.output


def test_trust_measured_under_another_spec_does_not_apply(tmp_path):
    from conftest import MY_DEPLOYMENT, spec_variant
    from veganalign.eval.gold import judge_trust
    from veganalign.spec import load_spec

    mine = RuleJudge(load_spec(spec_variant(tmp_path / "mine.yaml", deployment=MY_DEPLOYMENT)))
    assert mine.version == RuleJudge().version  # the same judge...
    trust = judge_trust(mine)
    assert trust["measured"] and trust["applies"] is False  # ...but its figures were measured under the default spec
    assert trust["measured_under_spec"] == {"name": "vegan-ethics", "version": "1.0.0"}


def test_real_output_pairs_are_ranked_by_the_gold_labels():
    from veganalign.eval.gold import load_gold, real_output_pairs

    label = {g["id"]: g for g in load_gold()}
    pairs = real_output_pairs()
    assert len(pairs) >= 50
    for p in pairs:
        _, good, bad = p["id"].split("-g-")[0], "g-" + p["id"].split("-g-")[1], "g-" + p["id"].split("-g-")[2]
        assert label[good]["label"]["aligned"] and not label[bad]["label"]["aligned"]
        assert label[good]["case_id"] == label[bad]["case_id"] == p["case_id"]
        assert "authored" not in (label[good]["source"], label[bad]["source"])


def test_agreement_command_writes_the_table(tmp_path):
    md = tmp_path / "agreement.md"
    result = runner.invoke(app, ["agreement", "--judge", "rules", "--markdown", str(md)])
    assert result.exit_code == 0, result.output
    text = md.read_text()
    assert "| adversarial |" in text and "rules-v3+" in text and "second labeler" in text
    assert "model-based annotators, not people" in text
