"""The seed 4.2.1 path on the real embedded model on one GPU: SFT → reward model → GRPO.

bench_gpu.py times every recipe on random weights; this one asks whether the RL path
*learns* on the real weights, which a 2-core CPU cannot run long enough to show. The
embedded GGUF is given by path (it is carried to the GPU machine in pieces), materialised
the way ``embedded_model_dir`` does it, and then, in one process:

1. the data stage (``build_dataset``), and SFT with the default profile's settings;
2. the reward model on every training pair, with its held-out pairwise accuracy on
   pairs with unseen prompts, on real model outputs, and on gold pairs of two real outputs;
3. GRPO of the SFT policy against that reward model with knowledge-base and tone shaping,
   the KL logged, samples from the first and last steps kept;
4. a look outside the training prompts: the SFT and the GRPO policies answer the 20
   held-out requests (``bench/data/heldout_requests.jsonl``) greedily, read by the rule
   judge. It is not part of the reward, but it reads answers through the same knowledge
   base as the knowledge-base shaping term, so it is not independent of it (the eval
   stage marks such an arm); the answers are kept for reading by hand.

Every phase saves the JSON as it ends, so a call cut short still brings back what ran.

    python bench/bench_rl_gpu.py --gguf SmolLM2-135M-Instruct.Q4_1.gguf --out $OUT/rl-gpu.json --keep $OUT
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from bench_gpu import timed  # noqa: E402

RL_INTENTS = "prescriptive_nonvegan,adversarial_roleplay,adversarial_ignore_rules,adversarial_no_lectures"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gguf", type=Path, required=True, help="SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "rl-gpu.json")
    ap.add_argument("--keep", type=Path, default=None, help="copy GRPO metrics, curve and samples here")
    ap.add_argument("--sft-steps", type=int, default=-1, help="-1: the default profile's 2 epochs")
    ap.add_argument("--rm-epochs", type=float, default=1.0)
    ap.add_argument("--rm-max-steps", type=int, default=-1)
    ap.add_argument("--steps", type=int, default=40, help="GRPO steps")
    ap.add_argument("--prompts-per-step", type=int, default=8)
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--max-completion", type=int, default=96)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--beta", type=float, default=0.04)
    ap.add_argument("--kb-weight", type=float, default=1.0)
    ap.add_argument("--heldout-tokens", type=int, default=128)
    args = ap.parse_args()

    from veganalign.data.build import build_dataset
    from veganalign.eval.run import Arm, evaluate
    from veganalign.models.embedded import materialise_gguf
    from veganalign.models.generate_file import latest_rows
    from veganalign.pipeline import load_run
    from veganalign.train.reward import RewardRecipe, run_reward
    from veganalign.train.rl import RLRecipe, run_rl
    from veganalign.train.sft import SFTRecipe, run_sft

    work = Path(tempfile.mkdtemp(prefix="bench-rl-gpu-"))
    result: dict = {
        "benchmark": "SFT -> reward model -> GRPO on the real embedded SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised)",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__,
            "platform": platform.platform(),
        },  # fmt: skip
        "args": {k: str(v) for k, v in vars(args).items()},
    }

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")

    model_dir = materialise_gguf(Path(args.gguf))  # the public way to a GGUF file's weights (cached)
    result["materialise"] = {"dir": str(model_dir)}
    data = work / "data"
    result["data"] = timed(lambda: build_dataset(data, seed=0) and None)
    save()

    sft_dir = work / "sft"
    # the default run's SFT settings (configs/run-default.yaml -> sft-cpu.yaml), the run's own paths filled in below
    sft_cfg = {k: v for k, v in load_run(profile="default").sft.items() if k != "val_file"}
    sft_cfg["max_steps"] = args.sft_steps
    result["sft"] = timed(lambda: run_sft(SFTRecipe(model=str(model_dir), train_file=data / "sft_train.jsonl",
                                                    val_file=data / "sft_val.jsonl", output_dir=sft_dir,
                                                    **sft_cfg)))  # fmt: skip
    print("sft", result["sft"], flush=True)
    save()

    rm_dir = work / "rm"
    rm_cfg = RewardRecipe(model=str(model_dir), train_file=data / "pairs_train.jsonl",
                          val_file=data / "pairs_val.jsonl", output_dir=rm_dir, epochs=args.rm_epochs,
                          max_steps=args.rm_max_steps, batch_size=16, max_length=512, learning_rate=1e-4,
                          save_steps=1000)  # fmt: skip
    result["reward"] = timed(lambda: run_reward(rm_cfg))
    if (rm_dir / "heldout_accuracy.json").is_file():
        result["reward"]["heldout_accuracy"] = json.loads((rm_dir / "heldout_accuracy.json").read_text())
    print("reward", result["reward"], flush=True)
    save()

    rl_dir = work / "rl"
    if args.keep:  # the curve so far comes back even if the call is cut short mid-GRPO
        args.keep.mkdir(parents=True, exist_ok=True)
        stop = threading.Event()

        def copy_metrics() -> None:
            while not stop.wait(10):
                if (rl_dir / "metrics.jsonl").is_file():
                    shutil.copy(rl_dir / "metrics.jsonl", args.keep / "rl-metrics.jsonl")

        threading.Thread(target=copy_metrics, daemon=True).start()
    result["grpo"] = timed(lambda: run_rl(RLRecipe(model=str(sft_dir), reward_model=rm_dir,
                                                   prompts_file=data / "prompts.jsonl", output_dir=rl_dir,
                                                   intents=RL_INTENTS, beta=args.beta, kb_weight=args.kb_weight,
                                                   num_generations=args.generations,
                                                   prompts_per_step=args.prompts_per_step,
                                                   max_completion_length=args.max_completion, max_steps=args.steps,
                                                   learning_rate=args.lr, temperature=args.temperature,
                                                   gradient_checkpointing=False,
                                                   save_steps=max(args.steps // 2, 1))))  # fmt: skip
    print("grpo", result["grpo"], flush=True)
    res = result["grpo"]["result"]
    if "reward_first5" in res and res["reward_first5"] is not None:
        gain = res["reward_last5"] - res["reward_first5"]
        result["grpo"]["criterion"] = {"gain": round(gain, 4), "spread": res["step_to_step_spread"],
                                       "met": gain > res["step_to_step_spread"]}  # fmt: skip
    if args.keep:
        stop.set()
        for name in ("metrics.jsonl", "reward.png", "samples.json", "config.yaml"):
            if (rl_dir / name).is_file():
                shutil.copy(rl_dir / name, args.keep / f"rl-{name}")
    save()

    # --- independent look: held-out requests, SFT policy against the GRPO policy ----------
    def heldout() -> dict:
        cases = HERE / "data" / "heldout_requests.jsonl"
        out_dir = work / "heldout"
        arms = [Arm("sft", str(sft_dir), None), Arm("grpo", str(rl_dir), None)]
        # allowed and said: the rule judge reads the knowledge base the GRPO shaping also used
        summary = evaluate(arms, [cases], out_dir, max_new_tokens=args.heldout_tokens, allow_shaped_judge=True)
        answers = {}
        for arm in arms:
            gens = {g["id"]: g["response"] for g in latest_rows(out_dir / f"generations-{arm.slug}.jsonl")}
            verdicts = {v["id"]: v["aligned"] for v in latest_rows(out_dir / f"verdicts-{arm.slug}.jsonl")}
            answers[arm.name] = [{"id": i, "aligned": verdicts[i], "response": gens[i]} for i in sorted(gens)]
        judged = {a: sum(r["aligned"] for r in rows) for a, rows in answers.items()}
        return {"judged_aligned": judged, "of": len(answers["sft"]),
                "mcnemar": summary["comparisons"][0]["overall"], "answers": answers}  # fmt: skip

    result["heldout_requests"] = timed(heldout)
    save()
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: v for k, v in result.items() if k != "heldout_requests"}, indent=2, default=str))
    print("heldout", {k: v for k, v in result["heldout_requests"].get("result", {}).items() if k != "answers"})


if __name__ == "__main__":
    main()
