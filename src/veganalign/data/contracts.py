"""The data contracts (docs/architecture.md), checked line by line.

Record kinds: ``prompt``, ``sft``, ``pair`` (preference pair), ``eval`` (eval case),
``generation``. Each checker raises ``ContractError`` naming the field; ``read_jsonl``
adds the file and line. ``detect_kind`` guesses a file's kind from its first record, so
``veganalign data validate FILE`` needs no flag for the usual cases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from veganalign.jsonl import ContractError, check_messages, read_jsonl, require

Kind = Literal["prompt", "sft", "pair", "eval", "generation"]
KINDS: tuple[Kind, ...] = ("prompt", "sft", "pair", "eval", "generation")
SOURCE_PREFIXES = (
    "authored",
    "template",
    "teacher:",
    "base-model",
    "human:",
    "import:",
    "flawed:",
    "redteam",
    "monitor:",
)


def _common(record: dict[str, Any], *, provenance: bool) -> None:
    rid = require(record, "id", (str, int))
    if isinstance(rid, str) and not rid.strip():
        raise ContractError("", None, "id", "must not be empty")
    if provenance:
        source = require(record, "source", str)
        if not source.startswith(SOURCE_PREFIXES):
            raise ContractError("", None, "source", f"unknown source {source!r}; expected one of {SOURCE_PREFIXES}")
        require(record, "license", str)
    if "principles" in record:
        principles = record["principles"]
        if not isinstance(principles, list) or not all(isinstance(p, str) and p for p in principles):
            raise ContractError("", None, "principles", "must be a list of principle ids")


def _prompt_or_messages(record: dict[str, Any]) -> None:
    if "messages" in record:
        check_messages(record["messages"])
        if record["messages"][-1]["role"] != "user":
            raise ContractError("", None, "messages", "the last message must be the user turn to answer")
    elif "prompt" in record:
        if not isinstance(record["prompt"], str) or not record["prompt"].strip():
            raise ContractError("", None, "prompt", "must be non-empty text")
    else:
        raise ContractError("", None, "prompt", "missing ('prompt' text or 'messages' list required)")


def check_prompt(record: dict[str, Any]) -> None:
    _common(record, provenance=True)
    _prompt_or_messages(record)
    require(record, "domain", str)
    require(record, "intent", str)


def check_sft(record: dict[str, Any]) -> None:
    _common(record, provenance=True)
    check_messages(record.get("messages"))
    if record["messages"][-1]["role"] != "assistant":
        raise ContractError("", None, "messages", "an SFT example must end with the assistant's response")
    require(record, "domain", str)
    require(record, "intent", str)


def check_pair(record: dict[str, Any]) -> None:
    _common(record, provenance=True)
    prompt = require(record, "prompt", list)
    check_messages(prompt, "prompt")
    if prompt[-1]["role"] != "user":
        raise ContractError("", None, "prompt", "must end with the user turn")
    for side in ("chosen", "rejected"):
        msgs = require(record, side, list)
        if len(msgs) != 1 or not isinstance(msgs[0], dict) or msgs[0].get("role") != "assistant":
            raise ContractError("", None, side, "must be a list with one assistant message")
        if not isinstance(msgs[0].get("content"), str) or not msgs[0]["content"].strip():
            raise ContractError("", None, f"{side}[0].content", "empty response")
    if record["chosen"][0]["content"].strip() == record["rejected"][0]["content"].strip():
        raise ContractError("", None, "rejected", "identical to chosen")
    ranking = require(record, "ranking", dict, nonempty=False)
    if "method" not in ranking:
        raise ContractError("", None, "ranking.method", "missing (judge:NAME, human:ANNOTATOR or construction)")


def check_eval(record: dict[str, Any]) -> None:
    _common(record, provenance=False)
    _prompt_or_messages(record)
    require(record, "category", str)
    if "expect" in record and not isinstance(record["expect"], dict):
        raise ContractError("", None, "expect", "must be an object")


def check_generation(record: dict[str, Any]) -> None:
    _common(record, provenance=False)
    for field, kind in (("response", str), ("model", str), ("arm", str), ("decoding", dict), ("finish_reason", str)):
        require(record, field, kind, nonempty=False)
    if "prompt" not in record:
        raise ContractError("", None, "prompt", "missing")
    require(record, "n_tokens", int, nonempty=False)


CHECKS = {
    "prompt": check_prompt,
    "sft": check_sft,
    "pair": check_pair,
    "eval": check_eval,
    "generation": check_generation,
}


# A record of some contract has at least one of these; one with none is no data-contract file
# (data build's report files, sft_nearest_neighbours.jsonl, are JSONL too).
CONTRACT_FIELDS = ("prompt", "messages", "chosen", "rejected", "response", "category")


def detect_kind(record: dict[str, Any]) -> Kind:
    if "chosen" in record or "rejected" in record:
        return "pair"
    if "response" in record and "decoding" in record:
        return "generation"
    if "category" in record and "domain" not in record:
        return "eval"
    msgs = record.get("messages")
    if isinstance(msgs, list) and msgs and isinstance(msgs[-1], dict) and msgs[-1].get("role") == "assistant":
        return "sft"
    return "prompt"


def validate_file(path: str | Path, kind: Kind | None = None) -> tuple[Kind, list[dict[str, Any]]]:
    """Check every line of ``path``; return its kind and records. Raises on the first bad line."""
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    chosen_kind = kind

    def check(record: dict[str, Any]) -> None:
        nonlocal chosen_kind
        if chosen_kind is None:
            if not any(f in record for f in CONTRACT_FIELDS):
                fields = ", ".join(CONTRACT_FIELDS)
                raise ContractError("", None, None, f"not a data-contract file: its first record has none of the "
                                    f"fields {fields} (give --kind to check it as one)")  # fmt: skip
            chosen_kind = detect_kind(record)
        CHECKS[chosen_kind](record)

    for lineno, record in read_jsonl(path, check):
        rid = str(record["id"])
        if rid in seen:
            raise ContractError(path, lineno, "id", f"duplicate id {rid!r} (first on line {seen[rid]})")
        seen[rid] = lineno
        records.append(record)
    if not records:
        raise ContractError(path, None, None, "no records")
    assert chosen_kind is not None
    return chosen_kind, records


def prompt_text(record: dict[str, Any]) -> str:
    """The user-visible text of a prompt, SFT example, pair or eval case (for dedup and contamination)."""
    if "messages" in record:
        msgs = record["messages"]
        if msgs and msgs[-1]["role"] == "assistant":
            msgs = msgs[:-1]
        return "\n".join(m["content"] for m in msgs if m["role"] == "user")
    prompt = record.get("prompt")
    if isinstance(prompt, list):
        return "\n".join(m["content"] for m in prompt if m["role"] == "user")
    return str(prompt or "")


def response_text(record: dict[str, Any]) -> str:
    if "chosen" in record:
        return record["chosen"][0]["content"]
    if "messages" in record and record["messages"][-1]["role"] == "assistant":
        return record["messages"][-1]["content"]
    return str(record.get("response", ""))
