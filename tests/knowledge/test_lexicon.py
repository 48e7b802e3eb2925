"""The lexicon (knowledge/lexicon.yaml): shipped data, validation errors, that the matcher reads it, and the hash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from veganalign import knowledge
from veganalign.knowledge import KnowledgeBaseError, Lexicon, load_knowledge_base
from veganalign.knowledge.kb import default_data_files, default_lexicon_file

SHIPPED = default_lexicon_file().read_text(encoding="utf-8")

ENTRY_FILE = """\
entries:
  - name: milk
    status: non_vegan
    category: dairy
    reason: Made from cow's milk.
    alternatives:
      - {name: oat milk, good_for: [creaminess]}
"""


def edited(old: str, new: str, text: str = SHIPPED) -> str:
    """The shipped lexicon with one exact piece of text replaced (it must be there once)."""
    assert text.count(old) == 1, f"{old!r} is not in the lexicon exactly once"
    return text.replace(old, new)


def write(tmp_path: Path, text: str, name: str = "lexicon.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line holding ``needle``."""
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, needle
    return lines[0]


def lexicon_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(lexicon=write(tmp_path, text))
    return str(info.value)


# --------------------------------------------------------------------------- shipped lexicon


def test_shipped_lexicon_loads_with_the_knowledge_base() -> None:
    lexicon = load_knowledge_base().lexicon
    assert isinstance(lexicon, Lexicon)
    assert "vegan" in lexicon.vegan_prefixes
    assert lexicon.spellings["color"] == "colour"
    assert {g.counts_as for g in lexicon.free_groups} == {"vegan", "maybe"}


def test_lexicon_is_package_data_but_not_an_entry_file() -> None:
    assert default_lexicon_file().is_file()
    assert default_lexicon_file().name not in {p.name for p in default_data_files()}


def test_explicit_shipped_lexicon_matches_like_the_default() -> None:
    explicit = load_knowledge_base(default_data_files(), default_lexicon_file())
    assert explicit is not load_knowledge_base()  # explicit paths are never cached
    text = "Sugar, whey powder (milk), may contain traces of egg. Dairy-free cheese."
    assert explicit.check(text).to_dict() == knowledge.check(text).to_dict()


# --------------------------------------------------------------------------- the matcher reads the data


def test_added_vegan_prefix_qualifies_the_item(tmp_path: Path) -> None:
    assert knowledge.check("veganised cheese").verdict == "non_vegan"
    text = edited("vegan_prefixes: [vegan,", "vegan_prefixes: [veganised, vegan,")
    kb = load_knowledge_base(lexicon=write(tmp_path, text))
    result = kb.check("veganised cheese")
    assert result.verdict == "vegan"
    assert result.items[0].qualifier == "veganised"


def test_added_analogue_food_makes_a_plant_analogue(tmp_path: Path) -> None:
    assert knowledge.check("oat kefir").verdict == "non_vegan"
    text = edited("  mylk: [milk]\n", "  mylk: [milk]\n  kefir: [milk]\n")
    kb = load_knowledge_base(lexicon=write(tmp_path, text))
    assert kb.check("oat kefir").verdict == "vegan"


def test_added_spelling_reaches_the_tokeniser_and_the_index(tmp_path: Path) -> None:
    assert knowledge.check("whay powder").verdict == "unknown"
    text = edited("  gelatine: gelatin\n", "  gelatine: gelatin\n  whay: whey\n")
    kb = load_knowledge_base(lexicon=write(tmp_path, text))
    assert kb.check("whay powder").items[0].name == "whey"
    assert kb.lookup("Whays") is not None  # the ending rule applies to new spellings too


def test_removed_negator_no_longer_negates(tmp_path: Path) -> None:
    assert knowledge.check("omit the honey").verdict == "unknown"  # "omit" negates the honey
    text = edited(" omit,", "")
    kb = load_knowledge_base(lexicon=write(tmp_path, text))
    assert kb.check("omit the honey").verdict == "non_vegan"


# --------------------------------------------------------------------------- validation errors


def test_unknown_list_names_file_line_and_field(tmp_path: Path) -> None:
    text = SHIPPED + "vegan_prefixs: [veganised]\n"
    message = lexicon_error(tmp_path, text)
    assert f"lexicon.yaml:{len(text.splitlines())}:" in message
    assert "field 'vegan_prefixs'" in message and "unknown field" in message


def test_wrong_type_names_file_line_and_field(tmp_path: Path) -> None:
    text = edited("plant_bases: [plant, vegetable,", "plant_bases: plant\nformer_plant_bases: [plant, vegetable,")
    message = lexicon_error(tmp_path, text)
    assert f"lexicon.yaml:{line_of(text, 'plant_bases: plant')}: field 'plant_bases': " in message
    assert "valid tuple" in message


def test_unquoted_yaml_boolean_is_explained(tmp_path: Path) -> None:
    text = edited('negators: ["no",', "negators: [no,")
    message = lexicon_error(tmp_path, text)
    assert f"lexicon.yaml:{line_of(text, 'negators: [no,')}: field 'negators[0]': " in message
    assert "quote it" in message


def test_duplicate_word_names_the_line_of_the_second(tmp_path: Path) -> None:
    text = edited("  sweeteners, humectant,", "  sweeteners, emulsifier,")
    message = lexicon_error(tmp_path, text)
    assert f"lexicon.yaml:{line_of(text, 'sweeteners, emulsifier,')}: field 'additive_classes[" in message
    assert "duplicate word 'emulsifier', already at additive_classes[0]" in message


def test_word_in_two_free_groups_is_a_duplicate(tmp_path: Path) -> None:
    text = edited("  - words: [honey]\n", "  - words: [honey, milk]\n")
    message = lexicon_error(tmp_path, text)
    assert "field 'free_groups[2].words[1]'" in message and "duplicate word 'milk'" in message


def test_upper_case_word_names_file_line_and_field(tmp_path: Path) -> None:
    text = edited("  sweeteners, humectant,", "  sweeteners, Humectant,")
    message = lexicon_error(tmp_path, text)
    assert f"lexicon.yaml:{line_of(text, 'Humectant,')}: field 'additive_classes[" in message
    assert "'Humectant' is not one word as the matcher reads it" in message


@pytest.mark.parametrize("word", ["plant-based", "free range", "lamb's", "végétalien"])
def test_word_the_tokeniser_never_produces_is_rejected(tmp_path: Path, word: str) -> None:
    text = edited("vegan_prefixes: [vegan,", f'vegan_prefixes: ["{word}", vegan,')
    assert "is not one word as the matcher reads it" in lexicon_error(tmp_path, text)


def test_variant_spelling_in_a_list_is_rejected(tmp_path: Path) -> None:
    text = edited("flavour_suffixes: [flavour,", "flavour_suffixes: [flavor, flavour,")
    message = lexicon_error(tmp_path, text)
    assert "field 'flavour_suffixes[0]'" in message
    assert "'flavor' is a variant spelling: the matcher reads it as 'flavour'" in message


def test_analogue_food_must_name_a_base_list(tmp_path: Path) -> None:
    text = edited("  mylk: [milk]\n", "  mylk: [milks]\n")
    message = lexicon_error(tmp_path, text)
    assert f"lexicon.yaml:{line_of(text, 'mylk: [milks]')}: field 'analogue_foods.mylk[0]'" in message
    assert "no analogue_bases list is named 'milks'" in message


def test_missing_list_and_unknown_category_are_reported_together(tmp_path: Path) -> None:
    text = edited("kitchens: [kitchen,", "kitchenz: [kitchen,")
    text = edited("material_categories: [material,", "material_categories: [materials,", text)
    message = lexicon_error(tmp_path, text)
    assert "field 'kitchens': required field is missing" in message
    assert "field 'kitchenz': unknown field" in message
    assert f"lexicon.yaml:{line_of(text, 'material_categories:')}: field 'material_categories[0]'" in message


@pytest.mark.parametrize("body", ["", "- vegan\n", "vegan_prefixes: [vegan]\n"])
def test_lexicon_of_the_wrong_shape_is_rejected(tmp_path: Path, body: str) -> None:
    message = lexicon_error(tmp_path, body)
    assert "lexicon.yaml:" in message


def test_lexicon_and_entry_file_problems_are_reported_together(tmp_path: Path) -> None:
    lexicon = write(tmp_path, edited("vegan_prefixes: [vegan,", "vegan_prefixes: [Vegan,"))
    entries = write(tmp_path, "entries:\n  - {name: a}\n", "bad.yaml")
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base([entries], lexicon)
    assert "lexicon.yaml:" in str(info.value) and "bad.yaml:" in str(info.value)


def test_missing_lexicon_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        load_knowledge_base(lexicon=tmp_path / "nowhere.yaml")


# --------------------------------------------------------------------------- content hash


def test_hash_is_hex_sha256_of_the_shipped_data() -> None:
    digest = knowledge.knowledge_sha256()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert load_knowledge_base().sha256 == digest
    assert load_knowledge_base(default_data_files(), default_lexicon_file()).sha256 == digest


def test_hash_ignores_lexicon_comments_and_layout(tmp_path: Path) -> None:
    text = "# a curator's note\n" + edited(
        "same_plurals: [fish, sheep,", "same_plurals: [fish,   # no 'fishes'\n  sheep,"
    ).replace("\n\n", "\n\n# another note\n\n")
    assert load_knowledge_base(lexicon=write(tmp_path, text)).sha256 == knowledge.knowledge_sha256()


def test_hash_changes_with_a_lexicon_value(tmp_path: Path) -> None:
    text = edited("free_breakers: [range, run, roaming, roam]", "free_breakers: [range, run, roaming]")
    assert load_knowledge_base(lexicon=write(tmp_path, text)).sha256 != knowledge.knowledge_sha256()


def test_hash_ignores_entry_comments_but_not_entry_values(tmp_path: Path) -> None:
    base = load_knowledge_base([write(tmp_path, ENTRY_FILE, "one.yaml")]).sha256
    commented = "# dairy\n" + ENTRY_FILE.replace("    reason:", "    # why\n    reason:")
    assert load_knowledge_base([write(tmp_path, commented, "two.yaml")]).sha256 == base
    changed = ENTRY_FILE.replace("cow's milk.", "cows' milk.")
    assert load_knowledge_base([write(tmp_path, changed, "three.yaml")]).sha256 != base


# --------------------------------------------------------------------------- sources, processing aids, patterns


def test_shipped_lexicon_names_only_entries_the_shipped_data_has() -> None:
    """Entry names in the lexicon are ignored where a custom knowledge base lacks them; the shipped one has all."""
    kb = load_knowledge_base()
    lexicon = kb.lexicon
    named = [name for doubt in lexicon.processing_doubts for name in doubt.entries]
    named += [p.entry for p in lexicon.patterns if p.entry is not None]
    missing = [name for name in named if kb.lookup(name) is None or kb.lookup(name).name != name]
    assert missing == []


def test_removed_settling_word_no_longer_settles(tmp_path: Path) -> None:
    assert knowledge.check("unfined wine").verdict == "vegan"
    text = edited("    settled_by: [unfined]\n", "    settled_by: []\n")
    assert load_knowledge_base(lexicon=write(tmp_path, text)).check("unfined wine").verdict == "maybe"


def test_removed_source_link_no_longer_links(tmp_path: Path) -> None:
    assert knowledge.check("glycerin from coconut oil").verdict == "vegan"
    text = edited("source_links: [from, of,", "source_links: [of,")
    assert load_knowledge_base(lexicon=write(tmp_path, text)).check("glycerin from coconut oil").verdict == "maybe"


def test_processing_doubt_words_are_checked(tmp_path: Path) -> None:
    text = edited("    aid_words: [fined, fining, clarified]", "    aid_words: [fined, Fining, fined]")
    message = lexicon_error(tmp_path, text)
    assert f"lexicon.yaml:{line_of(text, 'aid_words:')}: field 'processing_doubts[0].aid_words[1]'" in message
    text = edited("    aid_words: [fined, fining, clarified]", "    aid_words: [fined, fining, fined]")
    assert "duplicate word 'fined', already at processing_doubts[0].aid_words[0]" in lexicon_error(tmp_path, text)


def test_hash_changes_with_a_pattern(tmp_path: Path) -> None:
    text = edited('      - "laneth|laneths #?"\n', '      - "laneth #"\n')
    assert load_knowledge_base(lexicon=write(tmp_path, text)).sha256 != knowledge.knowledge_sha256()
