"""The recorder: the serve app hands it each finished request; a writer thread stores what it keeps.

``Recorder.record`` never blocks and never raises: it puts the request on a bounded queue
(full: the record is counted as dropped, and the count is stored). The writer thread
redacts personal data, decides what to keep (every flagged conversation, and a sample of
the rest), and writes in batches of one transaction each. A write that fails (the
database restarting) is retried with backoff for up to ``retry_s`` seconds before its
records are counted as dropped. ``close`` drains the queue before it returns, so records
already accepted are written at shutdown.

Kept whatever the sample rate: a rail finding (with its principle and action), a
high-conflict kind (``monitor/conflict.py``), a non-200 status (backend errors, overload).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine

from veganalign.monitor import store
from veganalign.monitor.conflict import conflict_kinds
from veganalign.monitor.redact import redact

log = logging.getLogger("veganalign.monitor")


@dataclass
class Record:
    """One finished chat completion, as the serve app saw it (raw: redaction happens in the writer)."""

    id: str
    messages: list[dict[str, str]]  # what the client sent (without the operator's policy)
    answers: list[str]  # what the user got, one per choice
    findings: list[dict[str, Any]] = field(default_factory=list)  # the rails' events: kind, principle, action, ...
    status: int = 200
    latency_ms: float = 0.0
    stream: bool = False
    key_id: str = ""
    model: str = ""
    spec_sha256: str | None = None
    situation: str | None = None
    error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _sampled(record_id: str, rate: float) -> bool:
    """A stable coin per conversation (the same id is kept or not on every replay of a log)."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return int(hashlib.sha256(record_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < rate


class Recorder:
    """Bounded queue + one writer thread over a store (``store.open_store``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        sample_rate: float = 0.1,
        max_queue: int = 10_000,
        batch: int = 64,
        retry_s: float = 30.0,
        kb=None,
    ):
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample rate {sample_rate}: give a fraction between 0 and 1")
        self.engine, self.sample_rate, self.batch, self.retry_s = engine, sample_rate, batch, retry_s
        self._kb = kb
        self._queue: queue.Queue[Record | None] = queue.Queue(maxsize=max_queue)
        self.received = self.written = self.kept = self.dropped = self.failed = 0
        self._lock = threading.Lock()
        with engine.begin() as db:
            self.run_id = db.execute(
                insert(store.recorder_runs).values(started_at=datetime.now(timezone.utc), written=0, dropped=0)
            ).inserted_primary_key[0]
        self._thread = threading.Thread(target=self._work, name="veganalign-recorder", daemon=True)
        self._thread.start()
        self._closed = False

    # The request path ------------------------------------------------------------------------------------------
    def record(self, rec: Record) -> None:
        """Hand over one request; returns at once. Never raises (a full queue counts a drop)."""
        with self._lock:
            self.received += 1
        try:
            self._queue.put_nowait(rec)
        except queue.Full:
            with self._lock:
                self.dropped += 1

    # The writer thread -----------------------------------------------------------------------------------------
    def _work(self) -> None:
        from veganalign.knowledge import load_knowledge_base

        kb = self._kb or load_knowledge_base()
        done = False
        while not done:
            first = self._queue.get()
            pending = [first]
            while len(pending) < self.batch:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if any(r is None for r in pending):
                done = True
            records = [r for r in pending if r is not None]
            if records:
                self._write(records, kb)
            for _ in pending:
                self._queue.task_done()

    def _rows(self, rec: Record, kb) -> tuple[dict, list[dict], list[dict]] | None:
        conflict = conflict_kinds(rec.messages, kb)
        real_findings = [f for f in rec.findings if f.get("kind") != "explanation"]
        flagged = bool(real_findings or conflict or rec.status != 200)
        sampled = _sampled(rec.id, self.sample_rate)
        if not (flagged or sampled):
            return None
        convo = {
            "id": rec.id,
            "created_at": rec.created_at,
            "day": rec.created_at.strftime("%Y-%m-%d"),
            "key_id": rec.key_id[:16],
            "model": rec.model[:200],
            "spec_sha256": rec.spec_sha256,
            "stream": rec.stream,
            "status": rec.status,
            "latency_ms": rec.latency_ms,
            "error": redact(rec.error) if rec.error else None,
            "sampled": sampled,
            "flagged": flagged,
            "conflict": ",".join(conflict) or None,
            "situation": rec.situation,
        }
        msgs = [
            {
                "conversation_id": rec.id,
                "position": i,
                "role": m.get("role", "user")[:20],
                "content": redact(str(m.get("content") or "")),
            }
            for i, m in enumerate(rec.messages)
        ]
        msgs += [
            {
                "conversation_id": rec.id,
                "position": len(rec.messages) + j,
                "role": "assistant",
                "content": redact(answer),
            }
            for j, answer in enumerate(rec.answers)
        ]
        found = [
            {
                "conversation_id": rec.id,
                "kind": str(f.get("kind"))[:60],
                "principle": f.get("principle") or f.get("rule"),
                "action": f.get("action"),
                "outcome": f.get("outcome"),
                "detail": redact(str(f.get("detail") or ""))[:2000] or None,
            }
            for f in real_findings
        ]
        found += [
            {
                "conversation_id": rec.id,
                "kind": kind,
                "principle": None,
                "action": "flag",
                "outcome": "flagged",
                "detail": None,
            }
            for kind in conflict
        ]
        return convo, msgs, found

    def _write(self, records: list[Record], kb) -> None:
        rows = []
        for rec in records:
            try:
                row = self._rows(rec, kb)
            except Exception:  # a record we cannot read is a drop, not a dead writer
                log.exception("monitor: could not prepare record %s", rec.id)
                with self._lock:
                    self.dropped += 1
                continue
            if row is not None:
                rows.append(row)
        deadline = time.monotonic() + self.retry_s
        wait = 0.2
        while True:
            try:
                with self.engine.begin() as db:
                    if rows:
                        db.execute(insert(store.conversations), [r[0] for r in rows])
                        msgs = [m for r in rows for m in r[1]]
                        if msgs:
                            db.execute(insert(store.messages), msgs)
                        found = [f for r in rows for f in r[2]]
                        if found:
                            db.execute(insert(store.findings), found)
                    with self._lock:
                        self.written += len(records)
                        self.kept += len(rows)
                        written, dropped = self.written, self.dropped
                    db.execute(
                        update(store.recorder_runs)
                        .where(store.recorder_runs.c.id == self.run_id)
                        .values(written=written, dropped=dropped)
                    )
                return
            except Exception as exc:
                if time.monotonic() + wait > deadline:
                    log.error("monitor: %d records not written after %.0f s: %s", len(records), self.retry_s, exc)
                    with self._lock:
                        self.dropped += len(records)
                        self.failed += 1
                    return
                time.sleep(wait)
                wait = min(wait * 2, 5.0)

    # Shutdown ----------------------------------------------------------------------------------------------------
    def close(self, timeout: float = 60.0) -> None:
        """Write everything accepted so far, then stop; the run's counts are stored."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)  # blocks only if full, and the writer is draining it
        self._thread.join(timeout)
        with self._lock:
            written, dropped = self.written, self.dropped
        try:
            with self.engine.begin() as db:
                db.execute(
                    update(store.recorder_runs)
                    .where(store.recorder_runs.c.id == self.run_id)
                    .values(written=written, dropped=dropped, stopped_at=datetime.now(timezone.utc))
                )
        except Exception as exc:
            log.error("monitor: could not store the recorder's counts: %s", exc)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "received": self.received,
                "written": self.written,
                "kept": self.kept,
                "dropped": self.dropped,
                "queued": self._queue.qsize(),
            }
