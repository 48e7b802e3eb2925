"""The labelled check set (``check_cases.jsonl``): size, spread, and accuracy targets.

Thresholds, per expected class (recall):

* ``non_vegan`` >= 0.97: a missed animal product is the costly error for a guardrail.
* ``vegan`` >= 0.95, and *zero* vegan cases called ``non_vegan``: a plant-based name
  mistaken for an animal product ("peanut butter", "coconut milk") is the error users
  notice first and forgive least.
* ``maybe`` >= 0.90: these depend on a source the text does not give; answering
  ``unknown`` or ``vegan`` for one of them is less harmful than missing an animal item.
* ``unknown`` >= 0.90: text with nothing to judge should say so.

Overall accuracy >= 0.97. ``report_accuracy.py`` prints the same numbers as Markdown.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

from veganalign.knowledge import load_knowledge_base


def _import_report():  # noqa: ANN202 - a module
    """``report_accuracy.py`` beside this file, whatever pytest's import mode."""
    path = Path(__file__).with_name("report_accuracy.py")
    spec = importlib.util.spec_from_file_location("veganalign_report_accuracy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


report = _import_report()
Outcome = report.Outcome
load_cases, recall_by_class, run = report.load_cases, report.recall_by_class, report.run

MIN_RECALL = {"non_vegan": 0.97, "vegan": 0.95, "maybe": 0.90, "unknown": 0.90}
MIN_ACCURACY = 0.97


@pytest.fixture(scope="module")
def cases() -> list[dict[str, str]]:
    return load_cases()


@pytest.fixture(scope="module")
def outcomes(cases: list[dict[str, str]]) -> list[Outcome]:
    return run(load_knowledge_base(), cases)


def test_the_set_is_large_and_spread_over_the_classes(cases: list[dict[str, str]]) -> None:
    counts = Counter(c["expected"] for c in cases)
    assert len(cases) >= 320
    assert counts["vegan"] >= 80 and counts["non_vegan"] >= 100 and counts["maybe"] >= 50
    assert counts["unknown"] >= 10
    assert {c["kind"] for c in cases} == {"label", "description", "sentence"}


def test_rows_are_well_formed(cases: list[dict[str, str]]) -> None:
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate ids"
    texts = [c["text"] for c in cases]
    assert len(texts) == len(set(texts)), "duplicate texts"
    for case in cases:
        assert set(case) <= {"id", "text", "expected", "kind", "note"}, case
        assert case["expected"] in MIN_RECALL and case["text"].strip()


def test_overall_accuracy(outcomes: list[Outcome]) -> None:
    accuracy = sum(o.correct for o in outcomes) / len(outcomes)
    misses = [f"{o.case['id']}: {o.case['text']!r} -> {o.predicted}" for o in outcomes if not o.correct]
    assert accuracy >= MIN_ACCURACY, "\n".join(misses)


@pytest.mark.parametrize("label", sorted(MIN_RECALL))
def test_recall_per_class(outcomes: list[Outcome], label: str) -> None:
    correct, total = recall_by_class(outcomes)[label]
    misses = [o.case["text"] for o in outcomes if o.case["expected"] == label and not o.correct]
    assert correct / total >= MIN_RECALL[label], misses


def test_no_vegan_case_is_called_non_vegan(outcomes: list[Outcome]) -> None:
    wrong = [o.case["text"] for o in outcomes if o.case["expected"] == "vegan" and o.predicted == "non_vegan"]
    assert wrong == []
