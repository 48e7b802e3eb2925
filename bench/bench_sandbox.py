"""Start-up cost of ``veganalign.eval.sandbox.run_python`` against the plain subprocess it replaced.

    .venv/bin/python bench/bench_sandbox.py            # writes bench/results/sandbox.json

Each run executes a trivial program (``pass``) and a typical helpfulness program (a small function
and three asserts). The baseline is the old helpfulness runner: write the program into a fresh
temporary directory and ``subprocess.run([sys.executable, "-I", file], capture_output=True,
timeout=...)``, with no isolation. Rounds alternate baseline and sandbox so that a change in the
machine's load hits both; the ratio is sandbox / baseline of the medians, measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from veganalign.eval import sandbox

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "sandbox.json"

PROGRAMS = {
    "trivial": "pass\n",
    "helpfulness": "def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
    "assert add(0, 0) == 0\n",
}


def plain_subprocess(program: str) -> None:
    """The runner before the sandbox (helpfulness.run_tests as it was)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidate.py"
        path.write_text(program)
        proc = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True, timeout=10, cwd=tmp)
    assert proc.returncode == 0, proc.stderr


def sandboxed(program: str) -> None:
    result = sandbox.run_python(program)
    assert result.returncode == 0, result.stderr


def timed(fn, program: str) -> float:
    started = time.perf_counter()
    fn(program)
    return time.perf_counter() - started


def summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "mean_ms": statistics.fmean(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    started = time.perf_counter()
    mode = sandbox.isolation_mode()  # the one-time probe (a trivial sandboxed run)
    probe_s = time.perf_counter() - started
    layers = sandbox.run_python("pass").isolation

    programs = {}
    for name, program in PROGRAMS.items():
        for fn in (plain_subprocess, sandboxed):  # warm the page cache and the interpreter's .pyc files
            for _ in range(3):
                fn(program)
        base, boxed = [], []
        for _ in range(args.rounds):
            base.append(timed(plain_subprocess, program))
            boxed.append(timed(sandboxed, program))
        b, s = summary(base), summary(boxed)
        programs[name] = {
            "plain_subprocess": b,
            "sandbox": s,
            "ratio_median": s["median_ms"] / b["median_ms"],
            "overhead_median_ms": s["median_ms"] - b["median_ms"],
        }

    results = {
        "benchmark": "veganalign.eval.sandbox.run_python start-up, against the plain subprocess it replaced",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "user": "root" if os.geteuid() == 0 else "unprivileged",
            # Other jobs on the machine inflate wall-clock times, for both runners alike.
            "load_average_1m": os.getloadavg()[0],
        },
        "sandbox": {"mode": mode, "layers": list(layers), "probe_ms": probe_s * 1000},
        "rounds": args.rounds,
        "programs": programs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"sandbox mode {mode}, probe {probe_s * 1000:.0f} ms, load {results['machine']['load_average_1m']:.2f}")
    for name, r in programs.items():
        plain, boxed = r["plain_subprocess"]["median_ms"], r["sandbox"]["median_ms"]
        print(f"{name:12s} plain {plain:6.1f} ms   sandbox {boxed:6.1f} ms   ratio {r['ratio_median']:.2f}x"
              f"   (+{r['overhead_median_ms']:.1f} ms per run)")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
