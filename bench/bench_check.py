"""Throughput of ``veganalign.knowledge.check`` on one core, against a naive baseline; and of the batch path.

    .venv/bin/python bench/bench_check.py            # writes bench/results/check.json and check_lines.json

The workload is a realistic mix of short texts (20-200 characters): label lines and
product descriptions from the labelled test set, and sentences of the kind a chat
model writes (the guardrail checks those). Each is checked whole, one at a time, in a
single process pinned to one core where the OS allows it.

The baseline is what one writes first: for every text, test every name and synonym
of the knowledge base with a precompiled word-boundary regex (guarded by a cheap
``in`` test). It finds the items only; it does no negation or context work, so the
speed-up is a lower bound.

The batch part (``check_lines.json``) writes the same workload, cycled, to a file of
5,000 lines and measures, in texts per CPU-second: ``check`` in a loop, ``check_many``,
the ``--lines`` code in this process (reading, checking, writing JSON Lines), and
``veganalign check --lines FILE`` as a command (its own process: interpreter start,
imports and knowledge-base load included, then without them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from veganalign.knowledge import KnowledgeBase, default_data_files, load_knowledge_base
from veganalign.knowledge.cli import check_lines

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "knowledge" / "check_cases.jsonl"
RESULTS = ROOT / "bench" / "results" / "check.json"
LINES_RESULTS = ROOT / "bench" / "results" / "check_lines.json"

# What a chat model says about food, clothes and outings: the guardrail's input.
SENTENCES = [
    "Try a creamy pasta with cashew cream, garlic and nutritional yeast.",
    "You could swap the butter for olive oil and the eggs for flax eggs.",
    "A warm lentil soup with cumin and lemon is a great weeknight dinner.",
    "For the sauce, whisk tahini, lemon juice, water and a pinch of salt.",
    "Brown the onions in butter, then add the chicken stock and simmer.",
    "Serve the salmon with new potatoes and a dollop of creme fraiche.",
    "Look for boots with a synthetic upper and a rubber sole.",
    "This jacket has a wool shell and a down filling, so it is very warm.",
    "Many wines are fined with isinglass, gelatin or egg whites.",
    "Agar agar sets a jelly just as well as gelatine does.",
    "Coconut milk makes the curry rich without any dairy.",
    "Top the pancakes with maple syrup and fresh blueberries.",
    "We could visit the botanical gardens or go for a hike in the hills.",
    "The aquarium has a new dolphin show every afternoon.",
    "A tofu scramble with spinach and turmeric is a good breakfast.",
    "Honey works, but agave or date syrup keeps it vegan.",
    "Parmesan is made with animal rennet, so it is not vegetarian either.",
    "Peanut butter and banana on toast is a quick snack.",
    "Use vegetable stock instead of beef stock for the gravy.",
    "The moisturiser lists lanolin and beeswax near the top.",
]


def workload() -> list[str]:
    texts = [json.loads(line)["text"] for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += SENTENCES
    return [t for t in texts if 20 <= len(t) <= 200]


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity on this OS)"


def time_load(repeats: int = 5) -> dict[str, float]:
    """A cold build (parse, validate, index) of the shipped data, and the cached call (CPU time)."""
    cold = []
    for _ in range(repeats):
        start = time.process_time()
        load_knowledge_base(default_data_files())  # explicit paths: never cached
        cold.append(time.process_time() - start)
    load_knowledge_base()
    start = time.process_time()
    load_knowledge_base()
    cached = time.process_time() - start
    return {"cold_median_s": statistics.median(cold), "cold_min_s": min(cold), "cached_s": cached}


def throughput(check, texts: list[str], min_seconds: float) -> dict[str, float]:  # noqa: ANN001 - any callable
    """Texts per second over whole passes of ``texts`` until ``min_seconds`` of CPU time (one round).

    Timed with the process's CPU clock as well as the wall clock: on a shared machine
    the wall clock also counts the time other processes hold the core, the CPU clock
    only the work done. The CPU figure is the headline; both are recorded.
    """
    for text in texts[:50]:  # warm-up
        check(text)
    done = 0
    chars = sum(len(t) for t in texts)
    passes = 0
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    while True:
        for text in texts:
            check(text)
        done += len(texts)
        passes += 1
        cpu = time.process_time() - cpu_start
        if cpu >= min_seconds:
            break
    wall = time.perf_counter() - wall_start
    return {
        "texts": done,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "texts_per_s": done / cpu,
        "texts_per_s_wall": done / wall,
        "us_per_text": cpu / done * 1e6,
        "chars_per_s": chars * passes / cpu,
    }


def interleaved(engine, baseline, texts: list[str], seconds: float, rounds: int):  # noqa: ANN001, ANN201
    """Alternate short rounds of the two and keep each one's median round.

    On a shared machine the load changes from second to second; alternating rounds
    exposes both implementations to the same conditions, and the median drops outliers.
    """
    runs: dict[str, list[dict[str, float]]] = {"engine": [], "baseline": []}
    for _ in range(rounds):
        runs["engine"].append(throughput(engine, texts, seconds / rounds))
        runs["baseline"].append(throughput(baseline, texts, seconds / rounds))

    def median_round(results: list[dict[str, float]]) -> dict[str, float]:
        ordered = sorted(results, key=lambda r: r["texts_per_s"])
        chosen = dict(ordered[len(ordered) // 2])
        chosen["rounds"] = len(results)
        chosen["texts_per_s_min"] = ordered[0]["texts_per_s"]
        chosen["texts_per_s_max"] = ordered[-1]["texts_per_s"]
        return chosen

    return median_round(runs["engine"]), median_round(runs["baseline"])


def naive_checker(kb: KnowledgeBase):  # noqa: ANN201 - a closure
    """Every name and synonym, tested one by one against the lower-cased text."""
    phrases = []
    for entry in kb.entries:
        for phrase in {entry.name, *entry.synonyms} | ({entry.e_number} if entry.e_number else set()):
            low = phrase.lower()
            phrases.append((low, re.compile(r"\b" + re.escape(low) + r"\b"), entry))

    def check(text: str) -> list:
        low = text.lower()
        return [entry for needle, pattern, entry in phrases if needle in low and pattern.search(low)]

    return check


# --------------------------------------------------------------------------- the batch path


def batch_rates(kb: KnowledgeBase, lines: list[str], path: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Texts per CPU-second over ``lines`` for each way of checking them all, alternating rounds, median round."""

    def loop() -> None:
        for text in lines:
            kb.check(text)

    def many() -> None:
        kb.check_many(lines)

    def lines_in_process() -> None:
        check_lines(path, kb.check, io.StringIO())

    ways = {"check_loop": loop, "check_many": many, "lines_in_process": lines_in_process}
    rates: dict[str, list[float]] = {name: [] for name in ways}
    loop()  # warm-up: the matcher memoises words it has met
    for _ in range(rounds):
        for name, run in ways.items():
            start = time.process_time()
            run()
            rates[name].append(len(lines) / (time.process_time() - start))
    return {
        name: {"texts_per_s": statistics.median(r), "texts_per_s_min": min(r), "texts_per_s_max": max(r)}
        for name, r in rates.items()
    }


def command_cpu(path: Path) -> tuple[float, int]:
    """CPU seconds (user + system) of ``veganalign check --lines PATH`` in its own process, and its output lines."""
    command = [sys.executable, "-c", "from veganalign.cli import app; app()", "check", "--lines", str(path)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.stdout.count(b"\n")


def bench_lines(kb: KnowledgeBase, texts: list[str], count: int, rounds: int, pinning: str) -> dict:
    lines = [texts[i % len(texts)] for i in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        one = Path(tmp) / "one.txt"
        one.write_text(lines[0] + "\n", encoding="utf-8")
        in_process = batch_rates(kb, lines, path, rounds)
        startup = statistics.median(command_cpu(one)[0] for _ in range(3))  # interpreter, imports, load
        runs = [command_cpu(path) for _ in range(3)]
    cpu = statistics.median(c for c, _ in runs)
    assert all(n == count for _, n in runs), "one output line per input line"
    loop = in_process["check_loop"]["texts_per_s"]
    return {
        "benchmark": f"veganalign check --lines on {count:,} lines, against check() in a loop; one core",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(pinning),
        "lines": count,
        "mean_chars": statistics.mean(len(t) for t in lines),
        "in_process": in_process,
        "command": {
            "cpu_seconds": cpu,
            "startup_cpu_seconds": startup,
            "texts_per_s": count / cpu,
            "texts_per_s_after_startup": count / max(cpu - startup, 1e-9),
        },
        "relative_to_loop": {
            "check_many": in_process["check_many"]["texts_per_s"] / loop,
            "lines_in_process": in_process["lines_in_process"]["texts_per_s"] / loop,
            "command_after_startup": count / max(cpu - startup, 1e-9) / loop,
        },
    }


def machine(pinning: str) -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "pinning": pinning,
        # Other jobs on the machine inflate wall-clock times; the CPU-clock rates less so.
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU seconds per implementation, in all rounds")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per implementation")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--lines", type=int, default=5000, help="lines in the --lines benchmark file (0: skip it)")
    parser.add_argument("--lines-out", type=Path, default=LINES_RESULTS)
    args = parser.parse_args()

    pinning = pin_to_one_core()
    load = time_load()
    kb = load_knowledge_base()
    texts = workload()
    engine, baseline = interleaved(kb.check, naive_checker(kb), texts, args.seconds, args.rounds)
    results = {
        "benchmark": "veganalign.knowledge.check, short texts, one core",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(pinning),
        "knowledge_base": {"entries": len(kb.entries), "load": load},
        "workload": {
            "texts": len(texts),
            "mean_chars": statistics.mean(len(t) for t in texts),
            "min_chars": min(len(t) for t in texts),
            "max_chars": max(len(t) for t in texts),
        },
        "check": engine,
        "naive_baseline": baseline,
        "speedup": engine["texts_per_s"] / baseline["texts_per_s"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"knowledge base: {len(kb.entries)} entries, cold load {load['cold_median_s'] * 1000:.0f} ms (median)")
    print(f"workload: {len(texts)} texts, {results['workload']['mean_chars']:.0f} chars on average ({pinning})")
    for label, r in (("check():       ", engine), ("naive baseline:", baseline)):
        spread = f"{r['texts_per_s_min']:,.0f}-{r['texts_per_s_max']:,.0f}"
        print(
            f"{label} {r['texts_per_s']:>9,.0f} texts per CPU-second ({r['us_per_text']:.1f} us/text), "
            f"{r['texts_per_s_wall']:,.0f} per wall-second; rounds {spread}"
        )
    print(f"speed-up: {results['speedup']:.0f}x; results in {args.out}")
    if args.lines:
        batch = bench_lines(kb, texts, args.lines, args.rounds, pinning)
        args.lines_out.parent.mkdir(parents=True, exist_ok=True)
        args.lines_out.write_text(json.dumps(batch, indent=2) + "\n", encoding="utf-8")
        for name, r in batch["in_process"].items():
            print(f"{name + ':':18} {r['texts_per_s']:>9,.0f} texts per CPU-second")
        c = batch["command"]
        print(
            f"command --lines:   {c['texts_per_s']:>9,.0f} texts per CPU-second ({c['cpu_seconds']:.2f} s, of which "
            f"{c['startup_cpu_seconds']:.2f} s start-up); {c['texts_per_s_after_startup']:,.0f} after start-up"
        )
        print(f"results in {args.lines_out}")


if __name__ == "__main__":
    main()
