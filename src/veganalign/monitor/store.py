"""The monitoring store: conversations (redacted), the rails' findings, reviews, reviewers, red-team sessions.

SQLAlchemy over SQLite (WAL mode, the default: ``runs/NAME/serve/monitor.db``) or PostgreSQL
(``--db postgresql+psycopg://...``). The schema is created and upgraded by Alembic
migrations shipped in ``monitor/migrations/`` (``open_store`` upgrades to the newest), so a
store made by an older veganalign is carried forward, never rebuilt.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine

from veganalign.errors import UserError

metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("day", String(10), nullable=False, index=True),  # UTC date, for reports by day
    Column("key_id", String(16)),  # a prefix of the API key's sha256: who, never the key
    Column("model", String(200)),
    Column("spec_sha256", String(64)),
    Column("stream", Boolean, nullable=False, default=False),
    Column("status", Integer, nullable=False),
    Column("latency_ms", Float),
    Column("error", Text),
    Column("sampled", Boolean, nullable=False, default=False),
    Column("flagged", Boolean, nullable=False, default=False, index=True),
    Column("conflict", String(200)),  # high-conflict kinds, comma-separated
    Column("situation", String(40)),
)
messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "conversation_id", String(64), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("position", Integer, nullable=False),
    Column("role", String(20), nullable=False),
    Column("content", Text, nullable=False),  # redacted before it was written
)
findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "conversation_id", String(64), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("kind", String(60), nullable=False),
    Column("principle", String(80)),
    Column("action", String(20)),
    Column("outcome", String(20)),
    Column("detail", Text),  # what the rail saw ("recommends: chicken breast"), redacted
)
reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "conversation_id", String(64), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("reviewer", String(80), nullable=False),
    Column("decision", String(20), nullable=False),  # approved | false_positive | corrected
    Column("correction", Text),  # redacted
    Column("created_at", DateTime(timezone=True), nullable=False),
)
reviewers = Table(
    "reviewers",
    metadata,
    Column("username", String(80), primary_key=True),
    Column("password_hash", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(80), ForeignKey("reviewers.username", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
redteam_sessions = Table(
    "redteam_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "conversation_id", String(64), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("tester", String(80), nullable=False),  # the reviewer account that ran the session
    Column("family", String(60), nullable=False, index=True),  # the attack family the tester chose as the goal
    Column("outcome", String(10), nullable=False),  # success (the assistant broke a principle) | failure
    Column("principle", String(80)),  # the spec rule id broken, for a success
    Column("notes", Text),  # redacted
    Column("created_at", DateTime(timezone=True), nullable=False),
)
recorder_runs = Table(
    "recorder_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("stopped_at", DateTime(timezone=True)),
    Column("written", Integer, nullable=False, default=0),
    Column("dropped", Integer, nullable=False, default=0),  # records the bounded queue could not take
)

MIGRATIONS = Path(__file__).with_name("migrations")


def safe_url(url: str) -> str:
    """``url`` with any password masked, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def engine_for(url: str) -> Engine:
    """An engine for a store URL; SQLite files get WAL mode, foreign keys and a busy timeout."""
    if "://" not in url:
        raise UserError(
            f"--db {url!r}: give a database URL, e.g. sqlite:///runs/NAME/serve/monitor.db or "
            "postgresql+psycopg://user@host/db"
        )
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_settings(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers (reports, the review page) never block the writer
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # an unknown dialect or driver: say which
        raise UserError(f"--db {safe_url(url)!r}: {type(exc).__name__}: {exc}") from None


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest migration (creating it on first use)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def open_store(url: str) -> Engine:
    """An engine for ``url`` with the schema up to date; a database that cannot be reached is one clear error."""
    from sqlalchemy.exc import OperationalError

    engine = engine_for(url)
    try:
        migrate(engine)
    except OperationalError as exc:
        raise UserError(
            f"--db {safe_url(url)}: cannot open the store ({str(exc.orig).strip().splitlines()[0]})"
        ) from None
    return engine


RUN_STAGES = ("sft", "dpo", "reward", "rl")
DEFAULT_URL = "sqlite:///runs/serve/monitor.db"


def default_url(model: str = "") -> str:
    """The store a server uses when no --db is given: ``RUN/serve/monitor.db`` when it serves a run's model
    (``runs/NAME/dpo``), else ``runs/serve/monitor.db`` under the folder it runs in."""
    path = Path(model)
    if model and path.is_dir() and path.name in RUN_STAGES:
        return f"sqlite:///{path.parent / 'serve' / 'monitor.db'}"
    return DEFAULT_URL
