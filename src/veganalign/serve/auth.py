"""API keys, kept only as hashes, and per-key rate limits.

A key is compared by its sha256 in constant time; the plain key is never stored, logged or
kept in memory past start-up. Rate limits are token buckets per key (off unless configured).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from pathlib import Path

from veganalign.errors import UserError


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return "va-" + secrets.token_urlsafe(24)


def read_key_file(path: Path) -> list[str]:
    """Hashes from a key file: one key a line, or ``sha256:HEX`` for a key stored only as its hash."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--api-key-file {path}: cannot read ({exc})") from None
    hashes = []
    for lineno, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("sha256:"):
            digest = line.removeprefix("sha256:").lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise UserError(f"{path}:{lineno}: a 'sha256:' line needs 64 hex digits")
            hashes.append(digest)
        else:
            hashes.append(key_hash(line))
    if not hashes:
        raise UserError(f"--api-key-file {path}: no keys in the file")
    return hashes


class KeyRing:
    """The accepted keys' hashes; ``check`` answers with the key's hash (its identity in logs and limits)."""

    def __init__(self, hashes: list[str]):
        self.hashes = list(dict.fromkeys(hashes))

    def check(self, presented: str | None) -> str | None:
        if not presented:
            return None
        digest = key_hash(presented)
        found = None
        for h in self.hashes:  # compare with every key, so the time does not tell which one matched
            if hmac.compare_digest(h, digest):
                found = h
        return found


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests, refilled continuously; thread-safe."""

    def __init__(self, per_minute: int):
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        """``(allowed, seconds until the next request would be)``."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                return True, 0.0
            self.buckets[key] = (tokens, now)
            return False, (1.0 - tokens) / self.rate
