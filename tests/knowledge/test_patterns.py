"""Name patterns (lexicon.yaml `patterns:`): the shipped families, the template language, and its validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from veganalign import knowledge
from veganalign.knowledge import KnowledgeBaseError, load_knowledge_base
from veganalign.knowledge.kb import default_lexicon_file
from veganalign.knowledge.schema import parse_template

SHIPPED = default_lexicon_file().read_text(encoding="utf-8")
PATTERNS_HEAD = "\npatterns:\n"


def verdict(text: str) -> str:
    return knowledge.check(text).verdict


def names(text: str, kb: knowledge.KnowledgeBase | None = None) -> list[str]:
    result = (kb or knowledge.load_knowledge_base()).check(text)
    return [i.name for i in result.items]


def with_patterns(body: str, words: str = "") -> str:
    """The shipped lexicon with its patterns replaced by ``body`` (and pattern_words by ``words`` if given)."""
    assert SHIPPED.count(PATTERNS_HEAD) == 1
    text = SHIPPED[: SHIPPED.index(PATTERNS_HEAD)] + PATTERNS_HEAD + body
    if words:
        head, _, rest = text.partition("\npattern_words:\n")
        text = head + "\npattern_words:\n" + words + rest[rest.index("\npatterns:\n") :]
    return text


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ENTRIES = """\
entries:
  - name: tallow
    status: non_vegan
    category: animal_fat
    reason: Rendered beef or mutton fat.
    alternatives:
      - {name: vegetable shortening, good_for: [frying]}
  - name: water
    status: vegan
    category: plant_food
    reason: Water.
  - name: sodium tallowate
    status: non_vegan
    category: cosmetic_ingredient
    reason: Soap made from tallow.
    alternatives:
      - {name: sodium olivate, good_for: [soap]}
"""


def custom_kb(tmp_path: Path, patterns: str, words: str = "") -> knowledge.KnowledgeBase:
    lexicon = write(tmp_path, "lexicon.yaml", with_patterns(patterns, words))
    return load_knowledge_base([write(tmp_path, "entries.yaml", ENTRIES)], lexicon)


def lexicon_error(tmp_path: Path, patterns: str, words: str = "") -> str:
    with pytest.raises(KnowledgeBaseError) as info:
        custom_kb(tmp_path, patterns, words)
    return str(info.value)


# --------------------------------------------------------------------------- the shipped patterns


@pytest.mark.parametrize(
    "text",
    [
        "hydrolysed animal protein",
        "Hydrolyzed Animal Protein",
        "potassium cocoyl hydrolyzed animal protein",
        "TEA-cocoyl hydrolyzed animal protein",
        "Potassium Coco-Hydrolyzed Animal Protein",
        "Cocodimonium Hydroxypropyl Hydrolyzed Animal Protein",
        "hydrolyzed animal protein from cattle",
        "animal protein hydrolysate",
    ],
)
def test_hydrolysed_animal_protein_family(text: str) -> None:
    result = knowledge.check(text)
    assert result.verdict == "non_vegan", result.summary
    assert result.items[0].name == "hydrolysed animal protein"
    assert result.items[0].text == text.removesuffix(" from cattle"), "the INCI prefix words belong to the name"


def test_tea_in_an_inci_name_is_not_the_drink() -> None:
    assert "tea" not in names("TEA-cocoyl hydrolyzed animal protein")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("tallowamine", "tallow derivative"),
        ("tallowamide", "tallow derivative"),
        ("potassium hydrogenated tallowate", "tallow derivative"),
        ("ditallowdimonium chloride", "tallow derivative"),
        ("talloweth-6", "tallow derivative"),
        ("laneth-10 acetate", "lanolin derivative"),
        ("Laneth-16", "lanolin derivative"),
        ("isopropyl lanolate", "lanolin derivative"),
        ("lanosterols", "lanolin derivative"),
    ],
)
def test_tallow_and_lanolin_derivatives(text: str, name: str) -> None:
    result = knowledge.check(text)
    assert result.verdict == "non_vegan", result.summary
    assert name in [i.name for i in result.items]


@pytest.mark.parametrize("text", ["ceteth-20", "Oleth-10", "steareth-21", "ceteareth-25", "stearyl alcohol"])
def test_fatty_alcohols_of_unknown_source_are_a_maybe(text: str) -> None:
    assert verdict(text) == "maybe", knowledge.check(text).summary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("adrenals of cattle", "non_vegan"),
        ("gelatin from fish", "non_vegan"),
        ("Gelatin (from pigs)", "non_vegan"),
        ("glycerin (animal)", "non_vegan"),
        ("stearic acid of animal origin", "non_vegan"),
        ("animal-derived glycerin", "non_vegan"),
        ("lecithin from egg", "non_vegan"),
        ("stearic acid of vegetable origin", "vegan"),
        ("glycerin from coconut oil", "vegan"),
        ("plant-derived squalene", "vegan"),
        ("vitamin D3 from lichen", "vegan"),
    ],
)
def test_a_named_source_decides(text: str, expected: str) -> None:
    assert verdict(text) == expected, knowledge.check(text).summary


def test_a_source_settles_the_maybe_it_follows() -> None:
    glycerin, source = knowledge.check("glycerin (animal)").items
    assert glycerin.counts_as is None and glycerin.qualifier == "specified"
    assert source.name == "animal source" and source.counts_as == "non_vegan" and source.alternatives


@pytest.mark.parametrize("text", ["free from animal testing", "not tested on animals", "an animal sanctuary"])
def test_animal_alone_is_no_source(text: str) -> None:
    assert "animal source" not in names(text)


@pytest.mark.parametrize("text", ["tapioca pearls", "sago pearls", "boba pearls", "pearl onions", "pearl couscous"])
def test_food_pearls_are_not_the_gem(text: str) -> None:
    assert verdict(text) == "vegan", knowledge.check(text).summary


@pytest.mark.parametrize("text", ["pearls", "pearl necklace", "mother of pearl buttons"])
def test_the_gem_is_still_the_gem(text: str) -> None:
    assert verdict(text) == "non_vegan"


def test_lookup_finds_a_whole_name_a_pattern_matches() -> None:
    assert knowledge.lookup("laneth-10").name == "lanolin derivative"
    assert knowledge.lookup("Tallowamine").name == "tallow derivative"
    assert knowledge.lookup("tallow").name == "tallow"  # the entry itself
    assert knowledge.lookup("adrenals of cattle") is None  # only part of it is a pattern
    assert knowledge.alternatives("laneth-10")


# --------------------------------------------------------------------------- the template language


@pytest.mark.parametrize(
    ("template", "text", "matched"),
    [
        ("tallow*", "tallowamine", "tallowamine"),
        ("*stearate", "sorbitan tristearate", "tristearate"),
        ("laneth #", "laneth-10", "laneth-10"),
        ("of|from {beasts}", "bones from yaks", "from yaks"),
        ("{beasts}? tallow*", "yak tallowate", "yak tallowate"),
        ("(beast)", "fat (beast)", "beast"),
    ],
)
def test_template_elements(tmp_path: Path, template: str, text: str, matched: str) -> None:
    patterns = f'  - {{name: test family, match: ["{template}"], status: maybe, category: additive, reason: A test.}}\n'
    kb = custom_kb(tmp_path, patterns, "  beasts: [yak, yaks]\n")
    items = [i for i in kb.check(text).items if i.name == "test family"]
    assert [i.text for i in items] == [matched]


@pytest.mark.parametrize(("template", "text"), [("(beast)", "beast"), ("of|from {beasts}", "from, yaks")])
def test_brackets_and_punctuation_are_respected(tmp_path: Path, template: str, text: str) -> None:
    patterns = f'  - {{name: test family, match: ["{template}"], status: maybe, category: additive, reason: A test.}}\n'
    kb = custom_kb(tmp_path, patterns, "  beasts: [yak, yaks]\n")
    assert "test family" not in names(text, kb)


def test_entry_wins_a_tie_and_a_longer_pattern_wins(tmp_path: Path) -> None:
    patterns = """\
  - name: tallow soap
    match: ["{salts} tallow*"]
    status: non_vegan
    category: cosmetic_ingredient
    reason: A tallow soap.
    alternatives: [{name: olive soap, good_for: [soap]}]
"""
    kb = custom_kb(tmp_path, patterns, "  salts: [sodium, potassium]\n")
    assert names("sodium tallowate", kb) == ["sodium tallowate"]  # the data's own name, same length
    assert names("potassium tallowate", kb) == ["tallow soap"]  # longer than any entry there


def test_entry_pattern_finds_the_entry_and_is_ignored_without_it(tmp_path: Path) -> None:
    kb = custom_kb(tmp_path, '  - {entry: tallow, match: ["tallow*"]}\n  - {entry: nowhere, match: ["xyzzy*"]}\n')
    result = kb.check("tallowamine, xyzzyamine")
    assert [i.name for i in result.items] == ["tallow"]
    assert result.items[0].text == "tallowamine" and result.items[0].alternatives


def test_an_entry_of_the_patterns_name_is_used(tmp_path: Path) -> None:
    patterns = '  - {name: tallow, match: ["tallow*"], status: maybe, category: additive, reason: Own.}\n'
    item = custom_kb(tmp_path, patterns).check("tallowamine").items[0]
    assert (item.name, item.status, item.reason) == ("tallow", "non_vegan", "Rendered beef or mutton fat.")


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("tal*", "stems of 4+ letters"),
        ("Tallow", "is not a word"),
        ("tallow-amine", "is not a word"),
        ("#", "at least one word, stem or list that is not optional"),
        ("tallow? beef?", "at least one word, stem or list that is not optional"),
        ("()", "has no words"),
    ],
)
def test_bad_template_names_file_line_and_field(tmp_path: Path, template: str, problem: str) -> None:
    patterns = f'  - name: x\n    match: ["{template}"]\n    status: maybe\n    category: additive\n    reason: X.\n'
    message = lexicon_error(tmp_path, patterns)
    text = with_patterns(patterns)
    line = text.splitlines().index(f'    match: ["{template}"]') + 1
    assert f"lexicon.yaml:{line}: field 'patterns[0].match[0]'" in message
    assert problem in message


def test_unknown_list_and_variant_spelling_in_a_template(tmp_path: Path) -> None:
    patterns = '  - {name: x, match: ["{nowhere} hydrolyzed protein"], status: maybe, category: additive, reason: X.}\n'
    message = lexicon_error(tmp_path, patterns)
    assert "field 'patterns[0].match[0]'" in message
    assert "no pattern_words list is named 'nowhere'" in message
    assert "'hydrolyzed' is a variant spelling: the matcher reads it as 'hydrolysed'" in message


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ('{match: ["tallow*"]}', "give entry, or name, status, category and reason"),
        ('{match: ["tallow*"], name: x, status: maybe}', "missing category, reason"),
        ('{match: ["tallow*"], entry: tallow, name: x}', "not both"),
        ('{match: ["tallow*"], name: x, status: non_vegan, category: meat, reason: X.}', "at least one alternative"),
        ("{match: [], entry: tallow}", "match needs at least one template"),
        ('{matches: ["tallow*"], entry: tallow}', "unknown field"),
    ],
)
def test_bad_pattern_fields(tmp_path: Path, pattern: str, problem: str) -> None:
    message = lexicon_error(tmp_path, f"  - {pattern}\n")
    assert "lexicon.yaml:" in message and "field 'patterns[0]" in message
    assert problem in message


def test_list_name_and_list_words_are_checked(tmp_path: Path) -> None:
    message = lexicon_error(tmp_path, "  []\n", "  Beasts: [yak]\n  beasts: [Yak, yak]\n")
    assert "'Beasts' is not a list name" in message
    assert "field 'pattern_words.beasts[0]'" in message and "not one word" in message
    message = lexicon_error(tmp_path, "  []\n", "  beasts: [yak, ox, yak]\n")
    assert "field 'pattern_words.beasts[2]'" in message
    assert "duplicate word 'yak', already at pattern_words.beasts[0]" in message


def test_parse_template() -> None:
    template = parse_template("(of|from {beasts}? tallow* *tallowate #?)")
    assert template.open_bracket and template.close_bracket
    first, beasts, stem, suffix, number = template.elements
    assert first.words == ("of", "from") and not first.optional
    assert beasts.lists == ("beasts",) and beasts.optional
    assert stem.prefixes == ("tallow",) and suffix.suffixes == ("tallowate",)
    assert number.number and number.optional


def test_a_patterns_own_entry_is_sourced_to_the_lexicon() -> None:
    kb = knowledge.load_knowledge_base()
    assert kb.source(kb.lookup("laneth-10")) == "lexicon.yaml: patterns"
    assert kb.lookup("laneth-10") not in kb.entries  # entries are the data's
