"""JSON Lines files: the only way data moves between stages.

Three rules every stage relies on:
- a broken line is reported with file, line number and field (``ContractError``);
- long outputs are appended and flushed row by row, so an interrupted run keeps every
  finished row and can resume;
- whole-file outputs are written to a temporary file and renamed, so a crash never
  leaves a half-written file where a good one was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from veganalign.errors import UserError


class ContractError(UserError):
    """A record that breaks its file's data contract."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = self.path + (f":{line}" if line else "")
        what = f" field '{field}':" if field else ""
        super().__init__(f"{where}:{what} {message}")


def read_jsonl(
    path: str | Path, check: Callable[[dict[str, Any]], None] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)``; blank lines are skipped.

    ``check`` raises ``ContractError(path, None, field, msg)`` (or ``ValueError``) for a bad
    record; the line number is filled in here.
    """
    path = Path(path)
    if not path.is_file():
        raise ContractError(path, None, None, "file not found")
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ContractError(path, lineno, None, "not UTF-8 text") from None
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ContractError(path, lineno, None, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(record, dict):
                raise ContractError(path, lineno, None, "each line must be a JSON object")
            if check is not None:
                try:
                    check(record)
                except ContractError as exc:
                    raise ContractError(path, lineno, exc.field, exc.message) from None
                except ValueError as exc:
                    raise ContractError(path, lineno, None, str(exc)) from None
            yield lineno, record


def require(record: dict[str, Any], field: str, kind: type | tuple[type, ...], *, nonempty: bool = True) -> Any:
    """Fetch ``record[field]`` or raise a ContractError naming the field."""
    if field not in record:
        raise ContractError("", None, field, "missing")
    value = record[field]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ContractError("", None, field, f"must be {names}, got {type(value).__name__}")
    if nonempty and isinstance(value, (str, list)) and not value:
        raise ContractError("", None, field, "must not be empty")
    return value


def check_messages(messages: Any, field: str = "messages") -> None:
    """A chat in the Hugging Face conversational format: roles in a sensible order."""
    if not isinstance(messages, list) or not messages:
        raise ContractError("", None, field, "must be a non-empty list of {role, content}")
    for i, msg in enumerate(messages):
        where = f"{field}[{i}]"
        if not isinstance(msg, dict) or set(msg) - {"role", "content", "name"}:
            raise ContractError("", None, where, "must be an object with 'role' and 'content'")
        if msg.get("role") not in ("system", "user", "assistant"):
            raise ContractError(
                "", None, f"{where}.role", f"must be system, user or assistant, got {msg.get('role')!r}"
            )
        if not isinstance(msg.get("content"), str) or not msg["content"].strip():
            raise ContractError("", None, f"{where}.content", "must be non-empty text")
        if msg["role"] == "system" and i != 0:
            raise ContractError("", None, f"{where}.role", "a system message may only come first")
    turns = [m["role"] for m in messages if m["role"] != "system"]
    for i in range(1, len(turns)):
        if turns[i] == turns[i - 1]:
            raise ContractError("", None, field, f"two '{turns[i]}' turns in a row")
    if turns and turns[0] != "user":
        raise ContractError("", None, field, "the conversation must start with a user turn")


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; a finished output gets the usual permissions. Read once at
# import: os.umask is process-wide, and flipping it later could race with other threads.
FILE_MODE = 0o666 & ~_read_umask()


def write_jsonl_atomic(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write all records to ``path`` via a temporary file and rename; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def write_text_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class AppendWriter:
    """Append records one at a time, flushed and fsync'd, for resumable long jobs."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> AppendWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_finished_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of an append-only output, repairing a torn last line from an interruption.

    A process killed mid-write can leave a last line without its newline; that partial
    row is cut off (it will be redone) and every complete row is kept.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with path.open("r+b") as fh:
            fh.truncate(end)
        data = data[:end]
    rows = []
    for lineno, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rows.append(json.loads(raw))
        except json.JSONDecodeError:
            raise ContractError(path, lineno, None, "corrupt row in an existing output file") from None
    return rows
