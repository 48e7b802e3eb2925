"""``veganalign data build``: the default data set from the shipped sources, no network.

Reads the authored prompts, templates, SFT examples, base-model answers and eval suites
shipped in the package, plus the spec and knowledge base; writes, deterministically for
a seed:

    OUT/prompts.jsonl          prompt bank used for training (hand-written + templated)
    OUT/sft_train.jsonl        SFT examples (TRL conversational format: "messages")
    OUT/sft_val.jsonl          held-out SFT examples for validation loss
    OUT/pairs_train.jsonl      preference pairs (TRL format: prompt/chosen/rejected)
    OUT/pairs_val.jsonl        pairs of the validation prompts
    OUT/eval/CATEGORY.jsonl    held-out eval suites (shipped + templated held-out prompts)
    OUT/contamination.{json,md}
    OUT/summary.json           counts per domain, intent, principle, source; SFT variety

Training files never contain an eval prompt: exact and near duplicates of any eval case
are removed from every training file, and the report lists what was removed and the 20
closest remaining pairs.

The authored data are tagged with the shipped spec's rule ids. Under a user's spec each
tag is resolved (the same id, or the spec's ``mappings.rule_aliases``); a training record
with a tag the spec lacks is dropped unless ``keep_unknown_principles`` is set, and
``OUT/unknown_principles.json`` lists every such record with its unknown ids.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from veganalign.data.contamination import Thresholds, dedup, find_contamination, report, report_markdown
from veganalign.data.contracts import prompt_text, validate_file
from veganalign.data.pairs import build_pairs
from veganalign.data.prompts import (
    AUTHORED,
    expand_templates,
    heldout_eval_cases,
    load_authored_prompts,
    load_templates,
    split_heldout,
    stable_fraction,
)
from veganalign.data.stats import counts, variety
from veganalign.jsonl import read_jsonl, write_jsonl_atomic, write_text_atomic
from veganalign.signals import IS_IT_VEGAN

EVAL_DIR = Path(str(resources.files("veganalign.data").joinpath("eval")))
BASE_ANSWERS = AUTHORED / "base_answers.jsonl"
# The seed's own demonstration prompts: never in training, whatever the similarity scores say.
SEED_EXAMPLES = (
    "recipe for grilled chicken breast",
    "okay to go to the zoo",
    "stranded with only canned tuna",
)


def load_sft(folder: Path | None = None) -> list[dict[str, Any]]:
    folder = folder or AUTHORED / "sft"
    rows: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        _, records = validate_file(path, "sft")
        rows.extend(records)
    return rows


def load_eval_suites(folder: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    folder = folder or EVAL_DIR
    suites: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        _, records = validate_file(path, "eval")
        suites[path.stem] = records
    return suites


def load_base_answers(path: Path | None = None) -> dict[str, str]:
    path = path or BASE_ANSWERS
    if not path.exists():
        return {}
    return {str(r["id"]): r["response"] for _, r in read_jsonl(path) if r.get("finish_reason") != "error"}


def _is_seed_example(text: str) -> bool:
    low = " ".join(text.lower().split())
    return any(s in low for s in SEED_EXAMPLES)


_IS_IT_VEGAN = IS_IT_VEGAN


def same_subject_ids(sft: list[dict[str, Any]], classification: list[dict[str, Any]], kb) -> dict[str, set[str]]:
    """Is-it-vegan SFT questions sharing a knowledge-base item with a classification eval case, with the items."""
    eval_items = {m.name for case in classification for m in kb.check(prompt_text(case)).items}
    found: dict[str, set[str]] = {}
    for r in sft:
        text = prompt_text(r)
        if r.get("intent") != "is_it_vegan" and not _IS_IT_VEGAN.search(text):
            continue
        shared = {m.name for m in kb.check(text).items} & eval_items
        if shared:
            found[str(r["id"])] = shared
    return found


def data_spec_view(spec) -> dict[str, Any]:
    """The parts of the spec the data stage reads: a change elsewhere in the spec keeps the data."""
    return {
        "rule_ids": sorted(spec.rule_ids()),
        "rule_aliases": dict(sorted(spec.mappings.rule_aliases.items())),
        "shaming_phrases": list(spec.tone.shaming_phrases),
        "domains": [d.id for d in spec.domains],
    }


def retag(records: list[dict[str, Any]], spec, kind: str, keep_unknown: bool) -> tuple[list[dict], list[dict]]:
    """Records with their principle tags in this spec's ids; ``(kept, report rows for unknown tags)``.

    A record tagged with an id the spec neither defines nor aliases is dropped (or kept with
    that tag removed, when ``keep_unknown``); every such record is reported.
    """
    kept, unknown_rows = [], []
    for rec in records:
        tags = rec.get("principles") or []
        resolved = [spec.resolve_rule(t) for t in tags]
        unknown = [t for t, r in zip(tags, resolved, strict=True) if r is None]
        if unknown:
            unknown_rows.append({"kind": kind, "id": str(rec["id"]), "unknown": unknown,
                                 "action": "kept" if keep_unknown else "dropped"})  # fmt: skip
            if not keep_unknown:
                continue
        if tags:
            rec = {**rec, "principles": list(dict.fromkeys(r for r in resolved if r))}
        kept.append(rec)
    return kept, unknown_rows


def build_dataset(
    out: Path,
    *,
    seed: int = 0,
    val_fraction: float = 0.08,
    heldout_fraction: float = 0.12,
    thresholds: Thresholds = Thresholds(),
    base_answers_path: Path | None = None,
    spec_path: Path | None = None,
    keep_unknown_principles: bool = False,
) -> dict[str, Any]:
    from veganalign.knowledge import load_knowledge_base
    from veganalign.provenance import sha256_file
    from veganalign.spec import load_spec, spec_sha256

    spec = load_spec(spec_path)
    kb = load_knowledge_base()

    # Prompt bank: hand-written + templated; templated held-out prompts become eval cases.
    authored = load_authored_prompts()
    templated = expand_templates(load_templates(), kb, seed=seed)
    templated_train, templated_heldout = split_heldout(templated, heldout_fraction)
    bank = authored + templated_train
    kept, dropped_in_bank = dedup([(str(p["id"]), prompt_text(p)) for p in bank], thresholds)
    keep = set(kept)
    bank = [p for p in bank if str(p["id"]) in keep]

    # Eval side: shipped suites plus held-out templated prompts.
    suites = load_eval_suites()
    extra = heldout_eval_cases(templated_heldout)
    for case in extra:
        suites.setdefault(case["category"], []).append(case)

    # The spec's rule ids: authored tags are resolved through it, unknown ones reported.
    bank, unknown_bank = retag(bank, spec, "prompt", keep_unknown_principles)
    all_sft = load_sft()
    sft, unknown_sft = retag(all_sft, spec, "sft", keep_unknown_principles)
    for cat, cases in suites.items():  # eval cases are kept: they are judged by category, not by tag
        suites[cat], unknown_eval = retag(cases, spec, f"eval/{cat}", keep_unknown=True)
        unknown_sft += [{**r, "action": "kept (eval case)"} for r in unknown_eval]
    base_answers = load_base_answers(base_answers_path)
    pairs = build_pairs(sft, base_answers, spec.tone.shaming_phrases, seed=seed)
    unknown_rows = unknown_bank + unknown_sft
    dropped_sft = {r["id"] for r in unknown_sft if r["kind"] == "sft" and r["action"] == "dropped"}
    pairs_not_built = len(build_pairs([r for r in all_sft if str(r["id"]) in dropped_sft], base_answers,
                                      spec.tone.shaming_phrases, seed=seed))  # fmt: skip
    if not sft:
        raise ValueError(f"{spec_path or 'the spec'}: no authored SFT example is left after dropping those tagged "
                         "with principle ids this spec lacks; map them in mappings.rule_aliases or keep them "
                         "(--keep-unknown-principles)")  # fmt: skip

    # Contamination: remove from training whatever duplicates an eval case.
    train_texts = {
        "prompts": [(str(p["id"]), prompt_text(p)) for p in bank],
        "sft": [(str(r["id"]), prompt_text(r)) for r in sft],
    }
    eval_texts = {cat: [(str(c["id"]), prompt_text(c)) for c in cases] for cat, cases in suites.items()}
    matches, _ = find_contamination(train_texts, eval_texts, thresholds)
    bad = {(m.train_file, m.train_id) for m in matches}
    bad |= {("prompts", i) for i, t in train_texts["prompts"] if _is_seed_example(t)}
    bad |= {("sft", i) for i, t in train_texts["sft"] if _is_seed_example(t)}
    # Same subject: an is-it-vegan training question about an item that a held-out
    # classification case asks about ("lanolin lip balm?" vs "is lanolin vegan?") is the
    # same test with other words, which the text tests above miss. Such questions are
    # removed, so the classification suite measures verdicts on items never trained on.
    same_subject = same_subject_ids(sft, suites.get("classification", []), kb)
    bad |= {("sft", i) for i in same_subject}
    removed = Counter(f for f, _ in bad)
    bank = [p for p in bank if ("prompts", str(p["id"])) not in bad]
    bad_sft = {i for f, i in bad if f == "sft"}
    sft = [r for r in sft if str(r["id"]) not in bad_sft]
    n_pairs_before = len(pairs)
    pairs = [p for p in pairs if str(p["sft_id"]) not in bad_sft]
    removed["pairs"] = n_pairs_before - len(pairs)

    # Re-check after removal: the report must show what remains.
    train_after = {
        "prompts": [(str(p["id"]), prompt_text(p)) for p in bank],
        "sft": [(str(r["id"]), prompt_text(r)) for r in sft],
        "pairs": [(str(p["id"]), prompt_text(p)) for p in pairs],
    }
    remaining, closest = find_contamination(train_after, eval_texts, thresholds)
    rep = report(matches, closest, thresholds, dict(removed))
    rep["remaining_after_removal"] = {"exact": sum(m.kind == "exact" for m in remaining), "near": len(remaining)}
    rep["dropped_within_prompt_bank"] = [{"id": a, "duplicate_of": b} for a, b in dropped_in_bank]
    rep["same_subject_as_classification"] = {i: sorted(items) for i, items in sorted(same_subject.items())}

    # Train/validation split by example id (pairs follow their SFT example).
    val_ids = {str(r["id"]) for r in sft if stable_fraction(f"val:{r['id']}") < val_fraction}
    sft_train = [r for r in sft if str(r["id"]) not in val_ids]
    sft_val = [r for r in sft if str(r["id"]) in val_ids]
    pairs_train = [p for p in pairs if str(p["sft_id"]) not in val_ids]
    pairs_val = [p for p in pairs if str(p["sft_id"]) in val_ids]

    out.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(out / "prompts.jsonl", bank)
    write_jsonl_atomic(out / "sft_train.jsonl", sft_train)
    write_jsonl_atomic(out / "sft_val.jsonl", sft_val)
    write_jsonl_atomic(out / "pairs_train.jsonl", pairs_train)
    write_jsonl_atomic(out / "pairs_val.jsonl", pairs_val)
    for cat, cases in suites.items():
        write_jsonl_atomic(out / "eval" / f"{cat}.jsonl", cases)
    write_text_atomic(out / "unknown_principles.json", json.dumps(unknown_rows, indent=1) + "\n")
    write_text_atomic(out / "contamination.json", json.dumps(rep, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(out / "contamination.md", report_markdown(rep))

    quota = max(10, len(sft) // (2 * max(1, len(spec.domains))))
    unknown_ids = Counter(t for r in unknown_rows for t in r["unknown"])
    dropped = Counter(r["kind"] for r in unknown_rows if r["action"] == "dropped")
    summary = {
        "seed": seed,
        "spec": {"name": spec.name, "version": spec.spec_version, "sha256": spec_sha256(spec)},
        "principles": {
            "unknown_ids": dict(unknown_ids.most_common()),
            "renamed_by_alias": dict(spec.mappings.rule_aliases),
            "dropped": {"prompts": dropped["prompt"], "sft": dropped["sft"], "pairs_not_built": pairs_not_built},
            "kept_with_unknown": sum(1 for r in unknown_rows if r["action"] == "kept"),
            "eval_cases_with_unknown": sum(1 for r in unknown_rows if r["kind"].startswith("eval/")),
            "keep_unknown_principles": keep_unknown_principles,
        },
        "files": {
            "prompts": len(bank),
            "sft_train": len(sft_train),
            "sft_val": len(sft_val),
            "pairs_train": len(pairs_train),
            "pairs_val": len(pairs_val),
            **{f"eval/{c}": len(v) for c, v in suites.items()},
        },
        "prompt_bank": {
            "authored": sum(p["source"] == "authored" for p in bank),
            "template": sum(p["source"] == "template" for p in bank),
            "templated_heldout_for_eval": len(templated_heldout),
            "dropped_as_near_duplicates": len(dropped_in_bank),
            **counts(bank),
        },
        "sft": counts(sft),
        "pairs": {
            **counts(pairs),
            "rejected_kind": dict(Counter(p["ranking"]["rejected_kind"] for p in pairs)),
            "ranked_by": sorted({p["ranking"]["judge"] for p in pairs}),
        },
        "eval": {c: len(v) for c, v in sorted(suites.items())},
        # the eval files' content, so a stage reading them is redone when a case changes
        "eval_sha256": {c: sha256_file(out / "eval" / f"{c}.jsonl") for c in sorted(suites)},
        "contamination": {
            "found": {"exact": rep["exact"], "near": rep["near"]},
            "removed": dict(removed),
            "remaining": rep["remaining_after_removal"],
        },
        "sft_variety": {k: v for k, v in variety(sft, quota).items() if k != "nearest_neighbours"},
    }
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_jsonl_atomic(out / "sft_nearest_neighbours.jsonl", variety(sft)["nearest_neighbours"])
    return summary
