"""The knowledge base: shipped data, validation errors, duplicates, and the lookup API."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from veganalign import knowledge
from veganalign.knowledge import Alternative, Entry, KnowledgeBaseError, load_knowledge_base
from veganalign.knowledge.kb import default_data_files
from veganalign.knowledge.schema import FOOD_CATEGORIES

SHIPPED_FILES = {
    "additives.yaml",
    "animal_foods.yaml",
    "cosmetics_household.yaml",
    "dishes.yaml",
    "extra.yaml",
    "materials.yaml",
    "plant_foods.yaml",
    "practices.yaml",
    # 2026-12-08: label coverage
    "additives_more.yaml",
    "cosmetics_more.yaml",
    "materials_extra.yaml",
    "nutrients.yaml",
    "plant_extra.yaml",
    "brands.yaml",
}

GOOD_ENTRY = """\
  - name: {name}
    status: non_vegan
    category: dairy
    reason: Made from cow's milk.
    synonyms: [{synonyms}]
    alternatives:
      - {{name: oat milk, good_for: [creaminess]}}
"""


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def load_error(*paths: Path) -> str:
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(paths)
    return str(info.value)


# --------------------------------------------------------------------------- shipped data


@pytest.fixture(scope="module")
def kb() -> knowledge.KnowledgeBase:
    return load_knowledge_base()


def test_all_data_files_ship_as_package_data() -> None:
    names = [p.name for p in default_data_files()]
    assert set(names) >= SHIPPED_FILES
    assert names[-1] == "extra.yaml", "the gap-filling file loads last, so clashes are reported against it"


def test_at_least_500_entries_most_with_synonyms(kb: knowledge.KnowledgeBase) -> None:
    with_synonyms = [e for e in kb.entries if e.synonyms]
    assert len(kb.entries) >= 500
    assert len(with_synonyms) >= 500


def test_every_non_vegan_food_or_material_has_an_alternative(kb: knowledge.KnowledgeBase) -> None:
    missing = [
        e.name
        for e in kb.entries
        if e.status == "non_vegan" and (e.category in FOOD_CATEGORIES or e.category == "material")
        if not e.alternatives
    ]
    assert missing == []


def test_all_three_statuses_and_every_category_family_present(kb: knowledge.KnowledgeBase) -> None:
    assert {e.status for e in kb.entries} == {"non_vegan", "maybe", "vegan"}
    assert {"meat", "dairy", "additive", "plant_food", "material", "practice", "dish"} <= {
        e.category for e in kb.entries
    }


def test_the_nutrient_category_holds_only_vegan_entries(kb: knowledge.KnowledgeBase) -> None:
    """The shipped spec maps no rule to `nutrient`: one that may come from an animal is an additive (or an animal
    derivative), so that the rule judge can attribute an answer recommending it."""
    from veganalign.spec import load_spec

    nutrients = [e for e in kb.entries if e.category == "nutrient"]
    assert len(nutrients) > 40 and all(e.status == "vegan" for e in nutrients)
    assert "nutrient" not in load_spec().mappings.knowledge_categories


def test_default_knowledge_base_is_cached(kb: knowledge.KnowledgeBase) -> None:
    assert load_knowledge_base() is kb


def test_loading_from_scratch_is_well_under_a_second() -> None:
    start = time.perf_counter()
    fresh = load_knowledge_base(default_data_files())  # explicit paths bypass the cache
    elapsed = time.perf_counter() - start
    assert len(fresh) >= 500
    assert elapsed < 1.0, f"loading took {elapsed:.2f}s"


# --------------------------------------------------------------------------- lookup API


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("honey", "honey"),
        ("HONEY", "honey"),
        ("  Gelatine ", "gelatin"),
        ("eggs", "egg"),
        ("E120", "carmine"),
        ("e 120", "carmine"),
        ("E-120", "carmine"),
        ("cochineal", "carmine"),
        ("peanut butter", "peanut butter"),
    ],
)
def test_lookup_by_name_synonym_plural_and_e_number(kb: knowledge.KnowledgeBase, query: str, name: str) -> None:
    entry = kb.lookup(query)
    assert entry is not None, query
    assert entry.name == name


def test_lookup_unknown_is_none(kb: knowledge.KnowledgeBase) -> None:
    assert kb.lookup("blorbium") is None
    assert kb.lookup("") is None


def test_alternatives_by_name_and_by_entry(kb: knowledge.KnowledgeBase) -> None:
    by_name = kb.alternatives("Honey")
    assert by_name and all(isinstance(a, Alternative) for a in by_name)
    entry = kb.lookup("honey")
    assert entry is not None
    assert kb.alternatives(entry) == by_name
    by_name.clear()  # a copy: callers cannot edit the knowledge base
    assert kb.alternatives("honey")


def test_alternatives_of_unknown_item_raise_key_error(kb: knowledge.KnowledgeBase) -> None:
    with pytest.raises(KeyError, match="blorbium"):
        kb.alternatives("blorbium")


def test_module_level_api() -> None:
    assert knowledge.check("whey powder (milk)").verdict == "non_vegan"
    entry = knowledge.lookup("beeswax")
    assert isinstance(entry, Entry) and entry.status == "non_vegan"
    assert knowledge.alternatives("beeswax")
    assert knowledge.lookup("nothing like this") is None


def test_source_names_file_and_line(kb: knowledge.KnowledgeBase) -> None:
    entry = kb.lookup("honey")
    assert entry is not None
    assert ".yaml:" in kb.source(entry)


# --------------------------------------------------------------------------- validation errors


def test_missing_field_names_file_line_entry_and_field(tmp_path: Path) -> None:
    body = (
        "entries:\n"
        + GOOD_ENTRY.format(name="milk", synonyms="cow's milk")
        + (
            "  - name: cream\n    status: non_vegan\n    category: dairy\n"
            "    alternatives: [{name: oat cream, good_for: [creaminess]}]\n"
        )
    )
    path = write(tmp_path, "bad.yaml", body)
    message = load_error(path)
    assert "bad.yaml:9" in message
    assert "entry #1 ('cream')" in message
    assert "field 'reason'" in message
    assert "required field is missing" in message


def test_bad_value_names_the_field_and_its_line(tmp_path: Path) -> None:
    body = "entries:\n" + GOOD_ENTRY.format(name="milk", synonyms="x").replace("status: non_vegan", "status: nope")
    message = load_error(write(tmp_path, "bad.yaml", body))
    assert "bad.yaml:3" in message and "field 'status'" in message and "entry #0 ('milk')" in message


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    body = "entries:\n" + GOOD_ENTRY.format(name="milk", synonyms="x") + "    colour: white\n"
    message = load_error(write(tmp_path, "bad.yaml", body))
    assert "field 'colour'" in message and "unknown field" in message


def test_bad_e_number_is_rejected(tmp_path: Path) -> None:
    body = "entries:\n" + GOOD_ENTRY.format(name="milk", synonyms="x") + "    e_number: 120\n"
    message = load_error(write(tmp_path, "bad.yaml", body))
    assert "field 'e_number'" in message


def test_non_vegan_without_alternative_is_rejected(tmp_path: Path) -> None:
    body = "entries:\n  - {name: lard, status: non_vegan, category: animal_fat, reason: Pig fat.}\n"
    message = load_error(write(tmp_path, "bad.yaml", body))
    assert "bad.yaml:2" in message and "entry #0 ('lard')" in message and "alternative" in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "broken.yaml", "entries:\n  - name: [unclosed\n"))
    assert "broken.yaml:" in message and "invalid YAML" in message


@pytest.mark.parametrize("body", ["", "- just a list\n", "entries: []\n", "entries: {}\n", "other: 1\n"])
def test_file_without_an_entries_list_is_rejected(tmp_path: Path, body: str) -> None:
    message = load_error(write(tmp_path, "empty.yaml", body))
    assert "empty.yaml" in message and "entries" in message


def test_duplicate_yaml_key_is_reported(tmp_path: Path) -> None:
    body = "entries:\n" + GOOD_ENTRY.format(name="milk", synonyms="x") + "    reason: twice\n"
    message = load_error(write(tmp_path, "dup.yaml", body))
    assert "duplicate key 'reason'" in message


def test_duplicate_synonym_across_files_names_both(tmp_path: Path) -> None:
    first = write(tmp_path, "one.yaml", "entries:\n" + GOOD_ENTRY.format(name="milk", synonyms="cow's milk"))
    second = write(tmp_path, "two.yaml", "entries:\n" + GOOD_ENTRY.format(name="cream", synonyms="Cows Milk"))
    message = load_error(first, second)
    assert "two.yaml" in message and "entry #0 ('cream')" in message
    assert "one.yaml" in message and "entry #0 ('milk')" in message
    assert "duplicate name/synonym 'Cows Milk'" in message


def test_duplicate_name_within_a_file_is_rejected(tmp_path: Path) -> None:
    body = "entries:\n" + GOOD_ENTRY.format(name="milk", synonyms="a") + GOOD_ENTRY.format(name="Milk", synonyms="b")
    message = load_error(write(tmp_path, "dup.yaml", body))
    assert "entry #1 ('Milk')" in message and "entry #0 ('milk')" in message


def test_same_entry_may_repeat_a_spelling(tmp_path: Path) -> None:
    # "Gelatine" and "gelatin" normalise alike; within one entry that is harmless.
    body = "entries:\n" + GOOD_ENTRY.format(name="gelatin", synonyms="gelatine, Gelatin")
    kb = load_knowledge_base([write(tmp_path, "ok.yaml", body)])
    assert kb.lookup("GELATINE") is not None


def test_binary_data_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "blob.yaml"
    path.write_bytes(b"\xff\xfe\x00entries")
    assert "not UTF-8" in load_error(path)


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    one = write(tmp_path, "one.yaml", "entries:\n  - {name: a}\n")
    two = write(tmp_path, "two.yaml", "entries: []\n")
    message = load_error(one, two)
    assert "one.yaml" in message and "two.yaml" in message


# --------------------------------------------------------------------------- names in other languages


def test_a_translation_adds_label_names_in_other_languages_to_its_entry(tmp_path: Path) -> None:
    entries = write(tmp_path, "dairy.yaml", "entries:\n" + GOOD_ENTRY.format(name="milk", synonyms="whole milk"))
    body = "translations:\n  - entry: milk\n    de: [milch, vollmilch]\n    fr: [lait, lait de bœuf]\n"
    names = write(tmp_path, "translations.yaml", body)
    kb = load_knowledge_base([entries, names])
    assert kb.lookup("Vollmilch").name == "milk" and kb.lookup("lait").name == "milk"
    assert kb.lookup("lait de boeuf").name == "milk"  # ligatures fold like accents: "œ" is "oe"
    assert kb.check("Zucker, Vollmilch").items[0].name == "milk"
    assert kb.sha256 != load_knowledge_base([entries]).sha256


@pytest.mark.parametrize(
    "body, where, says",
    [
        ("translations:\n  - entry: mlik\n    de: [milch]\n", "translations.yaml:2", "no entry is named 'mlik'"),
        ("translations:\n  - entry: milk\n    de: [single cream]\n", "translations.yaml:2",
         "duplicate name/synonym 'single cream' (matches as 'single cream'): already used by"),
        ("translations:\n  - entry: milk\n    xx: [milch]\n", "translations.yaml:3", "xx"),
        ("translations:\n  - entry: milk\n", "translations.yaml:2", "gives no name in any language"),
    ],
)  # fmt: skip
def test_a_bad_translation_is_reported_where_it_was_written(tmp_path: Path, body: str, where: str, says: str) -> None:
    entries = write(tmp_path, "dairy.yaml", "entries:\n" + GOOD_ENTRY.format(name="milk", synonyms="whole milk")
                    + GOOD_ENTRY.format(name="cream", synonyms="single cream"))  # fmt: skip
    message = load_error(entries, write(tmp_path, "translations.yaml", body))
    assert where in message and says in message, message
