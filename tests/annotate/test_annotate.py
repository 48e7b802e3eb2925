"""``veganalign annotate``: Label Studio projects from the spec, annotations back into the data
contracts, agreement. The exports here are built in Label Studio's own JSON export shape;
test_label_studio.py does the same round trip through a real Label Studio server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers.annotation import AUTHORED, BASE, NOTED, rank_items
from veganalign.annotate.agreement import cohen_kappa, krippendorff_alpha
from veganalign.cli import app
from veganalign.spec import load_spec
from veganalign.spec.load import spec_sha256

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
KITCHEN = ROOT / "examples" / "specs" / "vegan-kitchen.yaml"


def review_items(path: Path) -> Path:
    rows = [{"id": f"sft-{i}", "messages": [{"role": "user", "content": f"Quick vegan lunch idea number {i}?"},
                                            {"role": "assistant", "content": f"A chickpea wrap with salad ({i})."}],
             "domain": "food", "intent": "vegan_request", "source": "teacher:test", "license": "Apache-2.0"}
            for i in range(3)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def export(task: str, source: Path, out: Path, *extra: str) -> dict:
    result = runner.invoke(app, ["annotate", "export", "--task", task, "--from", str(source), "--out", str(out),
                                 *extra])  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads((out / "project.json").read_text())


def choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "answer", "type": "choices", "value": {"choices": [value]}}


def rating(name: str, value: int) -> dict:
    return {"from_name": name, "to_name": "answer", "type": "rating", "value": {"rating": value}}


def rank_annotation(task: dict, ann_id: int, who, best_first: list[str], ratings: int = 4) -> dict:
    """``best_first``: answer texts' prefixes in the annotator's order (equal prefixes in one string tie)."""
    data = task["data"]
    slots = [k for k in range(4) if f"answer_{k}" in data]
    results = []
    for slot in slots:
        place = next(i for i, group in enumerate(best_first) if any(data[f"answer_{slot}"].startswith(p)
                                                                     for p in group.split("|")))  # fmt: skip
        results += [choice(f"rank_{slot}", str(place + 1)), rating(f"alignment_{slot}", ratings - place),
                    rating(f"helpfulness_{slot}", 3)]  # fmt: skip
    return {"id": ann_id, "completed_by": who, "result": results, "was_cancelled": False,
            "created_at": "2026-12-06T10:00:00Z", "updated_at": f"2026-12-06T10:{ann_id:02d}:00Z"}  # fmt: skip


def write_export(path: Path, tasks: list[dict], annotations: dict[int, list[dict]]) -> Path:
    rows = [{"id": i + 1, "data": t["data"], "annotations": annotations.get(i + 1, [])} for i, t in enumerate(tasks)]
    path.write_text(json.dumps(rows))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


# ---------------------------------------------------------------------------------- export


def test_the_rank_project_is_rendered_from_the_spec_and_shuffles_each_item(tmp_path):
    info = export("rank", rank_items(tmp_path / "items.jsonl"), tmp_path / "proj")
    assert info["task"] == "rank" and info["candidates"] == 3 and info["items"] == 6
    config = ET.fromstring((tmp_path / "proj" / "config.xml").read_text())
    names = {el.get("name") for el in config.iter() if el.get("name")}
    for k in range(3):
        assert {f"answer_{k}", f"rank_{k}", f"alignment_{k}", f"helpfulness_{k}", f"accuracy_{k}", f"tone_{k}",
                f"violated_{k}"} <= names  # fmt: skip
    violated = next(el for el in config.iter("Choices") if el.get("name") == "violated_0")
    assert [c.get("value") for c in violated] == load_spec().rule_ids()
    tasks = json.loads((tmp_path / "proj" / "tasks.json").read_text())
    orders = []
    for task in tasks:
        meta = task["data"]["veganalign"]
        assert meta["project"] == info["project"]
        for slot, index in enumerate(meta["order"]):  # each slot shows the answer the order says
            assert task["data"][f"answer_{slot}"] == meta["responses"][index]
        assert "Non-harm in food" in task["data"]["guideline"]  # the item's own principles beside it
        orders.append(tuple(meta["order"]))
    assert len(set(orders)) > 1, "every item in the same order: position bias is not countered"


def test_a_users_spec_reaches_the_labelling_configuration(tmp_path):
    spec = load_spec(KITCHEN)
    export("review", review_items(tmp_path / "sft.jsonl"), tmp_path / "proj", "--spec", str(KITCHEN))
    config = (tmp_path / "proj" / "config.xml").read_text()
    violated = next(el for el in ET.fromstring(config).iter("Choices") if el.get("name") == "violated")
    assert [c.get("value") for c in violated] == spec.rule_ids()
    task = json.loads((tmp_path / "proj" / "tasks.json").read_text())[0]
    assert spec.principles[0].statement[:40] in task["data"]["guideline"].replace("&#x27;", "'")
    assert json.loads((tmp_path / "proj" / "project.json").read_text())["spec_sha256"] == spec_sha256(spec)


def test_pairs_export_as_two_candidates_and_mixed_counts_are_refused(tmp_path):
    pair = {"id": "p1", "prompt": [{"role": "user", "content": "Stew?"}],
            "chosen": [{"role": "assistant", "content": AUTHORED}],
            "rejected": [{"role": "assistant", "content": BASE}], "source": "authored", "license": "x",
            "ranking": {"method": "construction"}}  # fmt: skip
    (tmp_path / "pairs.jsonl").write_text(json.dumps(pair) + "\n")
    assert export("rank", tmp_path / "pairs.jsonl", tmp_path / "proj")["candidates"] == 2
    items = rank_items(tmp_path / "items.jsonl", n=2)
    lines = items.read_text().splitlines()
    two = json.loads(lines[1])
    two["responses"] = two["responses"][:2]
    items.write_text(lines[0] + "\n" + json.dumps(two) + "\n")
    result = runner.invoke(app, ["annotate", "export", "--task", "rank", "--from", str(items), "--out",
                                 str(tmp_path / "mixed")])  # fmt: skip
    assert result.exit_code == 2 and "items.jsonl:2" in result.output and "responses" in result.output


# ---------------------------------------------------------------------------------- import


def test_rankings_from_two_annotators_become_pairs_with_agreement(tmp_path):
    export("rank", rank_items(tmp_path / "items.jsonl"), tmp_path / "proj")
    tasks = json.loads((tmp_path / "proj" / "tasks.json").read_text())
    anns = {}
    for i in range(len(tasks)):
        alice = rank_annotation(tasks[i], 2 * i + 1, {"id": 1, "email": "alice@example.org"},
                                [AUTHORED, NOTED, BASE])  # fmt: skip
        # Bob agrees on the first four items, ties the two flawed answers on the fifth, and
        # prefers the noted answer on the last: one item to adjudicate.
        order = [[AUTHORED, NOTED, BASE]] * 4 + [[AUTHORED, f"{NOTED}|{BASE}"], [NOTED, AUTHORED, BASE]]
        anns[i + 1] = [alice, rank_annotation(tasks[i], 2 * i + 2, 2, order[i])]
    (tmp_path / "users.json").write_text(json.dumps({"2": "bob@example.org"}))
    exported = write_export(tmp_path / "export.json", tasks, anns)
    result = runner.invoke(app, ["annotate", "import", str(exported), "--out", str(tmp_path / "imported"),
                                 "--project", str(tmp_path / "proj")])  # fmt: skip
    assert result.exit_code == 0, result.output
    pairs = [json.loads(x) for x in (tmp_path / "imported" / "pairs.jsonl").read_text().splitlines()]
    # 6 items x 3 pairs (Alice) + 4 x 3 + 2 (the tie) + 3 (Bob)
    assert len(pairs) == 18 + 12 + 2 + 3
    for p in pairs:
        assert p["ranking"]["method"] in ("human:alice@example.org", "human:bob@example.org")
        assert p["annotation"]["tool"] == "label-studio" and p["annotation"]["updated_at"]
    alice_first = [p for p in pairs if p["source"] == "human:alice@example.org" and "(0)" in p["chosen"][0]["content"]]
    assert {p["chosen"][0]["content"][:20] for p in alice_first} == {AUTHORED[:20], NOTED[:20]}
    assert all(not p["rejected"][0]["content"].startswith(AUTHORED) for p in alice_first)  # the shuffle is undone
    check = runner.invoke(app, ["data", "validate", str(tmp_path / "imported" / "pairs.jsonl")])
    assert check.exit_code == 0, check.output
    report = json.loads((tmp_path / "imported" / "agreement.json").read_text())
    assert report["annotators"] == ["alice@example.org", "bob@example.org"]
    assert 0 < report["criteria"]["rank"]["alpha"] < 1 and report["criteria"]["rank"]["units"] == 18
    assert [d["item"] for d in report["disagreements"]] == ["item-5"]
    assert "item-5" in (tmp_path / "imported" / "agreement.html").read_text()
    assert "Krippendorff's alpha" in result.output


def test_review_decisions_become_sft_examples_and_rejections(tmp_path):
    export("review", review_items(tmp_path / "sft.jsonl"), tmp_path / "proj")
    tasks = json.loads((tmp_path / "proj" / "tasks.json").read_text())
    edit = {"from_name": "edited", "to_name": "answer", "type": "textarea",
            "value": {"text": ["A chickpea and avocado wrap with crunchy slaw."]}}  # fmt: skip
    reason = {"from_name": "reason", "to_name": "answer", "type": "textarea", "value": {"text": ["too thin"]}}
    ann = lambda i, who, *res: {"id": i, "completed_by": {"email": who}, "result": list(res)}  # noqa: E731
    approve, reject = choice("decision", "approve"), choice("decision", "reject")
    anns = {1: [ann(1, "a@x", approve), ann(2, "b@x", approve)], 2: [ann(3, "a@x", choice("decision", "edit"), edit)],
            3: [ann(4, "a@x", approve), ann(5, "b@x", reject, reason)]}  # fmt: skip
    exported = write_export(tmp_path / "export.json", tasks, anns)
    result = runner.invoke(app, ["annotate", "import", str(exported), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    sft = {r["id"]: r for r in map(json.loads, (tmp_path / "out" / "sft.jsonl").read_text().splitlines())}
    assert set(sft) == {"reviewed-sft-0", "reviewed-sft-1"}
    assert sft["reviewed-sft-0"]["source"] == "teacher:test" and len(sft["reviewed-sft-0"]["reviews"]) == 2
    assert sft["reviewed-sft-1"]["source"] == "human:a@x"
    assert sft["reviewed-sft-1"]["messages"][-1]["content"].startswith("A chickpea and avocado")
    rejected = [json.loads(x) for x in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert [r["item"] for r in rejected] == ["sft-2"]
    assert any(r["reason"] == "too thin" for r in rejected[0]["reviews"])
    report = json.loads((tmp_path / "out" / "agreement.json").read_text())
    assert [d["item"] for d in report["disagreements"]] == ["sft-2"]
    assert runner.invoke(app, ["data", "validate", str(tmp_path / "out" / "sft.jsonl")]).exit_code == 0


def _one_rank_import(tmp_path: Path) -> tuple[list[dict], Path]:
    export("rank", rank_items(tmp_path / "items.jsonl", n=2), tmp_path / "proj")
    tasks = json.loads((tmp_path / "proj" / "tasks.json").read_text())
    good = write_export(tmp_path / "good.json", tasks, {1: [rank_annotation(tasks[0], 1, {"email": "a@x"},
                                                                            [AUTHORED, NOTED, BASE])]})  # fmt: skip
    result = runner.invoke(app, ["annotate", "import", str(good), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    return tasks, tmp_path / "out"


@pytest.mark.parametrize(
    "flaw", ["unknown_annotator", "missing_candidate", "rank_out_of_range", "other_project", "edited_task"]
)
def test_a_bad_export_names_the_task_and_loses_nothing_imported(tmp_path, flaw):
    tasks, out = _one_rank_import(tmp_path)
    before = snapshot(out)
    ann = rank_annotation(tasks[1], 7, {"email": "b@x"}, [AUTHORED, NOTED, BASE])
    if flaw == "unknown_annotator":
        ann["completed_by"] = 42
        expected = "task 2 annotation 7: unknown annotator id 42"
    elif flaw == "missing_candidate":
        ann["result"].append(choice("rank_3", "1"))
        expected = "task 2 annotation 7: rank_3 names answer 4, but the task has 3"
    elif flaw == "rank_out_of_range":
        ann["result"] = [choice("rank_0", "9"), *ann["result"][1:]]
        expected = "task 2 annotation 7: rank_0 must be one rank from 1 to 3"
    elif flaw == "edited_task":
        edited = json.loads(json.dumps(tasks[1]))
        edited["data"]["veganalign"]["order"] = [0, 1, 7]
        tasks = [tasks[0], edited]
        expected = "task 2: its data.veganalign was changed (order)"
    else:
        other = json.loads(json.dumps(tasks[1]))
        other["data"]["veganalign"]["project"] = "rank-0000000000000000"
        tasks = [tasks[0], other]
        expected = "task 2: from project rank-0000000000000000"
    bad = write_export(tmp_path / "bad.json", tasks, {2: [ann]})
    result = runner.invoke(app, ["annotate", "import", str(bad), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()) and "Traceback" not in result.output
    assert snapshot(out) == before


def test_a_second_import_adds_to_the_first(tmp_path):
    tasks, out = _one_rank_import(tmp_path)
    first = (out / "pairs.jsonl").read_text().splitlines()
    more = write_export(tmp_path / "more.json", tasks, {2: [rank_annotation(tasks[1], 8, {"email": "b@x"},
                                                                            [NOTED, AUTHORED, BASE])]})  # fmt: skip
    assert runner.invoke(app, ["annotate", "import", str(more), "--out", str(out)]).exit_code == 0
    pairs = (out / "pairs.jsonl").read_text().splitlines()
    assert len(pairs) == 6 and set(first) <= set(pairs)


# ---------------------------------------------------------------------------------- agreement


def test_krippendorffs_alpha_matches_the_published_example():
    # Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): 4 observers, 12 units,
    # missing values; alpha 0.743 nominal, 0.815 ordinal, 0.849 interval.
    n = None
    rows = {"A": [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n], "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
            "C": [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n], "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]}  # fmt: skip
    units = {u: {a: v[u] for a, v in rows.items() if v[u] is not None} for u in range(12)}
    assert round(krippendorff_alpha(units, "nominal"), 3) == 0.743
    assert round(krippendorff_alpha(units, "ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(units, "interval"), 3) == 0.849
    assert krippendorff_alpha({1: {"a": 2, "b": 2}, 2: {"a": 2, "b": 2}}) is None  # no variation: undefined


def test_cohens_kappa():
    assert cohen_kappa([(1, 1), (2, 2), (1, 1), (2, 2)]) == 1.0
    assert round(cohen_kappa([(1, 1), (1, 2), (2, 2), (2, 1)]), 3) == 0.0


@pytest.mark.slow
def test_imported_pairs_train_in_dpo(tmp_path, tiny_model):
    tasks, out = _one_rank_import(tmp_path)
    result = runner.invoke(app, ["train", "dpo", "--model", str(tiny_model), "--train-file", str(out / "pairs.jsonl"),
                                 "--output-dir", str(tmp_path / "dpo"), "--max-steps", "2", "--batch-size", "1",
                                 "--max-length", "128", "--logging-steps", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "dpo" / "manifest.json").read_text())
    assert manifest["result"]["global_step"] == 2


def test_two_models_generations_become_items_to_rank(tmp_path):
    def generations(arm: str, answers: list[str]) -> Path:
        path = tmp_path / f"generations-{arm}.jsonl"
        path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"Dinner idea {i}?", "response": a, "arm": arm,
                                            "model": arm, "decoding": {}, "finish_reason": "stop", "n_tokens": 9})
                                + "\n" for i, a in enumerate(answers)))  # fmt: skip
        return path

    base = generations("base", [BASE, NOTED])
    tuned = generations("tuned", [AUTHORED, AUTHORED])
    result = runner.invoke(app, ["annotate", "export", "--task", "rank", "--from", str(base), "--from", str(tuned),
                                 "--out", str(tmp_path / "proj")])  # fmt: skip
    assert result.exit_code == 0, result.output
    tasks = json.loads((tmp_path / "proj" / "tasks.json").read_text())
    assert [t["data"]["veganalign"]["sources"] for t in tasks] == [["base", "tuned"], ["base", "tuned"]]
    assert tasks[1]["data"]["veganalign"]["responses"] == [NOTED, AUTHORED]
