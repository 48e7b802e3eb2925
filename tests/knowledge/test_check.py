"""``check(text)`` on the tricky cases one by one, its result structure, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.knowledge import CheckResult, check

# --------------------------------------------------------------------------- verdicts


def verdict(text: str) -> str:
    return check(text).verdict


PLANT_NAMES_WITH_ANIMAL_WORDS = [
    "peanut butter",
    "cocoa butter",
    "shea butter",
    "coconut milk",
    "butternut squash",
    "butter beans",
    "oyster mushrooms",
    "chicken of the woods",
    "pan-fried chicken of the woods",
    "eggplant",
    "cream of tartar",
    "milk thistle",
    "lamb's lettuce",
    "sugar snap peas",
    "beefsteak tomatoes",
    "almond milk",
    "pistachio milk",
    "cashew cheese",
    "cauliflower steak",
    "seitan kebab",
    "cashew cream",
    "silken tofu chocolate mousse",
    "crab apple jelly",
    "milk of magnesia",
]


@pytest.mark.parametrize("text", PLANT_NAMES_WITH_ANIMAL_WORDS)
def test_plant_names_with_animal_words_are_vegan(text: str) -> None:
    assert verdict(text) == "vegan", check(text).summary


NEGATED = [
    "egg-free pasta: durum wheat semolina, water",
    "Egg free pasta: durum wheat semolina, water",
    "dairy-free cheese",
    "dairy free butter",
    "non-dairy creamer: coconut oil, pea protein",
    "Free from milk, eggs and honey. Ingredients: oats, dates",
    "oats, maple syrup, almonds. No gelatin.",
    "Made without honey: oats, maple syrup, almonds",
    "Oats, coconut oil. Dairy, egg and gluten free.",
    "This moisturiser contains no lanolin: aqua, shea butter",
    "Without beeswax: candelilla wax, castor oil, shea butter",
    "Replace the eggs with flax eggs",
]


@pytest.mark.parametrize("text", NEGATED)
def test_negations_do_not_count(text: str) -> None:
    assert verdict(text) == "vegan", check(text).summary


VEGAN_QUALIFIERS = [
    "vegan leather",
    "faux fur",
    "faux leather handbag",
    "PU leather wallet",
    "imitation leather",
    "plant-based milk",
    "plant based milk",
    "vegan cheese",
    "mock duck",
    "chicken-style seitan pieces",
    "vegan worcestershire sauce",
    "egg replacer",
    "soya alternative to yogurt",
    "down alternative duvet",
    "leather-look trousers (polyurethane)",
]


@pytest.mark.parametrize("text", VEGAN_QUALIFIERS)
def test_vegan_qualifiers(text: str) -> None:
    assert verdict(text) == "vegan", check(text).summary


QUALIFIERS_THAT_ARE_NOT_VEGAN = [
    ("imitation crab", "non_vegan"),  # surimi: fish
    ("imitation crab (surimi)", "non_vegan"),
    ("worcestershire sauce (anchovies)", "non_vegan"),
    ("vegetarian cheddar", "non_vegan"),  # still dairy
    ("free-range eggs", "non_vegan"),  # free range is not egg-free
    ("lactose-free milk", "non_vegan"),  # still cow's milk
    ("meat-free sausages", "maybe"),  # may hold egg
    ("chicken flavour crisps", "maybe"),  # usually flavouring
    ("patatas fritas sabor jamón", "maybe"),  # the flavour named first, as in Spanish
    ("chips goût bacon", "maybe"),
    ("salsa sabor a queso", "maybe"),  # one small word between
    ("sabor: jamón, queso", "non_vegan"),  # a colon: a list, not a flavour
    ("bocadillo de jamón", "non_vegan"),  # "de" alone names no flavour
    ("grass-fed butter", "non_vegan"),
    ("garlic butter", "non_vegan"),  # a flavour, not a plant butter
    ("chocolate milk", "non_vegan"),
]


@pytest.mark.parametrize(("text", "expected"), QUALIFIERS_THAT_ARE_NOT_VEGAN)
def test_qualifiers_are_specific_not_a_blanket(text: str, expected: str) -> None:
    assert verdict(text) == expected, check(text).summary


@pytest.mark.parametrize("spelling", ["E120", "E 120", "E-120", "e120", "e 120", "(E120)", "colour (E120)"])
def test_e_number_spellings(spelling: str) -> None:
    result = check(spelling)
    assert result.verdict == "non_vegan"
    assert [i.name for i in result.items if i.counts_as] == ["carmine"]


@pytest.mark.parametrize("spelling", ["E472e", "E472(e)", "E 472e", "e-472e"])
def test_e_number_with_letter(spelling: str) -> None:
    assert verdict(spelling) == "maybe"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Caesar dressing", "non_vegan"),  # judged by its standard recipe...
        ("Caesar dressing: olive oil, capers, nutritional yeast, lemon juice", "vegan"),  # ...until given
        ("Pesto (basil, Grana Padano cheese, pine nuts)", "non_vegan"),
        ("Almond croissant made with vegan butter", "maybe"),  # one part swapped, the egg wash unknown
        ("Egg-free quiche", "maybe"),  # may still hold cream and cheese
    ],
)
def test_dishes_are_judged_by_recipe_until_the_text_gives_one(text: str, expected: str) -> None:
    assert verdict(text) == expected, check(text).summary


def test_bare_additive_code_after_a_class_name() -> None:
    # Australia and New Zealand print codes without the E.
    assert verdict("Colour (120)") == "non_vegan"
    assert verdict("Item 4471-B") == "unknown"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Eggs", "non_vegan"),
        ("anchovies", "non_vegan"),
        ("PRAWNS", "non_vegan"),
        ("Whey Powder (MILK)", "non_vegan"),
        ("Contains: Milk, Soy", "non_vegan"),
    ],
)
def test_case_plurals_and_allergen_notes(text: str, expected: str) -> None:
    assert verdict(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("emulsifier (soy lecithin)", "vegan"),
        ("emulsifier (sunflower lecithin)", "vegan"),
        ("vitamin D3 (from lichen)", "vegan"),
        ("vitamin D3 (lanolin)", "non_vegan"),
        ("emulsifier (E471)", "maybe"),
        ("natural flavouring (contains celery)", "maybe"),
    ],
)
def test_a_bracket_settles_a_generic_item(text: str, expected: str) -> None:
    assert verdict(text) == expected, check(text).summary


MAYBE = ["sugar", "natural flavours", "mono- and diglycerides", "E471", "vitamin D3", "wine", "glycerin"]


@pytest.mark.parametrize("text", MAYBE)
def test_depends_on_the_source(text: str) -> None:
    assert verdict(text) == "maybe"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("These boots have a suede upper and wool lining", "non_vegan"),
        ("Shell: 100% polyester; Fill: 90% duck down, 10% feathers", "non_vegan"),
        ("Shell: 100% polyester; Fill: 100% recycled polyester", "vegan"),
        ("We went swimming with dolphins", "non_vegan"),
        ("tickets for the dolphin show", "non_vegan"),
        ("Aqua, Glycerin, Cera Alba, Lanolin, Parfum", "non_vegan"),
        ("a nice day at the park", "unknown"),
    ],
)
def test_sentences_materials_cosmetics_activities(text: str, expected: str) -> None:
    assert verdict(text) == expected, check(text).summary


# --------------------------------------------------------------------------- may contain


MAY_CONTAIN = [
    "May contain milk. Ingredients: oats, raisins, sunflower seeds",
    "Oats, raisins, sunflower seeds (may contain traces of egg)",
    "Ingredients: oats, raisins, sunflower seeds. Made in a factory that also handles eggs and milk.",
    "Oats, raisins, sunflower seeds. Produced on equipment that also processes milk.",
    "Oats, raisins, sunflower seeds. Traces of milk.",
    "Oats, raisins, sunflower seeds. Not suitable for milk allergy sufferers.",
]


@pytest.mark.parametrize("text", MAY_CONTAIN)
def test_may_contain_is_reported_apart_and_does_not_decide(text: str) -> None:
    result = check(text)
    assert result.verdict == "vegan", result.summary
    assert result.may_contain, "the warning should be reported"
    assert all(i.counts_as is None for i in result.items if i.name in {"milk", "egg"})


def test_may_contain_stops_at_the_sentence_end() -> None:
    result = check("May contain nuts. Ingredients: oats, milk powder")
    assert result.verdict == "non_vegan"
    assert [i.name for i in result.may_contain] == ["nuts"]
    assert any(i.name == "milk powder" and i.counts_as == "non_vegan" for i in result.items)


def test_an_ingredient_after_a_may_contain_line_still_counts() -> None:
    assert verdict("May contain peanuts Ingredients: sugar, whey") == "non_vegan"


# --------------------------------------------------------------------------- claims


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Suitable for vegans", "vegan"),
        ("Certified vegan. Ingredients: cocoa mass, sugar, natural flavouring", "vegan"),
        ("Not suitable for vegans", "non_vegan"),
        ("Suitable for vegetarians. Not suitable for vegans.", "non_vegan"),
        ("Is this wine vegan?", "maybe"),  # a question claims nothing
        ("Vegan chocolate with milk powder", "non_vegan"),  # an unqualified animal item still counts
    ],
)
def test_label_claims(text: str, expected: str) -> None:
    assert verdict(text) == expected, check(text).summary


# --------------------------------------------------------------------------- result structure


def test_result_items_carry_span_reason_status_and_alternatives() -> None:
    text = "Sugar, wheat flour, whey powder (milk), E120, natural flavours"
    result = check(text)
    assert isinstance(result, CheckResult)
    assert result.verdict == "non_vegan"
    by_name = {i.name: i for i in result.items}
    whey = next(i for i in result.items if i.text.lower().startswith("whey"))
    assert text[whey.start : whey.end] == whey.text
    assert whey.status == whey.counts_as == "non_vegan"
    assert whey.reason and whey.alternatives
    assert by_name["carmine"].text == "E120"
    assert by_name["carmine"].category == "additive"
    assert any(i.counts_as == "maybe" for i in result.items)
    assert "non_vegan" in result.summary


def test_negated_item_is_listed_but_does_not_count() -> None:
    result = check("egg-free pasta: durum wheat semolina, water")
    egg = next(i for i in result.items if i.name == "egg")
    assert egg.negated and egg.counts_as is None and not egg.alternatives


def test_unknown_terms_of_a_label_list() -> None:
    result = check("Water, sugar, blorbium, quixotine")
    assert result.unknown_terms == ["blorbium", "quixotine"]


def test_to_dict_is_json_serialisable() -> None:
    data = json.loads(json.dumps(check("honey, oats (may contain milk)").to_dict()))
    assert data["verdict"] == "non_vegan"
    assert set(data) == {"text", "verdict", "summary", "items", "may_contain", "unknown_terms", "claims"}
    assert data["items"][0]["alternatives"][0]["name"]
    assert data["may_contain"][0]["name"] == "milk"


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_text_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        check(text)


def test_binary_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="binary"):
        check("milk\x00\x01")


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_json_output() -> None:
    result = runner.invoke(app, ["check", "--json", "Sugar, whey powder (milk), E 120"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "non_vegan"
    assert {i["name"] for i in data["items"]} >= {"carmine"}


def test_cli_table_output_shows_verdict_reason_and_alternatives() -> None:
    result = runner.invoke(app, ["check", "honey"])
    assert result.exit_code == 0, result.output
    assert "Verdict: non_vegan" in result.stdout
    assert "honey" in result.stdout.lower()
    honey = check("honey").items[0]
    assert honey.alternatives[0].name in result.stdout


def test_cli_reports_may_contain_apart() -> None:
    result = runner.invoke(app, ["check", "Oats, raisins. May contain milk."])
    assert result.exit_code == 0
    assert "May contain" in result.stdout and "Verdict: vegan" in result.stdout


def test_cli_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "label.txt"
    path.write_text("Ingredients: oats, honey\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "--file", str(path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["verdict"] == "non_vegan"


def test_cli_reads_stdin() -> None:
    result = runner.invoke(app, ["check", "-f", "-", "--json"], input="vegan leather boots")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["verdict"] == "vegan"


def _assert_clean_error(result: Result, needle: str) -> None:
    """Exit code 2 and one line on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["", "   "])
def test_cli_empty_text(text: str) -> None:
    _assert_clean_error(runner.invoke(app, ["check", text]), "empty")


def test_cli_no_input() -> None:
    _assert_clean_error(runner.invoke(app, ["check"]), "nothing to check")


def test_cli_text_and_file(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("milk", encoding="utf-8")
    _assert_clean_error(runner.invoke(app, ["check", "milk", "--file", str(path)]), "not both")


def test_cli_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    _assert_clean_error(runner.invoke(app, ["check", "--file", str(path)]), "binary")


def test_cli_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("cr\xe8me fra\xeeche".encode("latin-1"))
    _assert_clean_error(runner.invoke(app, ["check", "--file", str(path)]), "UTF-8")


def test_cli_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    _assert_clean_error(runner.invoke(app, ["check", "--file", str(empty)]), "empty")
    _assert_clean_error(runner.invoke(app, ["check", "--file", str(tmp_path / "nope.txt")]), "cannot read")
    _assert_clean_error(runner.invoke(app, ["check", "--file", str(tmp_path)]), "cannot read")


def test_console_script_end_to_end() -> None:
    script = Path(sys.executable).with_name("veganalign")
    if not script.exists():
        pytest.skip("the veganalign console script is not installed next to this Python")
    ok = subprocess.run(
        [str(script), "check", "--json", "Sugar, wheat flour, whey powder (milk), E120, natural flavours"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verdict"] == "non_vegan"
    bad = subprocess.run([str(script), "check", ""], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error:") and "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a dish or a maybe named before "Ingredients:" is the product's name: its list decides
        ("Pesto. Ingredients: basil, sunflower oil, pine nuts, salt.", "vegan"),
        ("Pesto. Ingredients: basil, sunflower oil, parmesan, salt.", "non_vegan"),
        ("Bread. Ingredients: wheat flour, water, yeast, salt.", "vegan"),
        # not a meat, milk or material named there, and not a wine's fining, which no list shows
        ("Milk chocolate. Ingredients: sugar, cocoa butter, cocoa mass.", "non_vegan"),
        ("Red wine. Ingredients: grapes, sulphites.", "maybe"),
        ("I make pesto with basil and parmesan.", "non_vegan"),
        # an allergen line after the list names no product: "Contains:" is not the list's header
        ("Ingredients: wheat flour, water, sugar, yeast, salt. Contains: WHEAT.", "maybe"),
        ("Water, tomatoes, pasta, natural flavouring. Contains: WHEAT.", "maybe"),
    ],
)
def test_a_product_name_before_its_ingredient_list_is_settled_by_the_list(text: str, expected: str) -> None:
    assert check(text).verdict == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "may contain" and "without" on labels in other languages
        ("Zutaten: Kakaomasse, Kakaobutter. Kann Spuren von Milch enthalten.", "vegan"),
        ("Ingrédients : pâte de cacao, beurre de cacao. Peut contenir des traces de lait.", "vegan"),
        ("Ingredientes: sémola de trigo duro, agua. Puede contener trazas de huevo.", "vegan"),
        ("Ingredienti: semola di grano duro, acqua. Può contenere tracce di uova.", "vegan"),
        ("Ingrediënten: tarwebloem, water, gist, zout. Kan sporen van melk bevatten.", "vegan"),
        ("Ingredientes: farinha de trigo, água, sal. Pode conter vestígios de ovo.", "vegan"),
        ("Zutaten: Weizenmehl, Wasser, Hefe, Salz, ohne Butter.", "vegan"),
        # and what they name as ingredients counts
        ("Zutaten: Zucker, Kakaobutter, Vollmilchpulver, Kakaomasse.", "non_vegan"),
        ("Ingredientes: harina de trigo, azúcar, huevos, mantequilla.", "non_vegan"),
        ("Ingrédients : farine de blé, beurre, sucre, œufs.", "non_vegan"),
    ],
)
def test_labels_in_other_languages(text: str, expected: str) -> None:
    assert check(text).verdict == expected, check(text).summary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a number with a unit or a percent sign is an amount, not a bare additive code (E1000, E100)
        ("Vitamin D3 1000 IU (25 µg). Ingredients: cellulose; cholecalciferol from lichen.", "vegan"),
        ("Ingredients: Sodium Bicarbonate (100%).", "vegan"),
        ("emulsifier (471)", "maybe"),  # still a code
        ("colour (120)", "non_vegan"),
        # INCI names the plant in brackets before its butter or milk
        ("Butyrospermum Parkii (Shea) Butter, Cocos Nucifera (Coconut) Milk, Aqua", "vegan"),
        ("Cera Alba (Beeswax), Butyrospermum Parkii (Shea) Butter", "non_vegan"),
        # a wine label may name only the grape
        ("Merlot 2021. 13.5% vol. Contains SULPHITES.", "maybe"),
        ("Peanuts, erythritol, salt. 0g added sugar.", "vegan"),
        # found by the second outside set
        ("Cocoa Body Butter. Ingredients: Butyrospermum Parkii (Shea) Butter, Cocos Nucifera Oil.", "vegan"),
        ("Prawn Cocktail Flavour Crisps. Ingredients: potatoes, sunflower oil, prawn cocktail seasoning.", "maybe"),
        ("Rosso Toscano IGT 2020. 13.5% vol.", "maybe"),
        ("Ingredients: Squalane. Our squalane is derived from sugarcane.", "vegan"),
        ("Ingredients: Glycerin, Aqua. The glycerin is derived from tallow.", "non_vegan"),
        ("Olive-derived squalane", "vegan"),
        ("Coconut Milk - Full Cream. Ingredients: coconut extract, water.", "vegan"),  # the plant milk's cream
        ("Peanut butter ice cream", "non_vegan"),  # a plant butter heads nothing
        ("Coconut milk, cream", "non_vegan"),
        (
            "Sodium Palmate, Sodium Palm Kernelate, Aqua, Vegetable Glycerin, Lavender Oil, Tetrasodium Etidronate",
            "vegan",
        ),
    ],
)
def test_label_conventions_found_by_outside_labels(text: str, expected: str) -> None:
    assert check(text).verdict == expected


# --- found by the third outside label set (2026-12-08) ------------------------------------------


@pytest.mark.parametrize(
    ("text", "item", "found"),
    [
        ("Let the sauce cool down, then serve.", "down", False),
        ("Store lying down, away from light.", "down", False),
        ("slow down and break down the onions", "down", False),
        ("a down jacket for winter", "down", True),
        ("Fill: 90% down, 10% feathers", "down", True),
        ("Is down vegan?", "down", True),
        ("Shade 212 Coral Reef, 13.5 ml", "coral", False),
        ("a necklace of coral beads", "coral", True),
    ],
)
def test_an_everyday_word_is_an_animal_product_only_in_its_context(text: str, item: str, found: bool) -> None:
    assert (item in [i.name for i in check(text).items]) is found


def test_an_allergen_list_is_negated_through_the_words_it_does_not_know() -> None:
    result = check("Contains no wheat, gluten, soy, milk, egg, fish or shellfish.")
    assert result.verdict != "non_vegan" and all(i.negated for i in result.items)
    led = check("Free from gluten, sulphites, milk and egg")
    assert {i.name for i in led.items if i.negated} >= {"milk", "egg"} and led.verdict != "non_vegan"
    # a list that goes on after "but" is not negated
    assert check("No gluten, but contains milk.").verdict == "non_vegan"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Not fined - vegan friendly.", "vegan"),  # the "not" is the fining's
        ("Not suitable for vegetarians or vegans.", "non_vegan"),
        ("Unsuitable for vegetarians or vegans", "non_vegan"),
        ("This is not strictly vegan.", "non_vegan"),
    ],
)
def test_a_negated_claim_has_only_claim_words_between(text: str, expected: str) -> None:
    assert check(text).verdict == expected


def test_an_animal_food_in_a_product_name_that_a_known_list_lacks_is_a_maybe() -> None:
    styled = check("Chocolate Cream Biscuits, 300 g. Ingredients: Wheat Flour, Sugar, Palm Oil, Salt.")
    assert styled.verdict == "maybe" and "cream" in styled.summary
    # a list part we cannot read may be the animal ingredient by another name
    unread = check("Prosciutto cotto, 100 g. Ingredienti: coscia di suino, sale, destrosio.")
    assert unread.verdict in ("non_vegan", "maybe")
    assert check("Honey Roasted Peanuts. Ingredients: peanuts, sugar, qwertyx.").verdict == "non_vegan"
    assert check("Butter Cookies. Ingredients: flour, sugar, butter (milk).").verdict == "non_vegan"


def test_directions_and_care_lines_are_no_ingredients() -> None:
    result = check(
        "Ingredients: oats, rice flour, salt. Store in a cool, dry place. Once opened, use within 5 days. "
        "Made in Portugal."
    )
    assert result.verdict == "vegan" and result.unknown_terms == []
    hoodie = check(
        "Unisex Hoodie. Body: 60% Cotton, 40% Recycled Polyester. Machine wash 30 °C, tumble dry low. "
        "Do not bleach. Made in Pakistan."
    )
    assert hoodie.verdict == "vegan"


def test_an_unknown_part_is_reported_with_its_brackets_closed() -> None:
    result = check("oats, salt, blorp (fizzle wump), sugar")
    assert "blorp (fizzle wump)" in result.unknown_terms


def test_a_name_with_its_own_code_in_brackets_stays_what_the_name_is() -> None:
    assert check("Polysorbate 60 (E435)").verdict == "maybe"


def test_fortified_foods_and_supplements_are_read_to_the_last_vitamin() -> None:
    cereal = check(
        "Ingredients: enriched flour (wheat flour, niacin, reduced iron, thiamine mononitrate, riboflavin, folic "
        "acid), beet sugar, salt, tripotassium phosphate. Vitamins and minerals: zinc oxide, vitamin B6 (pyridoxine "
        "hydrochloride), biotin, calcium pantothenate, potassium iodide, magnesium oxide, ferrous fumarate."
    )
    assert cereal.verdict == "vegan" and cereal.unknown_terms == []
    assert [i.name for i in check("dl-alpha tocopheryl acetate").items] != ["cellulose acetate"]
    assert check("heme iron polypeptide").verdict == "non_vegan"


def test_in_place_of_and_just_like_name_what_is_replaced() -> None:
    assert check("Use 1:1 in place of buttermilk.").verdict != "non_vegan"
    assert check("Use just like honey in tea.").verdict != "non_vegan"
    assert check("Tastes like bacon!").verdict != "non_vegan"
    assert check("I would like bacon").verdict == "non_vegan"


def test_organic_said_after_the_noun_in_other_languages() -> None:
    assert check("sucre de canne biologique").verdict == "vegan"
    assert check("zucchero di canna biologico").verdict == "vegan"


def test_a_components_amount_before_its_own_list() -> None:
    noodles = check(
        "Noodles (87%): Wheat Flour, Palm Oil, Salt; Seasoning (13%): Salt, Soy Sauce Powder, Yeast Extract"
    )
    assert noodles.verdict == "vegan"
    assert check("Noodles (87%): Wheat Flour, Egg, Salt; Seasoning: salt").verdict == "non_vegan"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Water, Malted BARLEY, Maize, Hops, Hop Extract, Yeast", "maybe"),  # a beer's list
        ("Grapes, Tartaric Acid, Sulphur Dioxide. Contains SULPHITES.", "maybe"),  # a wine's
        ("Water, barley malt, hops, yeast. Unfined.", "vegan"),
        ("Water, barley malt, hops, yeast. Suitable for vegans.", "vegan"),
        ("Valerian root, hops extract, lemon balm", "vegan"),  # hops without malt: a sleep aid
        ("Raisins (grapes), sunflower oil, sulphur dioxide", "vegan"),
    ],
)
def test_a_beer_or_wine_by_its_list_may_be_fined(text: str, expected: str) -> None:
    assert check(text).verdict == expected


def test_naturally_occurring_sugars_are_no_added_sugar() -> None:
    juice = check(
        "Pressed Apple Juice (45%), Banana Purée (25%), Lime Juice. Contains only naturally occurring sugars."
    )
    assert juice.verdict == "vegan"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is Nutella vegan?", "non_vegan"),  # skimmed milk powder
        ("Are Oreos vegan?", "maybe"),  # no milk listed; the sugar's source is not said
        ("Is Guinness vegan?", "vegan"),  # no isinglass since 2018
        ("Is a Magnum ice cream vegan?", "non_vegan"),
        ("Is the vegan Magnum vegan?", "vegan"),  # the vegan line is its own, longer name
        ("Ben & Jerry's non-dairy cookie dough", "vegan"),
        ("Nutella. Ingredients: sugar, palm oil, hazelnuts, cocoa, skimmed milk powder", "non_vegan"),
    ],
)
def test_well_known_brands_are_judged_by_their_standard_recipe(text: str, expected: str) -> None:
    assert check(text).verdict == expected


def test_a_brand_with_an_everyday_name_needs_its_product_word() -> None:
    assert check("I went to Mars last year").verdict == "unknown"
    assert check("a Mars bar").verdict == "non_vegan"
