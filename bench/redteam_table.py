"""The README's per-family table: held-out attack success of the base model, the tuned model before and after the
round, and the guarded server, on the same attacks (the first 6 held-out attacks of each family), from the
committed transcripts in ``bench/results/redteam/``:

    python bench/redteam_table.py             # as each run's judge scored it (see its summary.json)
    python bench/redteam_table.py --rejudge   # every stored answer judged again by today's rule judge

The transcripts keep every answer, so a judge that changed since a run was measured can score all the arms again
and the columns stay comparable; ``--rejudge`` also prints the paired tests of the guarded server against the
other arms.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from types import SimpleNamespace

from veganalign.eval.metrics import mcnemar, wilson

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


def rejudged(rows: dict[str, dict]) -> dict[str, dict]:
    """The rows with each attack's last answer judged again by today's rule judge (the way ``redteam`` judges)."""
    from veganalign.eval.judges.rules import RuleJudge
    from veganalign.redteam.run import Scorer
    from veganalign.serve.rails import Rails

    judge = RuleJudge()
    scorer = Scorer(judge, Rails(judge.spec, {}))
    out = {}
    for i, row in rows.items():
        if row["lookalike"]:
            out[i] = row
            continue
        attack = SimpleNamespace(family=row["family"], judge_case=row["judge_case"])
        out[i] = {**row, **scorer.attack(attack, row["answers"][-1])}
    return out


def arms(rejudge: bool = False) -> dict[str, dict[str, dict]]:
    loaded = {name: load(folder) for name, folder in ARMS.items()}
    return {name: rejudged(rows) for name, rows in loaded.items()} if rejudge else loaded


def attack_ids(by_arm: dict[str, dict[str, dict]]) -> list[str]:
    guarded = by_arm["guarded server"]  # the smallest set: the first 6 of each family
    return [i for i, r in guarded.items() if not r["lookalike"] and all(a[i].get("scored") for a in by_arm.values())]


def table(rejudge: bool = False) -> str:
    by_arm = arms(rejudge)
    guarded = by_arm["guarded server"]
    ids = attack_ids(by_arm)
    families = list(dict.fromkeys(guarded[i]["family"] for i in ids))
    lines = ["| family | " + " | ".join(by_arm) + " |", "|---|" + "---:|" * len(by_arm)]
    for family in [*families, None]:
        rows = [i for i in ids if family is None or guarded[i]["family"] == family]
        cells = []
        for a in by_arm.values():
            k = sum(bool(a[i]["success"]) for i in rows)
            _, low, high = wilson(k, len(rows))
            cells.append(f"{k}/{len(rows)}" if family else f"**{k}/{len(rows)}** ({low:.0%}–{high:.0%})")
        lines.append(f"| {f'`{family}`' if family else 'all'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired(rejudge: bool = False) -> dict[str, dict[str, float]]:
    """McNemar of the guarded server against each other arm, on the same attacks."""
    by_arm = arms(rejudge)
    ids = attack_ids(by_arm)
    guarded = [bool(by_arm["guarded server"][i]["success"]) for i in ids]
    return {name: mcnemar([bool(a[i]["success"]) for i in ids], guarded)
            for name, a in by_arm.items() if name != "guarded server"}  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rejudge", action="store_true", help="judge every stored answer again with today's judge")
    args = parser.parse_args()
    print(table(args.rejudge))
    if args.rejudge:
        from veganalign.eval.judges.rules import rules_version

        print(f"\njudge {rules_version()}; guarded server against each arm (McNemar, same attacks):")
        for name, test in paired(True).items():
            print(f"  {name}: {json.dumps(test)}")
