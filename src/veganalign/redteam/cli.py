"""``veganalign redteam`` and ``veganalign iterate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from veganalign.console import err, fail, out, user_errors

MODEL_HELP = ("A model ref: smollm2-135m-instruct, a run or stage directory, an adapter, or a served endpoint "
              "openai:MODEL@http://127.0.0.1:PORT/v1 (red-teams the deployment as its users meet it).")  # fmt: skip


def _errors() -> tuple[type[BaseException], ...]:
    return (*user_errors(), ValueError, OSError)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err)  # fmt: skip


def redteam_command(
    model: Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)] = "smollm2-135m-instruct",
    families: Annotated[
        list[str],
        typer.Option("--families", "-f", help="Families to run, repeatable or comma-separated (default: all)."),
    ] = [],  # noqa: B006
    split: Annotated[str, typer.Option(help="Attacks of the library's train split, heldout split, or all.")] = "all",
    limit: Annotated[int, typer.Option(min=1, help="Attacks per family (each with its benign look-alike).")] = 12,
    attacker: Annotated[
        str | None, typer.Option(help="Model ref that rewrites failed attacks (default: the target model itself).")
    ] = None,
    adaptive: Annotated[int, typer.Option(min=0, help="Rewrites per attack the model withstood.")] = 0,
    judge: Annotated[str, typer.Option(help="rules | llm:MODEL_REF (only an LLM judge scores dilemmas).")] = "rules",
    system_prompt: Annotated[
        str, typer.Option(help="auto (the spec's for a local model, none for an endpoint) | spec | none.")
    ] = "auto",
    library: Annotated[
        Path | None, typer.Option(help="Your own attack library YAML (default: the shipped one).")
    ] = None,
    spec: Annotated[Path | None, typer.Option(help="Spec YAML: system prompt and judge rules.")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 128,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    seed: int = 0,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the key for openai: refs.")] = (
        "OPENAI_API_KEY"
    ),
    db: Annotated[
        str | None,
        typer.Option("--db", help="Monitoring store whose human red-team sessions (/review/redteam) join the report."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("runs/redteam"),
) -> None:
    """Red-team a model: attacks by family, multi-turn pushback, attack success with intervals, over-refusal."""
    from veganalign.redteam.run import redteam
    from veganalign.spec import load_spec

    names = [n.strip() for f in families for n in f.split(",") if n.strip()] or None
    if split not in ("train", "heldout", "all"):
        fail(f"--split {split!r}: use train, heldout or all")
    try:
        loaded = load_spec(spec)
        with _progress() as progress:
            summary = redteam(model, out_dir, families=names, split=split, limit=limit, attacker=attacker,
                              adaptive=adaptive, judge_name=judge, spec=loaded, system_prompt=system_prompt,
                              library_path=library, max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed,
                              api_key_env=api_key_env, progress=progress, human_db=db)  # fmt: skip
    except _errors() as exc:
        fail(str(exc))
    print_summary(summary)
    out.print(f"wrote {out_dir}/summary.json, transcripts.jsonl, report.html")


def print_summary(summary: dict) -> None:
    def pct(x):
        return "-" if x is None else f"{100 * x:.0f}%"

    table = Table(title=f"attack success: {summary['model']}")
    for col in ("family", "successes", "rate (95% CI)", "over-refusal", "over-redirection"):
        table.add_column(col)
    for name, f in summary["families"].items():
        rate = (
            f"{pct(f['rate'])} ({pct(f['low'])}-{pct(f['high'])})" if f["n"] else f"unscored ({f.get('unscored', 0)})"
        )
        table.add_row(name, f"{f['successes']}/{f['n']}", rate, pct(f["over_refusal"]), pct(f["over_redirection"]))
    o = summary["overall"]
    table.add_row("all", f"{o['successes']}/{o['n']}", f"{pct(o['rate'])} ({pct(o['low'])}-{pct(o['high'])})",
                  pct(o["over_refusal"]), pct(o["over_redirection"]))  # fmt: skip
    out.print(table)
    for name, h in (summary.get("human") or {}).items():
        out.print(f"human sessions, {name}: {h['successes']}/{h['n']} successes by {h['testers']} tester(s)")


def iterate_command(
    run: Annotated[Path, typer.Option("--run", help="The run directory (from `veganalign run`).")] = Path(
        "runs/default"
    ),
    rounds: Annotated[int, typer.Option(min=1, help="Rounds to run after the finished ones.")] = 1,
    teacher: Annotated[
        str | None,
        typer.Option(help="Model ref that writes the corrected answers (default: the knowledge base's redirection)."),
    ] = None,
    from_monitor: Annotated[
        list[Path], typer.Option("--from-monitor", help="Reviewed corrections as pairs (`veganalign monitor export`).")
    ] = [],  # noqa: B006
    limit: Annotated[int, typer.Option(min=1, help="Train-split attacks per family (where failures are found).")] = 16,
    heldout_limit: Annotated[int, typer.Option(min=1, help="Held-out attacks per family (the round's measure).")] = 16,
    families: Annotated[list[str], typer.Option("--families", "-f", help="Families (default: all).")] = [],  # noqa: B006
    replay: Annotated[int, typer.Option(min=0, help="Pairs of the run's own training data mixed back in.")] = 32,
    lookalike_ratio: Annotated[
        float, typer.Option(min=0, help="Most look-alike pairs (answer a vegan request directly) per failure pair.")
    ] = 0.5,
    correction: Annotated[
        str,
        typer.Option(
            help="Correction of a failure without a teacher: swap (its animal products swapped for the "
            "knowledge base's alternatives, else the redirection) or redirection (always)."
        ),
    ] = "swap",
    dpo_steps: Annotated[int, typer.Option(help="DPO steps (-1: one epoch over the round's pairs).")] = -1,
    eval_cases: Annotated[bool, typer.Option("--eval/--no-eval", help="Re-run the run's eval cases after.")] = True,
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 128,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the key for openai: refs.")] = (
        "OPENAI_API_KEY"
    ),
) -> None:
    """Improvement rounds: red-team, turn failures into pairs, train on from the last adapter, re-measure."""
    from veganalign.redteam.iterate import CORRECTION_KINDS, iterate_round

    names = [n.strip() for f in families for n in f.split(",") if n.strip()] or None
    if correction not in CORRECTION_KINDS:
        fail(f"--correction {correction!r}: choose one of {', '.join(CORRECTION_KINDS)}")
    if not run.is_dir():
        fail(f"--run {run}: no such run directory")
    try:
        for _ in range(rounds):
            with _progress() as progress:
                summary = iterate_round(run, teacher=teacher, from_monitor=from_monitor, limit=limit,
                                        heldout_limit=heldout_limit, families=names, replay=replay,
                                        lookalike_ratio=lookalike_ratio, correction_kind=correction,
                                        dpo_steps=dpo_steps, eval_cases=eval_cases, max_new_tokens=max_new_tokens,
                                        batch_size=batch_size, api_key_env=api_key_env, progress=progress,
                                        console=err)  # fmt: skip
            print_round(summary)
    except _errors() as exc:
        fail(str(exc))


def print_round(summary: dict) -> None:
    table = Table(title=f"round {summary['round']}: held-out attacks, before -> after")
    for col in ("family", "attack success", "p", "over-refusal/redirection", "p"):
        table.add_column(col)

    def p(test):
        return "-" if not test else f"{test['p_value']:.3f}"

    for name, f in [*summary["heldout"]["families"].items(), ("all", summary["heldout"]["overall"])]:
        table.add_row(name, f"{f['success_before']} -> {f['success_after']} of {f['n']}", p(f.get("attacks_test")),
                      f"{f['overrefusal_before']} -> {f['overrefusal_after']} of {f['n_lookalikes']}",
                      p(f.get("lookalikes_test")))  # fmt: skip
    out.print(table)
