"""JSON Lines files: the only way data moves between stages.

The rules every stage relies on:
- a broken line is reported with file, line number and field (``ContractError``);
- long outputs are appended and flushed row by row, so an interrupted run keeps every
  finished row and can resume; a command appends only to a file proven to be its own
  output (``read_own_output``, which changes nothing) and refuses anything else, and a
  torn last line is repaired (a whole record gets its newline), never dropped;
- outputs are checked before any work (``check_output_path``: not an input, not a
  directory, in a folder that can be written);
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


MAX_LINE_BYTES = 16_000_000  # one record; the largest shipped line is a few kB


def read_jsonl(
    path: str | Path, check: Callable[[dict[str, Any]], None] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)``; blank lines are skipped.

    ``check`` raises ``ContractError(path, None, field, msg)`` (or ``ValueError``) for a bad
    record; the line number is filled in here. Every problem (a missing or unreadable
    file, a line that is not UTF-8, not JSON, not an object, nested too deeply or over
    ``MAX_LINE_BYTES``) is a ``ContractError`` naming the file and line.
    """
    path = Path(path)
    for lineno, raw, complete in _raw_lines(path):
        if not complete and len(raw) > MAX_LINE_BYTES:
            raise ContractError(path, lineno, None, f"line longer than {MAX_LINE_BYTES:,} bytes")
        record = parse_line(raw, path, lineno)
        if record is None:
            continue
        if check is not None:
            try:
                check(record)
            except ContractError as exc:
                raise ContractError(path, lineno, exc.field, exc.message) from None
            except ValueError as exc:
                raise ContractError(path, lineno, None, str(exc)) from None
        yield lineno, record


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """``(line number, bytes, ends with a newline)``; a line over ``MAX_LINE_BYTES`` is cut there."""
    if path.is_dir():
        raise ContractError(path, None, None, "is a directory, not a JSONL file")
    if not path.exists():
        raise ContractError(path, None, None, "file not found")
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ContractError(path, None, None, f"cannot read ({exc.strerror or exc})") from None
    with fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:
                raise ContractError(path, lineno + 1, None, f"cannot read ({exc.strerror or exc})") from None
            if not raw:
                return
            lineno += 1
            if lineno == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
            yield lineno, raw, raw.endswith(b"\n")


def parse_line(raw: bytes, path: str | Path, lineno: int) -> dict[str, Any] | None:
    """One JSONL line as a record (None for a blank line); a ``ContractError`` for anything else."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(path, lineno, None, f"not UTF-8 text (byte {exc.start + 1} of the line)") from None
    if not text.strip():
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(path, lineno, None, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ContractError(path, lineno, None, "invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # an integer over Python's 4,300-digit limit, for one
        reason = "a number with too many digits" if "digits" in str(exc) else str(exc).splitlines()[0]
        raise ContractError(path, lineno, None, f"invalid JSON ({reason})") from None
    if not isinstance(record, dict):
        raise ContractError(path, lineno, None, "each line must be a JSON object")
    return record


def require(record: dict[str, Any], field: str, kind: type | tuple[type, ...], *, nonempty: bool = True) -> Any:
    """Fetch ``record[field]`` or raise a ContractError naming the field."""
    if field not in record:
        raise ContractError("", None, field, "missing")
    value = record[field]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:  # JSON true is no number: `"id": true` is a mistake
        raise ContractError("", None, field, f"must be {_names(kinds)}, got bool")
    if not isinstance(value, kind):
        raise ContractError("", None, field, f"must be {_names(kinds)}, got {type(value).__name__}")
    if nonempty and isinstance(value, (str, list)) and not value:
        raise ContractError("", None, field, "must not be empty")
    return value


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)


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


class OutputError(UserError):
    """An output path that cannot be written, or whose existing file is not this command's to change."""


def check_output_path(path: str | Path, option: str = "--out", inputs: Iterable[str | Path] = ()) -> None:
    """Refuse, before any work, an output that is an input, a directory, or in a place that cannot be written.

    Nothing is created or changed: writability is probed with a temporary file in the
    nearest existing folder, removed at once.
    """
    path = Path(path)
    for given in inputs:
        given = Path(given)
        if _same_file(path, given):
            raise OutputError(f"{option} {path}: is the input file {given}; write the output to another file")
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a directory; give a file name")
    _probe_folder(path, path.parent, option)


def check_output_dir(path: str | Path, option: str = "--out") -> None:
    """Refuse, before any work, an output directory that is a file or in a place that cannot be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path}: is a file, not a directory")
    _probe_folder(path, path, option)


def _probe_folder(path: Path, folder: Path, option: str) -> None:
    """The nearest existing folder of ``folder`` must be a directory where a file can be created."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{option} {path}: {folder} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".veganalign-", suffix=".probe", dir=folder)
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


class AppendWriter:
    """Append records one at a time, flushed and fsync'd, for resumable long jobs.

    Opening repairs a torn end (``repair_tail``) first, so the next record starts on a
    line of its own. Only open it on a file known to be the command's own output
    (``read_own_output``): it changes the end of whatever file it is given.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
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


# What AppendWriter writes first on every line: a fragment that starts otherwise is no torn row of ours.
ROW_PREFIX = b'{"id": '


def _last_line(data: bytes) -> tuple[int, bytes]:
    """``(offset, bytes)`` of the last line when it has no final newline, else ``(len(data), b"")``."""
    start = data.rfind(b"\n") + 1
    return start, data[start:]


def _complete_record(tail: bytes) -> dict[str, Any] | None:
    """The record an unterminated last line holds, or None when it is a fragment (cut mid-write)."""
    try:
        record = json.loads(tail.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def repair_tail(path: str | Path) -> str | None:
    """Make ``path`` end at a line boundary, losing no record; what was done, or None.

    A last line without its newline that holds a whole record (the writer died between
    the record and its newline, or a person edited the file) gets its newline: "completed".
    A fragment of a row cut off mid-write is removed: "cut" (that row is redone).
    """
    path = Path(path)
    if not path.is_file():
        return None
    data = path.read_bytes()
    start, tail = _last_line(data)
    if not tail:
        return None
    if not tail.strip() or _complete_record(tail) is not None:
        with path.open("ab") as fh:
            fh.write(b"\n")
        return "completed"
    with path.open("r+b") as fh:
        fh.truncate(start)
    return "cut"


def read_own_output(
    path: str | Path, check: Callable[[dict[str, Any]], None], what: str
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows of an existing output, proven to be this command's own before anything touches it.

    Read-only. Every line must be a JSON object that ``check`` accepts (it raises a
    ``ContractError`` naming the field); otherwise the file is refused as "not WHAT" with
    its line. A last line without its newline is kept when it holds a whole record, and
    reported as "fragment" when it is the start of a row cut off mid-write (only a line
    starting as this writer starts its rows counts; anything else is refused). Returns
    ``(rows, tail)`` with ``tail`` None, "complete" or "fragment". A missing file has no rows.
    """
    path = Path(path)
    if not path.exists():
        return [], None
    if not path.is_file():
        raise OutputError(f"{path}: is not a regular file; choose another output")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OutputError(f"{path}: cannot read the existing output ({exc.strerror or exc})") from None
    start, tail = _last_line(data)
    tail_state = None
    if tail.strip():
        if _complete_record(tail) is not None:
            tail_state, start = "complete", len(data)  # checked with the other rows below
        elif tail.startswith(ROW_PREFIX):
            tail_state = "fragment"
        else:
            lineno = data[:start].count(b"\n") + 1
            raise OutputError(f"{path}:{lineno}: not {what}: its last line is no JSON record; "
                              "left unchanged: choose another output file")  # fmt: skip
    rows = []
    for lineno, raw in enumerate(data[:start].split(b"\n"), start=1):
        try:
            record = parse_line(raw, path, lineno)
            if record is not None:
                check(record)
        except ValueError as exc:  # a ContractError (its field and message) or a checker's own
            field, message = getattr(exc, "field", None), getattr(exc, "message", str(exc))
            detail = f"field '{field}': {message}" if field else message
            raise OutputError(f"{path}:{lineno}: not {what}: {detail}; left unchanged: "
                              "choose another output file") from None  # fmt: skip
        if record is not None:
            rows.append(record)
    return rows, tail_state


def load_finished_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of an append-only output of the calling command, repairing a torn end from an interruption.

    A last line without its newline that holds a whole record is kept (and given its
    newline); a fragment of a row cut off mid-write is removed (it will be redone); every
    complete row is kept. For a file that may not be the command's own, check it first
    with ``read_own_output``, which changes nothing.
    """
    path = Path(path)
    if not path.exists():
        return []
    repair_tail(path)
    data = path.read_bytes()
    rows = []
    for lineno, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            rows.append(json.loads(raw))
        except (ValueError, RecursionError):
            raise ContractError(path, lineno, None, "corrupt row in an existing output file") from None
    return rows
