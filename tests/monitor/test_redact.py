"""Redaction recall per kind on labelled messages, and what it must leave alone.

``redaction_cases.jsonl`` is the development set (the patterns were tuned on it);
``redaction_heldout.jsonl`` was written later by someone who had not read the redactor. Its
first reading (names 41.6%, addresses 66.7%) led to one round of general name cues (sign-offs
in more languages, lists, CSV columns, address blocks), so its name figure is no longer
blind; its structured kinds and addresses were not tuned on. Both sets assert at least 95%
recall for the structured kinds (email, phone, card, IBAN, IP); addresses and names have
regression floors below what was measured (names are found only where the text marks them
as names: a bare "Tell Priya the cake is ready" is not covered).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from veganalign.monitor.redact import KINDS, MARK, find, redact

HERE = Path(__file__).parent
STRUCTURED = ("email", "phone", "card", "iban", "ip")
FLOORS = {
    "redaction_cases.jsonl": {**dict.fromkeys(STRUCTURED, 0.95), "address": 0.95, "name": 0.90},
    "redaction_heldout.jsonl": {**dict.fromkeys(STRUCTURED, 0.95), "address": 0.62, "name": 0.58},
}


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (HERE / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def covered(text: str, value: str, spans) -> bool:
    """Every non-space character of ``value`` (each place it occurs) is inside a redacted span."""
    start = text.find(value)
    while start >= 0:
        for k in range(start, start + len(value)):
            if not text[k].isspace() and not any(s.start <= k < s.end for s in spans):
                return False
        start = text.find(value, start + 1)
    return True


def recall(cases: list[dict]) -> tuple[dict[str, float], dict[str, int], list]:
    hit, total, missed = Counter(), Counter(), []
    for case in cases:
        spans = find(case["text"])
        for item in case["pii"]:
            total[item["kind"]] += 1
            if covered(case["text"], item["value"], spans):
                hit[item["kind"]] += 1
            else:
                missed.append((case["id"], item["kind"], item["value"]))
    return {k: hit[k] / total[k] for k in total}, dict(total), missed


@pytest.mark.parametrize("name", ["redaction_cases.jsonl", "redaction_heldout.jsonl"])
def test_recall_per_kind(name, capsys):
    cases = load(name)
    assert len(cases) >= 150
    rates, totals, missed = recall(cases)
    with capsys.disabled():
        print(f"\n{name}: " + ", ".join(f"{k} {rates[k]:.1%} of {totals[k]}" for k in KINDS if k in rates))
    assert set(STRUCTURED) <= set(rates)
    low = {k: round(r, 3) for k, r in rates.items() if r < FLOORS[name][k]}
    assert not low, f"recall under the floor: {low}; missed: {[m for m in missed if m[1] in low][:15]}"


@pytest.mark.parametrize("name", ["redaction_cases.jsonl", "redaction_heldout.jsonl"])
def test_text_without_personal_data_survives(name):
    clean = [c for c in load(name) if c.get("keep")]  # clean messages, and on the held-out set some others too
    assert sum(not c["pii"] for c in clean) >= 25
    damaged = []
    for case in clean:
        spans = find(case["text"])
        for keep in case.get("keep", []):
            start = case["text"].find(keep)
            if any(s.start < start + len(keep) and s.end > start for s in spans):
                damaged.append((case["id"], keep))
    assert len(damaged) <= 0.05 * sum(len(c.get("keep", [])) for c in clean), damaged


def test_the_projects_own_prompts_are_barely_touched():
    """Over 3,000 prompts and answers of the shipped data hold no personal data: under 1% of them change."""
    import veganalign

    root = Path(veganalign.__file__).parent / "data"
    texts = []
    for path in [
        *root.glob("eval/*.jsonl"),
        *root.glob("authored/prompts/*.jsonl"),
        *root.glob("authored/sft/*.jsonl"),
    ]:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if isinstance(record.get("prompt"), str):
                texts.append(record["prompt"])
            texts += [m["content"] for m in record.get("messages", [])]
    changed = [t for t in texts if find(t)]
    assert len(texts) > 3000
    assert len(changed) / len(texts) < 0.01, changed[:10]


def test_redact_replaces_each_span_with_its_kind():
    text = "Email ana@example.com or call +44 7700 900123; card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32."
    out = redact(text)
    for kind in ("email", "phone", "card", "iban"):
        assert MARK[kind] in out
    assert "ana@example.com" not in out and "4111" not in out and "WEST" not in out
    assert out.startswith("Email ") and redact("") == "" and redact("no personal data here") == "no personal data here"


@pytest.mark.parametrize(
    "text",
    [
        "Bake at 180 C for 25 minutes, then rest 10.",
        "Order #458219 arrived on 2026-11-03 at 14:05.",
        "Python 3.11.7 and version 2.14.3 both fail",
        "Use 1000/6000 grit, then (350 - 32) x 5/9 for Celsius.",
        "I'm vegan and I'm looking for Christmas recipes.",
        "Strictly speaking, Eggs Benedict needs eggs.",
        "Add 200 g dried green lentils and 2 tins of young green jackfruit.",
    ],
)
def test_ordinary_text_is_not_personal_data(text):
    assert find(text) == [], [text[s.start : s.end] for s in find(text)]


def test_checksums_decide_cards_and_ibans():
    assert [s.kind for s in find("card 4111 1111 1111 1111")] == ["card"]
    assert not [s for s in find("card 4111 1111 1111 1112") if s.kind == "card"]  # fails Luhn
    assert [s.kind for s in find("IBAN DE89 3704 0044 0532 0130 00 please")] == ["iban"]
    assert not [s for s in find("IBAN DE89 3704 0044 0532 0130 01") if s.kind == "iban"]  # fails mod 97
