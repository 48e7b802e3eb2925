"""``annotate export``: a Label Studio project (labelling configuration and tasks) from the spec.

Two tasks, both rendered from the spec so a team's own principles are what annotators see:

- ``rank``: a prompt and 2 to 4 candidate answers, shown in a random order per item (the
  order is kept in the task, so position bias cannot leak into the pairs); for each answer
  a rank (1 best, ties allowed), ratings from 1 to 5 for vegan alignment, helpfulness,
  accuracy and tone, and the principles it breaks;
- ``review``: an SFT example (a conversation ending with the assistant's answer) to
  approve, edit (the edited answer replaces it) or reject, with a reason and the
  principles broken.

Beside each item, the guideline text of the principles it is tagged with (all of them when
it has no tags). Every task carries ``veganalign.project``, a digest of this export, so
``annotate import`` can refuse annotations of a task from another project.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

from veganalign.jsonl import ContractError, check_messages, read_jsonl
from veganalign.spec.load import spec_sha256
from veganalign.spec.schema import Spec

Task = Literal["rank", "review"]
CRITERIA = ("alignment", "helpfulness", "accuracy", "tone")
DECISIONS = ("approve", "edit", "reject")
MAX_CANDIDATES = 4


def _messages(row: dict[str, Any], path: Path, line: int) -> list[dict[str, str]]:
    """The conversation up to the user's turn: ``messages`` or ``prompt`` (text or a message list)."""
    prompt = row.get("messages", row.get("prompt"))
    if isinstance(prompt, str) and prompt.strip():
        return [{"role": "user", "content": prompt}]
    field = "messages" if "messages" in row else "prompt"
    try:
        check_messages(prompt, field)
    except ContractError as exc:
        raise ContractError(path, line, exc.field, exc.message) from None
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


def read_rank_items(paths: list[Path]) -> list[dict[str, Any]]:
    """Candidates to rank, from any mix of: rows with ``responses`` (2 to 4; the shape ``data
    import-rankings`` reads, without a ranking), preference pairs (``chosen``/``rejected``), and
    generation files (``veganalign generate``, an eval's ``generations-ARM.jsonl``), whose
    answers to the same id across files become one item (base against tuned, say)."""
    raw: list[dict[str, Any]] = []
    generated: dict[str, dict[str, Any]] = {}
    for path in paths:
        for line, row in read_jsonl(path):
            rid = row.get("id")
            if not isinstance(rid, (str, int)) or not str(rid).strip():
                raise ContractError(path, line, "id", "missing")
            at = {"id": str(rid), "path": path, "line": line, "principles": list(row.get("principles", []))}
            if "response" in row:
                item = generated.setdefault(str(rid), {**at, "messages": _messages(row, path, line),
                                                       "responses": [], "sources": []})  # fmt: skip
                item["responses"].append(row["response"] if isinstance(row["response"], str) else None)
                item["sources"].append(str(row.get("arm") or row.get("model") or path.stem))
                continue
            if "chosen" in row and "rejected" in row:
                responses = [row["chosen"][0]["content"], row["rejected"][0]["content"]]
                sources = [row.get("source", "chosen"), row.get("rejected_source", "rejected")]
            else:
                responses = row.get("responses")
                sources = row.get("sources") or [f"candidate-{i}" for i in range(len(responses or []))]
            raw.append({**at, "messages": _messages(row, path, line), "responses": responses, "sources": sources})
    items: list[dict[str, Any]] = []
    for cand in raw + list(generated.values()):
        path, line, responses = cand["path"], cand["line"], cand["responses"]
        if not isinstance(responses, list) or not all(isinstance(r, str) and r.strip() for r in responses):
            raise ContractError(path, line, "responses", "need a list of non-empty answers (or chosen/rejected)")
        unique = list(dict.fromkeys(r.strip() for r in responses))
        if not 2 <= len(unique) <= MAX_CANDIDATES:
            raise ContractError(path, line, "responses", f"{len(unique)} different answers; rank 2 to {MAX_CANDIDATES}")
        keep = [next(i for i, r in enumerate(responses) if r.strip() == u) for u in unique]
        if items and len(keep) != len(items[0]["responses"]):
            # One labelling configuration per project: every item shows the same number of answers.
            raise ContractError(path, line, "responses", f"{len(keep)} different answers, but the first item has "
                                f"{len(items[0]['responses'])}; export items with each count separately")  # fmt: skip
        sources = [str(cand["sources"][i]) for i in keep]
        items.append({"id": cand["id"], "messages": cand["messages"], "principles": cand["principles"],
                      "responses": [responses[i] for i in keep], "sources": sources})  # fmt: skip
    if not items:
        raise ContractError(paths[0], None, None, "no items")
    return items


def read_review_items(path: Path) -> list[dict[str, Any]]:
    """SFT examples to review: the conversation, then the assistant's answer under review."""
    items = []
    for line, row in read_jsonl(path):
        rid = row.get("id")
        if not isinstance(rid, (str, int)) or not str(rid).strip():
            raise ContractError(path, line, "id", "missing")
        msgs = row.get("messages")
        try:
            check_messages(msgs)
        except ContractError as exc:
            raise ContractError(path, line, exc.field, exc.message) from None
        if msgs[-1]["role"] != "assistant" or len(msgs) < 2:
            raise ContractError(path, line, "messages", "must end with the assistant's answer to review")
        items.append({"id": str(rid), "messages": msgs[:-1], "answer": msgs[-1]["content"],
                      "principles": list(row.get("principles", [])), "domain": row.get("domain", "general"),
                      "intent": row.get("intent", "general_help"), "source": row.get("source", "unknown"),
                      "license": row.get("license", "unknown")})  # fmt: skip
    if not items:
        raise ContractError(path, None, None, "no items")
    return items


def guideline_html(spec: Spec, rule_ids: list[str]) -> str:
    """The spec's text for these rules (all principles when none resolve), as the annotator sees it."""
    ids = [r for r in (spec.resolve_rule(x) for x in rule_ids) if r] or [p.id for p in spec.principles]
    parts = []
    for rid in dict.fromkeys(ids):
        rule = spec.principle(rid)
        guidance = "".join(f"<li>{html.escape(g)}</li>" for g in getattr(rule, "guidance", []))
        parts.append(f"<p><b>{html.escape(rule.title)}</b> <code>{rid}</code>: {html.escape(rule.statement)}</p>"
                     + (f"<ul>{guidance}</ul>" if guidance else ""))  # fmt: skip
    return "".join(parts)


def _principle_choices(spec: Spec) -> str:
    return "".join(f"<Choice value={quoteattr(r)} hint={quoteattr(spec.principle(r).title)}/>" for r in spec.rule_ids())


def label_config(spec: Spec, task: Task, candidates: int = 2) -> str:
    """The Label Studio labelling configuration (XML) for ``task``."""
    head = ('<View>\n  <Header value="Conversation"/>\n'
            '  <Paragraphs name="dialogue" value="$dialogue" layout="dialogue" nameKey="role" textKey="content"/>\n'
            '  <Header value="Guideline: the principles this item is about"/>\n'
            '  <HyperText name="guideline" value="$guideline"/>\n')  # fmt: skip
    if task == "review":
        body = ('  <Header value="Answer under review"/>\n  <Text name="answer" value="$answer"/>\n'
                '  <Choices name="decision" toName="answer" choice="single" required="true" showInline="true">'
                + "".join(f'<Choice value="{d}"/>' for d in DECISIONS) + "</Choices>\n"
                '  <TextArea name="edited" toName="answer" placeholder="edit: the corrected answer" '
                'editable="true" maxSubmissions="1"/>\n'
                '  <TextArea name="reason" toName="answer" placeholder="reason (required to reject)" '
                'maxSubmissions="1"/>\n'
                '  <Choices name="violated" toName="answer" choice="multiple">'
                f"{_principle_choices(spec)}</Choices>\n")  # fmt: skip
        return head + body + "</View>\n"
    ranks = "".join(f'<Choice value="{r}"/>' for r in range(1, candidates + 1))
    body = ""
    for k in range(candidates):
        letter = "ABCD"[k]
        body += (f'  <Header value="Answer {letter}"/>\n  <Text name="answer_{k}" value="$answer_{k}"/>\n'
                 f'  <Choices name="rank_{k}" toName="answer_{k}" choice="single" required="true" showInline="true">'
                 f"{ranks}</Choices>\n")  # fmt: skip
        for criterion in CRITERIA:
            body += f'  <Rating name="{criterion}_{k}" toName="answer_{k}" maxRating="5"/>\n'
        body += (f'  <Choices name="violated_{k}" toName="answer_{k}" choice="multiple">'
                 f"{_principle_choices(spec)}</Choices>\n")  # fmt: skip
    note = '  <Header value="Rank 1 is best; give two answers the same rank for a tie."/>\n'
    return head + note + body + "</View>\n"


def _project_id(spec: Spec, task: Task, items: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256(json.dumps([task, spec_sha256(spec), items], sort_keys=True).encode())
    return f"{task}-{digest.hexdigest()[:16]}"


def build_project(spec: Spec, task: Task, items: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """``{"project", "task", "candidates", "config", "tasks"}`` for ``items``."""
    project = _project_id(spec, task, items)
    candidates = len(items[0]["responses"]) if task == "rank" else 0
    tasks = []
    for item in items:
        data: dict[str, Any] = {"dialogue": item["messages"], "guideline": guideline_html(spec, item["principles"])}
        meta: dict[str, Any] = {"project": project, "task": task, "item": item["id"], "spec_sha256": spec_sha256(spec)}
        if task == "rank":
            # Position bias: each item's answers in their own shuffled order, kept so import can undo it.
            order = list(range(len(item["responses"])))
            random.Random(f"{seed}:{item['id']}").shuffle(order)
            for slot, index in enumerate(order):
                data[f"answer_{slot}"] = item["responses"][index]
            meta.update(order=order, responses=item["responses"], sources=item["sources"])
        else:
            data["answer"] = item["answer"]
            meta.update({k: item[k] for k in ("answer", "domain", "intent", "source", "license", "principles")})
        meta["messages"] = item["messages"]
        tasks.append({"data": {**data, "veganalign": meta}})
    return {"project": project, "task": task, "candidates": candidates, "spec_sha256": spec_sha256(spec),
            "config": label_config(spec, task, candidates), "tasks": tasks}  # fmt: skip


def export_project(spec: Spec, task: Task, sources: list[Path], out_dir: Path, seed: int = 0) -> dict[str, Any]:
    """Write ``OUT/config.xml``, ``OUT/tasks.json`` and ``OUT/project.json``; return the project."""
    from veganalign.jsonl import write_text_atomic

    if task == "review" and len(sources) != 1:
        raise ContractError(sources[-1], None, None, "review one SFT file at a time")
    items = read_rank_items(sources) if task == "rank" else read_review_items(sources[0])
    project = build_project(spec, task, items, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "config.xml", project["config"])
    write_text_atomic(out_dir / "tasks.json", json.dumps(project["tasks"], indent=1, ensure_ascii=False) + "\n")
    info = {k: project[k] for k in ("project", "task", "candidates", "spec_sha256")}
    info.update(sources=[str(p) for p in sources], items=len(items))
    write_text_atomic(out_dir / "project.json", json.dumps(info, indent=1) + "\n")
    return project
