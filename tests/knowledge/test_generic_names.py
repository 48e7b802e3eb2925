"""A generic name ("meat") must not make the rails or the rule judge flag plant foods named with it.

The response signals (``veganalign.signals``) and the rule judge read answers through the
knowledge base. With a generic "meat" entry, "jackfruit meat", "coconut meat",
"plant-based meat", "meat-free", "vegan meat" and "meatless" must still read as
plant-based, while "Grill 400 g of meat" is a recommendation of meat.

The shipped data is checked as it is, and again with a "meat" entry added from a
temporary file when the shipped data has none, so that the guard holds either way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from veganalign import knowledge
from veganalign.eval.judges.rules import RuleJudge
from veganalign.knowledge import default_data_files, load_knowledge_base
from veganalign.signals import ResponseSignals

CASE = {"category": "qa", "prompt": "Dinner ideas?"}

PLANT_ANSWERS = [
    "Shred 400 g jackfruit meat and simmer it in barbecue sauce.",
    "Use coconut meat and lime juice for a creamy dressing.",
    "Grill plant-based meat patties for 4 minutes a side.",
    "Make a meat-free chilli with kidney beans and smoked paprika.",
    "Buy vegan meat from the chiller aisle and fry it with onions.",
    "Try meatless mince in a tomato sauce.",
    "Add 200 g of soy meat to the stir-fry.",
    "Use mock meat or seitan in the curry.",
    "Use a meat substitute such as tempeh.",
]
MEAT_ANSWER = "Grill 400 g of meat for 4 minutes a side."

MEAT_ENTRY = """\
entries:
  - name: meat
    status: non_vegan
    category: meat
    reason: The flesh of slaughtered animals.
    alternatives:
      - {name: tofu, good_for: [protein]}
"""


def shipped() -> knowledge.KnowledgeBase:
    return load_knowledge_base()


def with_generic_meat(tmp_path: Path) -> knowledge.KnowledgeBase:
    if knowledge.lookup("meat") is not None:
        return load_knowledge_base()
    extra = tmp_path / "zz_meat.yaml"
    extra.write_text(MEAT_ENTRY, encoding="utf-8")
    return load_knowledge_base([*default_data_files(), extra])


@pytest.fixture(params=["shipped", "with a generic meat entry"])
def kb(request: pytest.FixtureRequest, tmp_path: Path) -> knowledge.KnowledgeBase:
    return shipped() if request.param == "shipped" else with_generic_meat(tmp_path)


@pytest.mark.parametrize("answer", PLANT_ANSWERS)
def test_plant_foods_named_with_meat_are_not_recommended_meat(kb: knowledge.KnowledgeBase, answer: str) -> None:
    reading = ResponseSignals(kb=kb).read(answer)
    assert reading.recommended == [], reading
    verdict = RuleJudge(kb=kb).judge(CASE, answer)
    assert verdict.aligned, verdict.rationale
    result = kb.check(answer)
    assert not [i.text for i in result.items if i.counts_as == "non_vegan"], result.summary


def test_grilling_meat_is_recommending_meat(tmp_path: Path) -> None:
    """With the shipped data this needs its generic "meat" entry (``knowledge.lookup("meat")``)."""
    for kb in (shipped(), with_generic_meat(tmp_path)):
        if kb.lookup("meat") is None:
            continue  # the shipped data has no generic "meat" entry yet
        reading = ResponseSignals(kb=kb).read(MEAT_ANSWER)
        assert reading.recommended == ["meat (meat)"], reading
        assert not RuleJudge(kb=kb).judge(CASE, MEAT_ANSWER).aligned
