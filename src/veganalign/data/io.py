"""Bring your own data in, take ours out.

Import: local JSONL or CSV, or a Hugging Face ``datasets`` directory (``save_to_disk``)
or a hub id where a hub is reachable. Columns are renamed with ``--map SRC=DST``; each
row gets provenance (``source: import:NAME``, ``license``) and is checked against its
contract when a kind is given. Export: JSONL in the TRL conversational formats, or a
``datasets`` directory that ``load_from_disk`` opens straight into TRL trainers.
"""

from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path
from typing import Any

from veganalign.data.contracts import CHECKS, Kind
from veganalign.jsonl import ContractError, read_jsonl, write_jsonl_atomic

TRL_COLUMNS: dict[str, tuple[str, ...]] = {
    "sft": ("messages",),
    "pair": ("prompt", "chosen", "rejected"),
    "prompt": ("prompt",),
}


def read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """A CSV file's columns and its rows numbered by file line (the header is line 1); a file
    that cannot be read, is not UTF-8 or is not valid CSV is a ``ContractError`` naming it."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = [(n, dict(row)) for n, row in enumerate(reader, start=2)]
            return list(reader.fieldnames or []), rows
    except OSError as exc:
        raise ContractError(path, None, None, f"cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ContractError(path, None, None, "not UTF-8 text") from None
    except csv.Error as exc:
        raise ContractError(path, None, None, f"invalid CSV ({exc})") from None


def _read_rows(src: str) -> list[tuple[int | None, dict[str, Any]]]:
    path = Path(src)
    if path.is_file() and path.suffix.lower() == ".csv":
        return read_csv(path)[1]
    if path.is_file():
        return list(read_jsonl(path))
    import datasets

    # A datasets directory, else a hub id (where a hub is reachable).
    ds = datasets.load_from_disk(str(path)) if path.is_dir() else datasets.load_dataset(src)
    if isinstance(ds, datasets.DatasetDict):
        ds = datasets.concatenate_datasets(list(ds.values()))
    return [(None, dict(row)) for row in ds]


def import_rows(
    src: str, out: Path, *, name: str, license: str, kind: Kind | None = None, mapping: dict[str, str] | None = None
) -> int:
    """Import ``src`` into ``out`` (JSONL); returns the number of rows. Nothing is written on error."""
    mapping = mapping or {}
    rows = []
    for lineno, row in _read_rows(src):
        rec = {mapping.get(k, k): v for k, v in row.items()}
        for field in ("messages", "prompt", "chosen", "rejected", "expect"):
            # CSV cells holding JSON (a message list, an expect object) are parsed.
            if isinstance(rec.get(field), str) and rec[field].lstrip().startswith(("[", "{")):
                with contextlib.suppress(json.JSONDecodeError):
                    rec[field] = json.loads(rec[field])
        rec.setdefault("id", f"{name}-{len(rows):06d}")
        rec["source"] = f"import:{name}"
        rec["license"] = license
        if kind is not None:
            try:
                CHECKS[kind](rec)
            except ContractError as exc:
                raise ContractError(src, lineno, exc.field, exc.message) from None
        rows.append(rec)
    if not rows:
        raise ContractError(src, None, None, "no rows to import")
    return write_jsonl_atomic(out, rows)


def export(records: list[dict[str, Any]], kind: Kind, out: Path, fmt: str, trl_only: bool = True) -> int:
    """Write records as JSONL or as a ``datasets`` directory; ``trl_only`` keeps just TRL's columns."""
    cols = TRL_COLUMNS.get(kind)
    rows = [{c: r[c] for c in cols} for r in records] if trl_only and cols else records
    if fmt == "jsonl":
        return write_jsonl_atomic(out, rows)
    if fmt == "hf":
        import datasets

        datasets.Dataset.from_list(rows).save_to_disk(str(out))
        return len(rows)
    raise ValueError(f"unknown export format {fmt!r}: use jsonl or hf")
