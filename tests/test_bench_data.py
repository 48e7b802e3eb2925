"""The benchmarks' case files are eval records, and the held-out ones stay held out: no user turn
in them matches a training prompt of a fresh build (the data stage's own contamination check)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from veganalign.cli import app

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "bench" / "data").glob("*.jsonl"))


def test_every_bench_case_file_is_valid_eval_data_with_unique_ids():
    result = CliRunner().invoke(app, ["data", "validate", *map(str, CASES)])
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["id"] for path in CASES for line in path.read_text().splitlines() if line.strip()]
    assert len(ids) == len(set(ids))


def test_held_out_cases_share_no_prompt_with_training_data(data_dir: Path):
    from veganalign.data.contamination import find_contamination
    from veganalign.data.contracts import prompt_text
    from veganalign.jsonl import read_jsonl

    train = {name: [(str(r["id"]), prompt_text(r)) for _, r in read_jsonl(data_dir / f"{name}.jsonl")]
             for name in ("sft_train", "sft_val", "pairs_train", "pairs_val", "prompts")}  # fmt: skip
    turns = []
    for path in CASES:
        if path.stem.startswith("heldout"):
            for _, case in read_jsonl(path):
                messages = case.get("messages") or [{"role": "user", "content": case["prompt"]}]
                turns += [(f"{case['id']}#{i}", m["content"]) for i, m in enumerate(messages) if m["role"] == "user"]
    assert len(turns) > 100
    matches, _ = find_contamination(train, {"heldout": turns})
    assert matches == []
