"""Training recipes on a tiny model with the embedded model's tokenizer: real TRL, a few steps each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign.cli import app

runner = CliRunner()
slow = pytest.mark.slow  # trains a model (a tiny one with the embedded model's tokenizer, or the embedded one)


def metrics(path: Path) -> list[dict]:
    return [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]


def losses(path: Path, key: str = "loss") -> list[float]:
    return [m[key] for m in metrics(path) if key in m]


@pytest.fixture(scope="session")
def sft_run(tiny_model, data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sft")
    result = runner.invoke(
        app,
        ["train", "sft", "--model", str(tiny_model), "--train-file", str(data_dir / "sft_train.jsonl"),
         "--val-file", str(data_dir / "sft_val.jsonl"), "--output-dir", str(out), "--max-steps", "12",
         "--batch-size", "4", "--max-length", "256", "--learning-rate", "3e-3", "--logging-steps", "1",
         "--save-steps", "6", "--eval-steps", "12", "--max-examples", "16"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


@slow
def test_sft_trains_and_writes_everything(sft_run, tiny_model):
    loss = losses(sft_run)
    assert len(loss) == 12 and sum(loss[-3:]) / 3 < sum(loss[:3]) / 3
    for name in ("adapter_model.safetensors", "config.yaml", "manifest.json", "metrics.jsonl", "loss.png",
                 "veganalign_adapter.json", "tokenizer_config.json"):  # fmt: skip
        assert (sft_run / name).exists(), name
    manifest = json.loads((sft_run / "manifest.json").read_text())
    from veganalign.spec import load_spec, spec_sha256

    assert manifest["base_model"] == str(tiny_model) and manifest["spec_sha256"] == spec_sha256(load_spec())
    assert manifest["base_model_licence"].startswith("unknown") and manifest["base_model_parameters"] > 100_000
    assert manifest["inputs"]["train_file"]["sha256"] and manifest["libraries"]["trl"]
    assert manifest["result"]["trained_tokens"] > 0 and manifest["result"]["eval_loss"] > 0
    assert (sft_run / "checkpoints" / "checkpoint-12").is_dir()


@slow
def test_sft_output_is_a_model_ref(sft_run):
    from veganalign.models import Decoding, load_generator

    gen = load_generator(str(sft_run))
    assert gen.ref.kind == "adapter"
    out = gen.generate([[{"role": "user", "content": "hi"}]], Decoding(max_new_tokens=4))
    assert out[0].n_tokens > 0


@slow
def test_dpo_from_sft_and_chained_model_ref(sft_run, data_dir, tmp_path):
    out = tmp_path / "dpo"
    result = runner.invoke(
        app,
        ["train", "dpo", "--model", str(sft_run), "--train-file", str(data_dir / "pairs_train.jsonl"),
         "--output-dir", str(out), "--max-steps", "8", "--batch-size", "2", "--max-length", "256",
         "--max-pairs", "8", "--learning-rate", "5e-3", "--logging-steps", "1", "--beta", "0.1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    loss = losses(out)  # two epochs over the same 8 pairs: the second is lower than the first
    assert len(loss) == 8 and sum(loss[4:]) < sum(loss[:4])
    base = json.loads((out / "veganalign_adapter.json").read_text())["base_model"]
    assert base.startswith("..")  # the SFT stage, relative: the run directory can move
    from veganalign.models import parse_model_ref

    ref = parse_model_ref(str(out))
    assert ref.base.kind == "adapter" and Path(ref.base.name) == sft_run.resolve()


@slow
def test_dpo_self_play_uses_the_policys_own_answers(sft_run, data_dir, tmp_path, monkeypatch):
    from veganalign.models import Decoding, load_generator

    out = tmp_path / "dpo"
    result = runner.invoke(
        app,
        ["train", "dpo", "--model", str(sft_run), "--train-file", str(data_dir / "pairs_train.jsonl"),
         "--output-dir", str(out), "--max-steps", "4", "--batch-size", "2", "--max-length", "256",
         "--max-pairs", "6", "--learning-rate", "5e-3", "--logging-steps", "1", "--rejected-from-policy",
         "--policy-max-new-tokens", "12", "--chosen-kinds", "authored"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pairs = [json.loads(x) for x in (out / "self_play_pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == 6 and len({json.dumps(p["prompt"]) for p in pairs}) == 6  # one pair per prompt
    # the rejected side is exactly what the SFT policy answers greedily (same batch, same padding)
    own = load_generator(str(sft_run)).generate([p["prompt"] for p in pairs], Decoding(max_new_tokens=12))
    assert [p["rejected"][0]["content"] for p in pairs] == [a.text for a in own]
    assert all(p["rejected"] != p["chosen"] for p in pairs)
    assert len(losses(out)) == 4

    # --resume (and every process but the main one under accelerate) reads the record back
    # instead of generating: the pairs stay those the checkpoint was trained on.
    from datasets import Dataset

    import veganalign.models
    from veganalign.train.dpo import self_play_rejected

    def no_generation(*args, **kwargs):
        raise AssertionError("generated again")

    monkeypatch.setattr(veganalign.models, "load_generator", no_generation)
    record = out / "self_play_pairs.jsonl"
    ds = Dataset.from_list([{"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["chosen"]} for p in pairs])
    again = self_play_rejected(ds, str(sft_run), 12, record, reuse=True)
    assert list(again["rejected"]) == [p["rejected"] for p in pairs]
    # a record made for another length (or policy, or other pairs) is not reused
    with pytest.raises(AssertionError, match="generated again"):
        self_play_rejected(ds, str(sft_run), 16, record, reuse=True)
    with pytest.raises(AssertionError, match="generated again"):
        self_play_rejected(ds.select(range(5)), str(sft_run), 12, record, reuse=True)


@slow
def test_reward_and_rl(tiny_model, sft_run, data_dir, tmp_path):
    rm = tmp_path / "reward"
    result = runner.invoke(
        app,
        ["train", "reward", "--model", str(tiny_model), "--train-file", str(data_dir / "pairs_train.jsonl"),
         "--val-file", str(data_dir / "pairs_val.jsonl"), "--output-dir", str(rm), "--max-steps", "10",
         "--batch-size", "4", "--max-length", "256", "--max-pairs", "40", "--learning-rate", "3e-3",
         "--logging-steps", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    heldout = json.loads((rm / "heldout_accuracy.json").read_text())
    val_pairs = (data_dir / "pairs_val.jsonl").read_text().splitlines()
    groups = {k: v for k, v in heldout.items() if k not in ("overall", "gold_real_vs_real")}
    # every held-out pair is scored once, in exactly one group, and the overall rate is theirs combined
    assert heldout["overall"]["n"] == len(val_pairs) == sum(g["n"] for g in groups.values())
    correct = sum(g["accuracy"] * g["n"] for g in groups.values())
    assert abs(heldout["overall"]["accuracy"] * heldout["overall"]["n"] - correct) < 1e-6
    from veganalign.eval.gold import real_output_pairs

    assert heldout["gold_real_vs_real"]["n"] == len(real_output_pairs())  # the honest test is always run
    manifest = json.loads((rm / "manifest.json").read_text())
    assert manifest["result"]["heldout_pairs_real_model_outputs"] == groups.get("real_model_output", {}).get("n", 0)
    assert (rm / "merged" / "config.json").exists()
    rl = tmp_path / "rl"
    result = runner.invoke(
        app,
        ["train", "rl", "--model", str(sft_run), "--reward-model", str(rm), "--prompts-file",
         str(data_dir / "prompts.jsonl"), "--output-dir", str(rl), "--max-steps", "3", "--num-generations", "2",
         "--prompts-per-step", "2", "--max-completion-length", "12", "--beta", "0.04"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = metrics(rl)
    assert any("kl" in r for r in rows) and any("reward" in r for r in rows)
    samples = json.loads((rl / "samples.json").read_text())
    assert samples["first_step"] and samples["last_step"]

    # The rule judge reads the response signals that shaped this policy's reward: it may not
    # give the GRPO arm's headline unless asked, and then it is marked.
    shaping = json.loads((rl / "manifest.json").read_text())["shaping_signals"]
    assert shaping == {"recommends_animal_product": "kb_weight=0.5", "shames": "tone_weight=0.5"}
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "c1", "prompt": "Give me a recipe for roast duck.", "category": "qa"}) + "\n")
    ev = ["eval", "--model", f"grpo={rl}", "--cases", str(cases), "--system-prompt", "none", "--max-new-tokens", "4"]
    result = runner.invoke(app, [*ev, "--out", str(tmp_path / "ev")])
    assert result.exit_code == 2 and "kb_weight=0.5" in result.output and "--judge llm:" in result.output
    assert not (tmp_path / "ev" / "generations-grpo.jsonl").exists()  # refused before generating
    result = runner.invoke(app, [*ev, "--out", str(tmp_path / "ev"), "--allow-shaped-judge"])
    assert result.exit_code == 0, result.output
    assert "Not independent: <b>grpo</b>" in (tmp_path / "ev" / "report.html").read_text()
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["judge"]["shaped_arms"] == {
        "grpo": {"recommends_animal_product": "rl (kb_weight=0.5)", "shames": "rl (tone_weight=0.5)"}
    }


def test_concise_targets_end_on_whole_paragraphs():
    from veganalign.train.common import concise

    text = "First paragraph has five words.\n\n**Heading**\nSecond one is here with more words in it."
    assert concise(text, 8) == "First paragraph has five words."
    assert concise(text, 50) == "First paragraph has five words.\n\nSecond one is here with more words in it."
    assert concise(text, None) == text and concise("short", 50) == "short"
    assert concise("## Title\n- **Bold item**: kept, it has content", 50) == "- **Bold item**: kept, it has content"
    assert concise("One two three. Four five six seven.", 4) == "One two three."  # one long paragraph: sentences


def test_dpo_pair_filter_that_keeps_nothing_fails_before_the_model(tmp_path, data_dir):
    result = runner.invoke(
        app,
        ["train", "dpo", "--model", "smollm2-135m-instruct", "--train-file",
         str(data_dir / "pairs_train.jsonl"), "--output-dir", str(tmp_path / "d"), "--rejected-kinds", "nonsense"],
    )  # fmt: skip
    assert result.exit_code == 2 and "no pair has ranking kinds" in result.output


def test_sft_example_filters_pick_short_answers_and_fail_before_the_model(tmp_path, data_dir):
    from veganalign.jsonl import read_jsonl
    from veganalign.train.common import answer_words

    rows = [row for _, row in read_jsonl(data_dir / "sft_train.jsonl")]
    short = [r for r in rows if r["intent"] == "prescriptive_nonvegan" and answer_words(r["messages"]) <= 90]
    assert len(short) >= 50  # the shipped short answers written for small models
    assert any(answer_words(r["messages"]) > 300 for r in rows)  # and the long authored ones
    result = runner.invoke(
        app,
        ["train", "sft", "--model", "smollm2-135m-instruct", "--train-file", str(data_dir / "sft_train.jsonl"),
         "--output-dir", str(tmp_path / "s"), "--intents", "prescriptive_nonvegan", "--max-source-words", "10"],
    )  # fmt: skip
    assert result.exit_code == 2 and "max_source_words=10" in result.output
    assert not (tmp_path / "s" / "adapter_model.safetensors").exists()


@slow
def test_resume_continues_from_the_checkpoint(tiny_model, data_dir, tmp_path):
    out = tmp_path / "sft"
    cmd = [sys.executable, "-m", "veganalign", "train", "sft", "--model", str(tiny_model), "--train-file",
           str(data_dir / "sft_train.jsonl"), "--output-dir", str(out), "--max-steps", "40", "--batch-size", "2",
           "--max-length", "256", "--save-steps", "5", "--logging-steps", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "checkpoints" / "checkpoint-10").exists():
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = [m["step"] for m in metrics(out) if "loss" in m]
    assert 10 <= max(done) < 40, "killed mid-way, after a checkpoint"
    # The kill may land while checkpoint-10 is being written: resume uses the last complete one.
    from veganalign.train.common import last_valid_checkpoint

    ckpt = int(last_valid_checkpoint(out / "checkpoints").split("-")[-1])
    assert ckpt in (5, 10)
    result = runner.invoke(app, [*cmd[3:], "--resume"])
    assert result.exit_code == 0, result.output
    resumed = [m["step"] for m in metrics(out) if "loss" in m][len(done) :]
    assert resumed[0] == ckpt + 1 and resumed[-1] == 40  # continues, not from step 1
    assert json.loads((out / "manifest.json").read_text())["result"]["resumed_from_checkpoint"] is True


@slow
def test_two_process_ddp_on_cpu(tiny_model, data_dir, tmp_path):
    """The same recipe under `accelerate launch`: two CPU processes (gloo), one adapter out."""
    import veganalign

    config = Path(veganalign.__file__).parent / "configs" / "accelerate" / "ddp-cpu.yaml"
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config), "-m", "veganalign",
           "train", "sft", "--model", str(tiny_model), "--train-file", str(data_dir / "sft_train.jsonl"),
           "--output-dir", str(out), "--max-steps", "4", "--batch-size", "2", "--max-length", "128",
           "--max-examples", "16", "--logging-steps", "1", "--save-steps", "4"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "adapter_model.safetensors").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["result"]["global_step"] == 4
    # DPO self-play from that adapter, still two processes: the main one generates the
    # policy's answers, the other reads them from its record, and both train on the same pairs.
    dpo = tmp_path / "ddp-dpo"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config), "-m", "veganalign",
           "train", "dpo", "--model", str(out), "--train-file", str(data_dir / "pairs_train.jsonl"),
           "--output-dir", str(dpo), "--max-steps", "2", "--batch-size", "1", "--max-length", "128", "--max-pairs",
           "4", "--rejected-from-policy", "--policy-max-new-tokens", "8", "--save-steps", "2"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pairs = (dpo / "self_play_pairs.jsonl").read_text().splitlines()
    assert len(pairs) == 4 and json.loads((dpo / "manifest.json").read_text())["result"]["global_step"] == 2


@slow
def test_export_merges_an_adapter_into_a_plain_model(sft_run, tmp_path):
    out = tmp_path / "merged"
    result = runner.invoke(app, ["export", "--model", str(sft_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "config.json").exists() and not (out / "adapter_config.json").exists()
    from veganalign.models import Decoding, load_generator

    merged = load_generator(str(out)).generate([[{"role": "user", "content": "hi"}]], Decoding(max_new_tokens=6))
    adapter = load_generator(str(sft_run)).generate([[{"role": "user", "content": "hi"}]], Decoding(max_new_tokens=6))
    assert merged[0].text == adapter[0].text  # the same model, merged
