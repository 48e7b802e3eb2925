"""Which conversations the guarded server answers itself, from the spec's medical policy, and what it says.

    python bench/health_answers.py           # -> bench/results/health_answers.json

``serve/health.py`` writes the answer to a treatment (prescribed, offered, or asked about), to
someone cut off from food, and to an emergency happening now, instead of the model. Both parts
are deterministic given a conversation, so this runs the rails alone over blind-written sets,
with no model:

- ``bench/data/heldout_health.jsonl`` and ``heldout_health_2.jsonl``: conversations written by
  helpers who read nothing of the project, in four groups: ``treatment``, ``survival`` and
  ``urgent`` (the server should answer) and ``not_treatment`` (nutrition with a condition, a
  friend's illness, history, fiction, faked emergencies after a recipe: the model should);
- the project's own medical and survival cases (``survival_medical`` in the eval suites and the
  held-out pushback sets) and every attack and pushback conversation in ``bench/data`` and the
  eval suites, where the server should not take over.

Each answer is also read by the rails themselves (no finding), and by the shared response
signals (health first, no shaming), as a floor; whether it is a good answer was read blind
(``bench/results/health_answers/blind``), not here.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from veganalign.serve.config import DEFAULT_ACTIONS
from veganalign.serve.health import read_need
from veganalign.serve.rails import Rails
from veganalign.spec import load_spec

ROOT = Path(__file__).resolve().parent
EVAL = ROOT.parent / "src" / "veganalign" / "data" / "eval"
OUT = ROOT / "results" / "health_answers.json"
BLIND_SETS = ("heldout_health.jsonl", "heldout_health_2.jsonl", "heldout_health_3.jsonl", "heldout_health_4.jsonl")


def conversations(path: Path, group_of=lambda case: case.get("group")) -> list[tuple[str, str, list[dict]]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        messages = case.get("messages") or [{"role": "user", "content": case["prompt"]}]
        out.append((case["id"], group_of(case), messages))
    return out


def measure() -> dict:
    rails = Rails(load_spec(), DEFAULT_ACTIONS)
    out: dict = {"sets": {}}

    def run(name: str, cases: list[tuple[str, str, list[dict]]], sha: str | None = None, keep: bool = False) -> None:
        answered, total, kinds, rows, findings, not_health_first = Counter(), Counter(), Counter(), [], 0, 0
        for case_id, group, messages in cases:
            total[group] += 1
            text = rails.vetted_health_answer(messages, rails.facts(messages))
            if text is None:
                rows.append({"id": case_id, "group": group, "answer": None})
                continue
            answered[group] += 1
            kinds[read_need(messages, rails.kb).kind] += 1
            findings += bool(rails.check(messages, text))
            not_health_first += not rails.reader.puts_health_first(text)
            rows.append({"id": case_id, "group": group, "answer": text})
        entry = {"groups": {g: {"conversations": total[g], "answered_by_server": answered[g]} for g in sorted(total)},
                 "kinds": dict(sorted(kinds.items())), "answers_the_rails_flag": findings,
                 "answers_not_health_first": not_health_first}  # fmt: skip
        if sha:
            entry = {"sha256": sha, **entry}
        if keep:
            entry["answers"] = rows
        out["sets"][name] = entry

    for file in BLIND_SETS:
        path = ROOT / "data" / file
        if path.exists():
            run(file, conversations(path), hashlib.sha256(path.read_bytes()).hexdigest(), keep=True)
    run("eval survival_medical", conversations(EVAL / "survival_medical.jsonl", lambda c: "survival_medical"))
    pushback = [c for f in ("heldout_pushback.jsonl", "heldout_pushback_v2.jsonl")
                for c in conversations(ROOT / "data" / f, lambda c: c["category"])]  # fmt: skip
    run("held-out pushback", pushback)
    others = [c for f in sorted(EVAL.glob("*.jsonl")) if f.name != "survival_medical.jsonl"
              for c in conversations(f, lambda c: c["category"])]  # fmt: skip
    run("eval suites other than survival_medical", others)
    bench = [c for f in sorted((ROOT / "data").glob("*.jsonl"))
             if not f.name.startswith(("heldout_health", "heldout_pushback"))
             for c in conversations(f, lambda c: c.get("category") or c.get("group") or "other")]  # fmt: skip
    run("other bench sets (attacks, pushback, requests)", bench)
    return out


def main() -> None:
    result = measure()
    OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, entry in result["sets"].items():
        groups = ", ".join(f"{g} {v['answered_by_server']}/{v['conversations']}" for g, v in entry["groups"].items())
        print(f"{name}: {groups}; flagged by the rails {entry['answers_the_rails_flag']}, "
              f"not health-first {entry['answers_not_health_first']}")  # fmt: skip
    print(f"-> {OUT.relative_to(ROOT.parent)}")


if __name__ == "__main__":
    main()
