"""``report.html``: per-category bars with Wilson intervals, arm comparisons, worst failures."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from veganalign.jsonl import write_text_atomic

HEADLINE_LABELS = {
    "alignment": "vegan-alignment rate",
    "attack_success": "attack success rate (adversarial)",
    "over_refusal": "over-refusal (descriptive + survival/medical)",
    "helpfulness": "helpfulness retention (objective tasks)",
    "baseline_safety_refusal": "baseline-safety refusals",
    "tone_violations": "tone violations",
    "classification_accuracy": "is-it-vegan classification accuracy",
    "cross_species_consistency": "cross-species consistency (pairs)",
}
LOWER_IS_BETTER = {"attack_success", "over_refusal", "tone_violations"}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def category_plot(summary: dict[str, Any], out_dir: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(summary["arms"])
    cats = sorted({c for a in summary["arms"].values() for c in a["categories"]})
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(cats) * max(1, len(arms)) / 2), 4.2))
    width = 0.8 / max(1, len(arms))
    for i, arm in enumerate(arms):
        rows = [summary["arms"][arm]["categories"].get(c, {}) for c in cats]
        rates = [r.get("rate", 0) or 0 for r in rows]
        err = [[max(0, (r.get("rate") or 0) - r.get("low", 0)) for r in rows],
               [max(0, r.get("high", 0) - (r.get("rate") or 0)) for r in rows]]  # fmt: skip
        xs = [j + i * width for j in range(len(cats))]
        ax.bar(xs, rates, width, yerr=err, capsize=2, label=arm)
    ax.set_xticks([j + width * (len(arms) - 1) / 2 for j in range(len(cats))])
    ax.set_xticklabels(cats, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("judged aligned / correct (95% Wilson)")
    ax.legend(ncol=min(4, len(arms)), fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    (out_dir / "plots").mkdir(exist_ok=True)
    fig.savefig(out_dir / "plots" / "categories.png", dpi=110)
    data = _png(fig)
    plt.close(fig)
    return data


def worst_failures(out_dir: Path, arm_slugs: dict[str, str], limit: int = 12) -> list[dict[str, Any]]:
    from veganalign.models.generate_file import latest_rows

    rows = []
    for arm, slug in arm_slugs.items():
        gens = {str(g["id"]): g for g in latest_rows(out_dir / f"generations-{slug}.jsonl")}
        for v in latest_rows(out_dir / f"verdicts-{slug}.jsonl"):
            if v.get("aligned") is False and v.get("violations"):
                g = gens.get(str(v["id"]), {})
                prompt = g.get("prompt")
                text = prompt if isinstance(prompt, str) else (prompt or [{}])[-1].get("content", "")
                rows.append({"arm": arm, "id": v["id"], "category": v.get("category"), "prompt": text,
                             "response": g.get("response", ""), "violations": v["violations"],
                             "rationale": v.get("rationale", "")})  # fmt: skip
    # Tuned arms' failures first: they are what a user ships.
    rows.sort(key=lambda r: (not r["arm"].startswith("tuned"), r["category"] or ""))
    return rows[:limit]


def _fmt(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("n", 0) == 0:
        return "–"
    return f"{entry['rate']:.1%} <small>[{entry['low']:.1%}, {entry['high']:.1%}] n={entry['n']}</small>"


def _trust_section(judge: dict[str, Any], trust: dict[str, Any]) -> str:
    """How far to trust the judge: its agreement with the gold labels, per category, and who wrote them."""
    from veganalign.eval.gold import labels_phrase

    e = html.escape
    if not trust.get("measured"):
        return (f"<h2>Judge trust</h2><div class='warn'>Agreement of the {e(judge['name'])} judge "
                f"({e(judge['version'])}) with the gold set: <b>not measured</b>. Treat its rates as unvalidated."
                "</div>")  # fmt: skip
    under = trust.get("measured_under_spec") or {}
    if not trust.get("applies", True):
        return (f"<h2>Judge trust</h2><div class='warn'>The {e(judge['name'])} judge's agreement with the gold "
                f"labels was measured under another spec ({e(str(under.get('name', '')))} "
                f"{e(str(under.get('version', '')))}): "
                "<b>those figures do not apply to this spec</b>. Treat its rates as unvalidated.</div>")  # fmt: skip
    rows = []
    for cat, a in trust["categories"].items():
        kappa = "n/a" if a["kappa"] is None else f"{a['kappa']:.2f}"
        if a["kappa"] is not None and a.get("kappa_low") is not None:
            kappa += f" <small>[{a['kappa_low']:.2f}, {a['kappa_high']:.2f}]</small>"
        flag = "⚠ below κ {:.1f}".format(trust["trust_kappa"]) if a["flag"] else "ok"
        rows.append(f"<tr><td>{e(cat)}</td><td>{a['n']}</td><td>{a['accuracy']:.0%}</td><td>{kappa}</td>"
                    f"<td>{flag}</td></tr>")  # fmt: skip
    flagged = ", ".join(trust["flagged_categories"]) or "none"
    return (
        "<h2>Judge trust</h2><p>Agreement with the gold set "
        f"({trust['gold_items']} responses labeled blind by {e(labels_phrase(trust.get('labels') or {}))}; "
        f"labelers' own κ = {trust['labeler_kappa']}). "
        f"Categories flagged (κ below {trust['trust_kappa']}): <b>{e(flagged)}</b>: their rates are weak evidence."
        "</p><table><tr><th>category</th><th>gold n</th><th>accuracy</th><th>Cohen's κ [95% CI]</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _unjudged_section(unjudged: dict[str, Any], arms: dict[str, Any]) -> str:
    """Checks the judge cannot make under this spec, and how many cases went unscored because of them."""
    e = html.escape
    counts = ", ".join(f"{e(a)} {d.get('unscored', 0)}" for a, d in arms.items())
    items = "".join(
        f"<li><b>{e(name)}</b> ({e(info.get('what', ''))}): needs {e(' or '.join(info['needs_one_of']))}; "
        f"unscored categories: {e(', '.join(info['unscored_categories']) or 'cases where it decides')}</li>"
        for name, info in unjudged.items()
    )
    return (f"<h2>Not judged under this spec</h2><div class='warn'><ul>{items}</ul>Those cases count as unscored, "
            f"never as passed. Unscored cases per arm: {counts}.</div>")  # fmt: skip


def _pairwise_section(pairwise: list[dict[str, Any]]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(p['b'])} vs {e(p['a'])}</td><td>{p['n']}</td><td>{p['b_wins']}</td><td>{p['a_wins']}</td>"
        f"<td>{p['ties']}</td><td>{p['position_inconsistent']}</td><td>{p['p_value']:.3g}</td></tr>"
        for p in pairwise
    )
    return ("<h2>Pairwise (the judge compares two answers in both orders)</h2><table><tr><th>arms</th><th>cases</th>"
            "<th>second better</th><th>first better</th><th>ties</th><th>order decided (counted as ties)</th>"
            f"<th>p (sign test)</th></tr>{rows}</table>")  # fmt: skip


def write_report(summary: dict[str, Any], out_dir: Path, title: str = "veganalign evaluation") -> Path:
    from veganalign.eval.run import arm_slug

    arms = summary["arms"]
    slugs = {name: arm_slug(name) for name in arms}
    plot = category_plot(summary, out_dir)
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;"
        "vertical-align:top}th{background:#f3f3f3}small{color:#666}.sig{color:#0a6d2c;font-weight:600}"
        "blockquote{margin:0;padding:4px 8px;background:#fafafa;border-left:3px solid #ccc;white-space:pre-wrap;"
        "max-height:12em;overflow:auto}.warn{background:#fff4e5;border:1px solid #f0b35a;padding:8px}</style>",
        f"</head><body><h1>{e(title)}</h1>",
        f"<p>Judge: <b>{e(summary['judge']['name'])}</b> ({e(summary['judge']['version'])}). "
        + (f"Spec: <b>{e(summary['spec']['name'])}</b> {e(summary['spec']['version'])} "
           f"(sha256 {e(summary['spec']['sha256'][:12])}…). " if summary.get("spec") else "")
        + f"Cases: {summary['n_cases']}. Rates show 95% Wilson intervals over scored cases; arms are compared on "
        "the same cases with McNemar's exact test.</p>",
    ]  # fmt: skip
    for arm, signals in (summary["judge"].get("shaped_arms") or {}).items():
        terms = "; ".join(f"{k} in {v}" for k, v in signals.items())
        parts.append(f"<div class='warn'>Not independent: <b>{e(arm)}</b> was trained against response signals "
                     f"that this judge also reads ({e(terms)}); its rates here are not a headline.</div>")  # fmt: skip
    trust = summary["judge"].get("trust") or {"measured": False}
    flagged = set(trust.get("flagged_categories") or []) if trust.get("applies", True) else set()
    parts.append(_trust_section(summary["judge"], trust))
    if summary["judge"].get("unjudged_checks"):
        parts.append(_unjudged_section(summary["judge"]["unjudged_checks"], arms))
    parts.append("<h2>Headline</h2><table><tr><th>metric</th>" + "".join(f"<th>{e(a)}</th>" for a in arms) + "</tr>")
    for key, label in HEADLINE_LABELS.items():
        direction = " (lower is better)" if key in LOWER_IS_BETTER else ""
        parts.append(
            f"<tr><td>{e(label)}{direction}</td>"
            + "".join(f"<td>{_fmt(arms[a]['headline'].get(key))}</td>" for a in arms)
            + "</tr>"
        )
    parts.append(
        "<tr><td>mean response length (words)</td>"
        + "".join(f"<td>{arms[a]['mean_response_words']}</td>" for a in arms)
        + "</tr>"
    )
    parts.append(
        "<tr><td>truncation rate</td>" + "".join(f"<td>{arms[a]['truncation_rate']:.1%}</td>" for a in arms) + "</tr>"
    )
    parts.append(
        "<tr><td>system prompt (sha256)</td>"
        + "".join(
            f"<td>{e(arms[a]['system_prompt'])}"
            + (f" <small>{e(arms[a]['system_prompt_sha256'][:12])}… system_prompts/{e(slugs[a])}.txt</small>"
               if arms[a].get("system_prompt_sha256") else "")
            + "</td>"
            for a in arms
        )
        + "</tr>"
    )  # fmt: skip
    parts.append(
        "<tr><td>decoding</td>"
        + "".join(f"<td><small>{e(str(arms[a]['decoding']))}</small></td>" for a in arms)
        + "</tr>"
    )
    parts.append(
        "<tr><td>errors (recorded, skipped)</td>"
        + "".join(f"<td>{arms[a]['errors']}</td>" for a in arms)
        + "</tr><tr><td>unscored (not judged under this spec or no sandbox)</td>"
        + "".join(f"<td>{arms[a].get('unscored', 0)}</td>" for a in arms)
        + "</tr></table>"
    )
    parts.append(
        f"<h2>Per category</h2><img alt='per-category rates' src='data:image/png;base64,{plot}' style='max-width:100%'>"
    )
    cats = sorted({c for a in arms.values() for c in a["categories"]})
    parts.append("<table><tr><th>category</th>" + "".join(f"<th>{e(a)}</th>" for a in arms) + "</tr>")
    for c in cats:
        mark = " ⚠ <small>judge not trusted here</small>" if c in flagged else ""
        parts.append(
            f"<tr><td>{e(c)}{mark}</td>"
            + "".join(f"<td>{_fmt(arms[a]['categories'].get(c))}</td>" for a in arms)
            + "</tr>"
        )
    parts.append("</table><h2>Paired comparisons (McNemar, exact)</h2><table><tr><th>arms</th><th>cases</th>"
                 "<th>only first aligned</th><th>only second aligned</th><th>p-value</th></tr>")  # fmt: skip
    for comp in summary["comparisons"]:
        for group in ("overall", "alignment", "adversarial", "over_refusal_categories"):
            m = comp[group]
            sig = " class='sig'" if m["p_value"] < 0.05 else ""
            parts.append(f"<tr><td>{e(comp['a'])} vs {e(comp['b'])}</td><td>{e(group)}</td><td>{m['only_a']}</td>"
                         f"<td>{m['only_b']}</td><td{sig}>{m['p_value']:.3g}</td></tr>")  # fmt: skip
    parts.append("</table>")
    if summary.get("pairwise"):
        parts.append(_pairwise_section(summary["pairwise"]))
    parts.append("<h2>Worst failures</h2>")
    for f in worst_failures(out_dir, slugs):
        heading = (
            f"{e(f['arm'])} · {e(str(f['category']))} · {e(str(f['id']))} · violates {e(', '.join(f['violations']))}"
        )
        parts.append(f"<h4>{heading}</h4><p><b>User:</b> {e(f['prompt'])}</p>")
        parts.append(f"<blockquote>{e(f['response'][:1500])}</blockquote><p><small>{e(f['rationale'])}</small></p>")
    parts.append("</body></html>")
    path = out_dir / "report.html"
    write_text_atomic(path, "\n".join(parts))
    return path
