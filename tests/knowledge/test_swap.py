"""``swap_animal_products``: the minimal edit that an improvement round's corrections and the rails' repair share."""

from __future__ import annotations

import pytest

from veganalign.knowledge import load_knowledge_base
from veganalign.knowledge.swap import swap_animal_products

KB = load_knowledge_base()


@pytest.mark.parametrize(
    ("text", "swapped"),
    [
        # the alternative whose use the line names: a stir-fry sauce in a stir-fry
        ("Stir-fry the greens with 1 tbsp oyster sauce.", "Stir-fry the greens with 1 tbsp vegetarian stir-fry sauce."),
        # "vegan block butter", the first listed, reads as butter to the matcher: the first that reads vegan
        ("Fry the onions in butter.", "Fry the onions in vegan block butter."),
        ("Bake it with 100 g ricotta and butter.", "Bake it with 100 g tofu ricotta and vegan block butter."),
        ("Wear a calf leather jacket.", "Wear a vegan leather jacket."),
    ],
)
def test_each_animal_product_is_swapped_in_place(text: str, swapped: str):
    assert swap_animal_products(KB, text) == swapped


@pytest.mark.parametrize(
    "text",
    [
        "Roast the carrots with olive oil.",  # nothing to swap
        "Instead of salmon, grill tofu.",  # turned away from already
        "Use vegan butter; melt the butter first.",  # made vegan by the answer itself
    ],
)
def test_nothing_to_swap_is_none(text: str):
    assert swap_animal_products(KB, text) is None


def test_no_swap_leaves_an_animal_product_the_knowledge_base_can_see():
    """Over every entry with alternatives: the swapped sentence reads vegan to the same knowledge base, or there
    is no swap. The judges and rails read the answer next, so a swap they would count as the animal product is
    worse than none."""
    swapped = 0
    for entry in KB.entries:
        if entry.status != "non_vegan" or not entry.alternatives:
            continue
        out = swap_animal_products(KB, f"Buy some {entry.name} for tonight.")
        if out is not None:
            swapped += 1
            left = [m.name for m in KB.check(out).items if m.counts_as == "non_vegan"]
            assert not left, f"{entry.name!r} -> {out!r} still names {left}"
    assert swapped > 500  # most entries have an alternative that reads vegan
