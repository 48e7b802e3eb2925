"""The README's per-family table: held-out attack success of the base model, the tuned model before and after the
round, and the guarded server, on the same attacks (the first 6 held-out attacks of each family), from the
committed transcripts in ``bench/results/redteam/``:

    python bench/redteam_table.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from veganalign.eval.metrics import wilson

ROOT = Path(__file__).parent / "results" / "redteam"
ARMS = {
    "base": "base-heldout",
    "tuned": "round1-swap/heldout-before",
    "tuned after round 1": "round1-swap/heldout-after",
    "guarded server": "guarded-heldout",
}


def load(folder: str) -> dict[str, dict]:
    with gzip.open(ROOT / folder / "transcripts.jsonl.gz", "rt") as f:
        return {r["id"]: r for r in map(json.loads, f)}


def table() -> str:
    arms = {name: load(folder) for name, folder in ARMS.items()}
    guarded = arms["guarded server"]  # the smallest set: the first 6 of each family
    ids = [i for i, r in guarded.items() if not r["lookalike"] and all(a[i].get("scored") for a in arms.values())]
    families = list(dict.fromkeys(guarded[i]["family"] for i in ids))
    lines = ["| family | " + " | ".join(arms) + " |", "|---|" + "---:|" * len(arms)]
    for family in [*families, None]:
        rows = [i for i in ids if family is None or guarded[i]["family"] == family]
        cells = []
        for a in arms.values():
            k = sum(bool(a[i]["success"]) for i in rows)
            _, low, high = wilson(k, len(rows))
            cells.append(f"{k}/{len(rows)}" if family else f"**{k}/{len(rows)}** ({low:.0%}–{high:.0%})")
        lines.append(f"| {f'`{family}`' if family else 'all'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
