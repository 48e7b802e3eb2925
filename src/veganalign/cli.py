"""The `veganalign` command line: one sub-command per pipeline stage.

Errors a user can fix (a broken spec, a bad JSONL line, an unknown model ref) print one
clear message naming the file, line and field or the option, and exit with status 2;
they never print a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from veganalign.data.cli import app as data_app
from veganalign.knowledge.cli import check_command
from veganalign.train.cli import app as train_app

app = typer.Typer(
    name="veganalign",
    help="Turn a vegan-ethics spec into a fine-tuned, evaluated, guarded chat model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
spec_app = typer.Typer(help="Validate, hash and render the vegan-ethics spec.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
app.command("check", help="Is it vegan? Check an ingredient list, product or sentence.")(check_command)

out = Console()
err = Console(stderr=True)

SpecPath = Annotated[
    Path | None, typer.Argument(help="Spec YAML file (default: the shipped vegan-ethics.yaml).", show_default=False)
]
SpecOption = Annotated[
    Path | None, typer.Option("--spec", help="Spec YAML used for --system-prompt spec (default: the shipped one).")
]
SystemPromptOption = Annotated[
    str,
    typer.Option(
        "--system-prompt",
        help="'spec' (the spec's rendered system prompt), 'none' (no system message at all, not even a "
        "chat template's default), '@FILE' (read from a file), or the prompt TEXT itself.",
    ),
]
ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="smollm2-135m-instruct (embedded default), a Hugging Face id or directory, an adapter or run "
        "directory, BASE+lora:ADAPTER_DIR, or openai:MODEL@BASE_URL.",
    ),
]
ApiKeyEnvOption = Annotated[
    str, typer.Option("--api-key-env", help="Environment variable holding the key for openai: models.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _user_errors() -> tuple[type[BaseException], ...]:
    from veganalign.jsonl import ContractError
    from veganalign.models.embedded import EmbeddedModelError
    from veganalign.models.generate_file import SettingsMismatch
    from veganalign.models.refs import ModelRefError
    from veganalign.spec.load import SpecError

    return (SpecError, ContractError, ModelRefError, EmbeddedModelError, SettingsMismatch)


def resolve_system_prompt(value: str, spec_path: Path | None) -> str | None:
    from veganalign.spec import load_spec, render_system_prompt

    if value == "none":
        return None
    if value == "spec":
        return render_system_prompt(load_spec(spec_path))
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--system-prompt {value}: cannot read {path} ({exc})")
    if not value.strip():
        fail("--system-prompt: empty text; use 'none' for no system message")
    return value


# ---------------------------------------------------------------------------
# spec
# ---------------------------------------------------------------------------


@spec_app.command("validate")
def spec_validate(path: SpecPath = None) -> None:
    """Check a spec against the schema; print its counts and sha256."""
    from veganalign.spec import default_spec_path, load_spec, spec_sha256

    try:
        spec = load_spec(path)
    except _user_errors() as exc:
        fail(f"invalid spec\n{exc}")
    table = Table(title=f"{spec.name} {spec.spec_version}", show_header=False)
    table.add_row("file", str(path or default_spec_path()))
    table.add_row("principles", ", ".join(p.id for p in spec.principles))
    table.add_row("policies", ", ".join(p.id for p in spec.policies))
    table.add_row("domains", ", ".join(d.id for d in spec.domains))
    table.add_row("tone rules", str(len(spec.tone.rules)))
    out.print(table)
    out.print(f"spec_sha256 {spec_sha256(spec)}", soft_wrap=True)
    out.print("[green]valid[/green]")


@spec_app.command("render")
def spec_render(
    path: SpecPath = None,
    kind: Annotated[
        str, typer.Option("--as", help="system-prompt | guideline | rubric | rubric-json")
    ] = "system-prompt",
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Render the deployment system prompt, the annotator guideline or the judge rubric."""
    from veganalign.jsonl import write_text_atomic
    from veganalign.spec import load_spec, render

    kinds = ("system-prompt", "guideline", "rubric", "rubric-json")
    if kind not in kinds:
        fail(f"--as {kind!r}: choose one of {', '.join(kinds)}")
    try:
        text = render(load_spec(path), kind)  # type: ignore[arg-type]
    except _user_errors() as exc:
        fail(f"invalid spec\n{exc}")
    if output:
        write_text_atomic(output, text)
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@spec_app.command("hash")
def spec_hash(path: SpecPath = None) -> None:
    """Print the spec's sha256 (of the normalised spec: formatting-only edits keep it)."""
    from veganalign.spec import load_spec, spec_sha256

    try:
        print(spec_sha256(load_spec(path)))
    except _user_errors() as exc:
        fail(f"invalid spec\n{exc}")


# ---------------------------------------------------------------------------
# generate / chat / serve
# ---------------------------------------------------------------------------


@app.command("generate")
def generate(
    prompts: Annotated[Path, typer.Option("--prompts", "-p", help="JSONL rows with id and prompt (or messages).")],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Output JSONL (generation contract); resumed if it exists.")
    ],
    model: ModelOption = "smollm2-135m-instruct",
    system_prompt: SystemPromptOption = "none",
    spec: SpecOption = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, max=8192)] = 256,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="0 = greedy.")] = 0.0,
    top_p: Annotated[float, typer.Option(min=0.01, max=1.0)] = 1.0,
    seed: int = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="Prompts per forward pass (local models).")] = 16,
    concurrency: Annotated[int, typer.Option(min=1, help="Parallel requests (openai: models).")] = 8,
    arm: Annotated[
        str | None,
        typer.Option(help="Arm name recorded in each row (default: base/tuned, +spec with the spec prompt)."),
    ] = None,
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
    overwrite: Annotated[bool, typer.Option(help="Start OUT afresh instead of resuming it.")] = False,
) -> None:
    """Generate a response for every prompt in a JSONL file (batched, resumable)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from veganalign.models import Decoding, load_generator, parse_model_ref
    from veganalign.models.generate_file import generate_file, read_prompts

    try:
        ref = parse_model_ref(model)
        read_prompts(prompts)  # reject a malformed file before loading any model
        sp = resolve_system_prompt(system_prompt, spec)
        arm = arm or (("tuned" if ref.is_tuned else "base") + ("+spec" if system_prompt == "spec" else ""))
        decoding = Decoding(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed)
        err.print(f"loading {ref} ...")
        generator = load_generator(ref, api_key_env=api_key_env, concurrency=concurrency)
        with Progress(
            TextColumn("[bold]generate[/bold] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
        ) as progress:
            task = progress.add_task(str(ref), total=None)

            def on_start(total: int, skipped: int) -> None:
                progress.update(task, total=total, completed=skipped)

            counts = generate_file(
                generator,
                prompts,
                out_path,
                system_prompt=sp,
                decoding=decoding,
                arm=arm,
                batch_size=batch_size,
                overwrite=overwrite,
                on_start=on_start,
                on_done=lambda n: progress.advance(task, n),
            )
    except _user_errors() as exc:
        fail(str(exc))
    stats = generator.stats
    table = Table(title="generation")
    for col in ("prompts", "resumed (skipped)", "written", "failed", "tokens", "tokens/s"):
        table.add_column(col, justify="right")
    table.add_row(
        str(counts["total"]),
        str(counts["skipped"]),
        str(counts["written"]),
        str(counts["failed"]),
        str(stats.n_tokens),
        f"{stats.tokens_per_second:.1f}",
    )
    err.print(table)
    err.print(f"wrote {out_path}")
    if counts["failed"]:
        raise typer.Exit(1)


@app.command("chat")
def chat(
    model: ModelOption = "smollm2-135m-instruct",
    system_prompt: SystemPromptOption = "spec",
    spec: SpecOption = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, max=8192)] = 256,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="0 = greedy.")] = 0.0,
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
) -> None:
    """Chat with a model in the terminal. Type /reset to start over, /exit (or Ctrl-D) to quit."""
    from rich.markdown import Markdown

    from veganalign.models import Decoding, load_generator, parse_model_ref, with_system_prompt

    try:
        ref = parse_model_ref(model)
        sp = resolve_system_prompt(system_prompt, spec)
        err.print(f"loading {ref} ...")
        generator = load_generator(ref, api_key_env=api_key_env)
    except _user_errors() as exc:
        fail(str(exc))
    decoding = Decoding(temperature=temperature, max_new_tokens=max_new_tokens)
    sp_label = "none" if sp is None else ("the spec's" if system_prompt == "spec" else "custom")
    out.print(f"[bold]{ref}[/bold] · system prompt: {sp_label} · /reset, /exit")
    history: list[dict[str, str]] = []
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            break
        if not interactive and line == "":
            break  # end of piped input
        line = line.strip()
        if not line:
            continue
        if line in ("/exit", "/quit"):
            break
        if line == "/reset":
            history.clear()
            out.print("[dim]conversation reset[/dim]")
            continue
        history.append({"role": "user", "content": line})
        with err.status("thinking..."):
            reply = generator.generate([with_system_prompt(history, sp)], decoding, batch_size=1)[0]
        if reply.error:
            history.pop()
            err.print(f"[red]{reply.error}[/red]")
            continue
        history.append({"role": "assistant", "content": reply.text})
        out.print("[bold green]assistant>[/bold green]")
        out.print(Markdown(reply.text))


@app.command("serve")
def serve(
    model: ModelOption = "smollm2-135m-instruct",
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    policy: Annotated[
        str,
        typer.Option(
            help="'spec': the spec's system prompt is always applied and clients cannot remove it; 'none': raw model."
        ),
    ] = "spec",
    spec: SpecOption = None,
    model_id: Annotated[str | None, typer.Option(help="Model name clients send (default: the --model value).")] = None,
) -> None:
    """Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions)."""
    import uvicorn

    from veganalign.models import load_generator, parse_model_ref
    from veganalign.serve.app import create_app

    if policy not in ("spec", "none"):
        fail("--policy must be 'spec' or 'none'")
    try:
        ref = parse_model_ref(model)
        sp = resolve_system_prompt(policy, spec)
        generator = load_generator(ref)
    except _user_errors() as exc:
        fail(str(exc))
    uvicorn.run(create_app(generator, model_id or model, sp), host=host, port=port, log_level="info")


@app.command("eval")
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
    judge: Annotated[
        str, typer.Option(help="rules | classifier | llm:MODEL_REF (any OpenAI-compatible endpoint)")
    ] = "rules",
    allow_shaped_judge: Annotated[
        bool,
        typer.Option(help="Judge a GRPO arm with a judge its reward shaping also used (marked not independent)."),
    ] = False,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory (resumed if it exists).")] = Path(
        "runs/eval"
    ),
    limit_per_category: Annotated[int | None, typer.Option(min=1, help="At most N cases per category.")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 256,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    spec: SpecOption = None,
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
    inspect_dir: Annotated[
        Path | None,
        typer.Option("--inspect", help="Only write the selected cases as an Inspect AI task into this directory."),
    ] = None,
) -> None:
    """Evaluate models on the shipped suites or your cases: generate, judge, compare arms, write report.html."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from veganalign.eval.run import Arm, evaluate, suite_files
    from veganalign.models.refs import parse_model_ref

    if system_prompt not in ("none", "spec", "both"):
        fail("--system-prompt must be none, spec or both")
    try:
        files = list(cases) + ([ahb] if ahb else [])
        files += suite_files(suite) if suite else ([] if files else suite_files("all"))
        sp_text = resolve_system_prompt("spec", spec)
        if inspect_dir is not None:
            _export_inspect(files, inspect_dir, judge, limit_per_category, sp_text, api_key_env, models[0],
                            system_prompt)  # fmt: skip
            return
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
            summary = evaluate(arms, files, out_dir, judge_name=judge, max_new_tokens=max_new_tokens,
                               batch_size=batch_size, limit_per_category=limit_per_category,
                               api_key_env=api_key_env, allow_shaped_judge=allow_shaped_judge,
                               progress=progress)  # fmt: skip
    except (*_user_errors(), ValueError) as exc:
        fail(str(exc))
    table = Table(title=f"evaluation ({summary['judge']['name']} judge) -> {out_dir}/report.html")
    table.add_column("metric")
    for name in summary["arms"]:
        table.add_column(name, justify="right")
    from veganalign.eval.report import HEADLINE_LABELS

    for key, label in HEADLINE_LABELS.items():
        cells = []
        for a in summary["arms"].values():
            h = a["headline"].get(key)
            cells.append("–" if not h or not h["n"] else f"{h['rate']:.0%} [{h['low']:.0%},{h['high']:.0%}]")
        table.add_row(label, *cells)
    err.print(table)


def _export_inspect(files, inspect_dir, judge, limit_per_category, sp_text, api_key_env, model, system_prompt):
    from veganalign.eval.inspect_export import export_inspect, run_instructions
    from veganalign.models.refs import parse_model_ref

    if inspect_dir.exists() and not inspect_dir.is_dir():
        fail(f"--inspect {inspect_dir}: exists and is not a directory; give a directory for the Inspect task")
    name, sep, ref_text = model.partition("=")
    model = ref_text if sep and "/" not in name and ":" not in name else model
    ref = parse_model_ref(model)
    task_path = export_inspect(files, inspect_dir, judge, limit_per_category=limit_per_category,
                               spec_system_prompt=sp_text, api_key_env=api_key_env)  # fmt: skip
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


@app.command("agreement")
def agreement_command(
    judges: Annotated[
        list[str] | None, typer.Option("--judge", help="rules (default) | classifier | llm:MODEL_REF, repeatable.")
    ] = None,
    write: Annotated[
        bool, typer.Option(help="Write agreement-<judge version>.json into the package's gold folder (reports use it).")
    ] = False,
    markdown: Annotated[Path | None, typer.Option(help="Also write the table as Markdown here.")] = None,
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
) -> None:
    """How far each judge can be trusted: agreement with the blind human gold set, per category (Cohen's kappa)."""
    from veganalign.eval.gold import agreement, agreement_markdown, load_gold, write_agreement
    from veganalign.eval.run import make_judge
    from veganalign.jsonl import write_text_atomic

    gold = load_gold()
    results = []
    try:
        for name in judges or ["rules"]:
            judge = make_judge(name, api_key_env)
            predictions = judge.gold_predictions(gold) if hasattr(judge, "gold_predictions") else None
            result = agreement(judge, gold, predictions=predictions)
            results.append(result)
            if write:
                err.print(f"wrote {write_agreement(result)}")
    except (*_user_errors(), ValueError) as exc:
        fail(str(exc))
    table_md = agreement_markdown(results)
    lab = results[0]["labelers"]["overall"]
    note = (
        f"{len(gold)} gold responses; second labeler on {lab['n']}: agreement {lab['accuracy']:.0%}, "
        f"kappa {lab['kappa']}. ⚠ = kappa below 0.6: that judge's rates in that category are weak evidence."
    )
    if markdown:
        write_text_atomic(markdown, table_md + "\n" + note + "\n")
    table = Table(title="judge agreement with the gold set (accuracy, Cohen's kappa [95% CI])")
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
    err.print(note)


@app.command("export")
def export(
    model: ModelOption = "runs/default/dpo",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory for the merged model.")] = Path("merged"),
    dtype: Annotated[str, typer.Option(help="float32 | bfloat16 | float16")] = "float32",
) -> None:
    """Merge a trained adapter (and the adapters under it) into a standalone Hugging Face model."""
    import torch

    from veganalign.models.generation import _has_tokenizer, _root_path, load_merged
    from veganalign.models.refs import parse_model_ref

    if dtype not in ("float32", "bfloat16", "float16"):
        fail(f"--dtype {dtype!r}: choose float32, bfloat16 or float16")
    try:
        ref = parse_model_ref(model)
        if ref.kind == "openai":
            fail("--model: an OpenAI endpoint has no weights to export")
        merged = load_merged(ref, getattr(torch, dtype))
    except _user_errors() as exc:
        fail(str(exc))
    from transformers import AutoTokenizer

    merged.save_pretrained(out_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(ref.name if _has_tokenizer(ref) else _root_path(ref)).save_pretrained(out_dir)
    err.print(f"wrote {out_dir} (a plain model directory: --model {out_dir} works everywhere)")


# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------


@app.command("run")
def run(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Run directory.")] = Path("runs/default"),
    model: Annotated[str | None, typer.Option("--model", "-m", help="Base model ref (default: the profile's).")] = None,
    spec: SpecOption = None,
    profile: Annotated[str, typer.Option(help="quick (minutes, CI) | default (2 CPU cores, < 1 h) | gpu")] = "default",
    config: Annotated[
        Path | None, typer.Option("--config", help="Run YAML: any of profile, model, out, spec, seed.")
    ] = None,
    from_stage: Annotated[str | None, typer.Option("--from", help="Redo this stage and every later one.")] = None,
    seed: int = 0,
    force: Annotated[bool, typer.Option(help="Redo every stage even if its inputs did not change.")] = False,
) -> None:
    """Spec to evaluated model: spec, knowledge, data, sft, dpo, eval (4 arms), demo, model card."""
    import yaml

    from veganalign.pipeline import PROFILES, run_pipeline

    if config is not None:
        try:
            values = yaml.safe_load(config.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            fail(f"--config {config}: {exc}")
        unknown = set(values) - {"profile", "model", "out", "spec", "seed"}
        if unknown:
            fail(f"--config {config}: unknown key(s) {', '.join(sorted(unknown))}")
        profile = values.get("profile", profile)
        model = values.get("model", model)
        out_dir = Path(values.get("out", out_dir))
        spec = Path(values["spec"]) if values.get("spec") else spec
        seed = int(values.get("seed", seed))
    if profile not in PROFILES:
        fail(f"--profile {profile!r}: choose one of {', '.join(PROFILES)}")
    try:
        run_pipeline(out_dir, model=model, spec_path=spec, profile=profile, force=force, from_stage=from_stage,
                     seed=seed, console=err)  # fmt: skip
    except (*_user_errors(), ValueError) as exc:
        fail(str(exc))


def main() -> None:  # pragma: no cover - console entry point
    app()
