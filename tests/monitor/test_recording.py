"""The guarded server records every request it answered under concurrent load, with no personal data stored.

A small version of ``bench/bench_serve.py --monitor`` (which runs 50 clients for 60 s):
streamed and plain requests with personal data planted in them, sample rate 1, then the
server shuts down and the store is counted against what the clients were answered and
scanned for every planted value.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy import func, select

from conftest import free_port
from helpers.standin import Running, standin_app
from veganalign.monitor import store
from veganalign.serve import build_app
from veganalign.serve.config import ServeConfig

PLANTED = [
    "my email is lena.vogel@example.de",
    "call me on +49 30 1234 5678",
    "card 4111 1111 1111 1111",
    "IBAN DE89 3704 0044 0532 0130 00",
    "from 198.51.100.23",
    "deliver to 12 Elm Street",
    "I'm Tomasz Nowak.",
]
VALUES = [
    "lena.vogel@example.de",
    "+49 30 1234 5678",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "198.51.100.23",
    "12 Elm Street",
    "Tomasz Nowak",
]
PROMPTS = [
    "Give me a recipe for grilled chicken breast",
    "Give me a brownie recipe",
    "Is gelatin vegan?",
    "Plan a family day out",
]


async def load(url: str, clients: int, seconds: float) -> dict[str, int]:
    statuses: dict[str, int] = {}
    stop = time.monotonic() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        n = i
        while time.monotonic() < stop:
            body = {
                "model": "guarded",
                "stream": n % 2 == 0,
                "max_tokens": 64,
                "messages": [{"role": "user", "content": f"{PROMPTS[n % len(PROMPTS)]}, {PLANTED[n % len(PLANTED)]}"}],
            }
            n += clients
            if body["stream"]:
                async with http.stream("POST", f"{url}/chat/completions", json=body) as r:
                    async for _ in r.aiter_lines():
                        pass
                    status = r.status_code
            else:
                status = (await http.post(f"{url}/chat/completions", json=body)).status_code
            statuses[str(status)] = statuses.get(str(status), 0) + 1

    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(client(i, http) for i in range(clients)))
    return statuses


def test_every_answered_request_is_stored_redacted(tmp_path):
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    with Running(standin_app(), free_port()) as up:
        cfg = ServeConfig(model=f"openai:stand-in@{up.url}", model_id="guarded", no_auth=True, db=url, sample_rate=1.0)
        app = build_app(cfg, notice=lambda text: None)
        with Running(app, free_port()) as srv:
            statuses = asyncio.run(load(srv.url, clients=20, seconds=4))
        # Leaving the block shut the server down: the recorder wrote what it had queued.
    answered = sum(statuses.values())
    assert statuses.get("200") == answered and answered > 40
    stats = app.state.recorder.stats()
    assert stats["received"] == answered and stats["dropped"] == 0 and stats["queued"] == 0
    engine = store.open_store(url)
    with engine.connect() as db:
        stored = db.execute(select(func.count()).select_from(store.conversations)).scalar_one()
        streamed = db.execute(
            select(func.count()).select_from(store.conversations).where(store.conversations.c.stream.is_(True))
        ).scalar_one()
        texts = db.execute(select(store.messages.c.content)).scalars().all()
    assert stored == answered and 0 < streamed < stored
    dump = "\n".join(texts)
    assert not [v for v in VALUES if v in dump]
    assert "grilled chicken breast" in dump  # the rest of what was said is kept
