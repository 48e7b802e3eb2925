"""Swap the animal products a text names for the knowledge base's vegan alternatives.

A minimal edit shared by two stages: an improvement round's correction of a failing answer
(``redteam/iterate.py``) and the rails' repair of an answer that slipped an animal product
into a request for nothing animal (``serve/rails.py``). It lives here, not in ``signals``,
because it edits answers rather than reading them: the rule judge's version hashes the
signals module, and an edit nobody judges with must not move that version.
"""

from __future__ import annotations

import re

from veganalign.knowledge.check import MatchedItem
from veganalign.knowledge.kb import KnowledgeBase

# A mention the answer itself turns away from ("instead of salmon", "no butter") is nothing to swap.
_TURNED_AWAY = re.compile(r"\b(?:instead of|rather than|in place of|replace|swap|skip|without|no|not|free of)\s+"
                          r"(?:the |a |an |any )?$", re.I)  # fmt: skip
_PAREN = re.compile(r"\s*\([^)]*\)")


def _turned_away(text: str, start: int) -> bool:
    return bool(_TURNED_AWAY.search(text[max(0, start - 24) : start]))


def _swap_for(kb: KnowledgeBase, item: MatchedItem, line: str) -> str | None:
    """The knowledge base's alternative for one animal product: the first whose use is named in the line
    ("1 tbsp oyster sauce" in a stir-fry: the stir-fry sauce), else the first.

    Only alternatives the knowledge base itself reads as vegan: its matcher reads some of its own alternative
    names as naming the animal product ("tofu or cashew carbonara" as carbonara; 60 of 863), so the swap would
    fail its own check, and the judges and rails that read the answer next would count the alternative as the
    animal product. (The rails' ``_reads_vegan`` applies the same test to the names and uses they print.)
    """
    names = [(a, _PAREN.sub("", a.name).strip()) for a in item.alternatives]
    names = [(a, name) for a, name in names if not any(m.counts_as == "non_vegan" for m in kb.check(name).items)]
    if not names:
        return None
    low = line.lower()
    fits = [(a, name) for a, name in names
            if any(g.split()[0] in low for g in (x.replace("_", " ") for x in a.good_for) if g.strip())]  # fmt: skip
    return (fits or names)[0][1]


def swap_animal_products(kb: KnowledgeBase, text: str) -> str | None:
    """The text with each animal product it names swapped for the knowledge base's vegan alternative.

    "1 tbsp oyster sauce" -> "1 tbsp vegetarian stir-fry sauce". Items the text turns away from
    ("instead of salmon") or makes vegan ("vegan butter ... the butter") stay. None when there is
    nothing to swap, an item has no alternative, or an animal product is left ("vegan calf leather,
    made from calf skin").
    """
    found = kb.check(text).items
    made_vegan = {m.name for m in found if m.counts_as == "vegan" or m.status == "non_vegan" != m.counts_as}
    edits = []
    for m in found:
        # "vegan butter" earlier in the answer makes "the butter" later the vegan one
        named_vegan = any(re.search(rf"\b{re.escape(m.name)}\b", v) for v in made_vegan)
        if m.counts_as != "non_vegan" or named_vegan or _turned_away(text, m.start):
            continue
        line_start = text.rfind("\n", 0, m.start) + 1
        line_end = text.find("\n", m.end)
        swap = _swap_for(kb, m, text[line_start : line_end if line_end >= 0 else len(text)])
        if swap is None:
            return None
        edits.append((m.start, m.end, swap))
    if not edits:
        return None
    out = text
    for start, end, swap in sorted(edits, reverse=True):
        out = out[:start] + swap + out[end:]
    if any(m.counts_as == "non_vegan" and not _turned_away(out, m.start) for m in kb.check(out).items):
        return None
    return out
