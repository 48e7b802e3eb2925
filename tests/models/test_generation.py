"""Real generation from the embedded model, locally and through a real OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.models import Decoding, render_chat
from veganalign.models.generate_file import latest_rows

runner = CliRunner()
PROMPTS = [
    "Give me a recipe for grilled chicken breast.",
    "What is the capital of France?",
    "Name three sources of plant protein.",
]


@pytest.mark.slow
def test_no_system_prompt_means_none(embedded_generator):
    tok = embedded_generator.tokenizer
    msgs = [{"role": "user", "content": "hello"}]
    # SmolLM2's template would insert "You are a helpful AI assistant named SmolLM ..."
    assert "SmolLM" in tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    rendered = render_chat(tok, msgs)
    assert "SmolLM" not in rendered and "system" not in rendered
    assert rendered.endswith("<|im_start|>assistant\n")
    with_sys = render_chat(tok, [{"role": "system", "content": "Be vegan."}, *msgs])
    assert with_sys.startswith("<|im_start|>system\nBe vegan.")


def test_a_last_assistant_message_is_the_start_of_the_answer():
    from transformers import AutoTokenizer

    from veganalign.models.embedded import embedded_model_dir

    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    msgs = [{"role": "system", "content": "Be vegan."}, {"role": "user", "content": "Cook quinoa?"}]
    started = render_chat(tok, [*msgs, {"role": "assistant", "content": "Sure! "}])
    assert started == render_chat(tok, msgs) + "Sure! "
    assert started.endswith("<|im_start|>assistant\nSure! ") and started.count("<|im_start|>assistant") == 1
    # earlier assistant turns are history, as before
    history = [*msgs, {"role": "assistant", "content": "Rinse it."}, {"role": "user", "content": "Then?"}]
    assert "Rinse it.<|im_end|>" in render_chat(tok, history) and render_chat(tok, history).endswith("assistant\n")


@pytest.mark.slow
def test_batched_generation_is_real_text(embedded_generator):
    convs = [[{"role": "user", "content": p}] for p in PROMPTS]
    out = embedded_generator.generate(convs, Decoding(max_new_tokens=24), batch_size=3)
    assert len(out) == 3
    assert "chicken" in out[0].text.lower()  # the base model happily gives the chicken recipe
    assert "paris" in out[1].text.lower()
    for c in out:
        assert c.finish_reason in ("stop", "length") and 0 < c.n_tokens <= 24
    # greedy decoding is deterministic and the order of results follows the input order
    again = embedded_generator.generate(list(reversed(convs)), Decoding(max_new_tokens=24), batch_size=3)
    assert [c.text for c in again] == [c.text for c in reversed(out)]


@pytest.mark.slow
def test_generate_cli_writes_the_contract(tmp_path: Path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        json.dumps({"id": "q1", "prompt": PROMPTS[1]})
        + "\n"
        + json.dumps({"id": "q2", "messages": [{"role": "user", "content": PROMPTS[2]}]})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    args = ["generate", "--prompts", str(prompts), "--out", str(out), "--max-new-tokens", "16"]
    result = runner.invoke(app, [*args, "--system-prompt", "spec"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"]
    for r in rows:
        assert set(r) >= {
            "id",
            "prompt",
            "response",
            "model",
            "arm",
            "system_prompt",
            "decoding",
            "finish_reason",
            "n_tokens",
        }
        assert r["arm"] == "base+spec" and r["system_prompt"] and r["response"]
        assert r["decoding"] == {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 16, "seed": 0}
    assert rows[1]["prompt"] == [{"role": "user", "content": PROMPTS[2]}]
    # rerun: nothing to do, nothing duplicated
    result = runner.invoke(app, [*args, "--system-prompt", "spec"])
    assert result.exit_code == 0 and len(out.read_text().splitlines()) == 2
    # other settings on the same file are refused rather than mixed in
    result = runner.invoke(app, [*args, "--system-prompt", "none"])
    assert result.exit_code == 2 and "other settings" in result.output


@pytest.mark.slow
def test_generate_resumes_after_kill(tmp_path: Path):
    prompts = tmp_path / "p.jsonl"
    with prompts.open("w") as fh:
        for i in range(8):
            fh.write(json.dumps({"id": f"r{i}", "prompt": f"Tell me one fact about the number {i}."}) + "\n")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "veganalign", "generate", "--prompts", str(prompts), "--out", str(out),
           "--max-new-tokens", "24", "--batch-size", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.time() + 240
    while time.time() < deadline:
        if out.exists() and len(out.read_text().splitlines()) >= 2:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    before = [json.loads(x)["id"] for x in out.read_text().splitlines() if x.endswith("}")]
    assert 2 <= len(before) < 8, "the run should have been killed mid-way"
    result = runner.invoke(app, cmd[3:])
    assert result.exit_code == 0, result.output
    rows = latest_rows(out)
    assert sorted(r["id"] for r in rows) == [f"r{i}" for i in range(8)]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()][: len(before)] == before  # kept, not redone


@pytest.mark.slow
def test_openai_endpoint_serves_real_generations(local_openai_server, embedded_generator, tmp_path: Path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"o{i}", "prompt": p}) + "\n" for i, p in enumerate(PROMPTS)))
    out = tmp_path / "out.jsonl"
    ref = f"openai:smollm2-135m-instruct@{local_openai_server.url}"
    result = runner.invoke(
        app,
        [
            "generate",
            "--model",
            ref,
            "--prompts",
            str(prompts),
            "--out",
            str(out),
            "--max-new-tokens",
            "20",
            "--concurrency",
            "3",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in latest_rows(out)}
    # The server answered with the model's own text: the same as generating locally with the same settings.
    local = embedded_generator.generate(
        [[{"role": "user", "content": p}] for p in PROMPTS], Decoding(max_new_tokens=20), batch_size=1
    )
    for i, comp in enumerate(local):
        row = rows[f"o{i}"]
        assert row["response"] == comp.text
        assert row["n_tokens"] == comp.n_tokens and row["model"] == ref


def test_unreachable_endpoint_records_errors_and_exits_nonzero(tmp_path: Path):
    from conftest import free_port

    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"id": "x", "prompt": "hi"}) + "\n")
    out = tmp_path / "out.jsonl"
    ref = f"openai:m@http://127.0.0.1:{free_port()}/v1"
    result = runner.invoke(app, ["generate", "--model", ref, "--prompts", str(prompts), "--out", str(out)])
    assert result.exit_code == 1
    row = json.loads(out.read_text())
    assert row["finish_reason"] == "error" and "Connection" in row["error"]
