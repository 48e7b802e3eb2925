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

The name lists (``lists/``, see ``lists/README.md``) measure coverage one name at a time,
over the dev and held-out parts together (both are printed; run with ``-s`` to see them):

* non-vegan names: >= 0.95 flagged (``non_vegan`` or ``maybe``), none called ``vegan``,
  and the clear-cut animal names (meat, dairy, fish, leather, wool, silk...) >= 0.95
  ``non_vegan``;
* vegan names: none called ``non_vegan``.

A failure names the dev misses only; held-out misses are counted, not listed, so that
the held-out part stays an honest measure (fix the kind of error, found on dev).
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

MIN_FLAGGED = 0.95  # non-vegan names called non_vegan or maybe
MIN_CLEAR_CUT_NON_VEGAN = 0.95  # clear-cut animal names called non_vegan
MIN_NON_VEGAN_NAMES, MIN_VEGAN_NAMES = 800, 200
MIN_COSMETIC_SHARE = 1 / 3  # of the non-vegan names, INCI names of cosmetics
# SHA-256 of each list's held-out rows (sorted "name<TAB>expected" lines), frozen on
# 2026-12-06 before the matcher was run on them: lists/README.md.
HELDOUT_SHA256 = {
    "non_vegan_names.jsonl": "56633675a860d42dcbe25235cc5a3205b926d1f3dfb9479e4cb35895fa927269",
    "vegan_names.jsonl": "6a7fc2ef057692df424c165f07a7fedf122f669d42e28fd078f4619739f7f85b",
}


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


# --------------------------------------------------------------------------- name lists

NameOutcome = report.NameOutcome


@pytest.fixture(scope="module")
def name_lists() -> dict[str, list[dict[str, Any]]]:
    return {path.name: report.load_names(path) for path in (report.NON_VEGAN_NAMES, report.VEGAN_NAMES)}


@pytest.fixture(scope="module")
def name_outcomes(name_lists: dict[str, list[dict[str, Any]]]) -> dict[str, list[NameOutcome]]:
    kb = load_knowledge_base()
    return {name: report.run_names(kb, rows) for name, rows in name_lists.items()}


def test_name_lists_are_well_formed(name_lists: dict[str, list[dict[str, Any]]]) -> None:
    non_vegan, vegan = name_lists["non_vegan_names.jsonl"], name_lists["vegan_names.jsonl"]
    assert len(non_vegan) >= MIN_NON_VEGAN_NAMES and len(vegan) >= MIN_VEGAN_NAMES
    cosmetic = sum(row["domain"] == "cosmetic" for row in non_vegan)
    assert cosmetic / len(non_vegan) >= MIN_COSMETIC_SHARE, f"{cosmetic} of {len(non_vegan)} are cosmetics INCI names"
    for file, rows in name_lists.items():
        keys = [re.sub(r"[^a-z0-9]+", " ", row["name"].casefold()).strip() for row in rows]
        assert len(keys) == len(set(keys)), f"{file}: duplicate names"
        allowed = {"non_vegan", "maybe"} if file == "non_vegan_names.jsonl" else {"vegan"}
        for row in rows:
            assert row["expected"] in allowed, (file, row)
            assert row["domain"] in {"food", "additive", "cosmetic", "material", "household", "medicine"}, (file, row)
            # The part is the name's hash, never a choice: a name cannot be moved out of the held-out part.
            assert row["split"] == report.name_split(row["name"]), (file, row)
            if file == "non_vegan_names.jsonl":
                assert isinstance(row["clear_cut"], bool), row
                assert not (row["clear_cut"] and row["expected"] == "maybe"), row
        heldout = sum(row["split"] == "heldout" for row in rows) / len(rows)
        assert 0.2 <= heldout <= 0.4, f"{file}: {heldout:.0%} held out"


def test_the_heldout_parts_are_frozen(name_lists: dict[str, list[dict[str, Any]]]) -> None:
    """Changing or adding a held-out row changes its digest: add names under a new freeze instead."""
    for file, rows in name_lists.items():
        lines = sorted(f"{row['name']}\t{row['expected']}" for row in rows if row["split"] == "heldout")
        assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == HELDOUT_SHA256[file], file


def _part_summary(outcomes: list[NameOutcome], wrong: Callable[[NameOutcome], bool]) -> str:
    """Dev misses by name; held-out misses only counted."""
    dev = [o.row["name"] for o in outcomes if o.row["split"] == "dev" and wrong(o)]
    held = sum(1 for o in outcomes if o.row["split"] == "heldout" and wrong(o))
    return f"dev misses: {dev}; held-out misses: {held} (not listed)"


def test_non_vegan_names_are_flagged(name_outcomes: dict[str, list[NameOutcome]]) -> None:
    outcomes = name_outcomes["non_vegan_names.jsonl"]
    print("\n" + report.lists_markdown(outcomes, name_outcomes["vegan_names.jsonl"]))
    score = report.score_non_vegan(outcomes)
    assert score.flagged_rate >= MIN_FLAGGED, _part_summary(outcomes, lambda o: o.predicted not in report.FLAGGED)
    assert score.called_vegan == 0, _part_summary(outcomes, lambda o: o.predicted == "vegan")


def test_clear_cut_animal_names_are_non_vegan(name_outcomes: dict[str, list[NameOutcome]]) -> None:
    outcomes = name_outcomes["non_vegan_names.jsonl"]
    score = report.score_non_vegan(outcomes)
    for part, part_outcomes in report.by_split(outcomes).items():
        part_score = report.score_non_vegan(part_outcomes)
        print(f"{part}: clear-cut called non_vegan {part_score.clear_cut_non_vegan}/{part_score.clear_cut}")
    missed = lambda o: bool(o.row["clear_cut"]) and o.predicted != "non_vegan"  # noqa: E731
    assert score.clear_cut_rate >= MIN_CLEAR_CUT_NON_VEGAN, _part_summary(outcomes, missed)


# --------------------------------------------------------------------------- compound names

# The compound list (lists/README.md, "Compound names"): the held-out part was written by a
# helper who never saw the matcher or the data, and frozen before the matcher ran on it.
COMPOUND_HELDOUT_SHA256 = "309c51cba610beb6c36f98ffb4a093a4638664cf7f676acdd114417a73c48370"
# Measured 2026-12-07 with the analogue, compound-qualifier and free-from rules: dev 123/141
# (87.2%), held-out 196/231 (84.8%; 178/231 before them). The floors keep those gains.
MIN_COMPOUND_ACCURACY = {"dev": 0.85, "heldout": 0.82}
# The costly directions, held-out as measured: vegan called non_vegan 6, non_vegan called vegan 3.
MAX_COMPOUND_ERRORS = {"dev": (0, 2), "heldout": (6, 3)}


@pytest.fixture(scope="module")
def compound_outcomes() -> list[NameOutcome]:
    return report.run_names(load_knowledge_base(), report.load_names(report.COMPOUND_NAMES))


def test_compound_list_is_well_formed_and_frozen(compound_outcomes: list[NameOutcome]) -> None:
    rows = [o.row for o in compound_outcomes]
    keys = [re.sub(r"[^a-z0-9]+", " ", row["name"].casefold()).strip() for row in rows]
    assert len(keys) == len(set(keys)), "duplicate names"
    for row in rows:
        assert row["expected"] in {"vegan", "non_vegan", "maybe"} and row["kind"] in report.COMPOUND_KINDS, row
        assert row["split"] in report.SPLITS and row["domain"] in {"food", "material", "cosmetic", "household"}, row
    lines = sorted(f"{row['name']}\t{row['expected']}" for row in rows if row["split"] == "heldout")
    assert len(lines) >= 200
    assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == COMPOUND_HELDOUT_SHA256


@pytest.mark.parametrize("part", report.SPLITS)
def test_compound_names(compound_outcomes: list[NameOutcome], part: str) -> None:
    print("\n" + report.compound_markdown(compound_outcomes))
    outcomes = [o for o in compound_outcomes if o.row["split"] == part]
    wrong = lambda o: o.predicted != o.row["expected"]  # noqa: E731
    accuracy = sum(not wrong(o) for o in outcomes) / len(outcomes)
    assert accuracy >= MIN_COMPOUND_ACCURACY[part], _part_summary(outcomes, wrong)
    mistaken = [o for o in outcomes if o.row["expected"] == "vegan" and o.predicted == "non_vegan"]
    missed = [o for o in outcomes if o.row["expected"] == "non_vegan" and o.predicted == "vegan"]
    most_mistaken, most_missed = MAX_COMPOUND_ERRORS[part]
    assert len(mistaken) <= most_mistaken, _part_summary(outcomes, lambda o: o in mistaken)
    assert len(missed) <= most_missed, _part_summary(outcomes, lambda o: o in missed)


def test_no_vegan_name_is_called_non_vegan(name_outcomes: dict[str, list[NameOutcome]]) -> None:
    outcomes = name_outcomes["vegan_names.jsonl"]
    for part, part_outcomes in report.by_split(outcomes).items():
        v = report.score_vegan(part_outcomes)
        print(f"{part}: {v.names} vegan names, {v.called_non_vegan} called non_vegan, {v.called_vegan} called vegan")
    assert report.score_vegan(outcomes).called_non_vegan == 0, _part_summary(
        outcomes, lambda o: o.predicted == "non_vegan"
    )


# --------------------------------------------------------------------------- labels in other languages

OTHER_LANGUAGES = Path(__file__).with_name("other_languages.jsonl")


def _frozen_labels(path: Path, sha256_prefix: str | None = None) -> list[dict[str, str]]:
    """A blind label set, checked to be the file that was frozen before anything ran on it."""
    import hashlib
    import json

    raw = path.read_bytes()
    if sha256_prefix is not None:
        assert hashlib.sha256(raw).hexdigest().startswith(sha256_prefix)
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


def _assert_read_right(cases: list[dict[str, str]], at_least: int) -> None:
    """At least ``at_least`` verdicts right, and no vegan label called non_vegan or the reverse."""
    from veganalign.knowledge import check

    said = {c["id"]: check(c["text"]).verdict for c in cases}
    right = sum(said[c["id"]] == c["expected"] for c in cases)
    wrong = [(c["id"], c["expected"], said[c["id"]]) for c in cases if said[c["id"]] != c["expected"]]
    assert right >= at_least, wrong
    assert not [c["id"] for c in cases if {c["expected"], said[c["id"]]} == {"vegan", "non_vegan"}]


def test_labels_in_other_languages_are_read_from_the_translations() -> None:
    """72 labels in German, French, Spanish, Italian, Dutch and Portuguese, written blind (docs/knowledge.md).

    The knowledge base read 23 of them right before it had names in other languages, 59 on the first run with
    them, 69 after the fixes that run found and 70 with foreign flavour words; the rest are listed in
    docs/knowledge.md. No vegan label may be called non_vegan, and no non-vegan one vegan.
    """
    cases = _frozen_labels(OTHER_LANGUAGES)
    assert Counter(c["lang"] for c in cases) == {lang: 12 for lang in ("de", "fr", "es", "it", "nl", "pt")}
    _assert_read_right(cases, at_least=70)


OUTSIDE_LABELS = Path(__file__).with_name("outside_labels.jsonl")


def test_labels_written_outside_the_project() -> None:
    """80 English labels (foods, cosmetics, supplements, household, clothing), written blind by a helper that read
    nothing of this project and frozen (sha256 18125b7d...) before anything ran on them (docs/knowledge.md).

    The knowledge base read 70 of them right on the first run, and called two vegan labels non_vegan ("Vitamin D3
    1000 IU" read 1000 as E1000; "Butyrospermum Parkii (Shea) Butter" read the butter as dairy); 78 after the fixes
    that run found. Left: an artificial "buttermilk flavour" stays a maybe (a stance), and "Vitamins (..., E, D3)"
    is not read as vitamin D3 (a bare "D3" would change what the data stage keeps).
    """
    cases = _frozen_labels(OUTSIDE_LABELS, sha256_prefix="18125b7d")
    assert Counter(c["expected"] for c in cases) == {"vegan": 30, "non_vegan": 30, "maybe": 20}
    _assert_read_right(cases, at_least=78)


OUTSIDE_LABELS_2 = Path(__file__).with_name("outside_labels_2.jsonl")


def test_a_second_set_of_labels_written_outside_the_project() -> None:
    """80 more English labels in the formats of several markets (UK/EU E-numbers, US "Contains:", Australian bare
    codes, Indian INS numbers; additive-heavy foods, drinks, INCI cosmetics, supplements, household, pet, clothing),
    written blind by another helper after the first set's fixes and frozen (sha256 bd272db1...) before anything ran.

    72 right on the first run, with three vegan labels called non_vegan ("Cocoa Body Butter", "Prawn Cocktail
    Flavour Crisps ... Suitable for Vegans", "Coconut Milk - Full Cream"); 78 after the fixes that run found.
    """
    cases = _frozen_labels(OUTSIDE_LABELS_2, sha256_prefix="bd272db1")
    assert Counter(c["expected"] for c in cases) == {"vegan": 30, "non_vegan": 30, "maybe": 20}
    _assert_read_right(cases, at_least=78)


OUTSIDE_LABELS_3 = Path(__file__).with_name("outside_labels_3.jsonl")


def test_a_third_set_of_labels_written_outside_the_project() -> None:
    """80 more English labels written blind by a helper that read nothing of this project (2026-12-08), weighted to
    vitamin- and mineral-fortified foods, supplements, INCI cosmetics, drinks, clothing and names that sound animal,
    frozen (sha256 8e759cfe...) before anything ran on them (docs/knowledge.md).

    The knowledge base as it stood read 66 right, with 392 label items it did not know and six vegan labels called
    non_vegan; 69 with the vitamins, minerals, E-numbers, INCI names and plant foods added without reading the set
    (236 items unknown); 77 after the general fixes that run found, 78 once "just like honey" reads as a comparison.
    Left: a vegan label whose directions name the dishes it is used in ("in place of buttermilk in pancakes") reads
    non_vegan, and a "plant-based" burger whose natural flavours the project's stance takes as settled."""
    from veganalign.knowledge import check

    cases = _frozen_labels(OUTSIDE_LABELS_3, sha256_prefix="8e759cfe")
    assert Counter(c["expected"] for c in cases) == {"vegan": 30, "non_vegan": 30, "maybe": 20}
    said = {c["id"]: check(c["text"]).verdict for c in cases}
    right = [c["id"] for c in cases if said[c["id"]] == c["expected"]]
    assert len(right) >= 78, [(c["id"], c["expected"], said[c["id"]]) for c in cases if c["id"] not in right]
    swapped = {c["id"] for c in cases if {c["expected"], said[c["id"]]} == {"vegan", "non_vegan"}}
    assert swapped <= {"lbl4-002"}, swapped
    assert all(said[c["id"]] != "vegan" for c in cases if c["expected"] == "non_vegan")


OUTSIDE_LISTS = Path(__file__).with_name("outside_ingredient_lists.jsonl")


def test_ingredient_lists_written_outside_the_project() -> None:
    """100 bare ingredient lists as a user pastes them (foods, drinks, supplements, cosmetics, household), written
    blind by a helper that read nothing of this project (2026-12-08) and frozen (sha256 9e972b6c...).

    The knowledge base read 93 right as it stood that morning (99 listed items unknown), 94 on this set's first run
    (13 unknown), 98 after the fixes that run found: a component's amount before its own list ("Noodles (87%):
    wheat flour, ..."), a beer's or a wine's list that never says beer or wine (malt, hops, yeast; grapes and sulphur
    dioxide), "only naturally occurring sugars". Left: an algal-oil capsule's "(DHA, EPA)" and a beta-carotene
    colour stay maybes (the data's stance on DHA and on beta-carotene beadlets).
    """
    from veganalign.knowledge import check

    cases = _frozen_labels(OUTSIDE_LISTS, sha256_prefix="9e972b6c")
    assert Counter(c["expected"] for c in cases) == {"vegan": 40, "non_vegan": 35, "maybe": 25}
    _assert_read_right(cases, at_least=98)
    assert sum(len(check(c["text"]).unknown_terms) for c in cases) <= 15
