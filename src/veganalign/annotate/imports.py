"""``annotate import``: a Label Studio JSON export back into the data contracts.

Into ``OUT/``:

- ``pairs.jsonl`` (rank): every annotator's ranking as preference pairs, through the same
  code as ``data import-rankings`` (``ranking.method: "human:ANNOTATOR"``), the Label Studio
  task, annotation, annotator and times under ``annotation``;
- ``sft.jsonl`` (review): approved answers as they were, edited ones as the annotator wrote
  them (``source: "human:ANNOTATOR"``), each with its reviews; an item any annotator
  rejected stays out;
- ``rejected.jsonl`` (review): rejected answers with each annotator's reason and principles;
- ``labels.jsonl``: one row per annotator per answer (rank, ratings, principles, decision),
  what agreement is computed from; ``agreement.json`` and ``agreement.html``;
  ``metas.jsonl`` (review): the reviewed items, so a later import can rebuild ``sft.jsonl``.

The whole export is checked before anything is written; an error names the Label Studio task
and annotation. Rows already in ``OUT`` from earlier imports are kept (a re-imported
annotation replaces its own rows), and every file is replaced atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from veganalign.annotate.agreement import agreement, report_html
from veganalign.annotate.project import CRITERIA, DECISIONS
from veganalign.data.contracts import check_pair, check_sft
from veganalign.data.pairs import ranked_pairs
from veganalign.errors import UserError
from veganalign.jsonl import read_jsonl, write_jsonl_atomic, write_text_atomic


class AnnotationError(UserError):
    """An export that cannot be imported; the message names the task (and annotation)."""


def _load_export(path: Path) -> list[dict[str, Any]]:
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationError(f"{path}: not a Label Studio JSON export ({exc})") from None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise AnnotationError(f"{path}: a Label Studio JSON export is a list of tasks")
    return tasks


def _annotator(ann: dict[str, Any], users: dict[str, str], where: str) -> str:
    who = ann.get("completed_by")
    if isinstance(who, dict):  # some exports inline the user
        who = who.get("email") or who.get("username") or who.get("id")
    if isinstance(who, int) or (isinstance(who, str) and who.isdigit()):
        if str(who) not in users:
            raise AnnotationError(f"{where}: unknown annotator id {who} (not in the users file that `annotate pull` "
                                  "writes; pass --users)")  # fmt: skip
        who = users[str(who)]
    if not isinstance(who, str) or not who.strip():
        raise AnnotationError(f"{where}: no annotator (completed_by)")
    return who.strip()


def _results(ann: dict[str, Any], where: str) -> dict[str, Any]:
    """from_name -> its value (choices list, rating number or text)."""
    out: dict[str, Any] = {}
    for res in ann.get("result") or []:
        value = res.get("value") or {}
        name = res.get("from_name")
        if "choices" in value:
            out[name] = list(value["choices"])
        elif "rating" in value:
            out[name] = value["rating"]
        elif "text" in value:
            text = value["text"]
            out[name] = "\n".join(text) if isinstance(text, list) else str(text)
        else:
            raise AnnotationError(f"{where}: result {name!r} has no choices, rating or text")
    return out


def _rank_rows(meta, results, annotator, license, stamp, where) -> tuple[list[dict], list[dict]]:
    order, responses = meta["order"], meta["responses"]
    for name in results:  # a label on a slot the task does not have: the export and project disagree
        slot = name.rsplit("_", 1)[-1]
        labelled = name.startswith(("rank_", "violated_", *(f"{c}_" for c in CRITERIA))) and slot.isdigit()
        if labelled and int(slot) >= len(order):
            raise AnnotationError(f"{where}: {name} names answer {int(slot) + 1}, but the task has {len(order)}")
    ranks = [0] * len(responses)
    labels = []
    for slot, index in enumerate(order):
        choice = results.get(f"rank_{slot}")
        if not choice or not str(choice[0]).isdigit() or not 1 <= int(choice[0]) <= len(order):
            raise AnnotationError(f"{where}: rank_{slot} must be one rank from 1 to {len(order)} (got {choice!r})")
        ranks[index] = int(choice[0])
        row = {"unit": f"{meta['item']}#{index}", "item": meta["item"], "candidate": index,
               "source": meta["sources"][index], "annotator": annotator, "rank": ranks[index],
               "violated": sorted(results.get(f"violated_{slot}", [])), **stamp}  # fmt: skip
        for criterion in CRITERIA:
            value = results.get(f"{criterion}_{slot}")
            if value is not None and (not isinstance(value, (int, float)) or not 1 <= value <= 5):
                raise AnnotationError(f"{where}: {criterion}_{slot} must be a rating from 1 to 5 (got {value!r})")
            row[criterion] = value
        labels.append(row)
    pairs = ranked_pairs(f"ls-{meta['item']}-{annotator}", meta["messages"], responses, ranks, annotator, license,
                         annotation={"tool": "label-studio", "annotator": annotator, **stamp})  # fmt: skip
    for p in pairs:
        check_pair(p)
    return pairs, labels


def _review_row(meta, results, annotator, stamp, where) -> dict[str, Any]:
    choice = results.get("decision")
    if not choice or choice[0] not in DECISIONS:
        raise AnnotationError(f"{where}: decision must be one of {', '.join(DECISIONS)} (got {choice!r})")
    decision = choice[0]
    edited = (results.get("edited") or "").strip()
    reason = (results.get("reason") or "").strip()
    if decision == "edit" and not edited:
        raise AnnotationError(f"{where}: decision 'edit' without an edited answer")
    if decision == "reject" and not reason:
        raise AnnotationError(f"{where}: decision 'reject' without a reason")
    return {"unit": meta["item"], "item": meta["item"], "annotator": annotator, "decision": decision,
            "edited": edited or None, "reason": reason or None, "violated": sorted(results.get("violated", [])),
            **stamp}  # fmt: skip


def _review_outputs(metas: dict[str, dict], labels: list[dict], license: str) -> tuple[list[dict], list[dict]]:
    sft, rejected = [], []
    by_item: dict[str, list[dict]] = {}
    for row in labels:
        by_item.setdefault(row["item"], []).append(row)
    for item, rows in sorted(by_item.items()):
        meta = metas[item]
        reviews = [{k: r[k] for k in ("annotator", "decision", "reason", "violated", "task", "annotation",
                                      "updated_at")} for r in rows]  # fmt: skip
        if any(r["decision"] == "reject" for r in rows):
            rejected.append({"id": f"rejected-{item}", "item": item, "messages": meta["messages"],
                             "answer": meta["answer"], "source": meta["source"], "reviews": reviews})  # fmt: skip
            continue
        edits = sorted((r for r in rows if r["decision"] == "edit"), key=lambda r: str(r.get("updated_at")))
        base = {"domain": meta["domain"], "intent": meta["intent"], "principles": meta["principles"],
                "reviews": reviews}  # fmt: skip
        if edits:  # the latest edit; every review stays in provenance
            last = edits[-1]
            example = {"id": f"reviewed-{item}", "messages": [*meta["messages"],
                       {"role": "assistant", "content": last["edited"]}], "source": f"human:{last['annotator']}",
                       "license": license, "edited_from": meta["answer"], **base}  # fmt: skip
        else:
            example = {"id": f"reviewed-{item}", "messages": [*meta["messages"],
                       {"role": "assistant", "content": meta["answer"]}], "source": meta["source"],
                       "license": meta["license"], **base}  # fmt: skip
        check_sft(example)
        sft.append(example)
    return sft, rejected


def _existing(out_dir: Path, name: str) -> list[dict[str, Any]]:
    path = out_dir / name
    return [row for _, row in read_jsonl(path)] if path.exists() else []


def import_export(export: Path, out_dir: Path, *, project: Path | None = None, users: Path | None = None,
                  license: str = "unknown") -> dict[str, Any]:  # fmt: skip
    """Import ``export`` into ``out_dir``; return counts and the agreement summary."""
    tasks = _load_export(export)
    users_path = users or export.with_name("users.json")
    user_map: dict[str, str] = {}
    if users_path.exists():
        try:
            user_map = {str(k): str(v) for k, v in json.loads(users_path.read_text(encoding="utf-8")).items()}
        except (OSError, ValueError, AttributeError) as exc:
            raise AnnotationError(f"{users_path}: not a users file (id -> email) ({exc})") from None
    expected = None
    if project is not None:
        info_path = project / "project.json" if project.is_dir() else project
        try:
            expected = json.loads(info_path.read_text(encoding="utf-8"))["project"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AnnotationError(f"--project {project}: no project.json from `annotate export` ({exc})") from None
    previous = out_dir / "project.json"
    if expected is None and previous.exists():
        expected = json.loads(previous.read_text(encoding="utf-8"))["project"]

    kind = None
    new_pairs, new_labels, metas = [], [], {}
    for t in tasks:
        tid = t.get("id", "?")
        meta = (t.get("data") or {}).get("veganalign")
        if not isinstance(meta, dict) or "project" not in meta:
            raise AnnotationError(f"task {tid}: not a task of a veganalign project (no data.veganalign)")
        expected = expected or meta["project"]
        if meta["project"] != expected:
            raise AnnotationError(f"task {tid}: from project {meta['project']}, but this import is for {expected}")
        kind = meta.get("task")
        needed = (
            ("item", "messages", "order", "responses", "sources")
            if kind == "rank"
            else ("item", "messages", "answer", "domain", "intent", "source", "license", "principles")
        )
        missing = [k for k in needed if k not in meta] if kind in ("rank", "review") else ["task"]
        if missing or (kind == "rank" and sorted(meta["order"]) != list(range(len(meta["responses"])))):
            raise AnnotationError(f"task {tid}: its data.veganalign was changed ({', '.join(missing) or 'order'}); "
                                  "import tasks as `annotate export` wrote them")  # fmt: skip
        metas[meta["item"]] = meta
        for ann in t.get("annotations") or []:
            where = f"task {tid} annotation {ann.get('id', '?')}"
            if ann.get("was_cancelled"):
                continue
            annotator = _annotator(ann, user_map, where)
            results = _results(ann, where)
            stamp = {"task": tid, "annotation": ann.get("id"), "created_at": ann.get("created_at"),
                     "updated_at": ann.get("updated_at"), "project": meta["project"]}  # fmt: skip
            if kind == "rank":
                pairs, labels = _rank_rows(meta, results, annotator, license, stamp, where)
                new_pairs += pairs
                new_labels += labels
            else:
                new_labels.append(_review_row(meta, results, annotator, stamp, where))
    if kind is None:
        raise AnnotationError(f"{export}: no tasks")

    # Merge: a re-imported annotation replaces its own rows; everything imported before stays.
    def merged(name: str, new: list[dict], key) -> list[dict]:
        fresh = {key(r) for r in new}
        return [r for r in _existing(out_dir, name) if key(r) not in fresh] + new

    label_key = lambda r: (r["unit"], r["annotator"])  # noqa: E731
    labels = merged("labels.jsonl", new_labels, label_key)
    files: dict[str, list[dict]] = {"labels.jsonl": labels}
    if kind == "rank":
        files["pairs.jsonl"] = merged("pairs.jsonl", new_pairs, lambda r: r["id"])
    else:
        known = {**{r["item"]: r for r in _existing(out_dir, "metas.jsonl")}, **metas}
        files["metas.jsonl"] = list(known.values())
        files["sft.jsonl"], files["rejected.jsonl"] = _review_outputs(known, labels, license)
    result = agreement([{**r, "prompt": metas.get(r["item"], {}).get("messages", [{}])[-1].get("content", "")}
                        for r in labels], kind)  # fmt: skip

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        write_jsonl_atomic(out_dir / name, rows)
    write_text_atomic(out_dir / "agreement.json", json.dumps(result, indent=1, default=str) + "\n")
    write_text_atomic(out_dir / "agreement.html", report_html(result))
    write_text_atomic(previous, json.dumps({"project": expected, "task": kind}, indent=1) + "\n")
    return {"task": kind, "annotations": len({(r["task"], r["annotation"]) for r in new_labels}),
            "counts": {k: len(v) for k, v in files.items()}, "agreement": result}  # fmt: skip
