"""Batched vs one-at-a-time generation throughput of the embedded model.

Counts generated tokens up to each sequence's end-of-turn token (never padding), on the
same prompts, model, decoding and machine, in one run. Writes
``bench/results/generation.json`` and prints the ratio.

    python bench/bench_generation.py [--prompts 32] [--sequential 8] [--max-new-tokens 64] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from veganalign.models import Decoding, load_generator

PROMPTS = [
    "Give me a quick weeknight dinner idea.",
    "How do I make a chickpea curry?",
    "What are good sources of iron for vegans?",
    "Explain what tofu is made from.",
    "Suggest a warm winter coat material that is not down.",
    "How can I replace eggs in pancakes?",
    "What is the capital of Canada?",
    "Write a haiku about autumn.",
    "How do I politely decline meat at a family dinner?",
    "What is seitan?",
    "List three high-protein breakfast ideas.",
    "How does composting work?",
    "What should I pack for a hiking trip?",
    "Is dark chocolate usually dairy-free?",
    "Explain photosynthesis in two sentences.",
    "How do I cook lentils?",
    "What is a good vegan substitute for parmesan?",
    "Give me tips for studying for exams.",
    "How do I make oat milk at home?",
    "What does B12 do in the body?",
    "Recommend a board game for four players.",
    "How do I clean a cast iron pan?",
    "What are the benefits of walking every day?",
    "Suggest a name for a vegan bakery.",
    "How long should I boil pasta?",
    "What is the difference between weather and climate?",
    "How can I reduce food waste at home?",
    "What is aquafaba?",
    "Give me a simple bread recipe.",
    "How do solar panels work?",
    "What is a good gift for a vegan friend?",
    "Translate 'thank you' into Spanish and French.",
]


def run(generator, prompts: list[str], decoding: Decoding, batch_size: int) -> dict:
    convs = [[{"role": "user", "content": p}] for p in prompts]
    start = time.perf_counter()
    out = generator.generate(convs, decoding, batch_size=batch_size)
    seconds = time.perf_counter() - start
    tokens = sum(c.n_tokens for c in out)
    return {
        "prompts": len(prompts),
        "batch_size": batch_size,
        "generated_tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_second": round(tokens / seconds, 2),
        "stopped_at_end_of_turn": sum(c.finish_reason == "stop" for c in out),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--sequential", type=int, default=8, help="prompts for the one-at-a-time run (it is slow)")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "generation.json")
    args = ap.parse_args()

    generator = load_generator("smollm2-135m-instruct")
    decoding = Decoding(max_new_tokens=args.max_new_tokens)
    prompts = (PROMPTS * ((args.prompts // len(PROMPTS)) + 1))[: args.prompts]
    generator.generate([[{"role": "user", "content": "Warm up."}]], Decoding(max_new_tokens=4), batch_size=1)

    sequential = run(generator, prompts[: args.sequential], decoding, batch_size=1)
    batched = run(generator, prompts, decoding, batch_size=args.batch_size)
    ratio = batched["tokens_per_second"] / sequential["tokens_per_second"]
    result = {
        "benchmark": "generation throughput, embedded SmolLM2-135M-Instruct, greedy",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": generator.device,
            "torch": torch.__version__,
        },
        "max_new_tokens": args.max_new_tokens,
        "one_at_a_time": sequential,
        "batched": batched,
        "speedup": round(ratio, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"\nbatched (batch {args.batch_size}) vs one at a time: {ratio:.2f}x tokens/s")


if __name__ == "__main__":
    main()
