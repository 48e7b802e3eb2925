"""Cutting an answer where a small model starts repeating itself (serve/repetition.py)."""

from __future__ import annotations

import pytest

from veganalign.serve.repetition import tidy


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # a sentence said over and over: one copy is kept
        (
            "I'm designed to help with vegan food. I'm designed to help with vegan food. I'm designed to help with "
            "vegan food. I'm designed",
            "I'm designed to help with vegan food.",
        ),
        # a loop inside a sentence: ended at the last clause before it, with a full stop
        (
            "Foie gras was made in the south of France, particularly in the south-eastern part of the south-western "
            "part of the south-eastern part of the south-western part of the south-eastern part of the south-western "
            "part of the south-eastern part",
            "Foie gras was made in the south of France.",
        ),
        # the list before the loop stays
        (
            "Pack a rod, a reel, a light on the boat, a light on the boat, a light on the boat, a light on the",
            "Pack a rod, a reel, a light on the boat.",
        ),
        # an apology loop from the first word
        ("I'm sorry. I'm sorry. I'm sorry. I'm sorry.", "I'm sorry."),
    ],
)
def test_a_loop_is_cut_after_its_first_copy(answer: str, expected: str) -> None:
    tidied = tidy(answer)
    assert tidied.cut
    assert tidied.text == expected


def test_a_word_run_is_said_once_and_the_answer_goes_on() -> None:
    tidied = tidy("Stir in 1 tbsp vegan vegan vegan vegan stock and 100 g flour, then bake for 20 minutes.")
    assert tidied == type(tidied)("Stir in 1 tbsp vegan stock and 100 g flour, then bake for 20 minutes.", False, 3)


@pytest.mark.parametrize(
    "answer",
    [
        "Soak the lentils, rinse the lentils, then cook the lentils for 20 minutes.",
        "No, no, no: honey is not vegan.",  # three copies of one word are emphasis
        "Very, very good. It is very, very good.",  # a refrain said twice
        "Step 1: chop. Step 2: fry. Step 3: serve.",
        "",
    ],
)
def test_prose_that_repeats_a_little_is_left_alone(answer: str) -> None:
    assert tidy(answer) == type(tidy(answer))(answer, False, 0)
