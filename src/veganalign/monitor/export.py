"""``monitor export``: flagged conversations back into the data contracts, for the next data round.

Three files, each checked with the data contracts after it is written:

- ``OUT`` (prompts): every flagged conversation up to its last user turn, except those a
  reviewer marked a false positive; ``source: "monitor:flagged"``, with the rails' findings
  and conflict kinds under ``monitor``;
- ``OUT.sft.jsonl``: each reviewed correction as an SFT example (the conversation, then the
  reviewer's answer; ``source: "human:REVIEWER"``);
- ``OUT.pairs.jsonl``: the same as preference pairs, the correction chosen and the flagged
  answer rejected (``ranking.method: "human:REVIEWER"``).

Everything in the store was redacted before it was written, so nothing here needs it again.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from veganalign.data.contracts import validate_file
from veganalign.jsonl import write_jsonl_atomic
from veganalign.monitor import store

# What the user asked for (signals.situation) -> the prompt bank's intent; a policy override wins.
INTENT = {
    "request": "prescriptive_nonvegan",
    "is_it_vegan": "is_it_vegan",
    "why": "ethics_debate",
    "medical_survival": "medical_survival",
    "descriptive": "descriptive",
    "general": "general_help",
}


def latest_reviews(engine: Engine) -> dict[str, dict[str, Any]]:
    """conversation id -> its newest review (a later decision replaces an earlier one)."""
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as db:
        rows = db.execute(select(store.reviews).order_by(store.reviews.c.created_at, store.reviews.c.id)).mappings()
        for row in rows:
            out[row["conversation_id"]] = dict(row)
    return out


def flagged_conversations(engine: Engine, *, flagged_only: bool = True) -> list[dict[str, Any]]:
    """Conversations with their messages and findings, oldest first."""
    c = store.conversations
    query = select(c).order_by(c.c.created_at, c.c.id)
    if flagged_only:
        query = query.where(c.c.flagged.is_(True))
    with engine.connect() as db:
        convos = [dict(r) for r in db.execute(query).mappings()]
        ids = [x["id"] for x in convos]
        msgs: dict[str, list] = defaultdict(list)
        found: dict[str, list] = defaultdict(list)
        for start in range(0, len(ids), 500):  # IN lists stay small for every backend
            chunk = ids[start : start + 500]
            for m in db.execute(
                select(store.messages)
                .where(store.messages.c.conversation_id.in_(chunk))
                .order_by(store.messages.c.position)
            ).mappings():
                msgs[m["conversation_id"]].append({"role": m["role"], "content": m["content"]})
            for f in db.execute(select(store.findings).where(store.findings.c.conversation_id.in_(chunk))).mappings():
                found[f["conversation_id"]].append({k: f[k] for k in ("kind", "principle", "action", "outcome")})
    for x in convos:
        x["messages"], x["findings"] = msgs[x["id"]], found[x["id"]]
    return convos


def _split(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], str | None]:
    """(the conversation up to the last user turn, the first answer after it)."""
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    answers = [m["content"] for m in messages[last_user + 1 :] if m["role"] == "assistant"]
    # The operator's system prompt is never stored; a client's own system turn stays (it is part of what was asked).
    return messages[: last_user + 1], (answers[0] if answers else None)


def export_flagged(
    engine: Engine, out: Path, *, license: str = "operator-internal", flagged_only: bool = True
) -> dict[str, Any]:
    """Write the prompts, SFT examples and pairs; return their paths and counts."""
    out = Path(out)
    reviews = latest_reviews(engine)
    prompts, sft, pairs = [], [], []
    for convo in flagged_conversations(engine, flagged_only=flagged_only):
        review = reviews.get(convo["id"])
        asked, answer = _split(convo["messages"])
        if not asked or (review and review["decision"] == "false_positive"):
            continue
        principles = sorted({f["principle"] for f in convo["findings"] if f.get("principle")})
        conflict = [k for k in (convo["conflict"] or "").split(",") if k]
        intent = (
            "adversarial_ignore_rules"
            if "policy_override" in conflict
            else INTENT.get(convo["situation"] or "", "general_help")
        )
        rid = f"monitor-{convo['id'].removeprefix('chatcmpl-')[:16]}"
        meta = {
            "conversation": convo["id"],
            "day": convo["day"],
            "findings": convo["findings"],
            "conflict": conflict,
            "review": review["decision"] if review else None,
        }
        common = {"domain": "production", "intent": intent, "principles": principles, "license": license}
        record = {
            "id": rid,
            **({"prompt": asked[0]["content"]} if len(asked) == 1 else {"messages": asked}),
            **common,
            "source": "monitor:flagged",
            "monitor": meta,
        }
        prompts.append(record)
        correction = (review or {}).get("correction")
        if review and review["decision"] == "corrected" and correction and correction.strip():
            who = f"human:{review['reviewer']}"
            sft.append(
                {
                    "id": f"{rid}-sft",
                    "messages": [*asked, {"role": "assistant", "content": correction}],
                    **common,
                    "source": who,
                    "monitor": meta,
                }
            )
            if answer and answer.strip() and answer.strip() != correction.strip():
                pairs.append(
                    {
                        "id": f"{rid}-pair",
                        "prompt": asked,
                        "chosen": [{"role": "assistant", "content": correction}],
                        "rejected": [{"role": "assistant", "content": answer}],
                        "ranking": {"method": who, "reason": "reviewer's correction of a flagged answer"},
                        **common,
                        "source": who,
                        "monitor": meta,
                    }
                )
    written: dict[str, Any] = {}
    for path, records, kind in (
        (out, prompts, "prompt"),
        (out.with_suffix(".sft.jsonl"), sft, "sft"),
        (out.with_suffix(".pairs.jsonl"), pairs, "pair"),
    ):
        if records or kind == "prompt":
            write_jsonl_atomic(path, records)
            if records:
                validate_file(path, kind)  # what we hand the data stage passes its own contracts
            written[kind] = {"path": str(path), "records": len(records)}
    return written
