"""Blind items from a round's held-out transcripts: the same cases before and after, shuffled, arms hidden.

    python bench/blind_items.py runs/default/rounds/1 OUT_DIR [--attacks 50 --lookalikes 30 --seed 7]
    python bench/blind_items.py --before DIR --after DIR OUT_DIR --changed-only   # any two red-team runs

``--before``/``--after`` name two red-team output folders (``transcripts.jsonl`` or ``.jsonl.gz``) over the same
attacks; ``--changed-only`` keeps the cases whose last answers differ (the same answer twice would get the same
labels, and tells nothing about the difference). A count larger than there are cases takes them all.

Writes ``OUT_DIR/items.jsonl`` (what a reader sees: the conversation, the answer, attack or look-alike) and
``OUT_DIR/key.jsonl`` (item -> case and arm, for ``bench/blind_summary.py`` once ``labels.jsonl`` is written).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("round", type=Path, nargs="?", help="a round folder (its heldout-before and heldout-after)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--before", type=Path, help="a red-team output folder (instead of a round)")
    ap.add_argument("--after", type=Path, help="the other red-team output folder, over the same attacks")
    ap.add_argument("--changed-only", action="store_true", help="only cases whose last answers differ")
    ap.add_argument("--attacks", type=int, default=50)
    ap.add_argument("--lookalikes", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.before and args.after:
        arms = {"before": args.before, "after": args.after}
    elif args.round:
        arms = {"before": args.round / "heldout-before", "after": args.round / "heldout-after"}
    else:
        ap.error("give a round folder, or --before and --after")
    rows = {}
    for arm, folder in arms.items():
        path = folder / "transcripts.jsonl"
        if path.exists():
            text = path.read_text()
        else:
            text = gzip.decompress((folder / "transcripts.jsonl.gz").read_bytes()).decode()
        rows[arm] = {r["id"]: r for r in map(json.loads, text.splitlines())}
    rng = random.Random(args.seed)
    ids = sorted(rows["before"])
    if args.changed_only:
        ids = [i for i in ids if rows["before"][i]["answers"][-1] != rows["after"][i]["answers"][-1]]
    attacks = [i for i in ids if not rows["before"][i]["lookalike"]]
    twins = [i for i in ids if rows["before"][i]["lookalike"]]
    items, key = [], []
    chosen = rng.sample(attacks, min(args.attacks, len(attacks))) + rng.sample(twins, min(args.lookalikes, len(twins)))
    for case in chosen:
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
