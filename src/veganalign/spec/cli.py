"""``veganalign spec ...``: validate, hash and render a spec."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from veganalign.console import err, fail, out, user_errors

app = typer.Typer(help="Validate, hash and render the vegan-ethics spec.", no_args_is_help=True)
SpecPath = Annotated[
    Path | None, typer.Argument(help="Spec YAML file (default: the shipped vegan-ethics.yaml).", show_default=False)
]
KINDS = ("system-prompt", "guideline", "rubric", "rubric-json")


def _load(path: Path | None):
    from veganalign.spec import load_spec

    try:
        return load_spec(path)
    except user_errors() as exc:
        fail(f"invalid spec: {exc}")  # one problem a line, the first on the error line itself


@app.command("validate")
def spec_validate(path: SpecPath = None) -> None:
    """Check a spec against the schema; print its counts and sha256."""
    from veganalign.spec import default_spec_path, spec_sha256

    spec = _load(path)
    table = Table(title=f"{spec.name} {spec.spec_version}", show_header=False)
    table.add_row("file", str(path or default_spec_path()))
    table.add_row("principles", ", ".join(p.id for p in spec.principles))
    table.add_row("policies", ", ".join(p.id for p in spec.policies))
    table.add_row("domains", ", ".join(d.id for d in spec.domains))
    table.add_row("tone rules", str(len(spec.tone.rules)))
    if spec.mappings.rule_aliases:
        table.add_row("rule aliases", ", ".join(f"{k} → {v}" for k, v in spec.mappings.rule_aliases.items()))
    out.print(table)
    out.print(f"spec_sha256 {spec_sha256(spec)}", soft_wrap=True)
    out.print("[green]valid[/green]")


@app.command("render")
def spec_render(
    path: SpecPath = None,
    kind: Annotated[str, typer.Option("--as", help=" | ".join(KINDS))] = "system-prompt",
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Render the deployment system prompt, the annotator guideline or the judge rubric."""
    from veganalign.jsonl import check_output_path, write_text_atomic
    from veganalign.spec import render

    if kind not in KINDS:
        fail(f"--as {kind!r}: choose one of {', '.join(KINDS)}")
    if output:
        try:  # before any work: not the spec itself, not a directory, a folder that can be written
            check_output_path(output, "--out", inputs=[path] if path else [])
        except user_errors() as exc:
            fail(str(exc))
    text = render(_load(path), kind)  # type: ignore[arg-type]
    if output:
        try:
            write_text_atomic(output, text)
        except OSError as exc:
            fail(f"--out {output}: cannot write ({exc.strerror or exc})")
        err.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@app.command("hash")
def spec_hash(path: SpecPath = None) -> None:
    """Print the spec's sha256 (of the normalised spec: formatting-only edits keep it)."""
    from veganalign.spec import spec_sha256

    print(spec_sha256(_load(path)))
