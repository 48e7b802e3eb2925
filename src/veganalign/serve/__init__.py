"""Serving: an OpenAI-compatible server whose policy (the spec's system prompt) clients cannot remove."""

from __future__ import annotations

from pathlib import Path

POLICIES = ("spec", "none")


def server_policy(policy: str, spec_path: Path | None) -> str | None:
    """The system prompt the server puts first on every request: the spec's, or None (``--policy none``)."""
    from veganalign.spec import load_spec, render_system_prompt

    if policy not in POLICIES:
        raise ValueError(f"--policy {policy!r}: choose {' or '.join(POLICIES)}")
    return render_system_prompt(load_spec(spec_path)) if policy == "spec" else None


def serve(model: str, *, host: str, port: int, policy: str, spec_path: Path | None, model_id: str | None) -> None:
    """Load the model and serve it until interrupted (``veganalign serve``)."""
    import uvicorn

    from veganalign.models import load_generator, parse_model_ref
    from veganalign.serve.app import create_app

    system = server_policy(policy, spec_path)  # a bad spec fails before the model loads
    generator = load_generator(parse_model_ref(model))
    uvicorn.run(create_app(generator, model_id or model, system), host=host, port=port, log_level="info")
