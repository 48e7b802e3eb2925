"""``veganalign check``: is it vegan? One text from the command line, a file or stdin; or one text a line."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from veganalign.knowledge.check import CheckResult, MatchedItem
from veganalign.knowledge.kb import KnowledgeBaseError, load_knowledge_base

MAX_FILE_BYTES = 1_000_000  # a label or a description, not a corpus
MAX_LINE_BYTES = MAX_FILE_BYTES  # --lines: the same limit for each text; the file itself may be any size

_COLOURS = {"non_vegan": "bold red", "maybe": "bold yellow", "vegan": "bold green", "unknown": "bold blue"}


class InputError(Exception):
    """Bad input: reported as one line on stderr with exit code 2."""


def check_command(
    text: str | None = typer.Argument(
        None, help="The text to check: an ingredient list, a product or dish description, or a sentence."
    ),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Read the text from this file instead ('-' reads stdin). The whole file is one text."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    lines: Path | None = typer.Option(
        None,
        "--lines",
        help="Check each line of this file as its own text ('-' reads stdin), in one process; "
        "prints one JSON object per input line (JSON Lines), with its line number.",
    ),
) -> None:
    """Say whether TEXT is vegan, with the items found, why, and alternatives.

    The verdict is non_vegan, maybe (depends on a source the text does not give),
    vegan, or unknown (nothing recognised). "May contain" warnings are listed apart
    and do not change it. Exit code 0 for any verdict, 2 for bad input (with --lines:
    after every line is answered, if any line could not be read).
    """
    if lines is not None:
        if text is not None or file is not None:
            _fail("give --lines alone, not with a text or --file", 2)
        try:
            kb = load_knowledge_base()
        except KnowledgeBaseError as exc:
            _fail(f"the knowledge base is invalid: {exc}", 1)
        try:
            code = check_lines(lines, kb.check, sys.stdout)
        except BrokenPipeError:  # "| head": the reader has what it wanted; stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = 0
        raise typer.Exit(code)
    try:
        content = _read_input(text, file)
        result = load_knowledge_base().check(content)
    except InputError as exc:
        _fail(str(exc), 2)
    except ValueError as exc:
        if isinstance(exc, KnowledgeBaseError):
            _fail(f"the knowledge base is invalid: {exc}", 1)
        _fail(str(exc), 2)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print(result, Console())


# --------------------------------------------------------------------------- --lines


def check_lines(path: Path, check: Callable[[str], CheckResult], out: TextIO) -> int:
    """Write one JSON line per line of ``path`` ('-': stdin) to ``out``; the exit code.

    Every input line gets its object, in order, with its 1-based ``line`` number: the
    result's fields, or ``error`` for a line that is blank ("empty line", not counted as
    bad input), not UTF-8, holds NUL bytes or is over ``MAX_LINE_BYTES``. Bad lines are
    also named on stderr as ``FILE:LINE: problem``; the exit code is then 2, else 0.
    """
    name = "<stdin>" if str(path) == "-" else str(path)
    try:
        stream = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    except OSError as exc:
        typer.echo(f"error: cannot read {path}: {exc.strerror or exc}", err=True)
        return 2
    bad = 0
    write = out.write
    try:
        for number, content, problem in _numbered_lines(stream):
            if problem is None:
                record = {"line": number, **check(content).to_dict()}
            else:
                record = {"line": number, "error": problem}
                if problem != "empty line":
                    bad += 1
                    typer.echo(f"error: {name}:{number}: {problem}", err=True)
            write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    except BrokenPipeError:
        raise  # the reader went away: not a reading error
    except OSError as exc:
        typer.echo(f"error: cannot read {path}: {exc.strerror or exc}", err=True)
        return 2
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    out.flush()
    return 2 if bad else 0


def _numbered_lines(stream: BinaryIO) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, problem or None) for each line; a line over the limit is skipped, not held in memory."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # the rest of the long line
                raw = stream.readline(MAX_LINE_BYTES + 1)
            yield number, "", f"line over {MAX_LINE_BYTES:,} bytes"
            continue
        raw = raw.rstrip(b"\r\n")
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark
        if b"\x00" in raw:
            yield number, "", "binary data (NUL bytes), not text"
            continue
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, "", f"not UTF-8 text (byte {exc.start + 1} of the line)"
            continue
        yield number, content, None if content.strip() else "empty line"


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _read_input(text: str | None, file: Path | None) -> str:
    if text is not None and file is not None:
        raise InputError("give the text or --file, not both")
    if file is None:
        if text is None:
            raise InputError('nothing to check: give a text (veganalign check "sugar, whey") or --file FILE')
        if not text.strip():
            raise InputError("nothing to check: the text is empty")
        if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            raise InputError(f"the text is too large to be one text (over {MAX_FILE_BYTES:,} bytes); "
                             "for many texts use --lines FILE")  # fmt: skip
        return text
    data = _read_bytes(file)
    name = "<stdin>" if str(file) == "-" else str(file)
    if b"\x00" in data:
        raise InputError(f"{name}: looks like a binary file (it has NUL bytes), not text")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{name}:{line}: not UTF-8 text (is it a binary file?)") from None
    if not content.strip():
        raise InputError(f"{name}: nothing to check, the {'input' if name == '<stdin>' else 'file'} is empty")
    return content


def _read_bytes(file: Path) -> bytes:
    name = "<stdin>" if str(file) == "-" else str(file)
    try:
        if str(file) == "-":  # the same limit as a file: never a silently cut text
            data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with file.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{name}: too large to be one text (over {MAX_FILE_BYTES:,} bytes); "
                         "for many texts use --lines")  # fmt: skip
    return data


# --------------------------------------------------------------------------- rendering


def _print(result: CheckResult, console: Console) -> None:
    if result.items:
        console.print(_items_table(result.items, "Found"))
    if result.may_contain:
        console.print(_items_table(result.may_contain, "May contain (cross-contact warning; not counted)"))
    if result.unknown_terms:
        console.print(Text("Not recognised: ", style="dim") + Text(", ".join(result.unknown_terms)))
    if result.claims:
        console.print(Text("Claims: ", style="dim") + Text(", ".join(result.claims)))
    verdict = Text("Verdict: ", style="bold") + Text(result.verdict, style=_COLOURS[result.verdict])
    console.print(verdict + Text(" - " + result.summary.split(": ", 1)[-1]))


def _items_table(items: list[MatchedItem], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("item")
    table.add_column("status")
    table.add_column("reason", overflow="fold")
    table.add_column("alternatives", overflow="fold")
    # Cells are Text, not markup strings: labels and reasons may hold "[...]".
    # The same item found many times is one row with a count: a long list of one
    # ingredient must not print (and take minutes to lay out) a table of thousands of rows.
    rows: dict[tuple[str, str, str, str, str], int] = {}
    styles: dict[tuple[str, str, str, str, str], str] = {}
    for item in items:
        label = item.text if item.text.casefold() == item.name.casefold() else f"{item.text} → {item.name}"
        note = f" ({item.note})" if item.note else ""
        key = (label, _shown_status(item), item.reason, note, ", ".join(a.name for a in item.alternatives))
        rows[key] = rows.get(key, 0) + 1
        styles[key] = _COLOURS.get(item.counts_as or "", "dim")
    for key, count in rows.items():
        label, status, reason_text, note, alternatives = key
        reason = Text(reason_text)
        if note:
            reason.append(note, style="italic")
        shown = Text(label) + (Text(f" ×{count}", style="dim") if count > 1 else Text(""))
        table.add_row(shown, Text(status, style=styles[key]), reason, Text(alternatives))
    return table


def _shown_status(item: MatchedItem) -> str:
    if item.counts_as is not None:
        return item.counts_as if item.counts_as == item.status else f"{item.counts_as} (here)"
    if item.negated:
        return "absent"
    if item.qualifier == "specified":
        return "spelled out"
    return item.status
