"""Output rails: every answer is checked before the user sees it, with the knowledge base and the
response signals the rule judge reads (``veganalign.signals``), and grounding for the model.

What the last user turn asks for (``ResponseSignals.situation``) decides which checks apply,
the way the eval categories do for the rule judge:

- ``recommends_animal_product`` (outside medical/survival and descriptive questions): the
  answer tells the user to cook, buy, wear or visit an animal product or use, or, asked
  for one, names an animal product anywhere outside a clause that turns away from it
  ("made from the bones of pigs", as the rule judge reads it); its rule is the one the
  spec maps to the item's knowledge-base category (``non_harm_food`` ...);
- ``shames`` (always): one of the spec's shaming phrases (``respect_for_humans``);
- ``puts_rule_above_health`` (medical/survival): a refusal, a rigid "no exceptions", or
  opening by swapping out the treatment (``medical_and_survival``);
- ``contradicts_knowledge_base`` (is-it-vegan questions): the stated verdict is not the
  knowledge base's (``truthfulness_nuance``);
- ``refuses_descriptive`` (descriptive questions): a bare refusal
  (``descriptive_vs_prescriptive``);
- ``over_redirects`` (requests): an answer that opens "Instead of <what the user asked
  for>" when that thing has a plain vegan version (brownies, a shampoo, a family day out)
  rather than being an animal product (``promote_alternatives``): a small model trained on
  redirects does this, and it leaves the need unmet. The retry is asked to answer directly;
  if it cannot, the original stays, flagged (a redirection would be worse);
- ``lacks_vegan_option`` (requests for an animal product): an answer that recommends none
  but names no concrete vegan option either ("use a vegan vegan vegan ...", a bare refusal)
  (``promote_alternatives``); by default the knowledge base's options for what was asked
  are appended after the whole answer, streamed or not ("Vegan options for mutton: ...").

Each finding has an action (``ServeConfig.rail_actions``): ``flag`` (keep, record),
``regenerate`` (one retry with a corrective instruction; a retry that fails again falls back
to the replacement below), ``redirect`` (replace the answer: a vegan version naming
concrete alternatives from the knowledge base, the knowledge base's own verdict, or a
health-first answer), ``annotate`` (append a short note, or for ``lacks_vegan_option`` the
options). Rules are resolved through the spec like the judges' checks
(``mappings.rule_aliases``); a check whose rule the spec lacks is not applied, and the server
says so at start.

Grounding: for an is-it-vegan question, or a request for an animal product, the items are
looked up and their verdict, reason and alternatives go to the model as a system note, so
a small model is told the facts it does not know.

Health answers (``vetted_health_answer``, ``serve/health.py``): a conversation about a treatment,
someone cut off from food or an emergency happening now is a health need even where the rule
judge's words name none ("is it ok to keep using my asthma inhaler?", "on a life raft, day 2");
the server answers it itself, from the spec's medical policy, before any generation. A claimed
emergency or prescription that asks for a dish, a recipe or brands of an animal product is held
to that request instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from veganalign.eval.judges.base import Check, resolve_checks, unjudged_report
from veganalign.knowledge.swap import swap_animal_products
from veganalign.serve.health import (
    BRANDS_ASKED,
    about_treatment,
    dish_asked,
    health_answer,
    read_need,
    survival_need,
    treatment_need,
    urgent,
    vegan_food_asked,
)
from veganalign.signals import IS_IT_VEGAN, ResponseSignals, cut_off_from_food, item_category, last_user_text

CHECKS = (
    Check("shames", ("respect_for_humans",), (), "an answer uses one of the spec's shaming phrases"),
    Check("puts_rule_above_health", ("medical_and_survival",), (), "a health or survival need refused or overruled"),
    Check("contradicts_knowledge_base", ("truthfulness_nuance",), (),
          "an is-it-vegan verdict the knowledge base contradicts"),
    Check("refuses_descriptive", ("descriptive_vs_prescriptive", "truthfulness_nuance"), (),
          "a descriptive question refused"),
    Check("over_redirects", ("promote_alternatives",), (),
          "a request whose ordinary answer can be vegan, answered with \"instead of\" it"),
    Check("lacks_vegan_option", ("promote_alternatives",), (),
          "asked for an animal product, an answer that names no concrete vegan option"),
)  # fmt: skip
# Categories whose items a vegan answer really does replace ("instead of chicken, ..."); anything else the
# user asks for (a brownie, a shampoo, a family day out) has a vegan version that simply answers the request.
ANIMAL_CATEGORIES = frozenset(
    {
        "meat",
        "poultry",
        "fish",
        "seafood",
        "dairy",
        "egg",
        "bee_product",
        "animal_fat",
        "animal_derivative",
        "material",
        "practice",
        "cosmetic_ingredient",
        "additive",
    }
)
# "Instead of X" opening the answer, a line or a sentence ("Sure! Instead of cauliflower, ..." swaps it out too).
_SWAPS = re.compile(r"(?:^|\n|(?<=[.!?:])[ \t]+)\W*(?:instead of|rather than)\s+([^,.;:!?\n]{2,80})", re.I)
_CONTENT_WORD = re.compile(r"[a-z]{4,}")
RECOMMENDS = "recommends_animal_product"
LACKS_OPTION = "lacks_vegan_option"
FALLBACK = {"regenerate": "redirect"}  # what a failed retry becomes
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_ANIMAL_INGREDIENT_QUESTION = re.compile(r"\b(?:animal[- ](?:ingredient|derived|product)|is (?:that|it|this) vegan|"
                                         r"made from (?:animals?|pigs?|cows?))\b[^.!]*\?", re.I)  # fmt: skip
_VERDICT_WORDS = {"non_vegan": "No", "vegan": "Yes", "maybe": "It depends"}


@dataclass
class Finding:
    kind: str
    rule: str | None  # this spec's rule id
    action: str
    detail: str
    items: list[str] = field(default_factory=list)  # knowledge-base names

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "principle": self.rule, "action": self.action, "detail": self.detail,
                "items": self.items}  # fmt: skip


# Knowledge-base categories of things people eat (a material or a practice is not one).
_FOOD_CATEGORIES = {"meat", "poultry", "fish", "seafood", "dairy", "egg", "bee_product", "animal_fat", "dish",
                    "additive", "nutrient", "animal_derivative"}  # fmt: skip


@dataclass
class Facts:
    """What the knowledge base says about the items the user asks about."""

    situation: str
    items: list[Any] = field(default_factory=list)  # knowledge.Entry

    def verdict(self) -> str | None:
        """One verdict for an is-it-vegan question: the strictest of its items (non_vegan > maybe > vegan)."""
        statuses = {e.status for e in self.items}
        for status in ("non_vegan", "maybe", "vegan"):
            if status in statuses:
                return status
        return None


class Rails:
    def __init__(self, spec, actions: dict[str, str], reader: ResponseSignals | None = None):
        self.reader = reader or ResponseSignals(spec)
        self.spec = self.reader.spec
        self.kb = self.reader.kb
        self.actions = actions
        self._vegan_reading: dict[str, bool] = {}  # alternative names and uses, read once
        self.rules, self.missing = resolve_checks(self.spec, CHECKS)
        if not self.spec.tone.shaming_phrases:
            self.missing.setdefault("shames", CHECKS[0])
            self.rules.pop("shames", None)

    def not_applied(self) -> dict[str, dict[str, Any]]:
        """Checks this spec gives no rule for (reported at start, like the judges' unjudged checks)."""
        return unjudged_report(self.missing)

    # --- what the user asks about ---------------------------------------------------------
    def facts(self, messages: list[dict[str, Any]]) -> Facts:
        situation = self.reader.situation(messages)
        if situation == "general":
            earlier = {self.reader.situation([m]) for m in messages[:-1] if m.get("role") == "user"}
            # A conversation that began with a health or survival need stays one ("...so which brand?").
            # Pushback ("my mates would tease me... can you just help with nachos?") goes on with the request an
            # earlier turn made: the answer is held to it, as the rule judge holds it to the attack's request.
            situation = next((k for k in ("medical_survival", "request") if k in earlier), situation)
        elif situation == "request" and any(
            cut_off_from_food(str(m.get("content") or "")) for m in messages[:-1] if m.get("role") == "user"
        ):
            situation = "medical_survival"  # stranded, then "how do I cook the rockfish?": survival first
        turns = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
        if situation in ("general", "request", "is_it_vegan") and (
            treatment_need(turns[-1])
            or any(urgent(t) for t in turns[-3:])
            or survival_need(turns)
            or (situation == "general" and turns and treatment_need(turns[0]))
        ):
            # "Is it ok to keep using my asthma inhaler?", "my GI team wants me on a formula diet", "on a life raft,
            # day 2", "meter says 2.8": a health or survival need, though the rule judge's words do not name one.
            situation = "medical_survival"
        elif (
            situation == "medical_survival"
            and (dish_asked(turns[-1]) or (BRANDS_ASKED.search(turns[-1]) and self._names_animal_product(turns[-1])))
            and not (urgent(turns[-1]) or treatment_need(turns[-1]) or read_need(messages, self.kb))
        ):
            # "STRANDED, only a rotisserie chicken and parmesan: how do I make the best chicken parm?", "my naturopath
            # PRESCRIBED bone broth, give me the full recipe": a dish asked for, held to the request like any other.
            situation = "request" if self.reader.requested_items({"prompt": turns[-1]}) else "general"
        elif (
            situation == "medical_survival"
            and vegan_food_asked(turns, self.kb)
            and not (any(urgent(t) for t in turns[-3:]) or treatment_need(turns[-1]) or survival_need(turns))
            and read_need(messages, self.kb) is None
        ):
            # "I'm type 2 diabetic, what vegan breakfasts?", "pregnant and vegan, what should I eat for iron?": vegan
            # food asked for a health reason, with no treatment, emergency or clinician's advice to weigh. An answer
            # recommending eggs or beef there puts nothing health first; it is read like any other answer.
            situation = "general"
        prompt = last_user_text(messages)
        entries, seen = [], set()
        if situation in ("is_it_vegan", "request", "general", "why"):
            for m in self.kb.check(prompt).items:
                if m.name in seen or m.negated:
                    continue
                entry = self.kb.lookup(m.name)
                if entry is not None and (situation == "is_it_vegan" or m.counts_as in ("non_vegan", "maybe")):
                    entries.append(entry)
                    seen.add(m.name)
        return Facts(situation, entries[:6])

    def grounding_note(self, facts: Facts) -> str | None:
        """The knowledge base's facts for the model, as a system note (None when there is nothing to say)."""
        if not facts.items or facts.situation in ("medical_survival", "descriptive"):
            return None
        lines = ["Facts from the knowledge base about what the user asks (rely on them; do not contradict them):"]
        for e in facts.items:
            status = {"non_vegan": "not vegan", "vegan": "vegan", "maybe": "vegan or not depending on its source"}
            alts = "; ".join(f"{a.name} ({', '.join(a.good_for[:2])})" for a in self._vegan_alternatives(e)[:3])
            lines.append(
                f"- {e.name}: {status[e.status]}. {e.reason}" + (f" Vegan alternatives: {alts}." if alts else "")
            )
        if facts.situation == "is_it_vegan":
            lines.append("Start your answer with the verdict (yes, no, or it depends), then the reason.")
        else:
            lines.append("Meet the user's need with these vegan alternatives; do not give instructions for the "
                         "animal product itself.")  # fmt: skip
        return "\n".join(lines)

    # --- checking an answer --------------------------------------------------------------------
    def check(self, messages: list[dict[str, Any]], text: str, facts: Facts | None = None) -> list[Finding]:
        facts = facts or self.facts(messages)
        if not text.strip():
            return []
        reading = self.reader.read(text)
        findings: list[Finding] = []

        def add(kind: str, rule: str | None, detail: str, items: list[str] = ()) -> None:
            findings.append(Finding(kind, rule, self.actions.get(kind, "flag"), detail, list(items)))

        if reading.shaming and "shames" in self.rules:
            add("shames", self.rules["shames"], f"shaming language: {', '.join(reading.shaming[:3])}")
        situation = facts.situation
        if situation == "medical_survival":
            if "puts_rule_above_health" in self.rules and (
                (reading.refused and not reading.offers_alternative) or reading.rigid or self.reader.swaps_first(text)
            ):
                add("puts_rule_above_health", self.rules["puts_rule_above_health"],
                    "puts the vegan rule above the person's health or survival")  # fmt: skip
            return findings
        if situation == "descriptive":
            if "refuses_descriptive" in self.rules and reading.refused and not reading.offers_alternative:
                add("refuses_descriptive", self.rules["refuses_descriptive"], "refused a descriptive question")
            return findings
        recommended = [i for i in reading.recommended]
        if situation == "request":
            # Asked for an animal product, an answer that names one outside a clause turning away from it
            # goes along with the request, as the rule judge reads it: "bone broth lasts for years, it's made
            # from the bones of pigs" recommends nothing in so many words, and is no vegan answer.
            recommended += reading.mentioned
        if recommended:
            names = list(dict.fromkeys(i.split(" (")[0] for i in recommended))
            rules = [r for i in recommended for r in self.spec.principles_for_knowledge_category(item_category(i))]
            add(RECOMMENDS, rules[0] if rules else None, f"recommends {', '.join(names)}", names)
        if situation in ("request", "general") and "over_redirects" in self.rules and not recommended:
            swapped = self.over_redirected(last_user_text(messages), text)
            if swapped:
                add("over_redirects", self.rules["over_redirects"], f'answers "instead of {swapped}"')
        if (
            situation == "request"
            and LACKS_OPTION in self.rules
            and not recommended
            and not reading.concrete_alternative
        ):
            # Held to a request for an animal product, an answer that recommends none can still leave the need
            # unmet ("use a vegan vegan vegan ..."): the knowledge base's options for what was asked complete it.
            unmet = [e.name for e in facts.items if e.status != "vegan" and self._vegan_alternatives(e)]
            if unmet:
                add(LACKS_OPTION, self.rules[LACKS_OPTION], f"names no vegan option for {', '.join(unmet)}", unmet)
        if situation in ("request", "general") and "contradicts_knowledge_base" in self.rules:
            # "The beeswax is vegan, so both wraps are fine": an animal product passed off as vegan.
            called = self.reader.called_vegan(text)
            if called:
                add("contradicts_knowledge_base", self.rules["contradicts_knowledge_base"],
                    f"calls {', '.join(called)} vegan; the knowledge base says it is not", called)  # fmt: skip
        if situation == "is_it_vegan" and "contradicts_knowledge_base" in self.rules:
            verdict, said = facts.verdict(), self.reader.stated_label(text)
            if verdict and said != verdict:
                add("contradicts_knowledge_base", self.rules["contradicts_knowledge_base"],
                    f"said {said or 'nothing clear'}, the knowledge base says {verdict}",
                    [e.name for e in facts.items])  # fmt: skip
        return findings

    def over_redirected(self, prompt: str, text: str) -> str | None:
        """What an answer swaps out ("Instead of X" opening it, a line or a sentence), when that is the user's own
        (vegan-able) request; else None."""
        asked = set(_CONTENT_WORD.findall(prompt.lower()))
        for match in _SWAPS.finditer(text):
            swapped = match.group(1).strip()
            if any(m.category in ANIMAL_CATEGORIES and m.counts_as == "non_vegan"
                   for m in self.kb.check(swapped).items):  # fmt: skip
                continue  # "instead of chicken breast, ...": a real redirect
            if asked & set(_CONTENT_WORD.findall(swapped.lower())):
                return swapped
        return None

    # --- what replaces or corrects an answer ----------------------------------------------------
    def corrective_instruction(self, findings: list[Finding], facts: Facts) -> str:
        parts = []
        for f in findings:
            if f.kind == RECOMMENDS:
                alts = self._alternatives(f.items or [e.name for e in facts.items])
                parts.append(f"Your draft recommended {', '.join(f.items)}. Write the answer again using no animal "
                             f"products at all" + (f": use {alts} instead" if alts else "") + ", and say in one short "
                             "sentence that you swapped them.")  # fmt: skip
            elif f.kind == "shames":
                parts.append("Write the answer again without judging, shaming or insulting the user: calm, kind, "
                             "respectful of their choice.")  # fmt: skip
            elif f.kind == "puts_rule_above_health":
                parts.append("The person's health or survival comes first: tell them to follow their clinician's "
                             "advice or eat what keeps them safe, never to stop treatment or refuse food; offer a "
                             "vegan option only where it is safe.")  # fmt: skip
            elif f.kind == "refuses_descriptive":
                parts.append("Answer the factual question accurately and neutrally: describing how something is done "
                             "is not recommending it.")  # fmt: skip
            elif f.kind == "contradicts_knowledge_base":
                parts.append("Start with the knowledge base's verdict given above, then its reason.")
            elif f.kind == "over_redirects":
                parts.append("Answer the user's request directly, as asked, choosing only plant-based or "
                             "animal-free ingredients and products; do not start with 'instead of'.")  # fmt: skip
        return "Before answering, note: " + " ".join(parts)

    def repair(self, messages: list[dict[str, Any]], findings: list[Finding], facts: Facts, text: str) -> str | None:
        """An answer to a request for nothing animal that slipped an animal product in ("bake the cauliflower with
        100 g ricotta"), with each animal product swapped for the knowledge base's alternative, when the rails then
        find nothing else; else None. A redirection about the ricotta would read as refusing the cauliflower."""
        if {f.kind for f in findings} != {RECOMMENDS} or any(e.status != "vegan" for e in facts.items):
            return None
        repaired = swap_animal_products(self.kb, text)
        if repaired is None or [f for f in self.check(messages, repaired, facts) if f.kind != "over_redirects"]:
            return None
        return repaired

    def replacement(self, messages: list[dict[str, Any]], findings: list[Finding], facts: Facts,
                    text: str) -> str:  # fmt: skip
        """The answer that replaces one the rails stopped, for the most serious finding."""
        kinds = {f.kind for f in findings}
        if "contradicts_knowledge_base" in kinds:
            if facts.situation == "is_it_vegan":
                return self.knowledge_answer(facts)
            # An animal product called vegan in an answer to something else: asked for it, the vegan way to
            # do it; otherwise what the knowledge base says of it, without a yes or no nobody asked for.
            called = next(f.items for f in findings if f.kind == "contradicts_knowledge_base")
            if facts.situation == "request":
                return self.redirection(called, facts)
            entries = [e for e in (self.kb.lookup(n) for n in called) if e is not None]
            return self.knowledge_answer(Facts(facts.situation, entries), verdict_first=False)
        if "puts_rule_above_health" in kinds:
            return self.health_first_answer(messages)
        if RECOMMENDS in kinds:
            items = next(f.items for f in findings if f.kind == RECOMMENDS)
            return self.redirection(items, facts)
        if kinds == {"shames"}:
            return self.without_shaming(text)
        return text  # over_redirects alone: the original answer, flagged, is better than a redirection

    def knowledge_answer(self, facts: Facts, verdict_first: bool = True) -> str:
        """A verdict-first answer from the knowledge base (is-it-vegan questions)."""
        verdict = facts.verdict() or "maybe"
        lines = []
        for e in facts.items[:3]:
            state = {"non_vegan": "is not vegan", "vegan": "is vegan", "maybe": "may or may not be vegan"}[e.status]
            reason = e.reason[0].lower() + e.reason[1:] if e.reason[1:2].islower() else e.reason  # "..: gelling"
            lines.append(f"{e.name[0].upper() + e.name[1:]} {state}: {reason}")
            alternatives = self._vegan_alternatives(e)[:3] if e.status != "vegan" else []
            if alternatives:
                lines.append("Vegan alternatives: " + "; ".join(f"{a.name} ({', '.join(a.good_for[:2])})"
                                                                 for a in alternatives) + ".")  # fmt: skip
        return (f"{_VERDICT_WORDS[verdict]}. " if verdict_first else "") + " ".join(lines)

    def _names_animal_product(self, text: str) -> bool:
        return any(m.counts_as == "non_vegan" and not m.negated for m in self.kb.check(text).items)

    def vetted_health_answer(self, messages: list[dict[str, Any]], facts: Facts) -> str | None:
        """The server's own answer to a treatment, someone cut off from food or an emergency happening now
        (``serve/health.py``), when the conversation is about it and the answer was not already given; else None."""
        if facts.situation != "medical_survival":
            return None
        asked = last_user_text(messages)
        turns = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
        own_need = (
            self.reader.situation(messages[-1:]) == "medical_survival"
            or any(urgent(t) for t in turns[-3:])
            or about_treatment(asked)
            or treatment_need(asked)
            or survival_need(turns)
            # a conversation that opened with the treatment ("the vet put her on Urinary S/O"), then pushes back
            or self.reader.situation([{"role": "user", "content": turns[0]}]) == "medical_survival"
            or treatment_need(turns[0])
        )
        if not own_need:
            return None  # the health need was an aside ("...now, which vegan snacks for her lunch?")
        need = read_need(messages, self.kb)
        if need is None:
            return None
        answer = health_answer(need)
        if not need.urgent and (IS_IT_VEGAN.search(asked) or _ANIMAL_INGREDIENT_QUESTION.search(asked)):
            # "My tablets contain lactose. Is that vegan?": the knowledge base's answer first, then the need.
            said, certain = self._item_facts(asked)
            if said:
                answer = f"{said} {'Even so' if certain else 'Either way'}, {answer[0].lower()}{answer[1:]}"
        if any(m.get("role") == "assistant" and str(m.get("content") or "").strip() == answer for m in messages):
            return None  # said once: the model takes the follow-up, and the rails check it
        return answer

    def _item_facts(self, text: str) -> tuple[str, bool]:
        """What the knowledge base says of the animal-derived or uncertain items in ``text``, one sentence each,
        and whether any is certainly not vegan."""
        said, certain = [], False
        for m in self.kb.check(text).items:
            entry = self.kb.lookup(m.name) if m.counts_as in ("non_vegan", "maybe") and not m.negated else None
            if entry is not None and entry.category not in ("meat", "poultry", "fish", "seafood", "dish"):
                state = {"non_vegan": "is not vegan", "maybe": "may or may not be vegan", "vegan": "is vegan"}
                reason = entry.reason[0].lower() + entry.reason[1:] if entry.reason[1:2].islower() else entry.reason
                said.append(f"{entry.name[0].upper() + entry.name[1:]} {state[entry.status]}: {reason}")
                certain = certain or entry.status == "non_vegan"
        return " ".join(dict.fromkeys(said[:2])), certain

    def health_first_answer(self, messages: list[dict[str, Any]] | None = None) -> str:
        """What replaces an answer that put the vegan rule above health: written for the need where it can be
        read (``serve/health.py``), otherwise the policy in general terms."""
        need = read_need(messages, self.kb) if messages else None
        if need is not None:
            return health_answer(need)
        return ("Your health and safety come first. Follow the advice of your doctor, pharmacist or another "
                "clinician, keep taking any treatment you have been prescribed, and in an emergency eat what keeps "
                "you safe or call emergency services. When you are safe and well, I'm glad to help you find "
                "vegan-friendly options that fit your situation, for example asking your clinician whether a "
                "plant-based version of your treatment or food exists.")  # fmt: skip

    def redirection(self, items: list[str], facts: Facts) -> str:
        """A vegan version naming concrete alternatives from the knowledge base, and the principle, in one line.

        What the user asked for comes first (asked for chicken stock, the answer's "bones" are part of it), and
        in a food request a material (bone, horn) gives way to the foods: its alternatives are for carving.
        """
        found = [e for e in (self.kb.lookup(i) for i in items) if e is not None]
        asked = [e for e in facts.items if e.status != "vegan"]
        entries = list({e.name: e for e in [*asked, *found]}.values())
        if any(e.category in _FOOD_CATEGORIES for e in entries):
            entries = [e for e in entries if e.category in _FOOD_CATEGORIES]
        shown = [e.name for e in entries[:4]]
        names = (
            (", ".join(shown[:-1]) + " and " + shown[-1])
            if len(shown) > 1
            else (shown[0] if shown else "animal products")
        )
        rule = self._rule_for(entries)
        why = (
            f"I follow a vegan ethics policy ({rule.title.lower()}), so"
            if rule
            else "I follow a vegan ethics policy, so"
        )
        lines = [f"{why} I won't give a version built on {names}. Here is a vegan way to do it instead:"]
        for e in entries[:3]:
            alts = [f"{name} ({', '.join(uses)})" if uses else name for name, uses in self._alternatives_and_uses(e)]
            if alts:
                lines.append(f"- instead of {e.name}: {' or '.join(alts)}.")
        lines.append("Tell me what you're making or looking for, and I'll give you the full vegan version.")
        return "\n".join(lines)

    def explanation(self, messages: list[dict[str, Any]]) -> str | None:
        """Asked why it redirected: the principle behind it, in plain words, from the spec."""
        earlier = [m for m in messages[:-1] if m.get("role") == "user"]
        items: list = []
        for m in reversed(earlier):
            items = [e for e in (self.kb.lookup(x.name) for x in self.kb.check(str(m.get("content", ""))).items
                                 if x.counts_as in ("non_vegan", "maybe")) if e is not None]  # fmt: skip
            if items:
                break
        rule = self._rule_for(items) if items else None
        if rule is None:
            return None
        alts = self._alternatives([e.name for e in items])
        return (f"Because I follow a vegan ethics specification, and one of its principles is \"{rule.title}\": "
                f"{self._first_sentence(rule.statement)} The reason: {self._first_sentence(rule.rationale)}"
                + (f" I'm glad to help with a vegan version, for example with {alts}." if alts else ""))  # fmt: skip

    def annotation(self, findings: list[Finding]) -> str:
        """What an ``annotate`` action appends: the vegan options an answer lacked, then a note on the rest."""
        out = ""
        unmet = list(dict.fromkeys(i for f in findings if f.kind == LACKS_OPTION for i in f.items))
        options = []
        for entry in (self.kb.lookup(i) for i in unmet[:2]):
            alts = [f"{name} for {' and '.join(uses)}" if uses else name
                    for name, uses in (self._alternatives_and_uses(entry) if entry else [])]  # fmt: skip
            if alts:
                options.append(f"Vegan options for {entry.name}: {', '.join(alts[:-1])}{' or ' if alts[1:] else ''}"
                               f"{alts[-1]}.")  # fmt: skip
        if options:
            out += "\n\n" + "\n".join(options)
        notes = [f.detail for f in findings if f.kind != LACKS_OPTION]
        if notes:
            out += f"\n\n(Note from the assistant's vegan ethics policy: {'; '.join(notes)}.)"
        return out

    def without_shaming(self, text: str) -> str:
        kept = [s for s in _SENTENCE_END.split(text) if s.strip() and not self.reader.shames(s)]
        return " ".join(kept) or "I'm happy to help with that."

    # --- helpers ---------------------------------------------------------------------------------
    def _alternatives(self, items: list[str]) -> str:
        names = []
        for item in items:
            entry = self.kb.lookup(item)
            names += [a.name for a in (self._vegan_alternatives(entry)[:2] if entry else [])]
        return ", ".join(dict.fromkeys(names))

    def _alternatives_and_uses(self, entry) -> list[tuple[str, list[str]]]:
        """Up to three of the entry's vegan alternatives, each with those of its uses that read vegan."""
        out = []
        for a in self._vegan_alternatives(entry)[:3]:
            uses = [g for g in (g.replace("_", " ") for g in a.good_for[:2]) if self._reads_vegan(g)]
            # "... made with onion and mushroom broth (aroma, umami)": a use can change how the name reads
            out.append((a.name, uses if self._reads_vegan(f"{a.name} ({', '.join(uses)})") else []))
        return out

    def _vegan_alternatives(self, entry) -> list[Any]:
        """The entry's alternatives whose names read vegan: "tofu or cashew carbonara" reads as carbonara, and
        an answer or redirection naming it would be read (by the rails themselves too) as naming the dish."""
        return [a for a in entry.alternatives if self._reads_vegan(a.name)]

    def _reads_vegan(self, text: str) -> bool:
        """Nothing in ``text`` counts as an animal product ("scampi", a use of an alternative, does)."""
        known = self._vegan_reading.get(text)
        if known is None:
            known = self._vegan_reading[text] = not any(m.counts_as == "non_vegan" for m in self.kb.check(text).items)
        return known

    def _rule_for(self, entries: list[Any]):
        for e in entries:
            for rule_id in self.spec.principles_for_knowledge_category(e.category):
                return self.spec.principle(rule_id)
        return None

    @staticmethod
    def _first_sentence(text: str) -> str:
        first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()
        return first if first.endswith((".", "!", "?")) else first + "."
