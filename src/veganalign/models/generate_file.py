"""``veganalign generate``: prompts JSONL in, generation-contract JSONL out, resumable.

Input rows: ``{"id", "prompt": str}`` or ``{"id", "messages": [...]}``; other fields are
ignored. Output rows follow the generation contract (docs/architecture.md). Rows are appended and
flushed as they finish, so an interrupted run keeps every finished row; a rerun skips
ids already written with the same settings and redoes failed ones.

An existing output is resumed only when it is recognisably this command's own: every row
in the generation contract, made with the same model, system prompt and decoding. Anything
else (another file given as ``--out`` by mistake, the prompts file itself, rows made with
other settings) is refused before the model loads and before any byte of it changes.
``--overwrite`` writes the new output to a temporary file beside it and renames it into
place when the run finishes, so an interrupted overwrite leaves the old file as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veganalign.errors import UserError
from veganalign.jsonl import (
    FILE_MODE,
    AppendWriter,
    ContractError,
    OutputError,
    check_messages,
    check_output_path,
    load_finished_rows,
    read_jsonl,
    read_own_output,
    require,
)
from veganalign.models.generation import Decoding, Generator, Messages, with_system_prompt


@dataclass
class PromptRow:
    id: str
    prompt: str | Messages  # as given, echoed into the output
    messages: Messages  # the conversation sent to the model (without system prompt)


def check_prompt_row(record: dict[str, Any]) -> None:
    rid = require(record, "id", (str, int))
    if isinstance(rid, str) and not rid.strip():
        raise ContractError("", None, "id", "must not be empty")
    if "messages" in record:
        check_messages(record["messages"])
        if record["messages"][-1]["role"] != "user":
            raise ContractError("", None, "messages", "the last message must be a user turn to answer")
    elif "prompt" in record:
        require(record, "prompt", str)
        if not record["prompt"].strip():
            raise ContractError("", None, "prompt", "must not be empty")
    else:
        raise ContractError("", None, "prompt", "each row needs 'prompt' (text) or 'messages' (a chat)")


def read_prompts(path: str | Path) -> list[PromptRow]:
    """Read and check every row before any generation starts (fail fast, nothing lost)."""
    rows: list[PromptRow] = []
    seen: dict[str, int] = {}
    for lineno, rec in read_jsonl(path, check_prompt_row):
        rid = str(rec["id"])
        if rid in seen:
            raise ContractError(path, lineno, "id", f"duplicate id {rid!r} (first on line {seen[rid]})")
        seen[rid] = lineno
        if "messages" in rec:
            msgs = [{"role": m["role"], "content": m["content"]} for m in rec["messages"]]
            rows.append(PromptRow(rid, rec["messages"], msgs))
        else:
            rows.append(PromptRow(rid, rec["prompt"], [{"role": "user", "content": rec["prompt"]}]))
    if not rows:
        raise ContractError(path, None, None, "no prompts in the file")
    return rows


class SettingsMismatch(UserError):
    pass


def check_generation_row(record: dict[str, Any]) -> None:
    """A row of the generation contract, as this command writes it."""
    rid = require(record, "id", (str, int))
    if isinstance(rid, str) and not rid.strip():
        raise ContractError("", None, "id", "must not be empty")
    for field, kind in (("response", str), ("model", str), ("arm", str), ("decoding", dict), ("finish_reason", str)):
        require(record, field, kind, nonempty=False)
    for field in ("prompt", "system_prompt"):
        if field not in record:
            raise ContractError("", None, field, "missing")
    require(record, "n_tokens", int, nonempty=False)


def prepare_output(out_path: str | Path, prompts_path: str | Path, *, model: str, system_prompt: str | None,
                   decoding: Decoding, overwrite: bool = False) -> set[str]:  # fmt: skip
    """Check ``--out`` before any model loads; the ids already done (to skip on resume).

    Refused, with nothing changed: the prompts file itself, a directory, a folder that
    cannot be written, and an existing file that is not this command's output (with
    ``--overwrite`` too: only a generation file is replaced) or that holds rows made with
    other settings (unless ``--overwrite``).
    """
    out_path = Path(out_path)
    check_output_path(out_path, "--out", inputs=[prompts_path])
    rows, _ = read_own_output(out_path, check_generation_row, "an output of veganalign generate")
    if overwrite:
        return set()
    if rows and not os.access(out_path, os.W_OK):
        raise OutputError(f"--out {out_path}: cannot append to it (permission denied)")
    done: set[str] = set()
    for existing in rows:
        same = (
            existing.get("model") == model
            and existing.get("system_prompt") == system_prompt
            and existing.get("decoding") == decoding.to_dict()
        )
        if not same:
            raise SettingsMismatch(
                f"{out_path} holds rows made with other settings (model, system prompt or decoding); "
                "use --overwrite to start again or choose another --out"
            )
        if existing.get("finish_reason") != "error":
            done.add(str(existing["id"]))
    return done


def generate_file(
    generator: Generator,
    prompts_path: str | Path,
    out_path: str | Path,
    *,
    system_prompt: str | None,
    decoding: Decoding,
    arm: str,
    batch_size: int = 16,
    overwrite: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Generate a response for every prompt not already done; return counts."""
    rows = read_prompts(prompts_path)
    out_path = Path(out_path)
    model_name = str(generator.ref)
    done = prepare_output(out_path, prompts_path, model=model_name, system_prompt=system_prompt, decoding=decoding,
                          overwrite=overwrite)  # fmt: skip
    target = out_path
    if overwrite and out_path.exists():
        # The old file stays until the new one is complete.
        fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".partial", dir=out_path.parent)
        os.close(fd)
        target = Path(tmp)
    # Similar lengths share a batch (less padding, fewer wasted steps); rows carry ids, so order is free.
    todo = sorted((r for r in rows if r.id not in done), key=lambda r: sum(len(m["content"]) for m in r.messages))
    if on_start:
        on_start(len(rows), len(rows) - len(todo))
    written = failed = 0
    try:
        with AppendWriter(target) as writer:  # repairs a torn end of our own file first
            # Chunks of one batch: each finished batch is on disk before the next starts.
            for start in range(0, len(todo), batch_size):
                chunk = todo[start : start + batch_size]
                convs = [with_system_prompt(r.messages, system_prompt) for r in chunk]
                completions = generator.generate(convs, decoding, batch_size=batch_size)
                for row, comp in zip(chunk, completions, strict=True):
                    record = {
                        "id": row.id,
                        "prompt": row.prompt,
                        "response": comp.text,
                        "model": model_name,
                        "arm": arm,
                        "system_prompt": system_prompt,
                        "decoding": decoding.to_dict(),
                        "finish_reason": comp.finish_reason,
                        "n_tokens": comp.n_tokens,
                    }
                    if comp.error:
                        record["error"] = comp.error
                        failed += 1
                    writer.write(record)
                    written += 1
                if on_done:
                    on_done(len(chunk))
        if target != out_path:
            os.chmod(target, FILE_MODE)
            os.replace(target, out_path)
    except BaseException:
        if target != out_path:
            target.unlink(missing_ok=True)
        raise
    # Failed rows were appended; later successful reruns supersede them (readers keep the last row per id).
    return {"total": len(rows), "skipped": len(rows) - len(todo), "written": written, "failed": failed}


def latest_rows(path: str | Path) -> list[dict[str, Any]]:
    """The last row per id of a generation file (a retried failure supersedes the error row)."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in load_finished_rows(path):
        by_id[str(row["id"])] = row
    return list(by_id.values())


def generate_with_progress(model: str, prompts: Path, out_path: Path, *, system_prompt: str | None, arm: str | None,
                           spec_prompt: bool, decoding: Decoding, batch_size: int, concurrency: int, api_key_env: str,
                           overwrite: bool, console) -> dict[str, int]:  # fmt: skip
    """``veganalign generate``: check the prompts, load the model, generate with a progress bar, print a table."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from veganalign.models.generation import base_of, load_generator
    from veganalign.models.refs import check_hub_model, parse_model_ref

    ref = parse_model_ref(model)
    read_prompts(prompts)  # reject a malformed file before loading any model
    # and an output that is not this command's to append to (nothing is changed before the model loads)
    prepare_output(out_path, prompts, model=str(ref), system_prompt=system_prompt, decoding=decoding,
                   overwrite=overwrite)  # fmt: skip
    arm = arm or (("tuned" if ref.is_tuned else "base") + ("+spec" if spec_prompt else ""))
    check_hub_model(base_of(ref))  # a Hugging Face id nowhere to be had: one line now, not after a wait
    console.print(f"loading {ref} ...")
    generator = load_generator(ref, api_key_env=api_key_env, concurrency=concurrency)
    columns = (TextColumn("[bold]generate[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(str(ref), total=None)
        counts = generate_file(
            generator, prompts, out_path, system_prompt=system_prompt, decoding=decoding, arm=arm,
            batch_size=batch_size, overwrite=overwrite,
            on_start=lambda total, skipped: progress.update(task, total=total, completed=skipped),
            on_done=lambda n: progress.advance(task, n),
        )  # fmt: skip
    stats = generator.stats
    table = Table(title="generation")
    for col in ("prompts", "resumed (skipped)", "written", "failed", "tokens", "tokens/s"):
        table.add_column(col, justify="right")
    table.add_row(str(counts["total"]), str(counts["skipped"]), str(counts["written"]), str(counts["failed"]),
                  str(stats.n_tokens), f"{stats.tokens_per_second:.1f}")  # fmt: skip
    console.print(table)
    console.print(f"wrote {out_path}")
    return counts
