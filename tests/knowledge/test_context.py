"""Context: a longer name wins over its parts; markers change the verdict ("unfined", "no animal ingredients")."""

from __future__ import annotations

from pathlib import Path

import pytest

from veganalign import knowledge
from veganalign.knowledge import load_knowledge_base


def verdict(text: str) -> str:
    return knowledge.check(text).verdict


# --------------------------------------------------------------------------- the longest name wins

# Plant foods (and one meat dish) whose names hold an animal word or a material.
COMPOUNDS = [
    ("tapioca pearls", "vegan"),
    ("sago pearls", "vegan"),
    ("pearl onions", "vegan"),
    ("pearl barley", "vegan"),
    ("peanut butter", "vegan"),
    ("coconut milk", "vegan"),
    ("coconut meat", "vegan"),
    ("jackfruit meat", "vegan"),
    ("butternut", "vegan"),
    ("butternut squash", "vegan"),
    ("cream of tartar", "vegan"),
    ("egg plant", "vegan"),
    ("eggplant", "vegan"),
    ("head cheese", "non_vegan"),  # brawn: meat in aspic, not cheese, and not vegan
]


@pytest.mark.parametrize(("name", "expected"), COMPOUNDS)
def test_compound_names(name: str, expected: str) -> None:
    result = knowledge.check(name)
    assert result.verdict == expected, result.summary
    entry = knowledge.lookup(name)
    if entry is not None:  # once the data has the name, it is what matches, not its parts
        assert [i.name for i in result.items] == [entry.name], result.summary


@pytest.mark.parametrize(("name", "expected"), COMPOUNDS)
def test_compound_names_in_a_list_and_a_sentence(name: str, expected: str) -> None:
    assert verdict(f"Water, sugar, {name}, salt") in (expected, "maybe")  # sugar is a maybe
    sentence = knowledge.check(f"I bought some {name} at the market.")
    assert sentence.verdict == expected, sentence.summary


def test_coconut_milk_sugar_tapioca_pearls_is_not_the_gem() -> None:
    result = knowledge.check("Coconut milk, sugar, tapioca pearls")
    assert result.verdict == "maybe", result.summary  # the sugar, not a pearl
    assert "pearl" not in [i.name for i in result.items]


ENTRIES = """\
entries:
  - name: pearl
    status: non_vegan
    category: material
    reason: A gem grown by oysters and mussels.
    alternatives: [{name: glass pearl, good_for: [jewellery]}]
  - name: tapioca pearls
    status: vegan
    category: plant_food
    reason: Balls of cassava starch.
    synonyms: [boba]
  - name: cheese
    status: non_vegan
    category: dairy
    reason: Made from milk.
    alternatives: [{name: cashew cheese, good_for: [flavour]}]
  - name: head cheese
    status: non_vegan
    category: meat
    reason: Brawn, meat set in aspic.
    alternatives: [{name: terrine of mushrooms, good_for: [starter]}]
  - name: butter
    status: non_vegan
    category: dairy
    reason: Churned cream.
    alternatives: [{name: olive oil, good_for: [cooking]}]
  - name: peanut butter
    status: vegan
    category: plant_food
    reason: Ground peanuts.
  - name: butternut squash
    status: vegan
    category: plant_food
    reason: A winter squash.
    synonyms: [butternut]
"""


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory: pytest.TempPathFactory) -> knowledge.KnowledgeBase:
    path = tmp_path_factory.mktemp("kb") / "entries.yaml"
    path.write_text(ENTRIES, encoding="utf-8")
    return load_knowledge_base([path])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tapioca pearls", ["tapioca pearls"]),
        ("pearls", ["pearl"]),  # the part alone is the material
        ("tapioca, pearls", ["pearl"]),  # a name never runs over punctuation
        ("pearl earrings and tapioca pearls", ["pearl", "tapioca pearls"]),
        ("head cheese", ["head cheese"]),
        ("cheese", ["cheese"]),
        ("peanut butter and butter", ["peanut butter", "butter"]),
        ("butternut", ["butternut squash"]),
        ("boba", ["tapioca pearls"]),
    ],
)
def test_longest_name_wins_over_its_parts(small_kb: knowledge.KnowledgeBase, text: str, expected: list[str]) -> None:
    assert [i.name for i in small_kb.check(text).items] == expected


# --------------------------------------------------------------------------- markers and qualifiers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wine, unfined and unfiltered", "vegan"),
        ("Unfined wine", "vegan"),
        ("Unfined, unfiltered beer", "vegan"),
        ("This wine is not fined.", "vegan"),
        ("Wine (fined with casein)", "non_vegan"),
        ("Beer fined with isinglass", "non_vegan"),
        ("Red wine", "maybe"),  # fining unknown
        ("wine", "maybe"),
        ("Wine (grapes, sulphites)", "maybe"),  # what it is made of says nothing of the fining
        ("Is this wine unfined?", "maybe"),  # a question says nothing either
        ("Vegan wine", "vegan"),
    ],
)
def test_fining(text: str, expected: str) -> None:
    assert verdict(text) == expected, knowledge.check(text).summary


def test_fined_with_a_plant_or_mineral_agent() -> None:
    # Needs an entry for the agent: bentonite (clay) or pea protein.
    for agent in ("bentonite", "pea protein"):
        if knowledge.lookup(agent) is not None and knowledge.lookup(agent).status == "vegan":
            assert verdict(f"Wine fined with {agent}") == "vegan", agent


def test_unfined_says_why() -> None:
    wine = knowledge.check("Wine, unfined and unfiltered").items[0]
    assert wine.counts_as == "vegan" and wine.qualifier == "unfined" and "fining" in (wine.note or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Certified vegan. Ingredients: cocoa mass, sugar, natural flavouring", "vegan"),
        ("Vegan certified chocolate", "vegan"),
        ("plant-based", "vegan"),
        ("Plant-based burger", "vegan"),
        ("egg-free mayo", "vegan"),
        ("dairy-free chocolate", "vegan"),
        ("No animal ingredients", "vegan"),
        ("Contains no animal ingredients: sugar, cocoa butter, natural flavouring", "vegan"),
        ("Free from animal products. Ingredients: oats, sugar", "vegan"),
        ("Contains no animal-derived ingredients: glycerin, water", "vegan"),
        ("100% animal-free", "vegan"),
        ("animal-free whey protein", "vegan"),
        ("Not suitable for vegans", "non_vegan"),
        ("No animal ingredients? Whey powder, sugar", "non_vegan"),  # a question claims nothing
        ("No animal testing. Ingredients: beeswax, shea butter", "non_vegan"),  # testing is no ingredient
    ],
)
def test_vegan_markers(text: str, expected: str) -> None:
    assert verdict(text) == expected, knowledge.check(text).summary


def test_negation_stops_at_a_list_header() -> None:
    result = knowledge.check("Contains no animal ingredients: sugar, cocoa butter")
    assert not any(i.negated for i in result.items), "the list after the header is what it contains"
    assert "vegan (no animal ingredients)" in result.claims


def test_an_amount_is_not_an_unrecognised_ingredient() -> None:
    result = knowledge.check("Oat flakes, whole grain, 500 g")
    assert "500 g" not in result.unknown_terms


@pytest.mark.parametrize("text", ["dairy-free", "egg-free", "meat-free"])
def test_a_free_marker_alone_says_too_little(text: str) -> None:
    assert verdict(text) == "unknown"


# --------------------------------------------------------------------------- names with punctuation in them


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("lecithin (soy)", "soy lecithin"),
        ("lecithin (sunflower)", "sunflower lecithin"),
        ("propane-1,2-diol", "propylene glycol"),
        ("natural red no. 4", "carmine"),
        ("caprylic/capric triglyceride", "caprylic/capric triglyceride"),
    ],
)
def test_names_with_punctuation(text: str, name: str) -> None:
    if knowledge.lookup(name) is None:
        pytest.skip(f"no entry {name!r} in the data")
    result = knowledge.check(f"Ingredients: water, {text}, salt")
    matched = [i for i in result.items if i.name == name]
    assert matched and matched[0].text == text, result.summary
    assert text not in result.unknown_terms


def test_a_bracketed_name_ends_at_its_bracket(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(
        "entries:\n  - {name: soy lecithin, status: vegan, category: additive, reason: From soy.,"
        " synonyms: ['lecithin (soy)']}\n  - {name: blood fish and bone, status: non_vegan, category: household,"
        " reason: A fertiliser., synonyms: ['blood, fish and bone'], alternatives: [{name: seaweed, good_for: [soil]}]}"
        "\n  - {name: salt, status: vegan, category: plant_food, reason: A mineral.}\n",
        encoding="utf-8",
    )
    kb = load_knowledge_base([path])
    item = kb.check("Salt, lecithin (soy), salt").items[1]
    assert (item.name, item.text) == ("soy lecithin", "lecithin (soy)")
    result = kb.check("salt, blood, fish and bone, salt")
    assert [i.name for i in result.items] == ["salt", "blood fish and bone", "salt"]
    assert result.unknown_terms == [] and result.verdict == "non_vegan"
    assert [i.name for i in kb.check("lecithin soy").items] == ["soy lecithin"]  # without the brackets too


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("whey (milk)", "non_vegan"),
        ("lecithin (egg)", "non_vegan"),
        ("lecithin (soya)", "vegan"),
        ("flour (wheat)", "vegan"),
    ],
)
def test_allergen_brackets(text: str, expected: str) -> None:
    assert verdict(text) == expected, knowledge.check(text).summary


# --------------------------------------------------------------------------- compound names


@pytest.mark.parametrize(
    "text",
    [
        "cashew mozzarella",  # a cheese named by kind takes the milk bases
        "walnut parmesan",
        "lentil bolognese",
        "king oyster mushroom scallops",
        "piñatex leather",  # plant leathers
        "plant-based cream cheese",  # the qualifier heads a data name ("plant-based cream") that runs on
        "vegan block butter",
        "dairy-free cream cheese",
        "dairy-free salted caramel ice cream",  # the qualifier of the item before heads the compound
        "silk-like polyester blouse",  # "-like" with its hyphen
    ],
)
def test_compound_plant_names_are_vegan(text: str) -> None:
    assert verdict(text) == "vegan"


@pytest.mark.parametrize(
    "text",
    [
        "cashew chicken",  # nuts make cheese, not chicken
        "garlic butter",
        "olive leather",  # hide tanned with olive leaves
        "vegetable-tanned leather",
        "canvas leather trainers",  # canvas and leather
        "vegan mayo chicken wrap",  # chicken with vegan mayo
        "chicken like my mum made",  # "like" without the hyphen
        "lactose-free milk",  # cow's milk without the lactose
        "casein-free cheese",
    ],
)
def test_compound_animal_names_stay_non_vegan(text: str) -> None:
    assert verdict(text) == "non_vegan"


@pytest.mark.parametrize(
    ("text", "without"),
    [
        ("honey-free granola bites", "honey"),
        ("shellac-free nail polish", "shellac"),
        ("Free from lanolin: lip balm", "lanolin"),
    ],
)
def test_a_product_free_of_one_animal_ingredient_is_a_maybe(text: str, without: str) -> None:
    result = knowledge.check(text)
    assert result.verdict == "maybe", result.summary
    assert f"made without {without}" in result.summary


@pytest.mark.parametrize("text", ["no honey", "a cake made without eggs", "sugar-free gum"])
def test_only_a_free_marker_makes_that_maybe(text: str) -> None:
    assert verdict(text) == "unknown"


def test_a_dish_free_of_an_animal_ingredient_is_a_maybe() -> None:
    result = knowledge.check("cheese-free pesto")
    assert result.verdict == "maybe"
    assert [i.qualifier for i in result.items if i.name == "pesto"] == ["cheese-free"]
