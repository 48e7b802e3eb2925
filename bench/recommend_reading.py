"""How well the rails' "recommends an animal product" reading agrees with blind readers.

    python bench/recommend_reading.py            # -> bench/results/recommend_reading.json

Every answer that a blind reading in this repository labelled, with the conversation it answered:
the red-team readings (``bench/results/redteam/*/blind``: ``gives_animal_product``) and the served
eval's (``bench/results/serve_eval``: ``recommends_animal_product``). Each answer is read the way the
server's rails read it (``Rails.check``: the situation of the conversation decides, a request's mentions
count, medical, survival and descriptive answers are not checked for recommendations), and compared with
the reader's label. The readers are model-based and saw no rails or judge output; their labels are not
ground truth, but they are independent of the signals this measures.
"""

from __future__ import annotations

import json
from pathlib import Path

from veganalign.serve.rails import RECOMMENDS, Rails
from veganalign.spec import load_spec

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "recommend_reading.json"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def labelled_answers() -> list[dict]:
    """(source, conversation, answer, label) for every blind-read answer."""
    out = []
    for folder in sorted((ROOT / "results" / "redteam").glob("*/blind")):
        labels = {r["item"]: r for r in _rows(folder / "labels.jsonl")}
        for item in _rows(folder / "items.jsonl"):
            label = labels[item["item"]]
            out.append({"source": folder.parent.name, "item": item["item"], "messages": item["conversation"],
                        "answer": item["answer"], "label": bool(label["gives_animal_product"])})  # fmt: skip
    folder = ROOT / "results" / "serve_eval"
    labels = {r["item"]: r for r in _rows(folder / "blind_labels.jsonl")}
    for item in _rows(folder / "blind_sample.jsonl"):
        out.append({"source": "serve_eval", "item": item["item"],
                    "messages": item["prompt"] if isinstance(item["prompt"], list)
                    else [{"role": "user", "content": item["prompt"]}], "answer": item["response"],
                    "label": bool(labels[item["item"]]["recommends_animal_product"])})  # fmt: skip
    return out


def measure() -> dict:
    rails = Rails(load_spec(), {})
    answers = labelled_answers()
    counts = {"both": 0, "reader_only": 0, "rails_only": 0, "neither": 0}
    disagreements = []
    for a in answers:
        findings = rails.check(a["messages"], a["answer"])
        flagged = any(f.kind == RECOMMENDS for f in findings)
        key = ("both" if a["label"] else "rails_only") if flagged else ("reader_only" if a["label"] else "neither")
        counts[key] += 1
        if flagged != a["label"]:
            disagreements.append({"source": a["source"], "item": a["item"], "reader": a["label"], "rails": flagged,
                                  "answer": a["answer"][:300]})  # fmt: skip
    read = counts["both"] + counts["reader_only"]
    flagged = counts["both"] + counts["rails_only"]
    return {
        "answers": len(answers),
        **counts,
        "recall": round(counts["both"] / read, 3) if read else None,
        "precision": round(counts["both"] / flagged, 3) if flagged else None,
        "disagreements": disagreements,
    }


if __name__ == "__main__":
    r = measure()
    OUT.write_text(json.dumps(r, indent=2) + "\n")
    print(json.dumps({k: v for k, v in r.items() if k != "disagreements"}, indent=2))
