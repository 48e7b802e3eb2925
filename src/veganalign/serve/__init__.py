"""Serving: an OpenAI-compatible server whose policy and output rails clients cannot switch off.

``build_app(config)`` assembles it from a ``ServeConfig`` (the spec's policy and rails, the
keys, the backend: a local model, batched, or an upstream OpenAI-compatible server guarded
as a proxy); ``serve(config)`` runs it with uvicorn until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from veganalign.serve.config import DEFAULT_ACTIONS, ServeConfig

POLICIES = ("spec", "none")


def server_policy(policy: str, spec_path: Path | None) -> str | None:
    """The system prompt the server puts first on every request: the spec's, or None (``--policy none``)."""
    from veganalign.spec import load_spec, render_system_prompt

    if policy not in POLICIES:
        raise ValueError(f"--policy {policy!r}: choose {' or '.join(POLICIES)}")
    return render_system_prompt(load_spec(spec_path)) if policy == "spec" else None


def build_app(config: ServeConfig, *, generator=None, notice=print) -> Any:
    """The app for ``config``; ``generator`` reuses a loaded local model (tests), ``notice`` prints start-up facts."""
    from veganalign.errors import UserError
    from veganalign.models import load_generator, parse_model_ref
    from veganalign.serve.app import create_app
    from veganalign.serve.auth import KeyRing, RateLimiter, key_hash, new_key, read_key_file
    from veganalign.serve.backends import LocalBackend, UpstreamBackend
    from veganalign.serve.rails import Rails
    from veganalign.spec import load_spec, spec_sha256

    unknown = set(config.rail_actions) - set(DEFAULT_ACTIONS)
    if unknown:
        raise UserError(f"rail_actions: unknown finding(s) {', '.join(sorted(unknown))}; "
                        f"choose from {', '.join(DEFAULT_ACTIONS)}")  # fmt: skip
    spec = load_spec(config.spec)
    policy = server_policy(config.policy, config.spec)
    rails = Rails(spec, config.actions()) if config.rails else None
    if rails is not None:
        for check, info in rails.not_applied().items():
            notice(
                f"rail '{check}' is not applied under spec {spec.name!r}: it needs {' or '.join(info['needs_one_of'])}"
            )
    hashes = [key_hash(k) for k in config.api_keys]
    if config.api_key_file is not None:
        hashes += read_key_file(config.api_key_file)
    if not hashes and not config.no_auth:
        key = new_key()  # secure by default: a key nobody chose is still a key
        hashes = [key_hash(key)]
        notice(f"no --api-key given: this server accepts the key {key} (shown once; choose your own with "
               "--api-key or --api-key-file)")  # fmt: skip
    ref = parse_model_ref(config.model)  # a bad ref fails before anything loads
    if ref.kind == "openai":
        backend = UpstreamBackend(ref, config.upstream_key_env, timeout=config.request_timeout_s)
    else:
        backend = LocalBackend(generator or load_generator(ref), max_batch=config.max_batch,
                               batch_wait_ms=config.batch_wait_ms, max_queue=config.max_queue)  # fmt: skip
    limiter = RateLimiter(config.rate_limit_per_minute) if config.rate_limit_per_minute else None
    spec_info = {"name": spec.name, "version": spec.spec_version, "sha256": spec_sha256(spec),
                 "rule_ids": sorted(spec.rule_ids())}  # fmt: skip
    engine = recorder = None
    if config.monitor:
        from veganalign.monitor import store
        from veganalign.monitor.recorder import Recorder

        url = config.db or store.default_url(config.model)
        engine = store.open_store(url)
        recorder = Recorder(engine, sample_rate=config.sample_rate, max_queue=config.monitor_queue,
                            kb=rails.reader.kb if rails is not None else None)  # fmt: skip
        notice(f"monitoring: {store.safe_url(url)} (every flagged conversation, {config.sample_rate:.0%} of the rest; "
               "personal data redacted before it is stored)")  # fmt: skip
    return create_app(backend, config, policy=policy, rails=rails, keys=KeyRing(hashes) if hashes else None,
                      limiter=limiter, disclosure=spec.deployment.disclosure, spec_info=spec_info, recorder=recorder,
                      store=engine)  # fmt: skip


def serve(config: ServeConfig, notice=print) -> None:
    """Run the server until SIGTERM or Ctrl-C; running generations stop at their next token, then it exits."""
    import logging
    import sys

    import uvicorn

    # One JSON line per request on stderr (serve/app.py writes them; no message content is logged).
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("veganalign.serve")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    app = build_app(config, notice=notice)

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:  # stop generating at once, not after the grace period
            app.state.backend.close()
            super().handle_exit(sig, frame)

    # Keep-alive outlives the clients' own idle expiry (httpx, so the openai client: 5 s): were the server to
    # close first, a request sent on a connection as it closes fails with a reset (measured in bench_serve).
    server = Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="info",
                                   timeout_graceful_shutdown=5, timeout_keep_alive=config.keep_alive_s))  # fmt: skip
    server.run()
