"""Run the labelled check set and print the accuracy table and confusion matrix as Markdown.

    .venv/bin/python tests/knowledge/report_accuracy.py               # the table for docs/knowledge.md
    .venv/bin/python tests/knowledge/report_accuracy.py --failures    # and every miss, for debugging

The same numbers are asserted by ``test_accuracy.py``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from veganalign.knowledge import VERDICTS, KnowledgeBase, load_knowledge_base

CASES = Path(__file__).with_name("check_cases.jsonl")


@dataclass(frozen=True)
class Outcome:
    case: dict[str, str]
    predicted: str

    @property
    def correct(self) -> bool:
        return self.predicted == self.case["expected"]


def load_cases(path: Path = CASES) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(kb: KnowledgeBase, cases: list[dict[str, str]]) -> list[Outcome]:
    return [Outcome(case, kb.check(case["text"]).verdict) for case in cases]


def recall_by_class(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """expected class -> (correct, total)."""
    totals: Counter[str] = Counter(o.case["expected"] for o in outcomes)
    correct: Counter[str] = Counter(o.case["expected"] for o in outcomes if o.correct)
    return {label: (correct[label], totals[label]) for label in VERDICTS if totals[label]}


def markdown(outcomes: list[Outcome]) -> str:
    lines = ["| expected class | cases | correct | recall | precision |", "|---|---:|---:|---:|---:|"]
    predicted: Counter[str] = Counter(o.predicted for o in outcomes)
    for label, (ok, total) in recall_by_class(outcomes).items():
        precision = f"{ok / predicted[label]:.1%}" if predicted[label] else "n/a"
        lines.append(f"| `{label}` | {total} | {ok} | {ok / total:.1%} | {precision} |")
    ok_all = sum(o.correct for o in outcomes)
    lines.append(f"| **all** | {len(outcomes)} | {ok_all} | **{ok_all / len(outcomes):.1%}** | |")
    lines += ["", "Confusion matrix (rows: expected, columns: predicted):", ""]
    lines.append("| expected \\ predicted | " + " | ".join(f"`{v}`" for v in VERDICTS) + " |")
    lines.append("|---|" + "---:|" * len(VERDICTS))
    pairs: Counter[tuple[str, str]] = Counter((o.case["expected"], o.predicted) for o in outcomes)
    for expected in VERDICTS:
        lines.append(f"| `{expected}` | " + " | ".join(str(pairs[expected, p]) for p in VERDICTS) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="also list every case the engine gets wrong")
    parser.add_argument("--data", nargs="+", type=Path, help="data files to use instead of the shipped ones")
    parser.add_argument("--lexicon", type=Path, help="a lexicon file to use instead of the shipped one")
    args = parser.parse_args()
    kb = load_knowledge_base(args.data, args.lexicon)
    outcomes = run(kb, load_cases())
    print(markdown(outcomes))
    if args.failures:
        print()
        for o in outcomes:
            if not o.correct:
                result = kb.check(o.case["text"])
                found = ", ".join(f"{i.text}->{i.name}:{i.counts_as}" for i in result.items)
                case = o.case
                print(f"- {case['id']} expected {case['expected']}, got {o.predicted}: {case['text']!r}  [{found}]")


if __name__ == "__main__":
    main()
