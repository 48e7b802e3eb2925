"""``veganalign run``: every stage from a user's spec, cached by what each stage reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.pipeline import CONFIG_DIR, STAGES, load_run, plan_stages

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
KITCHEN = ROOT / "examples" / "specs" / "vegan-kitchen.yaml"


def stage_keys(run_dir: Path, spec_file: Path, run=None) -> dict[str, str]:
    from rich.console import Console

    run = run or load_run(CONFIG_DIR / "run-quick.yaml")
    common = {"code_version": "x", "libraries": {}, "seed": 0}
    return {s.name: s.key(common)[0] for s in plan_stages(run_dir, run, spec_file, Console())}


def redone(a: dict[str, str], b: dict[str, str]) -> set[str]:
    return {name for name in STAGES if a[name] != b[name]}


def test_a_spec_edit_redoes_the_stages_that_read_it_and_only_those(tmp_path: Path):
    from conftest import spec_variant

    base = stage_keys(tmp_path, spec_variant(tmp_path / "a.yaml"))

    def statement(data):  # one principle's text, which no later stage reads but the card and the rubric
        data["principles"][3]["statement"] += " Point to cruelty-free suppliers by name."

    def prompt_rule(data):  # a rule of the deployed system prompt: the +spec arms run with it
        data["deployment"]["system_prompt_rules"][0] += " Keep it short."

    def shaming(data):  # a phrase the pair builder and the rule judge read
        data["tone"]["shaming_phrases"].append("carnist")

    assert redone(base, stage_keys(tmp_path, spec_variant(tmp_path / "b.yaml", edit=statement))) == {"spec", "card"}
    assert redone(base, stage_keys(tmp_path, spec_variant(tmp_path / "c.yaml", edit=prompt_rule))) == {
        "spec", "eval", "card"}  # fmt: skip
    assert redone(base, stage_keys(tmp_path, spec_variant(tmp_path / "d.yaml", edit=shaming))) == {
        "spec", "data", "eval", "card"}  # fmt: skip
    # a profile that trains with the system prompt also redoes SFT when the prompt changes
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("profile: quick\nsft:\n  system_prompt: mixed\n")
    run = load_run(mixed)
    with_prompt = stage_keys(tmp_path, spec_variant(tmp_path / "a.yaml"), run)
    changed = stage_keys(tmp_path, spec_variant(tmp_path / "c.yaml", edit=prompt_rule), run)
    assert redone(with_prompt, changed) == {"spec", "sft", "eval", "card"}


def default_wording() -> list[str]:
    """Sentences only the shipped spec has: none may appear in a run under another spec."""
    from veganalign.spec import load_spec

    default = load_spec()
    d = default.deployment
    return [d.assistant_identity, d.non_overridable_notice, d.disclosure, *d.system_prompt_rules]


def files_containing(run_dir: Path, needles: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [n[:40] for n in needles if n.encode() in data]
            if hits:
                found[str(path.relative_to(run_dir))] = hits
    return found


@pytest.mark.slow
def test_run_quick_with_a_users_spec_reports_what_it_lacks_and_keeps_nothing_of_the_default(tmp_path: Path):
    """The issue's acceptance run: changed deployment wording and one principle removed."""
    from conftest import MY_DEPLOYMENT, spec_variant
    from veganalign.spec import load_spec, render_rubric, render_system_prompt, spec_sha256

    mine = spec_variant(tmp_path / "mine.yaml", remove=("respect_for_humans",), deployment=MY_DEPLOYMENT)
    out = tmp_path / "run"
    args = ["run", "--profile", "quick", "--spec", str(mine), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["stages"]) == list(STAGES)
    for stage in manifest["stages"].values():
        assert stage["code_version"] and stage["libraries"]["torch"] and stage["finished_at"]
        for rel in stage["outputs"]:
            assert (out / rel).exists(), rel
    spec = load_spec(mine)
    sha = spec_sha256(spec)
    # its wording: the arms' recorded system prompt, the rubric, the card
    assert (out / "eval" / "system_prompts" / "tuned+spec.txt").read_text() == render_system_prompt(spec)
    gens = [json.loads(x) for x in (out / "eval" / "generations-base+spec.jsonl").read_text().splitlines()]
    assert gens and all(g["system_prompt"] == render_system_prompt(spec) for g in gens)
    assert (out / "spec" / "rubric.txt").read_text() == render_rubric(spec) and "Sprout" in render_system_prompt(spec)
    card = (out / "MODEL_CARD.md").read_text()
    assert MY_DEPLOYMENT["disclosure"] in card and "respect_for_humans" not in card.split("## Data")[0]
    # the missing principle, reported by the judge that needs it and by the data stage
    summary = json.loads((out / "eval" / "summary.json").read_text())
    assert summary["spec"]["sha256"] == sha
    assert "shaming" in summary["judge"]["unjudged_checks"]
    tone = summary["arms"]["base"]["categories"]["tone"]
    assert tone["n"] == 0 and tone["unscored"] == 2  # both tone cases unscored, none counted as passed
    assert "check 'shaming' is not judged under spec" in result.output
    data = json.loads((out / "data" / "summary.json").read_text())
    assert (
        list(data["principles"]["unknown_ids"]) == ["respect_for_humans"] and data["principles"]["dropped"]["sft"] > 0
    )
    listed = json.loads((out / "data" / "unknown_principles.json").read_text())
    assert sum(r["action"] == "dropped" and r["kind"] == "sft" for r in listed) == data["principles"]["dropped"]["sft"]
    assert "Not judged under this spec" in card and f"{data['principles']['dropped']['sft']} SFT examples" in card
    assert "do not apply" in (out / "eval" / "report.html").read_text()  # trust was measured under the default
    # every manifest carries its sha256; nothing in the run carries the default's, or its deployment wording
    for stage in manifest["stages"].values():
        assert stage["spec_sha256"] == sha
    for name in ("sft", "dpo"):
        assert json.loads((out / name / "manifest.json").read_text())["spec_sha256"] == sha
    default_sha = spec_sha256(load_spec())
    assert files_containing(out, [default_sha, default_sha[:16], *default_wording()]) == {}

    # a rerun reuses every stage; a principle's statement edited redoes only the spec copy and the card
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and again.output.count("unchanged, reused") == 8

    def statement(d):
        d["principles"][0]["statement"] += " Suggest co-op produce first."

    edited = spec_variant(tmp_path / "edited.yaml", remove=("respect_for_humans",), deployment=MY_DEPLOYMENT,
                          edit=statement)  # fmt: skip
    third = runner.invoke(app, ["run", "--profile", "quick", "--spec", str(edited), "--out", str(out)])
    assert third.exit_code == 0, third.output
    assert third.output.count("unchanged, reused") == 6 and "stage 8/8: card" in third.output
    assert "Suggest co-op produce first." in (out / "spec" / "rubric.txt").read_text()


@pytest.mark.slow
def test_run_quick_with_the_example_spec_reaches_training_eval_and_card(tmp_path: Path):
    """The shipped second spec, SFT trained under its system prompt: its wording everywhere, none of the default's."""
    from veganalign.spec import load_spec, render_system_prompt, spec_sha256

    config = tmp_path / "kitchen-run.yaml"
    config.write_text(f"profile: quick\nspec: {KITCHEN}\nsft:\n  system_prompt: mixed\n")
    out = tmp_path / "kitchen"
    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    spec = load_spec(KITCHEN)
    prompt = render_system_prompt(spec)
    assert (out / "sft" / "system_prompt.txt").read_text() == prompt  # SFT examples trained with its prompt
    assert (out / "eval" / "system_prompts" / "base+spec.txt").read_text() == prompt
    assert spec.principles[0].statement in (out / "spec" / "rubric.txt").read_text()
    assert spec.deployment.disclosure in (out / "MODEL_CARD.md").read_text()
    sha = spec_sha256(spec)
    for name in ("sft", "dpo"):
        assert json.loads((out / name / "manifest.json").read_text())["spec_sha256"] == sha
    summary = json.loads((out / "eval" / "summary.json").read_text())
    assert summary["spec"]["sha256"] == sha and "non_harm" in summary["judge"]["unjudged_checks"]
    default = load_spec()
    default_sha = spec_sha256(default)
    statements = [p.statement for p in [*default.principles, *default.policies]]
    assert files_containing(out, [default_sha, default_sha[:16], *default_wording(), *statements]) == {}
