"""Reviewer accounts and their sessions: scrypt-hashed passwords, hashed session tokens, a CSRF token each.

Accounts are made on the command line (``veganalign monitor add-reviewer``), never over the
web. A session token lives only in the reviewer's cookie; the store keeps its sha256, so a
copy of the database opens no session. Sessions expire (``session_hours``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from veganalign.errors import UserError
from veganalign.monitor import store

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # OWASP's minimum for scrypt; about 50 ms a check on one core
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(got.hex(), digest)


def add_reviewer(engine: Engine, username: str, password: str, *, replace: bool = False) -> None:
    """Create (or with ``replace``, reset the password of) a reviewer account."""
    if not USERNAME.match(username):
        raise UserError(f"username {username!r}: use 1-80 letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    now = datetime.now(timezone.utc)
    with engine.begin() as db:
        exists = db.execute(select(store.reviewers.c.username).where(store.reviewers.c.username == username)).first()
        if exists and not replace:
            raise UserError(f"reviewer {username!r} exists (give --replace to set a new password)")
        if exists:
            db.execute(
                update(store.reviewers)
                .where(store.reviewers.c.username == username)
                .values(password_hash=hash_password(password))
            )
            db.execute(delete(store.sessions).where(store.sessions.c.username == username))  # old sessions end
        else:
            db.execute(
                insert(store.reviewers).values(username=username, password_hash=hash_password(password), created_at=now)
            )


# A constant-time answer for unknown users too: checking a dummy hash costs what a real check costs.
_DUMMY = hash_password(secrets.token_hex(8))


def verify(engine: Engine, username: str, password: str) -> bool:
    with engine.connect() as db:
        row = db.execute(select(store.reviewers.c.password_hash).where(store.reviewers.c.username == username)).first()
    if row is None:
        check_password(password, _DUMMY)
        return False
    return check_password(password, row[0])


@dataclass(frozen=True)
class Session:
    username: str
    csrf: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(engine: Engine, username: str, hours: float) -> tuple[str, Session]:
    """``(cookie token, session)`` for a reviewer who has just logged in."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    with engine.begin() as db:
        db.execute(delete(store.sessions).where(store.sessions.c.expires_at < now))  # expired ones go
        db.execute(
            insert(store.sessions).values(
                token_hash=_token_hash(token), username=username, csrf=csrf, expires_at=now + timedelta(hours=hours)
            )
        )
    return token, Session(username, csrf)


def session_for(engine: Engine, token: str | None) -> Session | None:
    if not token:
        return None
    with engine.connect() as db:
        row = db.execute(
            select(store.sessions.c.username, store.sessions.c.csrf, store.sessions.c.expires_at).where(
                store.sessions.c.token_hash == _token_hash(token)
            )
        ).first()
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=timezone.utc)  # SQLite
    return Session(row.username, row.csrf) if expires > datetime.now(timezone.utc) else None


def end_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as db:
            db.execute(delete(store.sessions).where(store.sessions.c.token_hash == _token_hash(token)))
