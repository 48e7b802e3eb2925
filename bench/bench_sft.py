"""SFT throughput: the veganalign recipe against plain TRL SFTTrainer, same model, data and machine.

Both runs: the embedded SmolLM2-135M, the same LoRA (r=16, alpha=32, all linear layers),
fp32, no gradient checkpointing, one epoch over the same examples. The plain baseline is
TRL's SFTTrainer with padded batches (its CPU-safe settings: bf16 and gradient
checkpointing off); the recipe uses length-grouped batches (or ``--packing``) and trains
on assistant tokens only. Both are timed by the Trainer's own ``train_runtime``.
Throughput counts trained non-padding tokens per second (``num_input_tokens_seen``
with ``non_padding``). Writes ``bench/results/sft.json``.

    python bench/bench_sft.py [--examples 64] [--batch-size 8] [--max-length 640] [--seed 0]

The examples are a seeded random sample of the default training data, so their lengths
vary as the real data's do (short redirects next to long explanations); ``--seed -1`` takes
the file's first rows instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch


def plain_trl(
    model_dir: str,
    train_file: Path,
    out: Path,
    args,
    *,
    cuda: bool = False,
    gradient_checkpointing: bool = False,
    packing: bool = False,
    label: str = "TRL SFTTrainer, padded batches, loss on all tokens",
) -> dict:
    """Plain TRL: its defaults, except what the comparison fixes (LoRA, precision, checkpointing)."""
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(model_dir)
    ds = load_dataset("json", data_files=str(train_file), split="train").select_columns(["messages"])
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if cuda else torch.float32)
    config = SFTConfig(
        output_dir=str(out), num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        learning_rate=2e-4, max_length=args.max_length, bf16=cuda, gradient_checkpointing=gradient_checkpointing,
        use_cpu=not cuda, packing=packing, save_strategy="no", logging_steps=1, report_to="none",
        include_num_input_tokens_seen="non_padding", dataloader_num_workers=0, seed=0,
    )  # fmt: skip
    peft = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=config, train_dataset=ds, processing_class=tok, peft_config=peft)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    result = trainer.train()
    # The same clock for both runs: the Trainer's own train_runtime (training loop only).
    seconds = float(result.metrics["train_runtime"])
    tokens = int(trainer.state.num_input_tokens_seen)
    return {
        "config": label,
        "steps": trainer.state.global_step,
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "trained_tokens": tokens,
        "seconds": round(seconds, 1),
        "tokens_per_second": round(tokens / seconds, 1),
        "final_loss": [r["loss"] for r in trainer.state.log_history if "loss" in r][-1],
        "train_loss": result.metrics["train_loss"],
    }


def recipe(
    train_file: Path,
    out: Path,
    args,
    *,
    model: str = "smollm2-135m-instruct",
    cuda: bool = False,
    batch_size: int | None = None,
) -> dict:
    from veganalign.train.sft import SFTRecipe, run_sft

    cfg = SFTRecipe(
        model=model, train_file=train_file, output_dir=out, epochs=args.epochs,
        batch_size=batch_size or args.batch_size, max_length=args.max_length, packing=args.packing,
        logging_steps=1, save_steps=10_000, learning_rate=2e-4, gradient_checkpointing=False, bf16=cuda,
    )  # fmt: skip
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    summary = run_sft(cfg)
    seconds = time.perf_counter() - start
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # The Trainer logs a running train_runtime on every step; the run's total is on the last row.
    train_runtime = [r["train_runtime"] for r in rows if "train_runtime" in r][-1]
    return {
        "config": f"veganalign train sft: {'packed' if args.packing else 'length-grouped'}, assistant-only loss, "
        f"batch {cfg.batch_size}",
        "steps": summary["global_step"],
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        "trained_tokens": summary["trained_tokens"],
        "seconds": round(train_runtime, 1),
        "seconds_including_save_and_plots": round(seconds, 1),
        "tokens_per_second": round(summary["trained_tokens"] / train_runtime, 1),
        "final_loss": [r["loss"] for r in rows if "loss" in r][-1],
        "train_loss": summary["train_loss"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=640)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--packing", action="store_true", help="pack sequences (padding-free); off suits a CPU")
    ap.add_argument("--seed", type=int, default=0, help="sample the examples at random with this seed; -1: first rows")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sft.json")
    args = ap.parse_args()

    from veganalign.data.build import build_dataset
    from veganalign.jsonl import read_jsonl, write_jsonl_atomic
    from veganalign.models.embedded import embedded_model_dir

    work = Path(tempfile.mkdtemp(prefix="bench-sft-"))
    try:
        build_dataset(work / "data")
        rows = [r for _, r in read_jsonl(work / "data" / "sft_train.jsonl")]
        if args.seed >= 0:
            random.Random(args.seed).shuffle(rows)
        rows = rows[: args.examples]
        train_file = work / "train.jsonl"
        write_jsonl_atomic(train_file, rows)
        model_dir = str(embedded_model_dir())
        plain = plain_trl(model_dir, train_file, work / "plain", args)
        ours = recipe(train_file, work / "recipe", args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "benchmark": "SFT trained non-padding tokens/s, embedded SmolLM2-135M, LoRA r=16, fp32, 1 epoch",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(),
            "torch": torch.__version__,
        },  # fmt: skip
        "examples": args.examples,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "sample_seed": args.seed,
        "plain_trl": plain,
        "veganalign": ours,
        "speedup": round(ours["tokens_per_second"] / plain["tokens_per_second"], 2),
        "note": "final losses differ in what they average over: all tokens (plain) vs assistant tokens (recipe)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
