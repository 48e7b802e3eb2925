"""Load on the guarded server: 50 concurrent clients for 60 s, rails off and on, streamed and not, monitored.

The server (`veganalign serve`, its real command) guards a stand-in upstream on loopback
(tests/helpers/standin.py: canned answers in OpenAI's wire format, no model), so what is
measured is the server itself: its HTTP path, the policy, grounding and the rails (the
knowledge-base reading of every answer, and for the prompts that trigger them, a
regeneration round trip). Clients, server and stand-in are three processes sharing this
machine's cores: read the figures as the server's overhead under contention, not as a
model's speed.

    python bench/bench_serve.py [--clients 50] [--seconds 60] [--out bench/results/serve.json]

Each phase counts requests and statuses (a 5xx is a failure), and latency to the last byte
(p50/p90/p99); streaming phases also time the first content byte. The rails' added latency
is rails-on minus rails-off at the same percentile, for the same mix of prompts.

Monitoring is on in every phase but one (sample rate 1: every request is stored), and
every message carries planted personal data. After each phase the server is stopped and
its store is counted against the requests it answered (zero lost records is the bar) and
scanned for every planted value (zero found is the bar). ``rails_on_plain_unmonitored``
repeats one phase with monitoring off: the monitoring's cost is the ratio of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# A realistic mix: most requests are ordinary; some ask for animal products (the rails regenerate),
# an is-it-vegan question (grounding and the knowledge base's verdict), a descriptive and a survival one.
PROMPTS = [
    "Plan a family day out",
    "Recommend a shampoo for dry hair",
    "Give me a brownie recipe",
    "Name a good lentil dish",
    "How is cheese made?",
    "I'm stranded on a boat with only canned tuna. What should I do?",
    "Give me a recipe for grilled chicken breast",
    "Is gelatin vegan?",
]
# Personal data planted in every message (one of these each), and the values a scan of the store must not find.
PLANTED = [
    ("my email is lena.vogel@example.de", "lena.vogel@example.de"),
    ("call me on +44 7700 900123", "+44 7700 900123"),
    ("card 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("refund to IBAN DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),
    ("my IP is 198.51.100.23", "198.51.100.23"),
    ("deliver to 221B Baker Street, London NW1 6XE", "221B Baker Street"),
    ("thanks, I'm Tomasz Nowak", "Tomasz Nowak"),
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], health: str, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env or os.environ.copy())
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(health, timeout=1).status_code in (200, 404, 405):
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{cmd[:4]} did not start")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def phase(url: str, clients: int, seconds: float, stream: bool) -> dict:
    latencies, first_bytes, statuses = [], [], {}
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(i: int, http: httpx.AsyncClient) -> None:
        n = i
        while time.monotonic() < stop_at:
            planted = PLANTED[(n // len(PROMPTS)) % len(PLANTED)][0]
            body = {"model": "stand-in", "stream": stream, "max_tokens": 64,
                    "messages": [{"role": "user", "content": f"{PROMPTS[n % len(PROMPTS)]} ({planted})"}]}  # fmt: skip
            n += clients
            started = time.perf_counter()
            try:
                if stream:
                    async with http.stream("POST", f"{url}/chat/completions", json=body) as r:
                        first = None
                        async for line in r.aiter_lines():
                            if first is None and line.startswith("data: ") and '"content": "' in line:
                                first = time.perf_counter() - started
                        status = r.status_code
                    if first is not None:
                        first_bytes.append(first)
                else:
                    r = await http.post(f"{url}/chat/completions", json=body)
                    status = r.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            statuses[str(status)] = statuses.get(str(status), 0) + 1

    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(clients)))
    ms = [x * 1000 for x in latencies]
    answered = sum(v for k, v in statuses.items() if k.isdigit())  # a response came back: the server saw it
    result = {"requests": len(latencies), "answered": answered, "requests_per_s": round(len(latencies) / seconds, 1),
              "statuses": statuses,
              "server_errors": sum(v for k, v in statuses.items() if k.startswith("5") or not k.isdigit()),
              "not_ok": sum(v for k, v in statuses.items() if k != "200"),
              "latency_ms": {f"p{int(q * 100)}": percentile(ms, q) for q in (0.5, 0.9, 0.99)},
              "mean_ms": round(statistics.fmean(ms), 1) if ms else None}  # fmt: skip
    if stream:
        fb = [x * 1000 for x in first_bytes]
        result["first_content_ms"] = {f"p{int(q * 100)}": percentile(fb, q) for q in (0.5, 0.99)}
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = ap.parse_args()

    up_port = free_port()
    standin = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); import uvicorn; "
               f"from helpers.standin import standin_app; uvicorn.run(standin_app(), host='127.0.0.1', port={up_port}, "
               "log_level='warning')"]  # fmt: skip
    up = start(standin, f"http://127.0.0.1:{up_port}/v1/chat/completions")
    result: dict = {
        "benchmark": "veganalign serve in front of a stand-in upstream on loopback (no model), "
        f"{args.clients} concurrent clients, {args.seconds:.0f} s per phase",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "note": "clients, server and stand-in share these cores: the figures are overhead under contention",
        "prompts": PROMPTS,
        "phases": {},
    }
    import tempfile

    from sqlalchemy import func, select

    from veganalign.monitor import store

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))

    def check_store(url: str, answered: int) -> dict:
        """The stopped server's store against what it answered; every text column scanned for planted data."""
        engine = store.open_store(url)
        with engine.connect() as db:
            stored = db.execute(select(func.count()).select_from(store.conversations)).scalar_one()
            dropped = db.execute(select(func.coalesce(func.sum(store.recorder_runs.c.dropped), 0))).scalar_one()
            texts = [str(v) for t in store.metadata.sorted_tables for row in db.execute(select(t)) for v in row
                     if v is not None]  # fmt: skip
        dump = "\n".join(texts)
        found = [value for _, value in PLANTED if value in dump]
        return {"answered": answered, "stored": stored, "lost": answered - stored, "dropped": dropped,
                "planted_values_found": found}  # fmt: skip

    plan = [("off", False, True), ("off", True, True), ("on", False, True), ("on", True, True), ("on", False, False)]
    try:
        for rails, stream, monitored in plan:
            name = f"rails_{rails}_{'stream' if stream else 'plain'}" + ("" if monitored else "_unmonitored")
            port = free_port()
            url = f"sqlite:///{work / (name + '.db')}"
            monitor = ["--db", url, "--sample-rate", "1.0"] if monitored else ["--no-monitor"]
            server = start([sys.executable, "-m", "veganalign", "serve", "--model",
                            f"openai:stand-in@http://127.0.0.1:{up_port}/v1", "--model-id", "stand-in", "--no-auth",
                            "--port", str(port), "--rails", rails, *monitor],
                           f"http://127.0.0.1:{port}/healthz")  # fmt: skip
            try:
                result["phases"][name] = asyncio.run(phase(f"http://127.0.0.1:{port}/v1", args.clients,
                                                           args.seconds, stream))  # fmt: skip
            finally:
                server.terminate()  # SIGTERM: the recorder drains its queue before the process exits
                server.wait(timeout=60)
            if monitored:
                result["phases"][name]["monitor"] = check_store(url, result["phases"][name]["answered"])
            print(name, json.dumps(result["phases"][name]), flush=True)
    finally:
        up.terminate()
        up.wait(timeout=15)
    for mode in ("plain", "stream"):
        on, off = result["phases"][f"rails_on_{mode}"], result["phases"][f"rails_off_{mode}"]
        result[f"rails_added_ms_{mode}"] = {q: round(on["latency_ms"][q] - off["latency_ms"][q], 1)
                                            for q in ("p50", "p99")}  # fmt: skip
        result[f"rails_ratio_{mode}"] = {q: round(on["latency_ms"][q] / off["latency_ms"][q], 2)
                                         for q in ("p50", "p99")}  # fmt: skip
    result["server_errors_total"] = sum(p["server_errors"] for p in result["phases"].values())
    on, off = result["phases"]["rails_on_plain"], result["phases"]["rails_on_plain_unmonitored"]
    result["monitor_ratio_plain"] = {q: round(on["latency_ms"][q] / off["latency_ms"][q], 2) for q in ("p50", "p99")}
    result["monitor_throughput_ratio_plain"] = round(on["requests_per_s"] / off["requests_per_s"], 2)
    monitored = [p["monitor"] for p in result["phases"].values() if "monitor" in p]
    result["monitor_lost_total"] = sum(m["lost"] for m in monitored)
    result["monitor_planted_found_total"] = sum(len(m["planted_values_found"]) for m in monitored)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k.startswith(("rails_", "server_errors", "monitor_"))},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
