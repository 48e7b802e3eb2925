"""``veganalign eval --inspect``: cases as an Inspect AI task, run by the real ``inspect`` command."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.data.build import EVAL_DIR
from veganalign.eval.inspect_export import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DATASET_FILE,
    SYSTEM_PROMPT_FILE,
    TASK_NAME,
    export_inspect,
)

runner = CliRunner()
INSPECT = Path(sys.executable).parent / "inspect"
CASE_IDS = ["classification-001", "descriptive-001", "qa-060"]  # qa-060 is a multi-turn (messages) case


def pick_cases(tmp_path: Path) -> Path:
    rows = []
    for suite in ("classification", "descriptive", "qa"):
        for line in (EVAL_DIR / f"{suite}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["id"] in CASE_IDS:
                rows.append(row)
    rows.sort(key=lambda r: CASE_IDS.index(r["id"]))
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def load_task_module(task_path: Path):
    spec = importlib.util.spec_from_file_location("exported_veganalign_task", task_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_round_trips_ids_categories_inputs_and_targets(tmp_path):
    cases = pick_cases(tmp_path)
    originals = [json.loads(line) for line in cases.read_text().splitlines()]
    task_path = export_inspect([cases], tmp_path / "inspect")
    assert task_path == tmp_path / "inspect" / "veganalign_task.py"
    assert (tmp_path / "inspect" / SYSTEM_PROMPT_FILE).read_text().strip()

    records = [json.loads(line) for line in (tmp_path / "inspect" / DATASET_FILE).read_text().splitlines()]
    assert [r["id"] for r in records] == CASE_IDS
    assert [r["metadata"] for r in records] == originals  # the whole case rides along
    assert records[0]["target"] == "non_vegan" and records[1]["target"] == "answer_factually"

    # The task file, loaded as Inspect loads it, reads the dataset back without any model.
    task = load_task_module(task_path).veganalign_suite()
    samples = list(task.dataset)
    assert [s.id for s in samples] == CASE_IDS
    assert [s.metadata["category"] for s in samples] == ["classification", "descriptive", "qa"]
    assert samples[0].input == originals[0]["prompt"] and samples[0].target == "non_vegan"
    assert [(m.role, m.text) for m in samples[2].input] == [(m["role"], m["content"]) for m in originals[2]["messages"]]
    spec_task = load_task_module(task_path).veganalign_suite(system_prompt="spec")
    assert len(spec_task.solver) == 2


def test_cli_inspect_writes_only_the_export_and_says_how_to_run_it(tmp_path):
    out = tmp_path / "inspect"
    result = runner.invoke(
        app, ["eval", "--suite", "classification", "--limit-per-category", "3", "--inspect", str(out),
              "--out", str(tmp_path / "eval")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len((out / DATASET_FILE).read_text().splitlines()) == 3
    assert f"{BASE_URL_ENV}=" in result.output and f"{API_KEY_ENV}=" in result.output
    assert f"inspect eval {out / 'veganalign_task.py'}@{TASK_NAME} --model openai-api/veganalign/" in result.output
    assert "-T system_prompt=spec" in result.output  # default --system-prompt both: both arms
    assert not (tmp_path / "eval").exists()  # nothing generated


def test_cli_inspect_to_a_file_is_a_clean_error(tmp_path):
    target = tmp_path / "not-a-dir.txt"
    target.write_text("x")
    result = runner.invoke(app, ["eval", "--suite", "classification", "--inspect", str(target)])
    assert result.exit_code == 2, result.output
    assert "--inspect" in result.output and "not a directory" in result.output
    assert "Traceback" not in result.output and target.read_text() == "x"
    with pytest.raises(ValueError, match="not a directory"):
        export_inspect([pick_cases(tmp_path)], target)


@pytest.mark.slow
def test_inspect_eval_runs_the_export_against_the_embedded_model(tmp_path, local_openai_server):
    from inspect_ai.log import read_eval_log

    task_path = export_inspect([pick_cases(tmp_path)], tmp_path / "inspect")
    env = {**os.environ, BASE_URL_ENV: local_openai_server.url, API_KEY_ENV: "unused"}
    cmd = [str(INSPECT), "eval", f"{task_path}@{TASK_NAME}", "--model", "openai-api/veganalign/smollm2-135m-instruct",
           "--limit", "2", "--max-tokens", "24", "--log-dir", str(tmp_path / "logs"), "--display", "plain",
           "--max-connections", "1"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    logs = sorted((tmp_path / "logs").glob("*.eval"))
    assert len(logs) == 1
    log = read_eval_log(str(logs[0]))
    assert log.status == "success"
    assert [s.id for s in log.samples] == CASE_IDS[:2]
    for sample in log.samples:
        score = sample.scores["veganalign_scorer"]
        assert score.value in ("C", "I")
        assert score.answer == sample.output.completion and sample.output.completion.strip()
        assert score.metadata["judge"] == "rules" and score.metadata["category"] == sample.metadata["category"]
        assert score.explanation == score.metadata["rationale"]
        assert (score.value == "C") == score.metadata["aligned"]
    metrics = log.results.scores[0].metrics
    assert {"accuracy", "stderr", "classification", "descriptive"} <= set(metrics)
    assert local_openai_server.app.state.completions >= 2
