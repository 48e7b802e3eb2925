"""``veganalign serve``: its options are ``ServeConfig``'s fields (``--config serve.yaml`` gives any of them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veganalign.console import err, fail, user_errors

MODEL_HELP = ("smollm2-135m-instruct (embedded default), a .gguf file, a Hugging Face id or directory, an adapter or "
              "run directory, BASE+lora:ADAPTER_DIR, or openai:MODEL@BASE_URL.")  # fmt: skip


def serve_command(
    model: Annotated[
        str | None, typer.Option("--model", "-m", help=MODEL_HELP + " An openai: ref is guarded as a proxy.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1: loopback only).")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default 8000).")] = None,
    api_key: Annotated[
        list[str] | None, typer.Option("--api-key", help="An accepted key (repeatable); kept only as its sha256.")
    ] = None,
    api_key_file: Annotated[
        Path | None, typer.Option(help="File of accepted keys, one a line ('sha256:HEX' for a stored hash).")
    ] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Accept requests without a key (loopback tests).")] = False,
    policy: Annotated[
        str | None, typer.Option(help="spec (default): the spec's system prompt first, always | none.")
    ] = None,
    rails: Annotated[str | None, typer.Option(help="on (default): check every answer | off (for comparisons).")] = None,
    health_answers: Annotated[
        str | None,
        typer.Option(
            help="vetted (default): a treatment, survival or emergency need is answered from the spec's "
            "medical policy, not by the model | model: the model answers, the rails check it."
        ),
    ] = None,  # fmt: skip
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Spec YAML of the policy and rails (default: shipped).")
    ] = None,
    upstream_key_env: Annotated[
        str | None, typer.Option(help="Env var with the upstream's own key (for an openai: --model).")
    ] = None,
    rate_limit: Annotated[int | None, typer.Option(min=1, help="Requests per minute per key (default: off).")] = None,
    model_id: Annotated[str | None, typer.Option(help="Model name clients send (default: the --model value).")] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Monitoring store URL (default sqlite:///runs/serve/monitor.db, or RUN/serve/"
            "monitor.db when --model is a run's stage folder; postgresql+psycopg://... for PostgreSQL).",
        ),
    ] = None,  # fmt: skip
    sample_rate: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Share of unflagged conversations kept (default 0.1).")
    ] = None,
    monitor: Annotated[
        bool | None, typer.Option("--monitor/--no-monitor", help="Keep redacted conversations (default: on).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="serve.yaml with any ServeConfig key (options override it).")
    ] = None,
) -> None:
    """Serve a model over an OpenAI-compatible API with the spec's policy and output rails clients cannot remove."""
    from veganalign.config import load_config
    from veganalign.serve import serve
    from veganalign.serve.config import ServeConfig

    if rails not in (None, "on", "off"):
        fail("--rails: choose on or off")
    if health_answers not in (None, "vetted", "model"):
        fail("--health-answers: choose vetted or model")
    overrides = {"model": model, "host": host, "port": port, "api_keys": api_key or None, "api_key_file": api_key_file,
                 "no_auth": no_auth or None, "policy": policy, "rails": None if rails is None else rails == "on",
                 "spec": spec, "upstream_key_env": upstream_key_env, "rate_limit_per_minute": rate_limit,
                 "model_id": model_id, "db": db, "sample_rate": sample_rate, "monitor": monitor,
                 "health_answers": health_answers}  # fmt: skip
    try:
        cfg = load_config(ServeConfig, config, overrides)
        serve(cfg, notice=lambda text: err.print(text, highlight=False, soft_wrap=True, markup=False))
    except (*user_errors(), ValueError) as exc:
        fail(str(exc))
