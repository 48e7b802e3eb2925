"""QLoRA against LoRA on one GPU: the SFT recipe's 4-bit path, which needs CUDA and bitsandbytes.

The same random-weight SmolLM2-135M-shaped model as bench_gpu.py (shape, not weights,
sets speed and memory), the same examples and steps for both methods. Records steps,
trained tokens/s, peak GPU memory and the loss of the first and last logged steps, then
loads each adapter back through the model-ref path that ``generate`` and ``chat`` use and
generates one answer, so "the outputs load back" is checked too.

    python bench/bench_qlora_gpu.py --skel DIR_WITH_CONFIG_AND_TOKENIZER --out bench/results/qlora-gpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_gpu import random_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skel", type=Path, required=True, help="config.json + tokenizer files of the model shape")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "qlora-gpu.json")
    ap.add_argument("--methods", default="lora,qlora")
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()

    from veganalign.data.build import build_dataset
    from veganalign.models import Decoding, load_generator
    from veganalign.train.sft import SFTRecipe, run_sft

    work = Path(tempfile.mkdtemp(prefix="bench-qlora-"))
    model_dir = random_model(args.skel, work / "model")
    build_dataset(work / "data")
    cuda = torch.cuda.is_available()
    result: dict = {
        "benchmark": "SFT recipe, LoRA vs QLoRA (nf4, bf16 compute), SmolLM2-135M-shaped random weights",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "torch": torch.__version__,
            "platform": platform.platform(),
        },  # fmt: skip
        "steps": args.steps,
    }
    for method in args.methods.split(","):
        out = work / method
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        try:
            cfg = SFTRecipe(model=model_dir, train_file=work / "data" / "sft_train.jsonl", output_dir=out,
                            method=method, max_steps=args.steps, batch_size=8, max_length=512,
                            learning_rate=1e-3, logging_steps=1, save_steps=args.steps)  # fmt: skip
            summary = run_sft(cfg)
            peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
            losses = [
                m["loss"] for m in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in m
            ]
            answer = load_generator(str(out)).generate(
                [[{"role": "user", "content": "Give me a quick lentil soup."}]], Decoding(max_new_tokens=16)
            )
            result[method] = {"wall_s": round(time.perf_counter() - start, 1), "summary": summary,
                              "peak_memory_gib": round(peak, 2) if peak is not None else None,
                              "first_loss": losses[0], "last_loss": losses[-1],
                              "loaded_back_and_generated": answer[0].text}  # fmt: skip
        except Exception as exc:  # record and go on: one device call must bring back every other number
            import traceback

            traceback.print_exc()
            result[method] = {"error": f"{type(exc).__name__}: {exc}"}
        print(method, result[method], flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
