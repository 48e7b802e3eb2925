"""The store and the recorder, on SQLite and on a real PostgreSQL server.

The recorder's promises: the request path never waits, nothing accepted is lost (written
before ``close`` returns, or counted as dropped), personal data never reaches the database,
and a flagged conversation is always kept whatever the sample rate.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, inspect, select, text

from veganalign.errors import UserError
from veganalign.knowledge import load_knowledge_base
from veganalign.monitor import store
from veganalign.monitor.recorder import Record, Recorder

PLANTED = [
    "ana.ruiz@example.com",
    "+44 7700 900123",
    "4111 1111 1111 1111",
    "GB82 WEST 1234 5698 7654 32",
    "203.0.113.7",
    "221B Baker Street",
]


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base()


def record(i: int, *, flagged: bool = False, pii: str = "") -> Record:
    findings = (
        [
            {
                "kind": "recommends_animal_product",
                "principle": "non_harm_food",
                "action": "regenerate",
                "outcome": "regenerated",
                "detail": "recommends chicken breast",
            }
        ]
        if flagged
        else []
    )
    return Record(
        id=f"chatcmpl-{i:06d}",
        messages=[{"role": "user", "content": f"question {i} {pii}".strip()}],
        answers=[f"answer {i}"],
        findings=findings,
        latency_ms=12.5,
        key_id="abc123",
    )


def count(engine, table) -> int:
    with engine.connect() as db:
        return db.execute(select(func.count()).select_from(table)).scalar_one()


def everything_stored(engine) -> str:
    """Every text value in every table, joined: what a scan of the database would find."""
    parts = []
    with engine.connect() as db:
        for table in store.metadata.sorted_tables:
            for row in db.execute(select(table)):
                parts += [str(v) for v in row if v is not None]
    return "\n".join(parts)


def test_migrations_build_the_schema_the_code_expects(store_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = store.open_store(store_url)
    store.open_store(store_url)  # a second open upgrades nothing and breaks nothing
    with engine.connect() as db:
        assert compare_metadata(MigrationContext.configure(db), store.metadata) == []
        assert db.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"
    assert {"conversations", "messages", "findings", "reviews", "reviewers", "sessions", "redteam_sessions"} <= set(
        inspect(engine).get_table_names()
    )
    if store_url.startswith("sqlite"):
        with engine.connect() as db:
            assert db.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_a_store_made_before_red_team_sessions_is_carried_forward_with_its_rows(tmp_path):
    from datetime import datetime, timezone

    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = store.engine_for(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(store.MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0001")  # the schema an older veganalign made
    now = datetime.now(timezone.utc)
    with engine.begin() as db:
        db.execute(store.conversations.insert().values(id="c1", created_at=now, day="2026-12-06", stream=False,
                                                       status=200, sampled=True, flagged=False))  # fmt: skip
    assert "redteam_sessions" not in inspect(engine).get_table_names()
    engine = store.open_store(url)
    with engine.connect() as db:
        assert db.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"
        assert db.execute(select(store.conversations.c.id)).scalars().all() == ["c1"]
    assert "redteam_sessions" in inspect(engine).get_table_names()


def test_recorder_keeps_flagged_and_a_sample_and_redacts(store_url, kb):
    engine = store.open_store(store_url)
    rec = Recorder(engine, sample_rate=0.0, kb=kb)
    for i in range(40):
        rec.record(record(i, flagged=i % 4 == 0, pii=PLANTED[i % len(PLANTED)]))
    rec.record(
        Record(
            id="chatcmpl-error",
            messages=[{"role": "user", "content": "hi"}],
            answers=[],
            status=502,
            error="upstream said no to ana.ruiz@example.com",
        )
    )
    rec.close()
    assert rec.stats()["written"] == 41 and rec.stats()["dropped"] == 0
    assert count(engine, store.conversations) == 11  # 10 flagged + the error; the unflagged rest not sampled
    with engine.connect() as db:
        principles = db.execute(select(store.findings.c.principle).distinct()).scalars().all()
        run = db.execute(select(store.recorder_runs)).mappings().one()
    assert principles == ["non_harm_food"] and run["written"] == 41 and run["stopped_at"] is not None
    dump = everything_stored(engine)
    assert not [p for p in PLANTED if p in dump] and "[EMAIL]" in dump


def test_sampling_is_a_stable_share(tmp_path, kb):
    engine = store.open_store(f"sqlite:///{tmp_path / 'm.db'}")
    rec = Recorder(engine, sample_rate=0.25, kb=kb)
    for i in range(2000):
        rec.record(record(i))
    rec.close()
    kept = count(engine, store.conversations)
    assert 400 < kept < 600  # 25% of 2,000, give or take a stable hash's wobble


def test_record_never_waits_and_counts_what_it_cannot_take(tmp_path, kb):
    engine = store.open_store(f"sqlite:///{tmp_path / 'm.db'}")
    rec = Recorder(engine, sample_rate=1.0, max_queue=5, kb=kb)
    lock = threading.Lock()
    lock.acquire()
    original = rec._write
    rec._write = lambda records, kb: (lock.acquire(), lock.release(), original(records, kb))  # a stuck database
    started = time.perf_counter()
    for i in range(100):
        rec.record(record(i))
    assert time.perf_counter() - started < 0.5  # the request path did not wait for the store
    lock.release()
    rec.close()
    stats = rec.stats()
    assert stats["received"] == 100 and stats["written"] + stats["dropped"] == 100 and stats["dropped"] > 0
    with engine.connect() as db:
        assert db.execute(select(store.recorder_runs.c.dropped)).scalar_one() == stats["dropped"]
    assert count(engine, store.conversations) == stats["written"]


def test_a_write_that_fails_is_retried(tmp_path, kb):
    engine = store.open_store(f"sqlite:///{tmp_path / 'm.db'}")
    rec = Recorder(engine, sample_rate=1.0, kb=kb)
    calls = {"n": 0}
    real_begin = engine.begin

    def flaky_begin():
        calls["n"] += 1
        if calls["n"] <= 2:
            raise RuntimeError("database restarting")
        return real_begin()

    engine.begin = flaky_begin
    rec.record(record(1))
    rec.close()
    engine.begin = real_begin
    assert count(engine, store.conversations) == 1 and rec.stats()["dropped"] == 0 and calls["n"] > 2


def test_bad_store_urls_are_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="give a database URL"):
        store.open_store(str(tmp_path / "monitor.db"))
    with pytest.raises(UserError, match="cannot open the store"):
        store.open_store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    try:
        store.open_store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    except UserError as exc:
        assert "secret" not in str(exc)  # the password is masked


def test_default_store_follows_the_run(tmp_path):
    run = tmp_path / "runs" / "mine"
    (run / "dpo").mkdir(parents=True)
    assert store.default_url(str(run / "dpo")) == f"sqlite:///{run / 'serve' / 'monitor.db'}"
    assert store.default_url("smollm2-135m-instruct") == store.DEFAULT_URL
