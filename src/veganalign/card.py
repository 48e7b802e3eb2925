"""``MODEL_CARD.md`` for a run (seed 7.1): what the model is, how it was made, how it scored.

Every sentence is read from the run's own files: the spec copy in ``spec/``, the data
summary, the training stages' manifests (base model, its licence as its own files
declare it, method, the judges or rankers each step used) and the eval summary (the
judge actually used, its trust under this spec, the checks it could not make). Nothing
about a particular model, judge or licence is written here, so the card cannot drift
from what was run.
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


def _parameters(n: int | None) -> str:
    if not n:
        return ""
    return f"{n / 1e9:.1f}B-parameter " if n >= 1e9 else f"{n / 1e6:.0f}M-parameter "


def training_steps(data: dict[str, Any], sft: dict[str, Any], dpo: dict[str, Any]) -> list[str]:
    """What decided the training targets at each step, as the manifests record it."""
    steps = []
    sources = data.get("sft", {}).get("source", {})
    if sources:
        steps.append("SFT targets: " + ", ".join(f"{k} {v}" for k, v in sources.items())
                     + " (authored answers are written to the spec, not selected by a judge)")  # fmt: skip
    cfg = dpo.get("config") or {}
    if dpo and cfg.get("rejected_from_policy"):
        steps.append("DPO pairs: self-play (the authored answer chosen, the SFT policy's own greedy answer "
                     "rejected; no judge ranks them)")  # fmt: skip
    elif dpo:
        rankers = ", ".join(data.get("pairs", {}).get("ranked_by", [])) or "unrecorded"
        steps.append(f"DPO pairs: ranked by {rankers}")
    shaping = {s: how for m in (sft, dpo) for s, how in (m.get("shaping_signals") or {}).items()}
    if shaping:
        steps.append("reward shaping on response signals: " + ", ".join(f"{s} ({h})" for s, h in shaping.items()))
    return steps


def round_lines(run_dir: Path) -> list[str]:
    """The improvement rounds (``rounds/K/summary.json``): what each trained on and what it changed."""
    finished = [p for p in (run_dir / "rounds").glob("[0-9]*") if p.name.isdigit() and (p / "summary.json").is_file()]
    done = sorted((int(p.name), p) for p in finished)
    if not done:
        return []

    def p_value(t: dict | None) -> str:
        return f"{t['p_value']:.2g}" if t else "–"

    lines = [
        "",
        "## Improvement rounds",
        "",
        f"The run directory as a model ref (`--model {run_dir}`) is the newest round's model, "
        f"`{done[-1][1] / 'dpo'}`. Each round red-teamed the model before it on the attack library's train split, "
        "trained on from it (DPO with an SFT term) on the failures and their corrections, and red-teamed the "
        "held-out split (templates and requests no round trains on) before and after. The same rule judge found the "
        "failures and measured the held-out split, so these figures are not independent of the training.",
        "",
        "| round | pairs (failures, look-alikes, replayed) | corrections | held-out attack success | p "
        "| look-alikes refused or redirected | p |",
        "|---|---|---|---|---:|---|---:|",
    ]
    for k, path in done:
        s = _load(path / "summary.json")
        d, o = s.get("data", {}), s.get("heldout", {}).get("overall", {})
        by = ", ".join(f"{v} {kind.replace('_', ' ')}" for kind, v in (d.get("corrected_by") or {}).items())
        lines.append(
            f"| {k} | {d.get('total_pairs')} ({d.get('pairs_from_failures')}, {d.get('pairs_from_lookalikes')}, "
            f"{d.get('replay')}) | {by or d.get('corrections', '–')} | {o.get('success_before')} → "
            f"{o.get('success_after')} of {o.get('n')} | {p_value(o.get('attacks_test'))} | "
            f"{o.get('overrefusal_before')} → {o.get('overrefusal_after')} of {o.get('n_lookalikes')} | "
            f"{p_value(o.get('lookalikes_test'))} |"
        )
    changed = [f"{cat} {c['aligned_before']} → {c['aligned_after']} of {c['n']} (p={c['test']['p_value']:.2g})"
               for cat, c in (_load(done[-1][1] / "summary.json").get("eval_by_category") or {}).items()
               if c["aligned_before"] != c["aligned_after"]]  # fmt: skip
    if changed:
        lines += ["", f"Round {done[-1][0]} on the run's eval cases (tuned+spec, aligned): " + "; ".join(changed) + "."]
    return lines


def write_model_card(run_dir: Path, *, model: str) -> Path:
    from veganalign.eval.gold import labels_phrase
    from veganalign.eval.report import HEADLINE_LABELS, worst_failures
    from veganalign.eval.run import arm_slug, training_signals
    from veganalign.spec import load_spec, spec_sha256

    spec = load_spec(run_dir / "spec" / "spec.yaml")
    manifest = _load(run_dir / "manifest.json").get("stages", {})
    data = _load(run_dir / "data" / "summary.json")
    sft = _load(run_dir / "sft" / "manifest.json")
    dpo = _load(run_dir / "dpo" / "manifest.json")
    ev = _load(run_dir / "eval" / "summary.json")
    method_names = {"lora": "LoRA", "qlora": "QLoRA", "full": "full-weight"}
    methods = [f"{method_names.get((m.get('config') or {}).get('method', 'lora'), 'LoRA')} {name}"
               for name, m in (("SFT", sft), ("DPO", dpo)) if m]  # fmt: skip

    lines = [
        f"# Model card: {run_dir.name}",
        "",
        f"An adapter ({', then '.join(methods) or 'not trained'}) on the "
        f"{_parameters(sft.get('base_model_parameters'))}base model **{model}**, aligned to the **{spec.name}** "
        f"specification {spec.spec_version} (sha256 `{spec_sha256(spec)[:16]}…`). "
        f"Use it as `--model {run_dir / 'dpo'}` or merge it with `veganalign export`.",
        "",
        f"Base model licence: {sft.get('base_model_licence', 'not recorded in the SFT manifest')}. The adapter is "
        "a derivative of the base model and carries its terms.",
        "",
        "## What users are told",
        "",
        spec.deployment.disclosure,
        "",
        "## The specification",
        "",
        "Principles: " + ", ".join(f"`{p.id}`" for p in spec.principles) + ".",
        "Edge-case policies: " + (", ".join(f"`{p.id}`" for p in spec.policies) or "none") + ".",
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
        ]
        p = data.get("principles") or {}
        if p.get("unknown_ids"):
            d = p["dropped"]
            lines += [
                f"The authored data carry rule ids this spec lacks ({', '.join(p['unknown_ids'])}): "
                f"{d['sft']} SFT examples and {d['prompts']} prompts were dropped ({d['pairs_not_built']} pairs not "
                f"built), {p['kept_with_unknown']} kept by choice; {p['eval_cases_with_unknown']} eval cases carry "
                "such ids and were kept (they are judged by category). The list is in `data/unknown_principles.json`.",
                "",
            ]
        elif data.get("principles") is not None:
            lines += ["Every authored example's rule ids resolve in this spec: none was dropped.", ""]
        lines += [
            "Licences: each record carries its source's licence (`license`); the authored data ship under the "
            "project's licence.",
            "",
        ]
    lines += ["## Training", ""]
    for name, m in (("SFT", sft), ("DPO", dpo)):
        if m:
            cfg = m.get("config", {})
            keys = ("method", "lora_r", "learning_rate", "epochs", "max_steps", "max_length", "beta", "max_pairs",
                    "packing", "system_prompt")  # fmt: skip
            shown = ", ".join(f"{k}={cfg[k]}" for k in keys if k in cfg and cfg[k] is not None)
            lines.append(f"- **{name}**: {shown}; result {m.get('result')}; wall time {m.get('wall_time_s')} s; "
                         f"spec sha256 `{str(m.get('spec_sha256'))[:16]}…`.")  # fmt: skip
    steps = training_steps(data, sft, dpo)
    if steps:
        lines += ["", "What chose the training targets: " + "; ".join(steps) + "."]
    lines += ["", "Stage wall times (s): " + ", ".join(f"{k} {v.get('wall_time_s')}" for k, v in manifest.items()), ""]
    if ev:
        arms = ev["arms"]
        judge = ev["judge"]
        trained = training_signals(str(run_dir / "dpo"))
        if judge.get("shaped_arms") or trained:
            independence = ("It reads response signals that training used (" + ", ".join(trained) + "), so its "
                            "figures for the tuned arms are not independent.")  # fmt: skip
        else:
            independence = ("No training step of this run used it or any response signal it reads (none is recorded "
                            "in the stage manifests).")  # fmt: skip
        lines += [
            "## Evaluation (held-out suites)",
            "",
            f"Judge: **{judge['name']}** (`{judge['version']}`). {independence}",
            "",
            *_trust_lines(judge, labels_phrase),
            "",
            "| metric | " + " | ".join(arms) + " |",
            "|---|" + "---|" * len(arms),
        ]
        for key, label in HEADLINE_LABELS.items():
            lines.append(f"| {label} | " + " | ".join(_rate(a["headline"].get(key)) for a in arms.values()) + " |")
        lines.append(
            "| mean response words | " + " | ".join(str(a["mean_response_words"]) for a in arms.values()) + " |"
        )
        lines.append("| unscored cases | " + " | ".join(str(a.get("unscored", 0)) for a in arms.values()) + " |")
        lines += ["", "Paired tests (McNemar, exact) on the same cases:", ""]
        for c in ev.get("comparisons", []):
            if c["a"] in ("base", "base+spec") and c["b"].startswith("tuned"):
                lines.append(
                    f"- {c['b']} vs {c['a']}: alignment p={c['alignment']['p_value']:.3g} "
                    f"({c['alignment']['only_b']} cases only {c['b']} aligned, "
                    f"{c['alignment']['only_a']} only {c['a']}); "
                    f"adversarial p={c['adversarial']['p_value']:.3g}."
                )
        for p in ev.get("pairwise") or []:
            lines.append(f"- pairwise, {p['b']} vs {p['a']} (judge compares both orders): {p['b']} better "
                         f"{p['b_wins']}, {p['a']} better {p['a_wins']}, ties {p['ties']} "
                         f"(p={p['p_value']:.3g}).")  # fmt: skip
        fails = worst_failures(run_dir / "eval", {a: arm_slug(a) for a in arms}, limit=6)
        lines += ["", "## Known failure patterns (worst cases of the tuned arms first)", ""]
        for f in fails:
            quote = f["prompt"][:120]
            lines.append(f"- **{f['arm']}**, {f['category']}: \"{quote}\" → violates {', '.join(f['violations'])} "
                         f"({f['rationale'][:120]})")  # fmt: skip
    lines += round_lines(run_dir)
    cats = sorted({c for a in (ev.get("arms") or {}).values() for c in a["categories"]})
    lines += [
        "",
        "## Limitations",
        "",
        f"- Measured on {ev.get('n_cases', 0)} held-out cases in {len(cats)} categories "
        f"({', '.join(cats)}), in English; other languages and kinds of request are not measured here.",
        "- Its facts (nutrition, history, law) are only as reliable as the base model's; check them before "
        "deploying it for medical or dietary advice.",
        f"- The judge ({ev.get('judge', {}).get('name', 'none')}) decides every figure above; where its trust is "
        "flagged, not measured or not applicable, its rates are weak evidence. Read the worst failures in "
        "`eval/report.html`.",
        "- `veganalign serve` applies this spec's system prompt, which clients cannot remove.",
        "",
    ]
    path = run_dir / "MODEL_CARD.md"
    write_text_atomic(path, "\n".join(lines))
    return path


def _trust_lines(judge: dict, labels_phrase) -> list[str]:
    """The judge's agreement with the gold labels under this spec, "not measured", or "does not apply"."""
    lines = []
    unjudged = judge.get("unjudged_checks") or {}
    if unjudged:
        lines.append("Not judged under this spec (those cases are unscored, never counted as passed): "
                     + "; ".join(f"{k} (needs {' or '.join(v['needs_one_of'])})" for k, v in unjudged.items())
                     + ".")  # fmt: skip
    trust = judge.get("trust") or {}
    if not trust.get("measured"):
        return [*lines, "Its agreement with the gold labels is **not measured** for this judge version: read the "
                "figures as unvalidated."]  # fmt: skip
    if not trust.get("applies", True):
        under = trust.get("measured_under_spec") or {}
        return [*lines, f"Its agreement with the gold labels was measured under another spec ({under.get('name')} "
                f"{under.get('version')}): those trust figures **do not apply** to this spec; read the figures as "
                "unvalidated."]  # fmt: skip
    o = trust["overall"]
    cats = ", ".join(
        f"{c} κ={a['kappa'] if a['kappa'] is not None else 'n/a'}" + (" ⚠" if a["flag"] else "")
        for c, a in trust["categories"].items()
    )  # fmt: skip
    return [
        *lines,
        f"Judge trust: agreement with {trust['gold_items']} gold responses labeled blind by "
        f"{labels_phrase(trust.get('labels') or {})} (labelers' own κ={trust['labeler_kappa']}): overall accuracy "
        f"{o['accuracy']:.0%}, Cohen's κ={o['kappa']}. Per category: {cats}. ⚠ marks κ below {trust['trust_kappa']}: "
        f"rates in those categories ({', '.join(trust['flagged_categories']) or 'none'}) are weak evidence.",
    ]
