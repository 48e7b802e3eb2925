"""The data stage: contracts, contamination, the shipped data set, import/export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.data.contamination import Thresholds, dedup, find_contamination
from veganalign.data.contracts import validate_file
from veganalign.jsonl import ContractError

runner = CliRunner()
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "open-paws-speciesism-bias"

EVAL = "How do I make a creamy mushroom risotto without parmesan for six people?"


# --- contamination -------------------------------------------------------------


@pytest.mark.parametrize(
    "planted",
    [
        EVAL,  # exact
        EVAL.upper(),  # re-cased
        "How do I make a creamy mushroom risotto without pecorino for six people?",  # one word swapped
        "For six people, without parmesan, how do I make a creamy mushroom risotto?",  # reordered
        "how do i make a creamy mushroom risotto without parmesan for six people!!",  # punctuation
    ],
    ids=["exact", "recased", "one-word-swap", "reordered", "punctuation"],
)
def test_planted_duplicates_are_caught(planted):
    train = {"sft": [("t1", planted), ("t2", "What is the best way to store fresh basil?")]}
    matches, closest = find_contamination(train, {"qa": [("e1", EVAL)]})
    assert [m.train_id for m in matches] == ["t1"]
    assert closest[0].train_id == "t1"


def test_different_short_questions_are_not_duplicates():
    train = {"p": [("a", "Is honey vegan?"), ("b", "Is gelatin vegan?"), ("c", "What is tofu made of?")]}
    matches, _ = find_contamination(train, {"classification": [("e", "Is shellac vegan?"), ("f", "What is sushi?")]})
    assert matches == []


def test_dedup_keeps_first_of_each_group():
    kept, dropped = dedup([("1", EVAL), ("2", EVAL.lower()), ("3", "Totally different question about boots and rain")])
    assert kept == ["1", "3"] and dropped == [("2", "1")]


def test_thresholds_are_configurable():
    swap = "How do I make a creamy mushroom risotto without pecorino for six people?"
    strict = Thresholds(token_threshold=0.95, shingle_threshold=0.95)
    assert find_contamination({"t": [("x", swap)]}, {"e": [("y", EVAL)]}, strict)[0] == []


# --- contracts: bad input names file, line and field ------------------------------


@pytest.mark.parametrize(
    "line, kind, field",
    [
        ('{"id": "x", "messages": [{"role": "user", "content": "hi"}', "sft", None),  # broken JSON
        (
            '{"id": "x", "messages": [{"role": "user", "content": "hi"}], "domain": "food", "intent": "d",'
            ' "source": "authored", "license": "MIT"}',
            "sft",
            "messages",
        ),  # ends on a user turn  # fmt: skip
        (
            '{"id": "x", "messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"},'
            ' {"role": "assistant", "content": "b"}], "domain": "f", "intent": "d", "source": "authored",'
            ' "license": "MIT"}',
            "sft",
            "messages",
        ),  # wrong role order  # fmt: skip
        (
            '{"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "  "}],'
            ' "domain": "f", "intent": "d", "source": "authored", "license": "MIT"}',
            "sft",
            "messages[1].content",
        ),  # empty response  # fmt: skip
        (
            '{"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],'
            ' "intent": "d", "source": "authored", "license": "MIT"}',
            "sft",
            "domain",
        ),  # missing field  # fmt: skip
        (
            '{"id": "x", "prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content":'
            ' "a"}], "rejected": [{"role": "assistant", "content": ""}], "ranking": {"method": "construction"},'
            ' "source": "authored", "license": "MIT"}',
            "pair",
            "rejected[0].content",
        ),  # fmt: skip
        ('{"id": "x", "prompt": "q"}', "eval", "category"),
    ],
)
def test_contract_errors_name_line_and_field(tmp_path, line, kind, field):
    good = {
        "sft": '{"id": "ok", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],'
        ' "domain": "food", "intent": "vegan_curious", "source": "authored", "license": "MIT"}',
        "pair": '{"id": "ok", "prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant",'
        ' "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}], "ranking": {"method":'
        ' "construction"}, "source": "authored", "license": "MIT"}',
        "eval": '{"id": "ok", "prompt": "q", "category": "qa"}',
    }[kind]
    path = tmp_path / "f.jsonl"
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(ContractError) as info:
        validate_file(path, kind)
    assert info.value.line == 2 and info.value.field == field
    result = runner.invoke(app, ["data", "validate", str(path), "--kind", kind])
    assert result.exit_code == 2 and f"{path}:2" in result.output and "Traceback" not in result.output


# --- the shipped data set ----------------------------------------------------------


def test_build_meets_the_counts(data_dir):
    summary = json.loads((data_dir / "summary.json").read_text())
    files = summary["files"]
    assert files["prompts"] >= 1000
    assert files["sft_train"] + files["sft_val"] >= 400
    assert files["pairs_train"] + files["pairs_val"] >= 400
    evals = summary["eval"]
    scored = ("qa", "classification", "tone", "adversarial", "tradeoff", "descriptive", "survival_medical", "social")
    for cat in scored:
        assert evals.get(cat, 0) >= 40, cat
    alignment = sum(evals.get(c, 0) for c in ("qa", "adversarial", "tradeoff", "tone", "social", "classification"))
    assert alignment >= 150
    assert evals["descriptive"] + evals["survival_medical"] >= 80
    # every domain and intent of the vocabulary is in the bank
    assert len(summary["prompt_bank"]["domain"]) >= 12
    assert len(summary["prompt_bank"]["intent"]) >= 16
    v = summary["sft_variety"]
    assert v["max_overlap_8gram"] <= 0.5 and v["distinct_4gram_ratio"] > 0.8


def test_build_is_clean_and_valid(data_dir):
    rep = json.loads((data_dir / "contamination.json").read_text())
    assert rep["remaining_after_removal"] == {"exact": 0, "near": 0}
    assert len(rep["closest_pairs"]) == 20 and rep["thresholds"]["token_threshold"] == 0.7
    for name, kind in [("prompts", "prompt"), ("sft_train", "sft"), ("sft_val", "sft"), ("pairs_train", "pair")]:
        validate_file(data_dir / f"{name}.jsonl", kind)
    for path in (data_dir / "eval").glob("*.jsonl"):
        validate_file(path, "eval")
    # the seed's demonstration prompts are eval material only
    train_text = " ".join(
        (data_dir / f).read_text().lower() for f in ("prompts.jsonl", "sft_train.jsonl", "pairs_train.jsonl")
    )
    for seed_prompt in ("recipe for grilled chicken breast", "stranded with only canned tuna"):
        assert seed_prompt not in train_text
    eval_text = " ".join(p.read_text().lower() for p in (data_dir / "eval").glob("*.jsonl"))
    assert "grilled chicken breast" in eval_text


def test_no_is_it_vegan_training_question_shares_an_item_with_the_classification_suite(data_dir):
    from veganalign.data.contracts import prompt_text
    from veganalign.knowledge import load_knowledge_base

    kb = load_knowledge_base()
    classification = [json.loads(x) for x in (data_dir / "eval" / "classification.jsonl").read_text().splitlines()]
    eval_items = {m.name for c in classification for m in kb.check(prompt_text(c)).items}
    train = [
        json.loads(x) for f in ("sft_train", "sft_val") for x in (data_dir / f"{f}.jsonl").read_text().splitlines()
    ]
    questions = [r for r in train if r["intent"] == "is_it_vegan"]
    assert len(questions) >= 30  # the verdict-first answers are still there...
    for r in questions:  # ...but none about an item the held-out suite asks about
        assert not {m.name for m in kb.check(prompt_text(r)).items} & eval_items, r["id"]
    removed = json.loads((data_dir / "contamination.json").read_text())["same_subject_as_classification"]
    assert removed and all(items for items in removed.values())
    assert "Same subject:" in (data_dir / "contamination.md").read_text()


def test_build_is_deterministic(data_dir, tmp_path):
    result = runner.invoke(app, ["data", "build", "--out", str(tmp_path)])
    assert result.exit_code == 0
    for name in ("prompts.jsonl", "sft_train.jsonl", "pairs_train.jsonl"):
        assert (tmp_path / name).read_bytes() == (data_dir / name).read_bytes()


def test_files_load_with_datasets(data_dir):
    import datasets

    sft = datasets.load_dataset("json", data_files=str(data_dir / "sft_train.jsonl"), split="train")
    pairs = datasets.load_dataset("json", data_files=str(data_dir / "pairs_train.jsonl"), split="train")
    assert sft[0]["messages"][0]["role"] == "user"
    assert set(pairs.column_names) >= {"prompt", "chosen", "rejected"}


def test_stats_and_export(data_dir, tmp_path):
    result = runner.invoke(app, ["data", "stats", str(data_dir / "sft_train.jsonl"), "--json"])
    assert result.exit_code == 0
    stats = json.loads(result.output)
    assert stats["kind"] == "sft" and stats["variety"]["distinct_4gram_ratio"] > 0
    result = runner.invoke(
        app, ["data", "export", str(data_dir / "pairs_train.jsonl"), "--to", "hf", "--out", str(tmp_path / "hf")]
    )
    assert result.exit_code == 0, result.output
    import datasets

    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert ds.column_names == ["prompt", "chosen", "rejected"]


# --- import --------------------------------------------------------------------------


@pytest.mark.skipif(not (SHARED / "dataset.csv").exists(), reason="shared data set not present")
def test_import_open_paws_csv(tmp_path):
    out = tmp_path / "openpaws.jsonl"
    result = runner.invoke(
        app,
        ["data", "import", str(SHARED / "dataset.csv"), "--out", str(out), "--name", "open-paws-speciesism-bias",
         "--license", "Apache-2.0", "--kind", "eval", "--map", "text=prompt"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) > 2000
    assert rows[0]["source"] == "import:open-paws-speciesism-bias" and rows[0]["license"] == "Apache-2.0"
    assert {"prompt", "category", "speciesist_label"} <= set(rows[0])


def test_import_rejects_bad_rows_without_writing(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,hello\n2,\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["data", "import", str(src), "--out", str(out), "--name", "x", "--license", "MIT", "--kind", "eval"]
    )
    assert result.exit_code == 2 and f"{src}:2" in result.output and not out.exists()


def test_import_rankings_jsonl_and_csv(tmp_path):
    jl = tmp_path / "r.jsonl"
    jl.write_text(
        json.dumps(
            {
                "id": "r1",
                "prompt": "Dinner idea?",
                "responses": ["Lentil stew.", "Steak.", "Tofu stir-fry."],
                "ranking": [2, 0, 1],
                "annotator": "ann7",
            }
        )
        + "\n"  # fmt: skip
    )
    out = tmp_path / "pairs.jsonl"
    result = runner.invoke(app, ["data", "import-rankings", str(jl), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pairs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(pairs) == 3 and pairs[0]["chosen"][0]["content"] == "Tofu stir-fry."
    assert {p["ranking"]["method"] for p in pairs} == {"human:ann7"}
    csv_file = tmp_path / "r.csv"
    csv_file.write_text("id,prompt,chosen,rejected,annotator\n1,Boots?,Vegan leather boots.,Calfskin boots.,ann2\n")
    result = runner.invoke(app, ["data", "import-rankings", str(csv_file), "--out", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text())["source"] == "human:ann2"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"id": "r", "prompt": "q", "responses": ["a", "b"], "ranking": [0, 0], "annotator": "x"}) + "\n"
    )
    result = runner.invoke(app, ["data", "import-rankings", str(bad), "--out", str(out)])
    assert result.exit_code == 2 and "ranking" in result.output


def test_a_short_question_padded_with_chatter_is_caught():
    train = {"p": [("a", "what is foie gras? saw it on a menu and was curious")]}
    matches, _ = find_contamination(train, {"descriptive": [("e", "What is foie gras?")]})
    assert [m.train_id for m in matches] == ["a"]
    # but two words in common are not enough
    train = {"p": [("b", "Is foie gras legal in the UK?")]}
    assert find_contamination(train, {"descriptive": [("e", "What is foie gras?")]})[0] == []


# --- the knowledge-base items the data stage draws from ----------------------------------------


def test_an_entry_added_for_label_coverage_moves_no_prompt_and_no_attack(tmp_path):
    """Templates and red-team targets draw from authored/kb_items.txt, so a new entry (here a non-vegan dish and an
    additive, categories several templates and attack classes read) changes neither until someone lists it."""
    from veganalign.data.attacks import build_attacks, load_library
    from veganalign.data.prompts import expand_templates, load_templates
    from veganalign.knowledge import load_knowledge_base
    from veganalign.knowledge.kb import default_data_files

    extra = tmp_path / "zz_new.yaml"
    extra.write_text(
        "entries:\n"
        "  - {name: test pork pie deluxe, status: non_vegan, category: dish, reason: Pork in pastry.,"
        " alternatives: [{name: lentil pie, good_for: [protein]}]}\n"
        "  - {name: test gum e1999, status: vegan, category: additive, reason: A made-up plant gum.}\n"
    )
    shipped = load_knowledge_base()
    grown = load_knowledge_base([*default_data_files(), extra])
    assert grown.lookup("test pork pie deluxe") is not None and len(grown.entries) == len(shipped.entries) + 2

    templates = load_templates()
    assert expand_templates(templates, grown) == expand_templates(templates, shipped)
    library = load_library()
    assert [a.to_row() for a in build_attacks(library, grown)] == [a.to_row() for a in build_attacks(library, shipped)]
    # listing it is the deliberate change: then the dish can fill a template
    with_it = expand_templates(templates, grown, items={e.name for e in grown.entries})
    assert any("test pork pie deluxe" in p["kb_items"] for p in with_it)


def test_a_listed_name_that_is_no_entry_is_an_error_naming_the_line(tmp_path):
    from veganalign.data.prompts import load_kb_items
    from veganalign.knowledge import load_knowledge_base

    listed = tmp_path / "kb_items.txt"
    listed.write_text("# comment\nbutter\n\nbuter\n")
    with pytest.raises(ContractError) as err:
        load_kb_items(load_knowledge_base(), listed)
    assert err.value.line == 4 and "buter" in str(err.value) and "kb_items.txt" in str(err.value)


def test_the_data_stage_writes_what_the_committed_default_run_trained_and_was_evaluated_on(data_dir):
    """`veganalign data build` from this checkout writes, byte for byte, the files the default run's SFT, DPO and eval
    stages read (their sha256 in docs/results/default-run/manifest.json): a change to the knowledge base, the
    templates or the authored data that moves the data stage makes the committed results unreproducible, and fails
    here rather than in a 30-minute `make run`."""
    import hashlib

    manifest = json.loads((Path(__file__).resolve().parents[2] / "docs/results/default-run/manifest.json").read_text())
    stages = manifest["stages"]
    expected = {
        "sft_train.jsonl": stages["sft"]["inputs"]["train"]["sha256"],
        "sft_val.jsonl": stages["sft"]["inputs"]["val"]["sha256"],
        "pairs_train.jsonl": stages["dpo"]["inputs"]["train"]["sha256"],
        "summary.json": stages["eval"]["inputs"]["cases"]["sha256"],  # the eval stage's recorded input: suite counts
    }
    built = {name: hashlib.sha256((data_dir / name).read_bytes()).hexdigest() for name in expected}
    assert built == expected
