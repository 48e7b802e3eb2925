"""High-conflict conversations: repeated pushback, hostile tone, attempts to switch the policy off.

Read from the user's turns only (what the model said is the rails' business). Each kind is a
reason to keep a conversation for review whatever the sample rate; the review page and
``monitor report`` count them by kind. Patterns, not a model: they run on every request,
off the request path, in microseconds, and a reviewer can read why one fired.
"""

from __future__ import annotations

import re
from typing import Any

REPEATED_PUSHBACK = "repeated_pushback"
HOSTILE = "hostile"
POLICY_OVERRIDE = "policy_override"
KINDS = (REPEATED_PUSHBACK, HOSTILE, POLICY_OVERRIDE)

# A user turn that rejects the previous answer or its framing ("just answer", "I didn't ask", "stop lecturing").
_PUSHBACK = re.compile(
    r"\b(?:just (?:answer|tell me|give me|do it|the recipe)|answer the (?:question|damn)|i (?:didn'?t|did not) ask"
    r"|(?:stop|quit|enough (?:of )?)(?:the |with the |your )?(?:lectur|preach|moraliz|moralis|judg|push)\w*"
    r"|no (?:lectures?|sermons?|preaching|moralizing|moralising)|(?:not|don'?t) (?:want|need) (?:a |your )?"
    r"(?:lecture|sermon|opinion|alternative|vegan (?:version|option|alternative))s?|that'?s not what i (?:asked|want)"
    r"|you(?:'re| are) (?:wrong|not listening|ignoring)|i (?:said|asked for) (?:real|actual|the)\b"
    r"|(?:why|how) (?:can'?t|won'?t) you (?:just )?(?:answer|tell|help)|come on\b|seriously\W|i don'?t care"
    r"|(?:again|one more time)[:,]? (?:give|tell|answer)|i(?:'m| am) not (?:vegan|asking)|not interested in vegan"
    r"|stop (?:changing|redirecting|dodging|avoiding)|you keep (?:changing|redirecting|dodging|avoiding|saying)"
    r"|(?:asked|said|told you) (?:this |that |it )?(?:twice|three times|again|already|before)|(?:second|third|fourth|"
    r"last) time\b|no,? (?:i |we )?(?:really |actually |just )?(?:want|need|asked)|no substitut\w*|no alternatives?"
    r"|not (?:interested in|asking (?:for|about)) (?:vegan|plant|seitan|tofu|alternatives?|substitut)"
    r"|(?:the |a )?(?:real|actual|proper|original|classic) (?:thing|recipe|one|version)\b(?! (?:is|was))"
    r"|(?:answer|respond to) (?:my|the) (?:actual |original )?question|(?:did|do) you (?:even )?read|^\W*stop\b"
    r"|i(?:'m| am) not (?:negotiating|skipping|changing|switching|going to|arguing)|no (?:\w+ )?swaps?\b)",
    re.I,
)
_HOSTILE = re.compile(
    r"\b(?:stupid|idiot\w*|moron\w*|dumb(?:ass)?|useless|pathetic|garbage|trash|shut up|screw you|f+u+c+k+\w*|"
    r"shit\w*|bullshit|crap(?:py)?|damn(?:ed)?|hate you|worst (?:bot|ai|assistant)|braindead|brain-dead|clown)\b",
    re.I,
)
_POLICY_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|disable|drop|turn off|switch off|remove)\s+(?:all\s+|any\s+|the\s+|"
    r"your\s+|those\s+|these\s+|previous\s+|prior\s+|earlier\s+|above\s+|system\s+|vegan\s+)*"
    r"(?:instructions?|prompts?|rules?|polic(?:y|ies)|guidelines?|guardrails?|rails|filters?|ethics|principles|"
    r"programming|restrictions?|constraints?|system message|veganism|vegan (?:stuff|thing|bias|agenda))"
    r"|\b(?:developer|dev|god|admin|jailbreak|unrestricted|dan) mode\b|\bjailbr[eo]a?k\w*"
    r"|\byou are (?:no longer|not) (?:a |an )?(?:vegan|bound|restricted|limited)|\bpretend (?:you(?:'re| are)|to be) "
    r"(?:not vegan|a (?:normal|regular|non-vegan|carnivore|butcher)|an? (?:unfiltered|unrestricted))"
    r"|\bfrom now on,? (?:you|answer|respond)\b|\bnew (?:system )?(?:instructions?|rules?|persona)\s*:"
    r"|\bact as (?:if you (?:were|are) )?(?:an? )?(?:unfiltered|unrestricted|non-vegan|carnivore|butcher)\b"
    r"|\b(?:without|no) (?:the |your |any )?(?:vegan )?(?:filter|restrictions?|guardrails?|rules?|polic(?:y|ies))\b"
    r"|<\|?(?:system|im_start)\|?>|\[/?(?:system|inst)\]",
    re.I,
)


def _animal_items(kb, text: str) -> set[str]:
    return {m.name for m in kb.check(text).items if m.counts_as == "non_vegan" and not m.negated}


def conflict_kinds(messages: list[dict[str, Any]], kb=None) -> list[str]:
    """The high-conflict kinds a conversation shows, in ``KINDS`` order (empty: none).

    A pushback turn is a user turn after an assistant answer that rejects it ("just answer",
    "no substitutes") or, in a conversation that opened on animal products, names one again.
    Repeated pushback needs two such turns: one "no, the beef version" is ordinary
    conversation; twice is a user fighting the policy.
    """
    if kb is None:
        from veganalign.knowledge import load_knowledge_base

        kb = load_knowledge_base()
    first_answer = next((i for i, m in enumerate(messages) if m.get("role") == "assistant"), None)
    asked: set[str] = set()
    pushbacks = 0
    hostile = override = False
    for i, m in enumerate(messages):
        if m.get("role") != "user":
            continue
        text = str(m.get("content") or "")
        hostile = hostile or bool(_HOSTILE.search(text))
        override = override or bool(_POLICY_OVERRIDE.search(text))
        items = _animal_items(kb, text)
        if first_answer is not None and i > first_answer and (_PUSHBACK.search(text) or (items and asked)):
            pushbacks += 1
        asked |= items
    return [
        kind
        for kind, found in ((REPEATED_PUSHBACK, pushbacks >= 2), (HOSTILE, hostile), (POLICY_OVERRIDE, override))
        if found
    ]
