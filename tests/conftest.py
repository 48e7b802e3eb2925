"""Shared fixtures. Model-backed fixtures load the real embedded model once per session."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def embedded_generator():
    from veganalign.models import load_generator

    return load_generator("smollm2-135m-instruct")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def local_openai_server(embedded_generator):
    """A real HTTP server on loopback serving the embedded model's own generations (``.url``, ``.app``)."""
    import uvicorn

    from veganalign.serve.app import create_app

    port = free_port()
    app = create_app(embedded_generator, "smollm2-135m-instruct", policy=None)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/v1"
    url_state = type("Server", (), {"url": url, "app": app})
    yield url_state
    server.should_exit = True
    thread.join(timeout=10)
