"""How far annotators agree: Krippendorff's alpha per criterion (and Cohen's kappa when there
are exactly two annotators), each annotator against the others, and the items to adjudicate.

Alpha takes any number of annotators and missing labels; its distance follows the kind of
label: ``nominal`` (decisions, the principles broken), ``ordinal`` (ranks, 1-5 ratings).
It is 1 for perfect agreement, 0 for agreement at chance, below 0 for systematic
disagreement, and undefined (``None``) when every label is the same.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from itertools import combinations, permutations
from typing import Any

# criterion -> the label's kind; rows that lack a criterion are skipped for it.
RANK_CRITERIA = {"rank": "ordinal", "alignment": "ordinal", "helpfulness": "ordinal", "accuracy": "ordinal",
                 "tone": "ordinal", "violated": "nominal"}  # fmt: skip
REVIEW_CRITERIA = {"decision": "nominal", "violated": "nominal"}


def krippendorff_alpha(units: dict[Any, dict[str, Any]], kind: str = "nominal") -> float | None:
    """``units``: unit -> {annotator: value}. Units with fewer than two values are not pairable."""
    coincidence: Counter = Counter()
    for values in units.values():
        vals = [v for v in values.values() if v is not None]
        if len(vals) < 2:
            continue
        for a, b in permutations(range(len(vals)), 2):
            coincidence[(vals[a], vals[b])] += 1 / (len(vals) - 1)
    totals: Counter = Counter()
    for (c, _), weight in coincidence.items():
        totals[c] += weight
    n = sum(totals.values())
    if n <= 1 or len(totals) < 2:
        return None
    categories = sorted(totals)

    def delta(c: Any, k: Any) -> float:
        if kind == "nominal":
            return 0.0 if c == k else 1.0
        if kind == "interval":
            return float(c - k) ** 2
        lo, hi = sorted((categories.index(c), categories.index(k)))  # ordinal: by the marginal counts between
        between = sum(totals[categories[g]] for g in range(lo, hi + 1))
        return (between - (totals[c] + totals[k]) / 2) ** 2

    observed = sum(w * delta(c, k) for (c, k), w in coincidence.items())
    expected = sum(totals[c] * totals[k] * delta(c, k) for c in categories for k in categories)
    if expected == 0:
        return None
    return 1 - (n - 1) * observed / expected


def cohen_kappa(pairs: list[tuple[Any, Any]]) -> float | None:
    """Two annotators' labels on the same units (nominal)."""
    if not pairs:
        return None
    observed = sum(a == b for a, b in pairs) / len(pairs)
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in first) / len(pairs) ** 2
    return None if expected == 1 else (observed - expected) / (1 - expected)


def _value(row: dict[str, Any], criterion: str) -> Any:
    value = row.get(criterion)
    return tuple(sorted(value)) if isinstance(value, list) else value


def agreement(rows: list[dict[str, Any]], task: str) -> dict[str, Any]:
    """``rows``: one per annotator per unit (``annotator``, ``unit``, ``item`` and the criteria)."""
    criteria = RANK_CRITERIA if task == "rank" else REVIEW_CRITERIA
    annotators = sorted({r["annotator"] for r in rows})
    result: dict[str, Any] = {"task": task, "annotators": annotators, "criteria": {}, "per_annotator": {}}
    for criterion, kind in criteria.items():
        units: dict[Any, dict[str, Any]] = defaultdict(dict)
        for r in rows:
            if r.get(criterion) is not None:
                units[r["unit"]][r["annotator"]] = _value(r, criterion)
        shared = {u: v for u, v in units.items() if len(v) >= 2}
        alpha = krippendorff_alpha(shared, kind)
        entry = {"kind": kind, "units": len(shared), "alpha": None if alpha is None else round(alpha, 3)}
        if len(annotators) == 2:
            a, b = annotators
            pairs = [(v[a], v[b]) for v in shared.values() if a in v and b in v]
            kappa = cohen_kappa(pairs)
            entry["cohen_kappa"] = None if kappa is None else round(kappa, 3)
        result["criteria"][criterion] = entry
    main = "rank" if task == "rank" else "decision"
    for name in annotators:
        same = total = 0
        by_unit: dict[Any, dict[str, Any]] = defaultdict(dict)
        for r in rows:
            by_unit[r["unit"]][r["annotator"]] = _value(r, main)
        for values in by_unit.values():
            if name in values:
                for other, value in values.items():
                    if other != name:
                        total += 1
                        same += value == values[name]
        result["per_annotator"][name] = {
            "units": sum(1 for r in rows if r["annotator"] == name),
            "compared": total,
            "agrees": None if not total else round(same / total, 3),
        }
    result["disagreements"] = disagreements(rows, task)
    return result


def disagreements(rows: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    """Items whose annotators differ on what matters most: the best answer (rank) or the decision (review)."""
    by_item: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_item[r["item"]][r["annotator"]].append(r)
    out = []
    for item, per in sorted(by_item.items()):
        if len(per) < 2:
            continue
        if task == "rank":
            verdict = {a: sorted(r["candidate"] for r in rs if r.get("rank") == min(x["rank"] for x in rs))
                       for a, rs in per.items()}  # fmt: skip
            what = "best answer (candidate indexes)"
        else:
            verdict = {a: rs[-1]["decision"] for a, rs in per.items()}
            what = "decision"
        if any(x != y for x, y in combinations(verdict.values(), 2)):
            first = next(iter(per.values()))[0]
            out.append({"item": item, "on": what, "labels": verdict, "prompt": first.get("prompt", "")})
    return out


def report_html(result: dict[str, Any]) -> str:
    """A small page: criteria, annotators, disagreements to adjudicate."""
    e = html.escape

    def fmt(x: Any) -> str:
        return "n/a" if x is None else str(x)

    two = len(result["annotators"]) == 2
    crit = "".join(f"<tr><td>{e(c)}</td><td>{v['kind']}</td><td>{v['units']}</td><td>{fmt(v['alpha'])}</td>"
                   + (f"<td>{fmt(v.get('cohen_kappa'))}</td>" if two else "") + "</tr>"
                   for c, v in result["criteria"].items())  # fmt: skip
    people = "".join(f"<tr><td>{e(a)}</td><td>{v['units']}</td><td>{v['compared']}</td><td>{fmt(v['agrees'])}</td></tr>"
                     for a, v in result["per_annotator"].items())  # fmt: skip
    dis = "".join(
        f"<li><b>{e(d['item'])}</b> ({e(d['on'])}): "
        + "; ".join(f"{e(a)}: {e(str(v))}" for a, v in d["labels"].items())
        + f"<br><small>{e(str(d['prompt'])[:300])}</small></li>"
        for d in result["disagreements"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Annotator agreement ({e(result["task"])})</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem}}</style></head>
<body><h1>Annotator agreement: {e(result["task"])}</h1>
<p>{len(result["annotators"])} annotators. Krippendorff's alpha: 1 is full agreement, 0 chance; n/a where every label
was the same or no unit had two labels.</p>
<h2>Per criterion</h2><table><tr><th>criterion</th><th>kind</th><th>units with ≥ 2 labels</th><th>alpha</th>
{"<th>Cohen's kappa</th>" if two else ""}</tr>{crit}</table>
<h2>Per annotator</h2><p>How often each one's {"rank" if result["task"] == "rank" else "decision"} equals
another annotator's on the same unit.</p>
<table><tr><th>annotator</th><th>labels</th><th>comparisons</th><th>agrees</th></tr>{people}</table>
<h2>To adjudicate ({len(result["disagreements"])})</h2><ul>{dis or "<li>none</li>"}</ul>
</body></html>
"""
