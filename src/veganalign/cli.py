"""The `veganalign` command line: it parses arguments and calls one function per command.

Each stage owns its commands (``spec/cli.py``, ``data/cli.py``, ``train/cli.py``,
``eval/cli.py``, ``serve/cli.py``, ``monitor/cli.py``, ``knowledge/cli.py``, ``annotate/cli.py``); this
module puts them together and holds the few commands that span stages (generate, chat, export, run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veganalign.annotate.cli import app as annotate_app
from veganalign.console import err, fail, out, user_errors
from veganalign.data.cli import app as data_app
from veganalign.eval.cli import agreement_command, eval_command
from veganalign.knowledge.cli import check_command
from veganalign.monitor.cli import app as monitor_app
from veganalign.redteam.cli import iterate_command, redteam_command
from veganalign.serve.cli import MODEL_HELP, serve_command
from veganalign.spec.cli import app as spec_app
from veganalign.train.cli import app as train_app

app = typer.Typer(
    name="veganalign",
    help="Turn a vegan-ethics spec into a fine-tuned, evaluated, guarded chat model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(spec_app, name="spec")
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
app.add_typer(monitor_app, name="monitor")
app.add_typer(annotate_app, name="annotate")
app.command("check", help="Is it vegan? Check an ingredient list, product or sentence.")(check_command)
app.command("eval")(eval_command)
app.command("agreement")(agreement_command)
app.command("serve")(serve_command)
app.command("redteam")(redteam_command)
app.command("iterate")(iterate_command)

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
ModelOption = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
ApiKeyEnvOption = Annotated[
    str, typer.Option("--api-key-env", help="Environment variable holding the key for openai: models.")
]


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
    from veganalign.models import Decoding
    from veganalign.models.generate_file import generate_with_progress

    decoding = Decoding(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed)
    try:
        counts = generate_with_progress(
            model, prompts, out_path, system_prompt=resolve_system_prompt(system_prompt, spec), arm=arm,
            spec_prompt=system_prompt == "spec", decoding=decoding, batch_size=batch_size, concurrency=concurrency,
            api_key_env=api_key_env, overwrite=overwrite, console=err,
        )  # fmt: skip
    except user_errors() as exc:
        fail(str(exc))
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
    from veganalign.models import Decoding
    from veganalign.models.chat import chat_loop

    label = {"none": "none", "spec": "the spec's"}.get(system_prompt, "custom")
    try:
        chat_loop(model, resolve_system_prompt(system_prompt, spec), label,
                  Decoding(temperature=temperature, max_new_tokens=max_new_tokens), api_key_env=api_key_env,
                  out=out, err=err)  # fmt: skip
    except user_errors() as exc:
        fail(str(exc))


@app.command("export")
def export(
    model: ModelOption = "runs/default/dpo",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory for the merged model.")] = Path("merged"),
    dtype: Annotated[str, typer.Option(help="float32 | bfloat16 | float16")] = "float32",
) -> None:
    """Merge a trained adapter (and the adapters under it) into a standalone Hugging Face model."""
    from veganalign.models.export import export_merged

    try:
        export_merged(model, out_dir, dtype)
    except (*user_errors(), ValueError) as exc:
        fail(str(exc))
    err.print(f"wrote {out_dir} (a plain model directory: --model {out_dir} works everywhere)")


@app.command("run")
def run(
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Run directory (default: runs/PROFILE).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Base model ref (default: the config's).")] = None,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Spec YAML (default: the run's own copy, else the shipped spec).")
    ] = None,
    profile: Annotated[
        str, typer.Option(help="quick (minutes, CI) | default (2 CPU cores, < 1 h) | gpu: configs/run-NAME.yaml")
    ] = "default",
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A run YAML (RunConfig: model, spec, seed, sft, dpo, eval, demo, ...; "
            "'profile: NAME' starts from a shipped profile). Replaces --profile.",
        ),
    ] = None,  # fmt: skip
    from_stage: Annotated[str | None, typer.Option("--from", help="Redo this stage and every later one.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the config's, 0).")] = None,
    trust: Annotated[
        Path | None, typer.Option("--trust", help="Directory of agreement files for the judge's trust figures.")
    ] = None,
    keep_unknown_principles: Annotated[
        bool | None,
        typer.Option(
            "--keep-unknown-principles/--drop-unknown-principles",
            help="Keep authored data tagged with rule ids the spec lacks (default: drop them, reported).",
        ),
    ] = None,  # fmt: skip
    force: Annotated[bool, typer.Option(help="Redo every stage even if its inputs did not change.")] = False,
    rounds: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Red-team and improvement rounds after the eval (default: the config's redteam.rounds, "
            "0); each retrains and re-measures (veganalign iterate).",
        ),
    ] = None,  # fmt: skip
) -> None:
    """Spec to evaluated model: spec, knowledge, data, sft, dpo, eval (4 arms), demo, model card; then --rounds N."""
    from veganalign.pipeline import load_run, run_pipeline

    try:
        run_cfg = load_run(config, profile, model=model, spec=spec, seed=seed, trust=trust,
                           keep_unknown_principles=keep_unknown_principles)  # fmt: skip
        if rounds is not None:
            run_cfg.config.redteam.rounds = rounds
        run_dir = out_dir or run_cfg.config.out or Path("runs") / (config.stem if config else profile)
        run_pipeline(run_dir, run_cfg, force=force, from_stage=from_stage, console=err)
    except (*user_errors(), ValueError) as exc:
        fail(str(exc))


def main() -> None:  # pragma: no cover - console entry point
    app()
