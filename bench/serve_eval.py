"""The deployed assistant, measured: base and tuned model through `veganalign serve`, rails on and off.

Four arms, each a real server process (the real command) answering over HTTP, in the
OpenAI wire format, every case once, greedy:

    base        smollm2-135m-instruct, rails off      base+rails   the same, rails on
    tuned       a trained run's model, rails off      tuned+rails  the same, rails on

All four apply the spec's policy (its system prompt first): what differs is the model and
the rails. Cases: the shipped eval suites (12 a category, the first 48 adversarial), 25
multi-turn pushback conversations and 40 vegan-neutral requests (``bench/data/``), and the
30 held-out is-it-vegan questions. Each answer is judged by the rule judge (which reads the
rails' own signals: for the railed arms it is not independent, see the README's blind
reading) and read for what it does: recommends an animal product, refuses, was replaced by
the rails. Paired McNemar tests compare rails on with off for each model, and tuned with
base. Everything, answers and rail events included, goes to ``--out``.

    python bench/serve_eval.py --tuned runs/default/dpo [--out bench/results/serve_eval.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).parent
SUITES = ROOT / "src" / "veganalign" / "data" / "eval"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_files(paths: list[Path]) -> list[dict]:
    """Only these case files (each row's ``set`` is its file's stem): a held-out set, measured once."""
    cases = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                cases.append({**json.loads(line), "set": path.stem})
    return cases


def load_all_cases(per_category: int) -> list[dict]:
    from veganalign.eval.run import load_cases

    cases = load_cases(sorted(SUITES.glob("*.jsonl")), per_category, {"adversarial": 48})
    for name in ("pushback.jsonl", "vegan_neutral.jsonl", "heldout_classification.jsonl"):
        path = HERE / "data" / name
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["set"] = path.stem
                cases.append(row)
    for c in cases:
        c.setdefault("set", "suites")
    return cases


def start_server(model: str, rails: str, port: int) -> subprocess.Popen:
    # Monitoring off: what is measured is the answers, and the eval's prompts are no users' conversations.
    cmd = [sys.executable, "-m", "veganalign", "serve", "--model", model, "--model-id", "m", "--no-auth",
           "--port", str(port), "--rails", rails, "--no-monitor"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(1)
    proc.kill()
    raise RuntimeError(f"server for {model} did not start")


async def ask_all(url: str, cases: list[dict], max_new_tokens: int, concurrency: int) -> list[dict]:
    gate = asyncio.Semaphore(concurrency)
    out: list[dict] = []

    async def one(case: dict, http: httpx.AsyncClient) -> None:
        messages = case.get("messages") or [{"role": "user", "content": case["prompt"]}]
        async with gate:
            r = await http.post(f"{url}/chat/completions", json={"model": "m", "messages": messages,
                                                                  "max_tokens": max_new_tokens})  # fmt: skip
        body = r.json()
        if r.status_code != 200:
            out.append({"id": case["id"], "response": "", "error": body.get("error"), "rails": []})
            return
        out.append({"id": case["id"], "response": body["choices"][0]["message"]["content"],
                    "finish_reason": body["choices"][0]["finish_reason"],
                    "rails": body.get("veganalign", {}).get("rails", [[]])[0],
                    "situation": body.get("veganalign", {}).get("situation")})  # fmt: skip

    async with httpx.AsyncClient(timeout=600) as http:
        await asyncio.gather(*(one(c, http) for c in cases))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="smollm2-135m-instruct")
    ap.add_argument("--tuned", required=True)
    ap.add_argument("--per-category", type=int, default=12)
    ap.add_argument("--max-new-tokens", type=int, default=112)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "serve_eval.json")
    ap.add_argument("--cases", type=Path, nargs="+", help="only these case files, instead of the suites and bench/data")
    ap.add_argument("--arms", nargs="+", choices=["base", "base+rails", "tuned", "tuned+rails"],
                    help="run only these arms; the others' answers come from --reuse")  # fmt: skip
    ap.add_argument("--reuse", type=Path, help="an earlier --out on the same cases: the answers of arms not run")
    args = ap.parse_args()

    from veganalign.eval.judges.rules import RuleJudge
    from veganalign.eval.metrics import mcnemar, wilson
    from veganalign.eval.run import judge_case
    from veganalign.signals import ResponseSignals

    cases = load_files(args.cases) if args.cases else load_all_cases(args.per_category)
    by_id = {c["id"]: c for c in cases}
    arms = {"base": (args.base, "off"), "base+rails": (args.base, "on"), "tuned": (args.tuned, "off"),
            "tuned+rails": (args.tuned, "on")}  # fmt: skip
    answers: dict[str, list[dict]] = {}
    timings: dict[str, float | str] = {}
    # After a fix to one arm (the rails, say), rerun that arm alone and keep the others' answers.
    previous = json.loads(args.reuse.read_text())["answers"] if args.reuse else {}
    for arm, (model, rails) in arms.items():
        if args.arms and arm not in args.arms:
            if arm not in previous:
                raise SystemExit(f"--arms leaves out {arm}, but --reuse has no answers for it")
            answers[arm] = [{k: r.get(k) for k in ("id", "response", "finish_reason", "rails", "situation", "error")}
                            for r in previous[arm]]  # fmt: skip
            timings[arm] = f"reused from {args.reuse}"
            continue
        port = free_port()
        proc = start_server(model, rails, port)
        try:
            started = time.time()
            answers[arm] = asyncio.run(ask_all(f"http://127.0.0.1:{port}/v1", cases, args.max_new_tokens,
                                               args.concurrency))  # fmt: skip
            timings[arm] = round(time.time() - started, 1)
            print(f"{arm}: {len(answers[arm])} answers in {timings[arm]} s", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    judge, reader = RuleJudge(), ResponseSignals()
    outcomes: dict[str, dict[str, dict]] = defaultdict(dict)
    for arm, rows in answers.items():
        for row in rows:
            case = by_id[row["id"]]
            verdict = judge_case(judge, case, row["response"]) if row["response"] else None
            reading = reader.read(row["response"]) if row["response"] else None
            replaced = any(e.get("outcome") == "replaced" for e in row["rails"])
            row.update(set=case["set"], category=case["category"],
                       aligned=verdict.aligned if verdict else None,
                       recommends=bool(reading and reading.recommended) and case["category"] not in (
                           "descriptive", "survival_medical"),
                       refused=bool(reading and reading.refused and not reading.offers_alternative),
                       replaced=replaced,
                       regenerated=any(e.get("outcome") == "regenerated" for e in row["rails"]))  # fmt: skip
            outcomes[arm][row["id"]] = row

    def rate(arm: str, keep, key) -> dict:
        rows = [r for r in outcomes[arm].values() if keep(r) and r.get("aligned") is not None]
        k = sum(bool(key(r)) for r in rows)
        r, lo, hi = wilson(k, len(rows))
        return {"n": len(rows), "k": k, "rate": round(r, 3), "low": round(lo, 3), "high": round(hi, 3)}

    attacks = lambda r: r["category"] == "adversarial" and r["set"] == "suites"  # noqa: E731
    pushback = lambda r: r["set"] == "pushback"  # noqa: E731
    protected = lambda r: r["category"] in ("descriptive", "survival_medical") and r["set"] == "suites"  # noqa: E731
    neutral = lambda r: r["set"] == "vegan_neutral"  # noqa: E731
    extra_sets = sorted({c["set"] for c in cases} - {"suites", "pushback", "vegan_neutral", "heldout_classification"})
    table = {}
    for arm in arms:
        table[arm] = {
            "attack_success": rate(arm, attacks, lambda r: not r["aligned"]),
            "attack_recommends_animal_product": rate(arm, attacks, lambda r: r["recommends"]),
            "pushback_success": rate(arm, pushback, lambda r: not r["aligned"]),
            "pushback_recommends_animal_product": rate(arm, pushback, lambda r: r["recommends"]),
            "over_refusal_descriptive_survival": rate(arm, protected, lambda r: r["refused"]),
            "replaced_descriptive_survival": rate(arm, protected, lambda r: r["replaced"]),
            "neutral_redirected_or_refused": rate(arm, neutral, lambda r: r["replaced"] or r["refused"]),
            "neutral_recommends_animal_product": rate(arm, neutral, lambda r: r["recommends"]),
            "helpfulness": rate(arm, lambda r: r["category"] == "helpfulness", lambda r: r["aligned"]),
            "classification_suite": rate(
                arm, lambda r: r["category"] == "classification" and r["set"] == "suites", lambda r: r["aligned"]
            ),  # fmt: skip
            "classification_heldout": rate(
                arm, lambda r: r["set"] == "heldout_classification", lambda r: r["aligned"]
            ),  # fmt: skip
            "alignment_all_suites": rate(
                arm, lambda r: r["set"] == "suites" and r["category"] != "helpfulness", lambda r: r["aligned"]
            ),  # fmt: skip
        }

    # A held-out file given with --cases: how often an attack worked, how often the answer
    # went along with an animal product, and, where the case expects a plain answer
    # (medicine, survival, a factual question), how often it was refused or redirected.
    wants_answer = lambda r: by_id[r["id"]].get("expect", {}).get("behaviour") == "answer"  # noqa: E731
    for arm in arms:
        for name in extra_sets:
            in_set = lambda r, name=name: r["set"] == name  # noqa: E731
            attack = lambda r, name=name: r["set"] == name and not wants_answer(r)  # noqa: E731
            table[arm][f"{name}_attack_success"] = rate(arm, attack, lambda r: not r["aligned"])
            table[arm][f"{name}_recommends_animal_product"] = rate(arm, attack, lambda r: r["recommends"])
            table[arm][f"{name}_answer_refused_or_replaced"] = rate(
                arm, lambda r, in_set=in_set: in_set(r) and wants_answer(r), lambda r: r["refused"] or r["replaced"]
            )
            table[arm][f"{name}_aligned"] = rate(arm, in_set, lambda r: r["aligned"])

    def paired(a: str, b: str, keep) -> dict:
        ids = [i for i, r in outcomes[a].items() if keep(r) and r.get("aligned") is not None
               and outcomes[b][i].get("aligned") is not None]  # fmt: skip
        return mcnemar([outcomes[a][i]["aligned"] for i in ids], [outcomes[b][i]["aligned"] for i in ids])

    everything = lambda r: r["category"] != "helpfulness"  # noqa: E731
    comparisons = {f"{b} vs {a}": {"all": paired(a, b, everything), "attacks": paired(a, b, attacks),
                                   "pushback": paired(a, b, pushback)}
                   for a, b in (("base", "base+rails"), ("tuned", "tuned+rails"), ("base", "tuned"),
                                ("base+rails", "tuned+rails"))}  # fmt: skip

    # A blind sample for a reader: all four arms' answers to the same 30 prompts, shuffled, arms hidden.
    rng = random.Random(0)
    sample_ids = rng.sample(sorted(i for i, r in outcomes["tuned"].items()
                                   if r["set"] not in ("heldout_classification",)), min(30, len(cases)))  # fmt: skip
    blind = []
    for i in sample_ids:
        for arm in arms:
            case = by_id[i]
            blind.append({"arm": arm, "id": i, "category": case["category"],
                          "prompt": case.get("messages") or case["prompt"],
                          "response": outcomes[arm][i]["response"]})  # fmt: skip
    rng.shuffle(blind)
    for n, item in enumerate(blind):
        item["item"] = f"b{n:03d}"
    result = {
        "benchmark": __doc__.split("\n")[0],
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "models": {"base": args.base, "tuned": args.tuned},
        "cases": {s: sum(1 for c in cases if c["set"] == s) for s in sorted({c["set"] for c in cases})},
        "max_new_tokens": args.max_new_tokens,
        "seconds": timings,
        "judge": {
            "name": judge.name,
            "version": judge.version,
            "note": "reads the rails' signals: not independent for the railed arms",
        },  # fmt: skip
        "table": table,
        "comparisons": comparisons,
        "answers": {arm: sorted(outcomes[arm].values(), key=lambda r: r["id"]) for arm in arms},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    blind_dir = args.out.with_suffix("")
    blind_dir.mkdir(exist_ok=True)
    (blind_dir / "blind_sample.jsonl").write_text("".join(
        json.dumps({k: v for k, v in b.items() if k not in ("arm", "id")}) + "\n" for b in blind))  # fmt: skip
    (blind_dir / "blind_key.json").write_text(json.dumps({b["item"]: {"arm": b["arm"], "id": b["id"]}
                                                          for b in blind}, indent=1) + "\n")  # fmt: skip
    print(json.dumps(table, indent=1))
    print(json.dumps(comparisons, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
