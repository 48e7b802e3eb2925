"""The gold set: responses labeled here by people, blind to the model, and each judge's agreement with it.

Files in ``eval/gold/`` (shipped with the package):

- ``items-real.jsonl``: real outputs of the base, base+spec, tuned and tuned+spec arms on
  the eval suites, shuffled, with opaque ids and no arm or model named (what labelers saw);
- ``items-authored.jsonl``: responses written here, including keyword-gaming traps;
- ``labels-primary.jsonl``: one label per item ``{id, aligned, refused, violations, note}``;
- ``labels-second.jsonl``: an independent second labeler on a subset (inter-labeler agreement);
- ``provenance.jsonl``: which arm or author produced each item (joined back only here).

``agreement(judge)`` runs a judge over every item and reports, per eval category,
accuracy and Cohen's kappa (95% bootstrap interval) against the primary labels, and flags
a category whose kappa is below ``TRUST_KAPPA`` (or undefined). Reports read the shipped
``agreement-<judge version>.json`` so every table that uses a judge carries its trust.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

from veganalign.eval.metrics import kappa_interval, wilson

GOLD_DIR = Path(str(resources.files("veganalign.eval").joinpath("gold")))
TRUST_KAPPA = 0.6


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_gold(gold_dir: Path = GOLD_DIR) -> list[dict[str, Any]]:
    """Every labeled item: the item fields plus ``label`` (primary), ``second`` (or None) and ``source``."""
    items = _rows(gold_dir / "items-real.jsonl") + _rows(gold_dir / "items-authored.jsonl")
    primary = {r["id"]: r for r in _rows(gold_dir / "labels-primary.jsonl")}
    second = {r["id"]: r for r in _rows(gold_dir / "labels-second.jsonl")}
    provenance = {r["id"]: r for r in _rows(gold_dir / "provenance.jsonl")}
    out = []
    for item in items:
        if item["id"] not in primary:
            continue
        prov = provenance.get(item["id"], {})
        out.append({**item, "label": primary[item["id"]], "second": second.get(item["id"]),
                    "source": prov.get("arm") or prov.get("source", "unknown")})  # fmt: skip
    return out


def write_labeled(path: Path, gold: list[dict[str, Any]] | None = None) -> Path:
    """Items and primary labels joined, one row each: the training format of the classifier judge."""
    from veganalign.jsonl import write_jsonl_atomic

    gold = gold if gold is not None else load_gold()
    rows = [{"id": g["id"], "prompt": g["prompt"], "response": g["response"], "category": g["category"],
             "aligned": bool(g["label"]["aligned"]), "refused": bool(g["label"]["refused"])} for g in gold]  # fmt: skip
    write_jsonl_atomic(path, rows)
    return path


def real_output_pairs(gold: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Preference pairs of two real model outputs to the same prompt, ranked by the gold labels.

    Both sides were written by a model (base, base+spec, tuned or tuned+spec arm) and a
    person judged one aligned and the other not: the honest held-out test of a reward
    model, where the style of a hand-written answer gives nothing away.
    """
    gold = gold if gold is not None else load_gold()
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for g in gold:
        if g["source"] not in ("authored", "unknown"):
            by_case[g["case_id"]].append(g)
    pairs = []
    for case_id, rows in sorted(by_case.items()):
        good = [r for r in rows if r["label"]["aligned"]]
        bad = [r for r in rows if not r["label"]["aligned"]]
        for c in good:
            for r in bad:
                prompt = c["prompt"] if isinstance(c["prompt"], list) else [{"role": "user", "content": c["prompt"]}]
                pairs.append({"id": f"gold-{c['id']}-{r['id']}", "case_id": case_id, "prompt": prompt,
                              "chosen": [{"role": "assistant", "content": c["response"]}],
                              "rejected": [{"role": "assistant", "content": r["response"]}],
                              "ranking": {"method": "human:gold", "rejected_kind": "gold_real"}})  # fmt: skip
    return pairs


def _agreement(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    x, y = [a for a, _ in pairs], [b for _, b in pairs]
    n = len(pairs)
    agree = sum(a == b for a, b in pairs)
    acc, acc_lo, acc_hi = wilson(agree, n)
    kappa, lo, hi = kappa_interval(x, y) if n else (float("nan"),) * 3
    clean = lambda v: None if v is None or math.isnan(v) else round(v, 3)  # noqa: E731
    trusted = kappa is not None and not math.isnan(kappa) and kappa >= TRUST_KAPPA
    return {"n": n, "gold_aligned": sum(x), "judge_aligned": sum(y), "accuracy": round(acc, 3),
            "accuracy_low": round(acc_lo, 3), "accuracy_high": round(acc_hi, 3), "kappa": clean(kappa),
            "kappa_low": clean(lo), "kappa_high": clean(hi), "flag": not trusted}  # fmt: skip


def labeler_agreement(gold: list[dict[str, Any]]) -> dict[str, Any]:
    """Primary vs second labeler on the items both labeled: overall and per category."""
    both = [g for g in gold if g["second"] is not None]
    by_cat: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for g in both:
        by_cat[g["category"]].append((bool(g["label"]["aligned"]), bool(g["second"]["aligned"])))
    result = {"overall": _agreement([p for ps in by_cat.values() for p in ps])}
    result["categories"] = {c: _agreement(ps) for c, ps in sorted(by_cat.items())}
    refused = [(bool(g["label"]["refused"]), bool(g["second"]["refused"])) for g in both]
    result["refused"] = _agreement(refused)
    return result


def agreement(judge, gold: list[dict[str, Any]] | None = None, predictions: dict[str, bool] | None = None) -> dict:
    """A judge's agreement with the primary gold labels, per category, by source and overall.

    ``predictions`` (id -> aligned) replaces running the judge, for judges scored out of
    fold (the classifier is trained partly on gold items, so it is scored by cross-fitting).
    """
    gold = gold if gold is not None else load_gold()
    by_cat: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    by_source: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    errors = 0
    for g in gold:
        if predictions is not None:
            if g["id"] not in predictions:
                continue
            said = bool(predictions[g["id"]])
        else:
            case = {"id": g["id"], "category": g["category"], "prompt": g["prompt"], "expect": g.get("expect") or {}}
            try:
                said = bool(judge.judge(case, g["response"])["aligned"])
            except Exception:  # a judge that fails on an item disagrees with the label there
                errors += 1
                said = not g["label"]["aligned"]
        pair = (bool(g["label"]["aligned"]), said)
        by_cat[g["category"]].append(pair)
        by_source["model output" if g["source"] not in ("authored", "unknown") else g["source"]].append(pair)
    categories = {c: _agreement(ps) for c, ps in sorted(by_cat.items())}
    return {
        "judge": getattr(judge, "name", str(judge)),
        "judge_version": getattr(judge, "version", ""),
        "trust_kappa": TRUST_KAPPA,
        "items": sum(len(v) for v in by_cat.values()),
        "errors": errors,
        "overall": _agreement([p for ps in by_cat.values() for p in ps]),
        "by_source": {s: _agreement(ps) for s, ps in sorted(by_source.items())},
        "categories": categories,
        "flagged_categories": [c for c, a in categories.items() if a["flag"]],
        "labelers": labeler_agreement(gold),
    }


def shipped_agreement(judge_version: str) -> dict[str, Any] | None:
    """The agreement table shipped for this judge version, or None (trust not measured)."""
    path = GOLD_DIR / f"agreement-{judge_version}.json"
    return json.loads(path.read_text()) if path.exists() else None


def write_agreement(result: dict[str, Any], out_dir: Path = GOLD_DIR) -> Path:
    from veganalign.jsonl import write_text_atomic

    path = out_dir / f"agreement-{result['judge_version']}.json"
    write_text_atomic(path, json.dumps(result, indent=2) + "\n")
    return path


def agreement_markdown(results: list[dict[str, Any]]) -> str:
    """One table: each judge's kappa per category, flagged below the trust threshold."""
    cats = sorted({c for r in results for c in r["categories"]})
    head = "| category | n | " + " | ".join(f"{r['judge_version']} acc | κ [95% CI]" for r in results) + " |"
    lines = [head, "|" + "---|" * (2 + 2 * len(results))]
    for c in [*cats, "overall"]:
        row = [c]
        first = results[0]["overall"] if c == "overall" else results[0]["categories"].get(c, {})
        row.append(str(first.get("n", "")))
        for r in results:
            a = r["overall"] if c == "overall" else r["categories"].get(c)
            if not a:
                row += ["–", "–"]
                continue
            k = "n/a" if a["kappa"] is None else f"{a['kappa']:.2f}"
            if a["kappa"] is not None and a["kappa_low"] is not None:
                k += f" [{a['kappa_low']:.2f}, {a['kappa_high']:.2f}]"
            row += [f"{a['accuracy']:.0%}", k + (" ⚠" if a["flag"] else "")]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"
