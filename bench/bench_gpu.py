"""The CUDA paths on one GPU: SFT throughput against plain TRL, then DPO, reward model and GRPO.

No model hub reaches the GPU machines and the embedded GGUF is too big to carry there, so
this runs on a randomly initialised model of exactly the embedded model's shape
(SmolLM2-135M: its config and tokenizer, random weights): throughput and memory depend
on shape, not on weight values. Every run trains the same LoRA (r=16, alpha=32, all
linear layers) in bf16 on the project's own SFT examples.

SFT: plain TRL ``SFTTrainer`` three ways (its defaults with gradient checkpointing, without
it, packed) against ``veganalign train sft`` with its GPU settings (packed, padding-free,
no gradient checkpointing for a model this small, a larger batch). Tokens/s counts
trained non-padding tokens over the Trainer's own ``train_runtime``. Then the DPO, reward
and GRPO recipes run a few steps each on CUDA, with wall time and peak memory.

    python bench/bench_gpu.py --skel DIR_WITH_CONFIG_AND_TOKENIZER --out bench/results/gpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_sft import plain_trl, recipe  # noqa: E402


def random_model(skel: Path, out: Path) -> str:
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(skel), dtype=torch.float32)
    model.save_pretrained(out)
    for f in skel.iterdir():
        if f.name != "config.json":
            shutil.copy(f, out / f.name)
    return str(out)


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:  # record and go on: one device call must bring back every other number
        import traceback

        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    return {"wall_s": round(time.perf_counter() - start, 1),
            "peak_memory_gib": round(peak, 2) if peak is not None else None, "result": result}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skel", type=Path, required=True, help="config.json + tokenizer files of the model shape")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu.json")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--batch-size", type=int, default=8, help="plain TRL's default per-device batch")
    ap.add_argument("--recipe-batch-sizes", default="8,32", help="comma list: the recipe at each batch size")
    ap.add_argument("--plain", default="defaults_gradient_checkpointing,no_gradient_checkpointing,packed")
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--skip-sft", action="store_true")
    args = ap.parse_args()
    assert torch.cuda.is_available(), "bench_gpu needs CUDA"

    from veganalign.data.build import build_dataset

    work = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    model_dir = random_model(args.skel, work / "model")
    build_dataset(work / "data")
    train = work / "data" / "sft_train.jsonl"
    result: dict = {
        "benchmark": "CUDA recipes on a SmolLM2-135M-shaped model (random weights), LoRA r=16, bf16",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "platform": platform.platform()},
        "epochs": args.epochs,
        "max_length": args.max_length,
    }

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")

    if not args.skip_sft:
        plain = {}
        configs = {"defaults_gradient_checkpointing": {"gradient_checkpointing": True},
                   "no_gradient_checkpointing": {}, "packed": {"packing": True}}  # fmt: skip
        for name in args.plain.split(","):
            kw = configs[name]
            args.packing = False
            label = f"TRL {name}"
            plain[name] = plain_trl(model_dir, train, work / f"plain-{name}", args, cuda=True, label=label, **kw)
            print(name, plain[name], flush=True)
        result["plain_trl"] = plain
        save()
        args.packing = True
        runs = {}
        for bs in (int(b) for b in args.recipe_batch_sizes.split(",")):
            runs[f"batch_{bs}"] = recipe(train, work / f"sft-{bs}", args, model=model_dir, cuda=True, batch_size=bs)
            print("recipe", bs, runs[f"batch_{bs}"], flush=True)
            result["veganalign_sft"] = runs
            save()
        ours = max(runs.values(), key=lambda r: r["tokens_per_second"])
        best = max(plain.values(), key=lambda r: r["tokens_per_second"])
        result["speedup_vs_best_plain"] = round(ours["tokens_per_second"] / best["tokens_per_second"], 2)
        if "no_gradient_checkpointing" in plain:
            result["speedup_vs_no_gradient_checkpointing"] = round(
                ours["tokens_per_second"] / plain["no_gradient_checkpointing"]["tokens_per_second"], 2
            )
        save()

    # --- the other recipes on CUDA: a few real steps each ----------------------------------
    from veganalign.train.dpo import DPORecipe, run_dpo
    from veganalign.train.reward import RewardRecipe, run_reward
    from veganalign.train.rl import RLRecipe, run_rl
    from veganalign.train.sft import SFTRecipe, run_sft

    data = work / "data"
    sft_dir = work / "sft-small"
    small = SFTRecipe(model=model_dir, train_file=train, output_dir=sft_dir, max_steps=10, batch_size=16,
                      max_length=512, save_steps=5)  # fmt: skip
    result["sft_small"] = timed(lambda: run_sft(small))
    result["dpo"] = timed(lambda: run_dpo(DPORecipe(model=str(sft_dir), train_file=data / "pairs_train.jsonl",
                                                    output_dir=work / "dpo", max_steps=20, batch_size=16,
                                                    max_length=512, save_steps=10)))  # fmt: skip
    print("dpo", result["dpo"], flush=True)
    save()
    result["reward"] = timed(lambda: run_reward(RewardRecipe(model=model_dir, train_file=data / "pairs_train.jsonl",
                                                             val_file=data / "pairs_val.jsonl", output_dir=work / "rm",
                                                             max_steps=20, batch_size=16, max_length=512)))  # fmt: skip
    print("reward", result["reward"], flush=True)
    save()
    result["grpo"] = timed(lambda: run_rl(RLRecipe(model=str(sft_dir), reward_model=work / "rm",
                                                   prompts_file=data / "prompts.jsonl", output_dir=work / "rl",
                                                   max_steps=8, num_generations=8, prompts_per_step=4,
                                                   max_completion_length=64, save_steps=4)))  # fmt: skip
    print("grpo", result["grpo"], flush=True)
    save()
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
