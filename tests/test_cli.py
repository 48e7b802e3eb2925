"""The command line as a user meets it: help everywhere, chat, and the main job."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from veganalign.cli import app

runner = CliRunner()
COMMANDS = [[], ["spec"], ["spec", "validate"], ["spec", "render"], ["spec", "hash"], ["generate"], ["chat"],
            ["serve"], ["run"], ["check"], ["eval"], ["agreement"], ["export"], ["data"], ["data", "build"],
            ["data", "synth"], ["train"], ["train", "sft"], ["train", "dpo"], ["train", "reward"],
            ["train", "rl"], ["redteam"], ["iterate"]]  # fmt: skip


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_everywhere(cmd):
    result = runner.invoke(app, [*cmd, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_bad_model_ref_is_a_clean_error(tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": 1, "prompt": "hi"}\n')
    result = runner.invoke(
        app, ["generate", "--model", "not-a-model", "--prompts", str(prompts), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "not a model reference" in result.output and "Traceback" not in result.output


def test_malformed_prompts_fail_before_loading_a_model(tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": 1, "prompt": "hi"}\n{"id": 2, "promt": "typo"}\n')
    result = runner.invoke(app, ["generate", "--prompts", str(prompts), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert f"{prompts}:2: field 'prompt'" in result.output
    assert "loading" not in result.output and not (tmp_path / "o.jsonl").exists()


@pytest.mark.slow
def test_chat_reads_turns_and_keeps_history():
    script = "What is the capital of France?\nAnd of Italy?\n/exit\n"
    proc = subprocess.run(
        [sys.executable, "-m", "veganalign", "chat", "--system-prompt", "none", "--max-new-tokens", "16"],
        input=script, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("assistant>") == 2
    assert "Paris" in proc.stdout and "Rome" in proc.stdout
    assert "system prompt: none" in proc.stdout
