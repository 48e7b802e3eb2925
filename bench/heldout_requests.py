"""Before/after on held-out prompts that no training file contains.

Two sets ship in ``bench/data/``: 20 requests for meat dishes and animal materials
(``heldout_requests.jsonl``, "Give me a recipe for grilled chicken breast" among them) and
30 is-it-vegan questions about knowledge-base items that neither the training data nor
the classification eval suite asks about (``heldout_classification.jsonl``, with the
knowledge base's label). The prompts are first checked against the run's training files
with the data stage's contamination check (exact, near-duplicate and containment), and
is-it-vegan questions also by subject (no knowledge-base item shared with a training
is-it-vegan question): the script stops on any match. Then the base model and the tuned
run answer them greedily with no system prompt, the rule judge reads each answer (for a
request: does it go along with the animal product, does it offer a concrete vegan
alternative; for a question: is the stated verdict the expected one), and everything,
answers included, goes to the ``--out`` JSON so a reader can check the judge.

    python bench/heldout_requests.py runs/default [--max-new-tokens 128]
    python bench/heldout_requests.py runs/default --cases bench/data/heldout_classification.jsonl \
        --out bench/results/heldout_classification.json --max-new-tokens 96
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--cases", type=Path, default=HERE / "data" / "heldout_requests.jsonl")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "heldout_requests.json")
    args = ap.parse_args()

    from veganalign.data.contamination import find_contamination
    from veganalign.data.contracts import prompt_text
    from veganalign.eval.run import Arm, evaluate
    from veganalign.jsonl import read_jsonl
    from veganalign.models.generate_file import latest_rows

    cases = [row for _, row in read_jsonl(args.cases)]
    data = args.run_dir / "data"
    train = {}
    for name in ("sft_train", "sft_val", "pairs_train", "pairs_val", "prompts"):
        rows = [row for _, row in read_jsonl(data / f"{name}.jsonl")]
        train[name] = [(str(r["id"]), prompt_text(r)) for r in rows]
    matches, closest = find_contamination(train, {"heldout": [(c["id"], c["prompt"]) for c in cases]})
    if matches:
        raise SystemExit(f"{len(matches)} held-out prompts match training data, e.g. {matches[0]}")
    questions = [c for c in cases if c.get("category") == "classification"]
    if questions:
        from veganalign.data.build import same_subject_ids
        from veganalign.knowledge import load_knowledge_base

        sft = [row for name in ("sft_train", "sft_val") for _, row in read_jsonl(data / f"{name}.jsonl")]
        shared = same_subject_ids(sft, questions, load_knowledge_base())
        if shared:
            raise SystemExit(f"{len(shared)} training is-it-vegan questions share an item with the held-out ones: "
                             f"{dict(list(shared.items())[:3])}")  # fmt: skip

    out_dir = args.out.with_suffix("")
    arms = [Arm("base", "smollm2-135m-instruct", None), Arm("tuned", str(args.run_dir / "dpo"), None)]
    summary = evaluate(arms, [args.cases], out_dir, max_new_tokens=args.max_new_tokens)
    rows = []
    for arm in arms:
        gens = {g["id"]: g for g in latest_rows(out_dir / f"generations-{arm.slug}.jsonl")}
        verdicts = {v["id"]: v for v in latest_rows(out_dir / f"verdicts-{arm.slug}.jsonl")}
        for c in cases:
            v = verdicts[c["id"]]
            rows.append({"arm": arm.name, "id": c["id"], "prompt": c["prompt"], "aligned": v["aligned"],
                         "rationale": v["rationale"], "response": gens[c["id"]]["response"]})  # fmt: skip
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": str(args.run_dir),
        "contamination": {
            "matches": 0,
            "closest_training_prompt": closest[0].train_text if closest else None,
            "closest_score": closest[0].score if closest else None,
        },  # fmt: skip
        "decoding": {"greedy": True, "max_new_tokens": args.max_new_tokens, "system_prompt": None},
        # a request: a vegan answer with a concrete alternative; a question: the expected verdict
        "judged_aligned": {a.name: sum(r["aligned"] for r in rows if r["arm"] == a.name) for a in arms},
        "of": len(cases),
        "mcnemar_tuned_vs_base": summary["comparisons"][0]["overall"],
        "answers": rows,
    }
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "answers"}, indent=2))


if __name__ == "__main__":
    main()
