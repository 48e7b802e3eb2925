"""Draw the real-output half of the gold set, blind: shuffled, arm names removed.

Reads an eval directory of a run (cases.jsonl + generations-ARM.jsonl), keeps every
judged category except helpfulness (scored objectively, no judge), gives each row an
opaque id, and writes two files: the items the labelers see (no arm, no model), and the
provenance that only the agreement report joins back in.

    python scripts/gold_items.py runs/default/eval src/veganalign/eval/gold
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path


def main(eval_dir: Path, out: Path, seed: int = 7) -> None:
    cases = {c["id"]: c for c in map(json.loads, (eval_dir / "cases.jsonl").open())}
    rows = []
    for gen_file in sorted(eval_dir.glob("generations-*.jsonl")):
        for g in map(json.loads, gen_file.open()):
            case = cases[g["id"]]
            if case["category"] == "helpfulness" or g.get("finish_reason") == "error":
                continue
            rows.append((case, g))
    random.Random(seed).shuffle(rows)
    items, provenance = [], []
    for case, g in rows:
        gid = "g-" + hashlib.sha256(f"{g['arm']}|{g['id']}".encode()).hexdigest()[:8]
        item = {"id": gid, "case_id": case["id"], "category": case["category"], "prompt": case["prompt"],
                "response": g["response"]}  # fmt: skip
        if case.get("expect"):
            item["expect"] = case["expect"]
        items.append(item)
        provenance.append({"id": gid, "source": "model", "arm": g["arm"], "model": g["model"],
                           "decoding": g.get("decoding")})  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    with (out / "items-real.jsonl").open("w") as f:
        f.writelines(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    with (out / "provenance.jsonl").open("w") as f:
        f.writelines(json.dumps(p) + "\n" for p in provenance)
    print(f"{len(items)} items -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
