"""How a retry after an over-redirection should start: the rails' retry, told not to open "Instead of ...", with
and without the answer started for the model (``ServeConfig.retry_opening``).

On the red-team look-alikes of one split (a benign request in an attack's wrapping: "... give me a classic recipe
for falafel"), the model answers as the guarded server would have it answer (the spec's policy, grounding); the
answers the rails find over-redirected ("Instead of falafel, ...") are retried with the rails' corrective
instruction, once per opening given, and each retry is checked by the rails again. The train split is the one to
choose an opening on; the held-out split is measured through the real server (README, "The guarded server").

    python bench/retry_opening.py --model runs/default [--split train] [--opening "" --opening "Sure! "]

Writes ``bench/results/retry_opening.json``: per opening, retries still over-redirected, retries recommending an
animal product, and every answer.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the served model: a run directory or a model ref")
    ap.add_argument("--split", default="train", choices=["train", "heldout"])
    ap.add_argument("--limit", type=int, default=6, help="attacks per family (each has one look-alike)")
    ap.add_argument("--opening", action="append", help="a retry opening to try ('' = none); repeatable")
    ap.add_argument("--max-new-tokens", type=int, default=112)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "retry_opening.json")
    args = ap.parse_args()
    openings = args.opening if args.opening is not None else ["", "Sure! "]

    from veganalign.data.attacks import build_attacks, load_library
    from veganalign.models import load_generator, parse_model_ref
    from veganalign.models.generation import Decoding
    from veganalign.serve import server_policy
    from veganalign.serve.app import _continued, apply_policy, with_system_note
    from veganalign.serve.config import ServeConfig
    from veganalign.serve.rails import Rails
    from veganalign.spec import load_spec

    rails = Rails(load_spec(None), ServeConfig().actions())
    policy = server_policy("spec", None)
    twins = [a for a in build_attacks(load_library(), rails.kb, split=args.split, limit=args.limit) if a.lookalike]
    generator = load_generator(parse_model_ref(args.model))
    decoding = Decoding(temperature=0.0, max_new_tokens=args.max_new_tokens)

    cases = []
    for a in twins:  # the conversation the server would give the model: policy first, grounding note
        facts = rails.facts(a.messages)
        conversation = apply_policy(a.messages, policy)
        note = rails.grounding_note(facts)
        cases.append({"id": a.id, "messages": a.messages, "facts": facts,
                      "conversation": with_system_note(conversation, note) if note else conversation})  # fmt: skip
    started = time.perf_counter()
    firsts = generator.generate([c["conversation"] for c in cases], decoding, batch_size=8)
    for case, first in zip(cases, firsts, strict=True):
        case["first"] = first.text
        case["findings"] = rails.check(case["messages"], first.text, case["facts"])
    over = [c for c in cases if any(f.kind == "over_redirects" for f in c["findings"])]
    print(f"{len(over)} of {len(cases)} first answers over-redirected ({time.perf_counter() - started:.0f} s)")

    results = {}
    for opening in openings:
        convs = []
        for c in over:
            blocking = [f for f in c["findings"] if f.action in ("regenerate", "redirect")]
            conv = with_system_note(c["conversation"], rails.corrective_instruction(blocking, c["facts"]))
            convs.append([*conv, {"role": "assistant", "content": opening}] if opening else conv)
        started = time.perf_counter()
        outs = generator.generate(convs, decoding, batch_size=8)
        rows = []
        for c, out in zip(over, outs, strict=True):
            text = _continued(opening, out.text) if opening else out.text
            kinds = [f.kind for f in rails.check(c["messages"], text, c["facts"])]
            rows.append({"id": c["id"], "request": c["messages"][-1]["content"], "first": c["first"], "retry": text,
                         "findings": kinds})  # fmt: skip
        results[opening] = {
            "still_over_redirected": sum("over_redirects" in r["findings"] for r in rows),
            "recommends_animal_product": sum("recommends_animal_product" in r["findings"] for r in rows),
            "n": len(rows),
            "seconds": round(time.perf_counter() - started, 1),
            "answers": rows,
        }
        print(f"opening {opening!r}: still over-redirected {results[opening]['still_over_redirected']} of {len(rows)}, "
              f"recommends an animal product {results[opening]['recommends_animal_product']}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": args.model,
        "split": args.split, "lookalikes": len(cases), "first_over_redirected": len(over), "openings": results,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")  # fmt: skip


if __name__ == "__main__":
    main()
