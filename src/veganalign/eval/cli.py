"""``veganalign eval`` and ``veganalign agreement``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from veganalign.console import err, fail, user_errors
from veganalign.eval.judges import JUDGE_HELP

SpecOption = Annotated[
    Path | None, typer.Option("--spec", help="Spec YAML: the +spec arms' system prompt and the judge's rules.")
]
TrustOption = Annotated[
    Path | None,
    typer.Option("--trust", help="Directory of agreement files (from `veganalign agreement --out`) to read judge "
                 "trust from (default: the shipped gold set's)."),
]  # fmt: skip
ApiKeyEnvOption = Annotated[
    str, typer.Option("--api-key-env", help="Environment variable holding the key for openai: models.")
]


def eval_command(
    models: Annotated[
        list[str],
        typer.Option("--model", "-m", help="[NAME=]REF, repeatable. NAME defaults to base (or tuned for adapters)."),
    ] = ["smollm2-135m-instruct"],  # noqa: B006
    system_prompt: Annotated[
        str, typer.Option(help="none | spec | both (each model twice: NAME and NAME+spec).")
    ] = "both",
    suite: Annotated[str | None, typer.Option(help="A shipped suite (qa, adversarial, ...) or 'all'.")] = None,
    cases: Annotated[list[Path], typer.Option("--cases", help="Your own cases JSONL (id, prompt, category).")] = [],  # noqa: B006
    ahb: Annotated[
        Path | None, typer.Option("--ahb", help="AHB 1.0 question file (JSON); scored -1/0/+1 by the LLM judge.")
    ] = None,
    judge: Annotated[str, typer.Option(help=JUDGE_HELP)] = "rules",
    allow_shaped_judge: Annotated[
        bool,
        typer.Option(help="Judge an arm with a judge that reads signals its training used (marked not independent)."),
    ] = False,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory (resumed if it exists).")] = Path(
        "runs/eval"
    ),
    limit_per_category: Annotated[int | None, typer.Option(min=1, help="At most N cases per category.")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 256,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    spec: SpecOption = None,
    trust: TrustOption = None,
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
    inspect_dir: Annotated[
        Path | None,
        typer.Option("--inspect", help="Only write the selected cases as an Inspect AI task into this directory."),
    ] = None,
) -> None:
    """Evaluate models on the shipped suites or your cases: generate, judge, compare arms, write report.html."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from veganalign.eval.report import HEADLINE_LABELS
    from veganalign.eval.run import Arm, evaluate, suite_files
    from veganalign.models.refs import parse_model_ref
    from veganalign.spec import load_spec, render_system_prompt

    if system_prompt not in ("none", "spec", "both"):
        fail("--system-prompt must be none, spec or both")
    try:
        files = list(cases) + ([ahb] if ahb else [])
        files += suite_files(suite) if suite else ([] if files else suite_files("all"))
        loaded_spec = load_spec(spec)
        if inspect_dir is not None:
            _export_inspect(files, inspect_dir, judge, limit_per_category, spec, api_key_env, models[0],
                            system_prompt)  # fmt: skip
            return
        sp_text = render_system_prompt(loaded_spec)
        arms: list[Arm] = []
        for item in models:
            name, sep, ref_text = item.partition("=")
            if not sep or "/" in name or ":" in name:
                name, ref_text = "", item
            ref = parse_model_ref(ref_text)
            name = name or ("tuned" if ref.is_tuned else "base")
            if system_prompt in ("none", "both"):
                arms.append(Arm(name, ref_text, None))
            if system_prompt in ("spec", "both"):
                arms.append(Arm(name + "+spec", ref_text, sp_text))
        if len({a.name for a in arms}) != len(arms):
            fail("two arms share a name: name them, e.g. --model base=REF1 --model tuned=REF2")
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err) as progress:  # fmt: skip
            summary = evaluate(arms, files, out_dir, spec=loaded_spec, judge_name=judge, max_new_tokens=max_new_tokens,
                               batch_size=batch_size, limit_per_category=limit_per_category,
                               api_key_env=api_key_env, allow_shaped_judge=allow_shaped_judge, trust_dir=trust,
                               progress=progress, notice=lambda t: err.print(f"[yellow]{t}[/yellow]",
                                                                            highlight=False))  # fmt: skip
    except (*user_errors(), ValueError) as exc:
        fail(str(exc))
    table = Table(title=f"evaluation ({summary['judge']['name']} judge) -> {out_dir}/report.html")
    table.add_column("metric")
    for name in summary["arms"]:
        table.add_column(name, justify="right")
    for key, label in HEADLINE_LABELS.items():
        cells = []
        for a in summary["arms"].values():
            h = a["headline"].get(key)
            cells.append("–" if not h or not h["n"] else f"{h['rate']:.0%} [{h['low']:.0%},{h['high']:.0%}]")
        table.add_row(label, *cells)
    table.add_row("unscored", *(str(a.get("unscored", 0)) for a in summary["arms"].values()))
    err.print(table)


def _export_inspect(files, inspect_dir, judge, limit_per_category, spec_path, api_key_env, model, system_prompt):
    from veganalign.eval.inspect_export import export_inspect, run_instructions
    from veganalign.models.refs import parse_model_ref

    if inspect_dir.exists() and not inspect_dir.is_dir():
        fail(f"--inspect {inspect_dir}: exists and is not a directory; give a directory for the Inspect task")
    name, sep, ref_text = model.partition("=")
    model = ref_text if sep and "/" not in name and ":" not in name else model
    ref = parse_model_ref(model)
    task_path = export_inspect(files, inspect_dir, judge, limit_per_category=limit_per_category,
                               spec_path=spec_path, api_key_env=api_key_env)  # fmt: skip
    n = sum(1 for _ in (inspect_dir / "dataset.jsonl").open(encoding="utf-8"))
    err.print(f"wrote {task_path} ({n} cases); nothing was generated", highlight=False, soft_wrap=True)
    if ref.kind == "openai":
        endpoint = {"model": ref.name, "base_url": ref.base_url, "api_key": f"${api_key_env}"}
    else:
        endpoint = {"model": model}
        err.print(f"serve the model first: veganalign serve --model {model} --policy none", highlight=False,
                  soft_wrap=True, markup=False)  # fmt: skip
    variants = {"none": [()], "spec": [("system_prompt=spec",)], "both": [(), ("system_prompt=spec",)]}
    lines = (
        ln
        for args in variants[system_prompt]
        for ln in run_instructions(task_path, task_args=args, **endpoint).splitlines()
    )
    err.print("\n".join(dict.fromkeys(lines)), highlight=False, soft_wrap=True, markup=False)


def agreement_command(
    judges: Annotated[list[str] | None, typer.Option("--judge", help=f"{JUDGE_HELP}; repeatable.")] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Your annotators' labels (JSONL: id, annotator, aligned, refused?, violations?, "
            "created_at?) instead of the shipped ones."
        ),
    ] = None,  # fmt: skip
    items: Annotated[
        Path | None, typer.Option(help="Your own gold items (JSONL: id, category, prompt, response, expect?).")
    ] = None,
    annotators: Annotated[
        str | None, typer.Option(help="Who wrote --labels: people | model (said in every report that uses them).")
    ] = None,
    spec: SpecOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write agreement-<judge version>.json here (for --trust).")
    ] = None,
    write: Annotated[
        bool, typer.Option(help="Write agreement-<judge version>.json into the package's gold folder (maintainers).")
    ] = False,
    markdown: Annotated[Path | None, typer.Option(help="Also write the table as Markdown here.")] = None,
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
) -> None:
    """How far each judge can be trusted: agreement with the gold labels, per category (Cohen's kappa)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from veganalign.eval.gold import (
        ANNOTATOR_KINDS,
        agreement,
        agreement_markdown,
        annotator_agreement,
        labels_phrase,
        load_gold,
        load_team_labels,
        write_agreement,
    )
    from veganalign.eval.judges import make_judge
    from veganalign.jsonl import write_text_atomic
    from veganalign.spec import load_spec

    if labels is None and (items is not None or annotators is not None):
        fail("--items and --annotators go with --labels (your annotators' labels)")
    if labels is not None and annotators not in ANNOTATOR_KINDS:
        fail(f"--annotators: say who wrote {labels}: {' or '.join(ANNOTATOR_KINDS)}")
    if labels is not None and write:
        fail("--write replaces the shipped trust figures; write your labels' figures with --out DIR")
    results = []
    try:
        loaded_spec = load_spec(spec)
        if labels is None:
            gold, who = load_gold(), None
        else:
            gold, by_item = load_team_labels(labels, items)
            who = {"kind": annotators, "source": str(labels), "annotators": sorted({r["annotator"] for rows in
                   by_item.values() for r in rows}), "agreement": annotator_agreement(by_item)}  # fmt: skip
            who["summary"] = f"{len(who['annotators'])} annotators, {sum(map(len, by_item.values()))} labels"
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err) as progress:
            for name in judges or ["rules"]:
                judge = make_judge(name, loaded_spec, api_key_env)
                result = agreement(judge, gold, annotators=who, progress=progress)
                results.append(result)
        for result in results:
            if write:
                err.print(f"wrote {write_agreement(result)}")
            if out_dir is not None:
                err.print(f"wrote {write_agreement(result, out_dir)}")
    except (*user_errors(), ValueError, OSError) as exc:
        fail(str(exc))
    table_md = agreement_markdown(results)
    lab = results[0]["labelers"]["overall"]
    who_text = labels_phrase(results[0]["labels"])
    note = (
        f"{results[0]['items']} gold responses labeled by {who_text}; second labeler on {lab['n']}: agreement "
        f"{lab['accuracy']:.0%}, kappa {lab['kappa']}. ⚠ = kappa below 0.6: that judge's rates in that category "
        "are weak evidence."
    )
    if markdown:
        write_text_atomic(markdown, table_md + "\n" + note + "\n")
    table = Table(title="judge agreement with the gold labels (accuracy, Cohen's kappa [95% CI])")
    table.add_column("category")
    table.add_column("n", justify="right")
    for r in results:
        table.add_column(r["judge_version"], justify="right")
    for cat in [*results[0]["categories"], "overall"]:
        row = [cat, str((results[0]["overall"] if cat == "overall" else results[0]["categories"][cat])["n"])]
        for r in results:
            a = r["overall"] if cat == "overall" else r["categories"].get(cat)
            if not a:
                row.append("–")
                continue
            kappa = "n/a" if a["kappa"] is None else f"{a['kappa']:.2f}"
            row.append(f"{a['accuracy']:.0%} κ {kappa}" + (" ⚠" if a["flag"] else ""))
        table.add_row(*row)
    err.print(table)
    err.print(note, highlight=False)
    if results[0].get("unscored"):
        err.print(f"{results[0]['unscored']} items not judged under this spec (left out of the figures)")
