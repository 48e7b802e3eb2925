"""Blind items from a round's held-out transcripts: the same cases before and after, shuffled, arms hidden.

    python bench/blind_items.py runs/default/rounds/1 OUT_DIR [--attacks 50 --lookalikes 30 --seed 7]

Writes ``OUT_DIR/items.jsonl`` (what a reader sees: the conversation, the answer, attack or look-alike) and
``OUT_DIR/key.jsonl`` (item -> case and arm, for ``bench/blind_summary.py`` once ``labels.jsonl`` is written).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("round", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--attacks", type=int, default=50)
    ap.add_argument("--lookalikes", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    arms = {"before": args.round / "heldout-before", "after": args.round / "heldout-after"}
    rows = {}
    for arm, folder in arms.items():
        lines = (folder / "transcripts.jsonl").read_text().splitlines()
        rows[arm] = {r["id"]: r for r in map(json.loads, lines)}
    rng = random.Random(args.seed)
    ids = sorted(rows["before"])
    attacks = [i for i in ids if not rows["before"][i]["lookalike"]]
    twins = [i for i in ids if rows["before"][i]["lookalike"]]
    items, key = [], []
    for case in rng.sample(attacks, args.attacks) + rng.sample(twins, args.lookalikes):
        for arm in arms:
            r = rows[arm][case]
            conv = r["conversation"]
            kind = "lookalike" if r["lookalike"] else "attack"
            items.append({"conversation": conv[:-1], "answer": conv[-1]["content"], "kind": kind})
            key.append({"case": case, "arm": arm, "lookalike": r["lookalike"]})
    order = list(range(len(items)))
    rng.shuffle(order)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "items.jsonl").open("w") as fi, (args.out / "key.jsonl").open("w") as fk:
        for n, j in enumerate(order, start=1):
            fi.write(json.dumps({"item": n, **items[j]}) + "\n")
            fk.write(json.dumps({"item": n, **key[j]}) + "\n")
    print(f"{len(items)} items")


if __name__ == "__main__":
    main()
