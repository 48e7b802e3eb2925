"""``veganalign serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veganalign.console import fail, user_errors

MODEL_HELP = ("smollm2-135m-instruct (embedded default), a .gguf file, a Hugging Face id or directory, an adapter or "
              "run directory, BASE+lora:ADAPTER_DIR, or openai:MODEL@BASE_URL.")  # fmt: skip


def serve_command(
    model: Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)] = "smollm2-135m-instruct",
    host: Annotated[str, typer.Option(help="Bind address (loopback unless you mean otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    policy: Annotated[
        str,
        typer.Option(
            help="'spec': the spec's system prompt is always applied and clients cannot remove it; 'none': raw model."
        ),
    ] = "spec",
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Spec YAML of the policy (default: the shipped one).")
    ] = None,
    model_id: Annotated[str | None, typer.Option(help="Model name clients send (default: the --model value).")] = None,
) -> None:
    """Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions)."""
    from veganalign.serve import serve

    try:
        serve(model, host=host, port=port, policy=policy, spec_path=spec, model_id=model_id)
    except (*user_errors(), ValueError) as exc:
        fail(str(exc))
