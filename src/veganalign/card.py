"""``MODEL_CARD.md`` for a run (seed 7.1): what the model is, how it was made, how it scored.

Everything on the card is read from the run's own files (spec, data summary, stage
manifests, eval summary), so the card cannot drift from what was run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from veganalign.jsonl import write_text_atomic


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _rate(e: dict[str, Any] | None) -> str:
    if not e or not e.get("n"):
        return "–"
    return f"{e['rate']:.1%} [{e['low']:.1%}, {e['high']:.1%}] (n={e['n']})"


def write_model_card(run_dir: Path, *, model: str, profile: str) -> Path:
    from veganalign.eval.report import HEADLINE_LABELS, worst_failures
    from veganalign.spec import load_spec, spec_sha256

    spec_yaml = run_dir / "spec" / "spec.yaml"
    spec = load_spec(spec_yaml if spec_yaml.exists() else None)
    manifest = _load(run_dir / "manifest.json").get("stages", {})
    data = _load(run_dir / "data" / "summary.json")
    sft = _load(run_dir / "sft" / "manifest.json")
    dpo = _load(run_dir / "dpo" / "manifest.json")
    ev = _load(run_dir / "eval" / "summary.json")

    lines = [
        f"# Model card: {run_dir.name}",
        "",
        f"A LoRA adapter (SFT then DPO) on **{model}**, aligned to the **{spec.name}** specification "
        f"{spec.spec_version} (sha256 `{spec_sha256(spec)[:16]}…`). Profile: `{profile}`. "
        f"Use it as `--model {run_dir / 'dpo'}` or merge it with `veganalign export`.",
        "",
        "## What users are told",
        "",
        spec.deployment.disclosure,
        "",
        "## The specification",
        "",
        "Principles: " + ", ".join(f"`{p.id}`" for p in spec.principles) + ".",
        "Edge-case policies: " + ", ".join(f"`{p.id}`" for p in spec.policies) + ".",
        "",
        "## Data",
        "",
    ]
    if data:
        files = data.get("files", {})
        lines += [
            "| file | records |",
            "|---|---:|",
            *(f"| {k} | {v} |" for k, v in files.items()),
            "",
            "SFT examples by domain: "
            + ", ".join(f"{k} {v}" for k, v in data.get("sft", {}).get("domain", {}).items())
            + ".",
            "Sources: "
            + ", ".join(f"{k} {v}" for k, v in data.get("sft", {}).get("source", {}).items())
            + "; pairs ranked by "
            + ", ".join(data.get("pairs", {}).get("ranked_by", []))
            + ".",
            "Contamination between training and eval files after removal: "
            f"{data.get('contamination', {}).get('remaining')}.",
            "",
            "Licences: the authored data set is Apache-2.0 (with the project); the base model's licence is its own "
            "(SmolLM2-135M-Instruct: Apache-2.0). Imported or teacher-generated data keep their sources' terms, "
            "recorded on every record.",
            "",
        ]
    lines += ["## Training", ""]
    for name, m in (("SFT", sft), ("DPO", dpo)):
        if m:
            cfg = m.get("config", {})
            keys = (
                "method",
                "lora_r",
                "learning_rate",
                "epochs",
                "max_steps",
                "max_length",
                "beta",
                "max_pairs",
                "packing",
            )
            shown = ", ".join(f"{k}={cfg[k]}" for k in keys if k in cfg and cfg[k] is not None)
            lines.append(f"- **{name}**: {shown}; result {m.get('result')}; wall time {m.get('wall_time_s')} s.")
    lines += ["", "Stage wall times (s): " + ", ".join(f"{k} {v.get('wall_time_s')}" for k, v in manifest.items()), ""]
    if ev:
        arms = ev["arms"]
        lines += [
            "## Evaluation (held-out suites)",
            "",
            f"Judge: **{ev['judge']['name']}** ({ev['judge']['version']}), used in no training or data-filtering step "
            "of this run (pairs are ranked by construction).",
            "",
            *_trust_lines(ev["judge"]),
            "",
            "| metric | " + " | ".join(arms) + " |",
            "|---|" + "---|" * len(arms),
        ]
        for key, label in HEADLINE_LABELS.items():
            lines.append(f"| {label} | " + " | ".join(_rate(a["headline"].get(key)) for a in arms.values()) + " |")
        lines.append(
            "| mean response words | " + " | ".join(str(a["mean_response_words"]) for a in arms.values()) + " |"
        )
        lines += ["", "Paired tests (McNemar, exact) on the same cases:", ""]
        for c in ev.get("comparisons", []):
            if c["a"] in ("base", "base+spec") and c["b"].startswith("tuned"):
                lines.append(
                    f"- {c['b']} vs {c['a']}: alignment p={c['alignment']['p_value']:.3g} "
                    f"({c['alignment']['only_b']} cases only {c['b']} aligned, "
                    f"{c['alignment']['only_a']} only {c['a']}); "
                    f"adversarial p={c['adversarial']['p_value']:.3g}."
                )
        from veganalign.eval.run import Arm

        fails = worst_failures(run_dir / "eval", {a: Arm(a, "", None).slug for a in arms}, limit=6)
        lines += ["", "## Known failure patterns (worst cases of the tuned arms first)", ""]
        for f in fails:
            quote = f["prompt"][:120]
            lines.append(f"- **{f['arm']}**, {f['category']}: \"{quote}\" → violates {', '.join(f['violations'])} "
                         f"({f['rationale'][:120]})")  # fmt: skip
    lines += [
        "",
        "## Limitations",
        "",
        f"- A {model} model is small: it follows the spec's direction but its facts (nutrition, history, law) are "
        "not reliable; do not deploy it for medical or dietary advice.",
        "- The headline judge is rule-based: it reads recommendations sentence by sentence and cannot tell a coherent "
        "answer from fluent nonsense; where its agreement with the gold labels is flagged above, its rates there are "
        "weak evidence. Check the worst failures in `eval/report.html`.",
        "- The evaluation covers the shipped suites' categories in English only.",
        "- Deploy behind `veganalign serve`, which applies the spec's system prompt that users cannot remove.",
        "",
    ]
    path = run_dir / "MODEL_CARD.md"
    write_text_atomic(path, "\n".join(lines))
    return path


def _trust_lines(judge: dict) -> list[str]:
    """The judge's agreement with the blind human gold labels, or "not measured"."""
    trust = judge.get("trust") or {}
    if not trust.get("measured"):
        return ["Its agreement with the human gold labels is **not measured** for this judge version: read the "
                "figures as unvalidated."]  # fmt: skip
    o = trust["overall"]
    cats = ", ".join(
        f"{c} κ={a['kappa'] if a['kappa'] is not None else 'n/a'}" + (" ⚠" if a["flag"] else "")
        for c, a in trust["categories"].items()
    )  # fmt: skip
    return [
        f"Judge trust: agreement with {trust['gold_items']} gold responses labeled blind by people (labelers' own "
        f"κ={trust['labeler_kappa']}): overall accuracy {o['accuracy']:.0%}, Cohen's κ={o['kappa']}. Per category: "
        f"{cats}. ⚠ marks κ below {trust['trust_kappa']}: rates in those categories ("
        f"{', '.join(trust['flagged_categories']) or 'none'}) are weak evidence."
    ]
