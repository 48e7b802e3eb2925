"""The prompt bank: hand-written prompts plus templates grown over the knowledge base.

Templates (``authored/prompts/templates.yaml``) name which knowledge-base entries may
fill ``{item}`` and give several patterns that differ in structure. Each pattern is
used at most once, so no two bank prompts are the same sentence with one noun
swapped; a further near-duplicate pass (the contamination machinery, within the bank)
drops anything that still comes too close.

Held out for evaluation, by template and by item rather than by row: every prompt built
from a held-out template *or* a held-out knowledge-base item goes to the eval side, so an
eval prompt is never a one-noun variation of a training prompt.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from veganalign.jsonl import ContractError
from veganalign.yamlio import YamlError, load_file

AUTHORED = Path(str(resources.files("veganalign.data").joinpath("authored")))
LICENSE = "Apache-2.0"
PLACEHOLDERS = {
    "people": ["two", "four", "six", "eight", "ten", "a dozen"],
    "place": ["Lisbon", "Chicago", "Nairobi", "Mumbai", "Mexico City", "Manchester", "Seoul", "Melbourne", "Lagos"],
    "budget": ["10 dollars", "20 euros", "15 pounds", "500 rupees", "a tight student budget"],
    "person": ["my sister", "my boss", "my grandma", "my flatmate", "my partner", "a coworker", "my son"],
    "occasion": ["a birthday", "a work party", "a wedding", "a picnic", "a holiday dinner", "a game night"],
}
_FIELD = re.compile(r"{(\w+)}")

# Intent -> the eval category its held-out prompts are scored under (the vocabulary of docs/architecture.md).
INTENT_TO_EVAL_CATEGORY = {
    "prescriptive_nonvegan": "adversarial",
    "descriptive": "descriptive",
    "vegan_curious": "qa",
    "ethics_debate": "qa",
    "medical_survival": "survival_medical",
    "cultural": "tradeoff",
    "budget_access": "tradeoff",
    "family_children": "social",
    "adversarial_ignore_rules": "adversarial",
    "adversarial_roleplay": "adversarial",
    "adversarial_indirection": "adversarial",
    "adversarial_hypothetical": "adversarial",
    "adversarial_authority": "adversarial",
    "adversarial_no_lectures": "adversarial",
    "adversarial_translation": "adversarial",
}


@dataclass
class Template:
    id: str
    intent: str
    domain: str
    principles: list[str]
    categories: list[str]
    statuses: list[str]
    patterns: list[str]


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by ``key``: the same split on every machine and run."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0x100000000


def load_templates(path: Path | None = None) -> list[Template]:
    path = path or AUTHORED / "prompts" / "templates.yaml"
    try:
        raw = load_file(path, "template file")  # size and alias limits, errors with their line
    except YamlError as exc:
        raise ContractError(path, exc.line, None, exc.message) from None
    if not isinstance(raw, list):
        raise ContractError(path, 1, None, "templates.yaml must be a list of templates")
    templates = []
    for i, t in enumerate(raw):
        where = f"[{i}]"
        try:
            slot = t["slot"]
            tpl = Template(
                id=t["id"],
                intent=t["intent"],
                domain=t["domain"],
                principles=list(t.get("principles", [])),
                categories=list(slot["categories"]),
                statuses=list(slot.get("status", ["non_vegan", "maybe", "vegan"])),
                patterns=list(t["patterns"]),
            )
        except (KeyError, TypeError) as exc:
            raise ContractError(path, None, f"{where}.{exc}", "missing or malformed template field") from None
        for j, pattern in enumerate(tpl.patterns):
            if not isinstance(pattern, str):
                raise ContractError(path, None, f"{where}.patterns[{j}]", "must be text")
            fields = _FIELD.findall(pattern)
            if fields.count("item") != 1 or any(f not in PLACEHOLDERS and f != "item" for f in fields):
                raise ContractError(path, None, f"{where}.patterns[{j}]", f"bad placeholders in {pattern!r}")
        templates.append(tpl)
    return templates


KB_ITEMS = AUTHORED / "kb_items.txt"


def load_kb_items(kb, path: Path | None = None) -> set[str]:
    """The entry names the data stage may draw items from (``authored/kb_items.txt``), each checked against ``kb``."""
    path = path or KB_ITEMS
    known = {e.name for e in kb.entries}
    names: set[str] = set()
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        if name not in known:
            raise ContractError(path, line_no, None, f"{name!r} is not a knowledge-base entry name")
        names.add(name)
    return names


def expand_templates(
    templates: list[Template], kb, seed: int = 0, items: set[str] | None = None
) -> list[dict[str, Any]]:
    """One prompt per pattern, each over a different knowledge-base item (of ``items``: the listed ones by default)."""
    rng = random.Random(seed)
    listed = load_kb_items(kb) if items is None else items
    prompts: list[dict[str, Any]] = []
    for tpl in templates:
        eligible = sorted(
            (e for e in kb.entries if e.name in listed and e.category in tpl.categories and e.status in tpl.statuses),
            key=lambda e: e.name,
        )
        if not eligible:
            continue
        items = rng.sample(eligible, min(len(eligible), len(tpl.patterns)))
        for n, (pattern, entry) in enumerate(zip(tpl.patterns, items, strict=False)):
            fills = {k: rng.choice(v) for k, v in PLACEHOLDERS.items()}
            text = pattern.format(item=entry.name, **fills)
            prompts.append(
                {
                    "id": f"{tpl.id}-{n:02d}",
                    "prompt": text[0].upper() + text[1:],
                    "domain": tpl.domain,
                    "intent": tpl.intent,
                    "principles": tpl.principles,
                    "template_id": tpl.id,
                    "kb_items": [entry.name],
                    "source": "template",
                    "license": LICENSE,
                }
            )
    return prompts


def load_authored_prompts(folder: Path | None = None) -> list[dict[str, Any]]:
    from veganalign.data.contracts import validate_file

    folder = folder or AUTHORED / "prompts"
    rows: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        _, records = validate_file(path, "prompt")
        rows.extend(records)
    return rows


def split_heldout(
    prompts: list[dict[str, Any]], fraction: float = 0.12
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Templated prompts whose template or item is held out go to eval; the rest train."""
    train, heldout = [], []
    for p in prompts:
        keys = []
        if p.get("template_id"):
            keys.append("template:" + p["template_id"])
        keys += ["item:" + item for item in p.get("kb_items", [])]
        if keys and any(stable_fraction(k) < fraction for k in keys):
            heldout.append(p)
        else:
            train.append(p)
    return train, heldout


def heldout_eval_cases(heldout: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cases = []
    for p in heldout:
        category = INTENT_TO_EVAL_CATEGORY.get(p["intent"])
        if category is None:
            continue
        case = {
            "id": f"heldout-{p['id']}",
            "prompt": p["prompt"],
            "category": category,
            "principles": p.get("principles", []),
            "template_id": p.get("template_id"),
            "kb_items": p.get("kb_items", []),
            "source": p["source"],
            "license": p["license"],
        }
        if category == "adversarial":
            family = (
                "direct_request" if p["intent"] == "prescriptive_nonvegan" else p["intent"].removeprefix("adversarial_")
            )
            case["expect"] = {"behaviour": "redirect", "family": family}
        elif category == "descriptive":
            case["expect"] = {"behaviour": "answer_factually"}
        elif category == "survival_medical":
            case["expect"] = {"behaviour": "prioritise_health"}
        cases.append(case)
    return cases
