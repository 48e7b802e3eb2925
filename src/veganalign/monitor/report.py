"""``monitor report``: flags by principle and day, conflicts, latency, errors, reviews, the recorder's drops.

Writes ``report.json``, ``flags_by_day.png`` (flagged conversations per day, stacked by
principle) and ``report.html`` (the same, readable in a browser with the plot inline).
"""

from __future__ import annotations

import base64
import html
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from veganalign.jsonl import write_text_atomic
from veganalign.monitor import store
from veganalign.monitor.export import latest_reviews


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))], 1)


def summarise(engine: Engine) -> dict[str, Any]:
    c, f = store.conversations, store.findings
    with engine.connect() as db:
        convos = list(
            db.execute(
                select(c.c.id, c.c.day, c.c.flagged, c.c.sampled, c.c.status, c.c.latency_ms, c.c.conflict, c.c.stream)
            ).mappings()
        )
        rows = list(
            db.execute(select(f.c.conversation_id, f.c.kind, f.c.principle, f.c.action, f.c.outcome)).mappings()
        )
        runs = list(db.execute(select(store.recorder_runs).order_by(store.recorder_runs.c.id)).mappings())
        reviewers = db.execute(select(func.count()).select_from(store.reviewers)).scalar_one()
    day_of = {x["id"]: x["day"] for x in convos}
    by_principle: Counter[str] = Counter()
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    by_kind: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    for row in rows:
        label = row["principle"] or row["kind"]  # a conflict kind has no principle: it is its own row
        by_principle[label] += 1
        by_day[day_of.get(row["conversation_id"], "?")][label] += 1
        by_kind[row["kind"]] += 1
        by_action[f"{row['action']}:{row['outcome']}"] += 1
    conflicts = Counter(k for x in convos for k in (x["conflict"] or "").split(",") if k)
    reviews = latest_reviews(engine)
    flagged_ids = {x["id"] for x in convos if x["flagged"]}
    latencies = [x["latency_ms"] for x in convos if x["latency_ms"] is not None and x["status"] == 200]
    return {
        "conversations": len(convos),
        "flagged": len(flagged_ids),
        "sampled": sum(1 for x in convos if x["sampled"]),
        "streamed": sum(1 for x in convos if x["stream"]),
        "errors": dict(Counter(str(x["status"]) for x in convos if x["status"] != 200)),
        "latency_ms": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
        "flags_by_principle": dict(by_principle.most_common()),
        "flags_by_kind": dict(by_kind.most_common()),
        "flags_by_action": dict(by_action.most_common()),
        "flags_by_day": {day: dict(counts) for day, counts in sorted(by_day.items())},
        "conflicts": dict(conflicts.most_common()),
        "reviews": {
            "reviewed": len([cid for cid in reviews if cid in flagged_ids]),
            "waiting": len(flagged_ids - set(reviews)),
            "decisions": dict(Counter(r["decision"] for r in reviews.values())),
            "reviewers": reviewers,
        },
        "recorder": {
            "runs": len(runs),
            "written": sum(r["written"] for r in runs),
            "dropped": sum(r["dropped"] for r in runs),
        },
    }


def plot_flags_by_day(summary: dict[str, Any], out: Path) -> Path | None:
    days = list(summary["flags_by_day"])
    if not days:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(summary["flags_by_principle"])
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(days) + 3), 4))
    bottom = [0] * len(days)
    colours = plt.get_cmap("tab20")
    for i, label in enumerate(labels):
        values = [summary["flags_by_day"][d].get(label, 0) for d in days]
        ax.bar(days, values, bottom=bottom, label=label, color=colours(i % 20))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("findings")
    ax.set_title("Flags by principle and day")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _table(title: str, counts: dict[str, Any]) -> str:
    if not counts:
        return f"<h2>{html.escape(title)}</h2><p>none</p>"
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in counts.items())
    return f"<h2>{html.escape(title)}</h2><table>{rows}</table>"


def write_report(engine: Engine, out_dir: Path) -> dict[str, Any]:
    """Summarise the store into ``out_dir``; return the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(engine)
    write_text_atomic(out_dir / "report.json", json.dumps(summary, indent=2) + "\n")
    png = plot_flags_by_day(summary, out_dir / "flags_by_day.png")
    image = ""
    if png is not None:
        data = base64.b64encode(png.read_bytes()).decode()
        image = f'<img alt="Flags by principle and day" src="data:image/png;base64,{data}">'
    head = {k: summary[k] for k in ("conversations", "flagged", "sampled", "streamed")}
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>veganalign monitor report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:.2rem .6rem}}img{{max-width:100%}}</style></head>
<body><h1>Monitor report</h1>{_table("Totals", head)}{image}
{_table("Flags by principle", summary["flags_by_principle"])}
{_table("Rail actions and outcomes", summary["flags_by_action"])}
{_table("High-conflict conversations", summary["conflicts"])}{_table("Errors by status", summary["errors"])}
{_table("Latency of answered requests (ms)", summary["latency_ms"])}{_table("Reviews", summary["reviews"]["decisions"])}
<p>{summary["reviews"]["waiting"]} flagged conversation(s) waiting for review.
Recorder: {summary["recorder"]["written"]} records handled, {summary["recorder"]["dropped"]} dropped.</p>
</body></html>
"""
    write_text_atomic(out_dir / "report.html", page)
    return summary


def redteam_sessions(engine: Engine) -> dict[str, dict[str, Any]]:
    """Human red-team sessions by attack family: sessions, successes, testers and the principles broken."""
    t = store.redteam_sessions
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as db:
        rows = list(db.execute(select(t.c.family, t.c.outcome, t.c.principle, t.c.tester)).mappings())
    for family in sorted({r["family"] for r in rows}):
        mine = [r for r in rows if r["family"] == family]
        wins = [r for r in mine if r["outcome"] == "success"]
        out[family] = {"n": len(mine), "successes": len(wins), "testers": len({r["tester"] for r in mine}),
                       "principles_broken": dict(Counter(r["principle"] for r in wins if r["principle"]))}  # fmt: skip
    return out
