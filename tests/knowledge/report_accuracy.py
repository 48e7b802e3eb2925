"""Run the labelled check set and print the accuracy table and confusion matrix as Markdown.

    .venv/bin/python tests/knowledge/report_accuracy.py               # the table for docs/knowledge.md
    .venv/bin/python tests/knowledge/report_accuracy.py --failures    # and every miss, for debugging
    .venv/bin/python tests/knowledge/report_accuracy.py --lists       # the name lists, dev and held-out apart
    .venv/bin/python tests/knowledge/report_accuracy.py --lists --dev-misses   # and the dev names it gets wrong

The name lists (``lists/*.jsonl``, see ``lists/README.md``) are scored per part. Misses
are only ever printed for the dev part: the held-out part is for an honest figure, and
tuning against its names would spoil it.

The same numbers are asserted by ``test_accuracy.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veganalign.knowledge import VERDICTS, KnowledgeBase, load_knowledge_base

CASES = Path(__file__).with_name("check_cases.jsonl")
LISTS = Path(__file__).with_name("lists")
NON_VEGAN_NAMES = LISTS / "non_vegan_names.jsonl"
VEGAN_NAMES = LISTS / "vegan_names.jsonl"
COMPOUND_NAMES = LISTS / "compound_names.jsonl"
COMPOUND_KINDS = ("plant_analogue", "animal_with_plant_word", "vegan_lookalike_name", "free_from",
                  "animal_with_qualifier")  # fmt: skip
SPLITS = ("dev", "heldout")
FLAGGED = frozenset({"non_vegan", "maybe"})


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


def load_names(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def name_split(name: str) -> str:
    """The list part a name belongs to: a stable hash of its normalised form (lists/README.md)."""
    key = re.sub(r"[^a-z0-9]+", " ", name.casefold()).strip()
    return "heldout" if int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100 < 30 else "dev"


@dataclass(frozen=True)
class NameOutcome:
    row: dict[str, Any]
    predicted: str


def run_names(kb: KnowledgeBase, rows: list[dict[str, Any]]) -> list[NameOutcome]:
    return [NameOutcome(row, kb.check(row["name"]).verdict) for row in rows]


@dataclass(frozen=True)
class NonVeganScore:
    """Scores on the non-vegan name list (or one part of it)."""

    names: int
    flagged: int  # non_vegan or maybe
    called_vegan: int
    unknown: int
    clear_cut: int
    clear_cut_non_vegan: int

    @property
    def flagged_rate(self) -> float:
        return self.flagged / self.names

    @property
    def clear_cut_rate(self) -> float:
        return self.clear_cut_non_vegan / self.clear_cut if self.clear_cut else 1.0


@dataclass(frozen=True)
class VeganScore:
    """Scores on the vegan name list (or one part of it)."""

    names: int
    called_non_vegan: int
    called_vegan: int
    maybe: int
    unknown: int


def score_non_vegan(outcomes: list[NameOutcome]) -> NonVeganScore:
    clear = [o for o in outcomes if o.row.get("clear_cut")]
    return NonVeganScore(
        names=len(outcomes),
        flagged=sum(o.predicted in FLAGGED for o in outcomes),
        called_vegan=sum(o.predicted == "vegan" for o in outcomes),
        unknown=sum(o.predicted == "unknown" for o in outcomes),
        clear_cut=len(clear),
        clear_cut_non_vegan=sum(o.predicted == "non_vegan" for o in clear),
    )


def score_vegan(outcomes: list[NameOutcome]) -> VeganScore:
    predicted = Counter(o.predicted for o in outcomes)
    return VeganScore(
        len(outcomes), predicted["non_vegan"], predicted["vegan"], predicted["maybe"], predicted["unknown"]
    )


def by_split(outcomes: list[NameOutcome]) -> dict[str, list[NameOutcome]]:
    """dev, heldout and all."""
    parts = {split: [o for o in outcomes if o.row["split"] == split] for split in SPLITS}
    return {**parts, "all": outcomes}


def lists_markdown(non_vegan: list[NameOutcome], vegan: list[NameOutcome], parts: tuple[str, ...] = ()) -> str:
    """The tables; ``parts`` limits them to some of dev, heldout, all (default: every part)."""
    lines = [
        "Non-vegan names (`lists/non_vegan_names.jsonl`):",
        "",
        "| part | names | flagged (non_vegan or maybe) | called vegan | unknown | clear-cut called non_vegan |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for part, outcomes in by_split(non_vegan).items():
        if parts and part not in parts:
            continue
        s = score_non_vegan(outcomes)
        lines.append(
            f"| {part} | {s.names} | {s.flagged} ({s.flagged_rate:.1%}) | {s.called_vegan} | {s.unknown} "
            f"| {s.clear_cut_non_vegan}/{s.clear_cut} ({s.clear_cut_rate:.1%}) |"
        )
    lines += [
        "",
        "Vegan names (`lists/vegan_names.jsonl`):",
        "",
        "| part | names | called non_vegan | called vegan | maybe | unknown |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for part, outcomes in by_split(vegan).items():
        if parts and part not in parts:
            continue
        v = score_vegan(outcomes)
        lines.append(f"| {part} | {v.names} | {v.called_non_vegan} | {v.called_vegan} | {v.maybe} | {v.unknown} |")
    return "\n".join(lines)


def dev_misses(kb: KnowledgeBase, non_vegan: list[NameOutcome], vegan: list[NameOutcome]) -> list[str]:
    """The dev names the knowledge base gets wrong (never the held-out ones)."""
    out = []
    for o in non_vegan:
        row = o.row
        wrong = o.predicted not in FLAGGED or (row.get("clear_cut") and o.predicted != "non_vegan")
        if row["split"] == "dev" and wrong:
            expected = f"{row['domain']}, expected {row['expected']}"
            out.append(f"- non-vegan list: {row['name']!r} ({expected}) -> {o.predicted}")
    for o in vegan:
        if o.row["split"] == "dev" and o.predicted == "non_vegan":
            found = ", ".join(f"{i.text}->{i.name}" for i in kb.check(o.row["name"]).items)
            out.append(f"- vegan list: {o.row['name']!r} -> non_vegan  [{found}]")
    return out


def compound_markdown(outcomes: list[NameOutcome]) -> str:
    """Exact-verdict accuracy on the compound names, per part and kind, with the two costly errors counted."""
    lines = [
        "Compound names (`lists/compound_names.jsonl`): exact verdict, by kind",
        "",
        "| part | names | correct | "
        + " | ".join(COMPOUND_KINDS)
        + " | vegan called non_vegan | non_vegan called vegan |",
        "|---|---:|---:|" + "---:|" * (len(COMPOUND_KINDS) + 2),
    ]
    for part, part_outcomes in by_split(outcomes).items():
        ok = sum(o.predicted == o.row["expected"] for o in part_outcomes)
        kinds = []
        for kind in COMPOUND_KINDS:
            of_kind = [o for o in part_outcomes if o.row["kind"] == kind]
            kinds.append(f"{sum(o.predicted == o.row['expected'] for o in of_kind)}/{len(of_kind)}")
        mistaken = sum(o.row["expected"] == "vegan" and o.predicted == "non_vegan" for o in part_outcomes)
        missed = sum(o.row["expected"] == "non_vegan" and o.predicted == "vegan" for o in part_outcomes)
        lines.append(f"| {part} | {len(part_outcomes)} | {ok} ({ok / len(part_outcomes):.1%}) | " + " | ".join(kinds)
                     + f" | {mistaken} | {missed} |")  # fmt: skip
    return "\n".join(lines)


def compound_dev_misses(outcomes: list[NameOutcome]) -> list[str]:
    """The dev compound names it gets wrong (never the held-out ones)."""
    return [f"- compound list: {o.row['name']!r} ({o.row['kind']}, expected {o.row['expected']}) -> {o.predicted}"
            for o in outcomes if o.row["split"] == "dev" and o.predicted != o.row["expected"]]  # fmt: skip


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
    parser.add_argument("--lists", action="store_true", help="score the name lists instead (dev and held-out apart)")
    parser.add_argument("--dev-misses", action="store_true", help="with --lists: list the dev names it gets wrong")
    parser.add_argument(
        "--part", choices=("dev", "heldout", "all"), action="append", help="with --lists: only these parts (repeatable)"
    )
    args = parser.parse_args()
    kb = load_knowledge_base(args.data, args.lexicon)
    if args.lists:
        non_vegan = run_names(kb, load_names(NON_VEGAN_NAMES))
        vegan = run_names(kb, load_names(VEGAN_NAMES))
        compound = run_names(kb, load_names(COMPOUND_NAMES))
        print(lists_markdown(non_vegan, vegan, tuple(args.part or ())))
        print()
        print(compound_markdown([o for o in compound if not args.part or o.row["split"] in args.part]))
        if args.dev_misses:
            print()
            print("\n".join(dev_misses(kb, non_vegan, vegan) + compound_dev_misses(compound)))
        return
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
