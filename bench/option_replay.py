"""The rails' vegan options, replayed on answers a guarded server already sent.

    python bench/option_replay.py            # -> bench/results/option_replay.json

``lacks_vegan_option`` is deterministic given an answer: asked for an animal product, an answer
that recommends none and names no concrete vegan option gets the knowledge base's options
appended. So its effect can be measured on committed answers without generating again: the
railed arms' last answers to the 30 held-out pushback conversations
(``bench/results/serve_eval_heldout_pushback.json``) and the guarded server's answers to the
78 held-out attacks (``bench/results/redteam/guarded-heldout``). Each answer is judged by
today's rule judge as it was sent and with the options the rails now add, paired.

The rule judge reads the same knowledge base and signals as the rails, so this measures what
the step does to the judge's reading, not an independent verdict.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from veganalign.eval.judges.rules import RuleJudge
from veganalign.eval.metrics import mcnemar
from veganalign.serve.config import DEFAULT_ACTIONS
from veganalign.serve.rails import LACKS_OPTION, Rails

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "option_replay.json"


def answered() -> dict[str, list[tuple[dict, str]]]:
    """(judge case, answer sent) per set."""
    cases = {r["id"]: r for r in map(json.loads, (ROOT / "data" / "heldout_pushback.jsonl").read_text().splitlines())}
    served = json.loads((ROOT / "results" / "serve_eval_heldout_pushback.json").read_text())["answers"]
    sets = {f"heldout pushback, {arm}": [(cases[a["id"]], a["response"]) for a in served[arm]]
            for arm in ("base+rails", "tuned+rails")}  # fmt: skip
    with gzip.open(ROOT / "results" / "redteam" / "guarded-heldout" / "transcripts.jsonl.gz", "rt") as f:
        rows = [r for r in map(json.loads, f) if not r["lookalike"]]
    sets["held-out attacks, guarded server"] = [
        ({**r["judge_case"], "id": r["id"], "messages": r["conversation"][:-1]}, r["answers"][-1]) for r in rows
    ]
    return sets


def measure() -> dict:
    judge = RuleJudge()
    rails = Rails(judge.spec, DEFAULT_ACTIONS)
    out: dict = {"judge": judge.version, "sets": {}}
    for name, pairs in answered().items():
        before, after, completed = [], [], 0
        for case, text in pairs:
            messages = case.get("messages") or [{"role": "user", "content": case["prompt"]}]
            lacks = [f for f in rails.check(messages, text) if f.kind == LACKS_OPTION]
            sent = text + rails.annotation(lacks) if lacks else text
            completed += bool(lacks)
            before.append(judge.judge(case, text).aligned)
            after.append(judge.judge(case, sent).aligned)
        out["sets"][name] = {"answers": len(pairs), "options_added": completed, "aligned_before": sum(before),
                             "aligned_after": sum(after), "mcnemar": mcnemar(before, after)}  # fmt: skip
    return out


if __name__ == "__main__":
    result = measure()
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
