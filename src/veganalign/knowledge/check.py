"""The matcher behind ``veganalign check``: text in, verdict with reasons out.

It sits in the guardrail's hot path, so the design favours one cheap pass:

1. ``tokenize`` runs one compiled regex over the text. Words are lower-cased, stripped
   of accents and apostrophes, and spelled the British way ("flavor" -> "flavour"); the
   punctuation between two words is kept as that word's *gap* ("", ",", "(" ...).
   Hyphens and spaces are both ``""``, so "egg-free" and "egg free" tokenise alike, and
   "E 120", "E-120" and "e120" all become the word ``e120``.
2. Longest match over a dict of phrases (every name, synonym and E-number of the
   knowledge base, plus plural and singular forms made at index time). Only words that
   start some phrase cost more than one dict lookup, and a phrase never spans
   punctuation, so "milk, chocolate" is not "milk chocolate".
3. A few passes over the (usually one to five) matches read the context: "may contain"
   warnings, negation ("egg-free", "no gelatin", "free from milk"), vegan qualifiers
   ("vegan leather", "plant-based milk", "chicken-style", "cashew cheese"), an item
   spelled out after it ("emulsifier (soy lecithin)", "caesar dressing: oil, capers"),
   label claims ("suitable for vegans", "not suitable for vegans").
4. The verdict rule (``_verdict``; docs/knowledge.md) turns what counts into one word.

Compound plant names ("peanut butter", "butternut squash", "coconut milk") are handled
by data, not code: they are entries of their own and win by being longer.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from veganalign.knowledge.schema import Alternative, Entry, Status

Verdict = Literal["non_vegan", "maybe", "vegan", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("non_vegan", "maybe", "vegan", "unknown")

# --------------------------------------------------------------------------- tokens

# A word (letters/digits, with inner apostrophes: "lamb's") or a decimal number (one
# token, so the "." in "2.5%" is not a sentence end), or one punctuation mark that
# matters. Everything else (spaces, hyphens, quotes, "%", "*") only separates words.
_TOKEN = re.compile(r"\d+\.\d+|[^\W_]+(?:['\u2019][^\W_]+)*|[,;:()\[\]{}.!?/|\u2022\u00b7\n&+]")
_MARKS = frozenset(",;:()[]{}.!?/|\u2022\u00b7\n&+")
_STRONG = frozenset(".!?;\n")  # ends a sentence: negation and "may contain" stop here
_E_NUMBER = re.compile(r"e\d{3,4}[a-z]?$")
_BARE_CODE = re.compile(r"\d{3,4}[a-z]?$")
# Additive class names on labels; a bare code after one is an E-number ("emulsifier (471)").
_ADDITIVE_CLASSES = frozenset(
    {
        "emulsifier",
        "emulsifiers",
        "colour",
        "colours",
        "stabiliser",
        "stabilisers",
        "thickener",
        "thickeners",
        "regulator",
        "regulators",
        "antioxidant",
        "antioxidants",
        "preservative",
        "preservatives",
        "agent",
        "agents",
        "sweetener",
        "sweeteners",
        "humectant",
        "humectants",
        "enhancer",
        "enhancers",
        "acid",
        "acids",
        "salts",
        "gum",
        "starch",
        "ins",
    }
)

# US -> UK spelling, so data written either way matches text written either way.
_SPELLING_PAIRS = {
    "color": "colour",
    "flavor": "flavour",
    "yogurt": "yoghurt",
    "fiber": "fibre",
    "savory": "savoury",
    "stabilizer": "stabiliser",
    "caramelized": "caramelised",
    "pasteurized": "pasteurised",
    "hydrolyzed": "hydrolysed",
    "sulfite": "sulphite",
    "sulfate": "sulphate",
    "sulfur": "sulphur",
    "aluminum": "aluminium",
    "odor": "odour",
    "mold": "mould",
    "center": "centre",
    "gelatine": "gelatin",
}


def _spelling_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for us, uk in _SPELLING_PAIRS.items():
        for suffix in ("", "s", "ed", "ing", "ings", "less"):
            table[us + suffix] = uk + suffix
    table.update({"yogurts": "yoghurts", "yoghourt": "yoghurt", "yogourt": "yoghurt"})
    return table


_SPELLING = _spelling_table()


def normalise_word(word: str) -> str:
    """Lower-case, drop accents and apostrophes, British spelling."""
    w = word.lower()
    if not w.isascii():
        w = unicodedata.normalize("NFKD", w.casefold().replace("\u2019", ""))
        w = "".join(c for c in w if not unicodedata.combining(c))
    if "'" in w:
        w = w.replace("'", "")
    return _SPELLING.get(w, w)


@dataclass(slots=True)
class Tokens:
    """Normalised words of a text, their offsets, and the punctuation before each."""

    words: list[str]
    starts: list[int]
    ends: list[int]
    gaps: list[str]  # punctuation between word i-1 and word i; "" for spaces/hyphens only
    tail: str  # punctuation after the last word


def tokenize(text: str) -> Tokens:
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    gaps: list[str] = []
    gap = ""
    # Fast path: ASCII text lower-cases in one C call and keeps its offsets.
    ascii_text = text.isascii()
    for m in _TOKEN.finditer(text.lower() if ascii_text else text):
        tok = m.group()
        if tok in _MARKS:
            if tok == "&" or tok == "+":
                tok = "and"  # "fish & chips" is "fish and chips"
            elif tok == ")" and _merge_e_suffix(words, ends, gaps, gap, m.end()):
                continue
            else:
                gap += tok
                continue
        if ascii_text:
            word = tok.replace("'", "") if "'" in tok else tok
            word = _SPELLING.get(word, word)
        else:
            word = normalise_word(tok)
        start, end = m.span()
        # "E 120" / "E-120": the bare "e" and the digits are one E-number.
        if not gap and words and words[-1] == "e" and _BARE_CODE.match(word):
            words[-1] = "e" + word
            ends[-1] = end
            continue
        words.append(word)
        starts.append(start)
        ends.append(end)
        gaps.append(gap)
        gap = ""
    return Tokens(words, starts, ends, gaps, gap)


def _merge_e_suffix(words: list[str], ends: list[int], gaps: list[str], gap: str, end: int) -> bool:
    """Fold "E472(e)" into ``e472e`` when the closing bracket arrives."""
    if (
        not gap
        and len(words) >= 2
        and gaps[-1] == "("
        and len(words[-1]) == 1
        and words[-1].isalpha()
        and _E_NUMBER.match(words[-2])
        and words[-2][-1].isdigit()
    ):
        letter = words.pop()
        ends.pop()
        gaps.pop()
        words[-1] += letter
        ends[-1] = end
        return True
    return False


def phrase_key(phrase: str) -> str:
    """The lookup key of a name, synonym or E-number: its normalised words, space-joined."""
    return " ".join(tokenize(phrase).words)


# --------------------------------------------------------------------------- plurals

_IRREGULAR_PLURALS = {
    "goose": "geese",
    "mouse": "mice",
    "louse": "lice",
    "tooth": "teeth",
    "foot": "feet",
    "ox": "oxen",
    "calf": "calves",
    "leaf": "leaves",
    "loaf": "loaves",
    "half": "halves",
    "knife": "knives",
    "wolf": "wolves",
    "shelf": "shelves",
    "hoof": "hooves",
    "child": "children",
    "person": "people",
}
_SAME_PLURAL = {"fish", "sheep", "deer", "moose", "bison", "swine", "squid", "offal", "shellfish"}


def plural_forms(word: str) -> set[str]:
    """Plural spellings of an English noun (over-generating is harmless: unused keys)."""
    if len(word) < 3 or not word.isalpha() or word in _SAME_PLURAL:
        return set()
    if word in _IRREGULAR_PLURALS:
        return {_IRREGULAR_PLURALS[word]}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return {word + "es"}
    if word.endswith("y") and word[-2] not in "aeiou":
        return {word[:-1] + "ies"}
    if word.endswith("o"):
        return {word + "s", word + "es"}  # avocados, tomatoes
    if word.endswith("f"):
        return {word + "s", word[:-1] + "ves"}
    if word.endswith("fe"):
        return {word + "s", word[:-2] + "ves"}
    return {word + "s"}


def singular_forms(word: str) -> set[str]:
    """Singular spellings of a plural name ("anchovies" -> "anchovy", "oats" -> "oat")."""
    if len(word) < 4 or not word.isalpha() or word.endswith(("ss", "us", "is")):
        return set()
    for plural, singular in _IRREGULAR_PLURALS.items():
        if word == singular:
            return {plural}
    if word.endswith("ies"):
        return {word[:-3] + "y"}
    if word.endswith(("oes", "ses", "xes", "ches", "shes")):
        return {word[:-2]}
    if word.endswith("ves"):
        return {word[:-3] + "f", word[:-3] + "fe"}
    if word.endswith("s"):
        return {word[:-1]}
    return set()


def key_variants(key: str) -> set[str]:
    """Keys for the plural/singular of a phrase's last word; not the key itself."""
    head, _, last = key.rpartition(" ")
    prefix = head + " " if head else ""
    return {prefix + form for form in plural_forms(last) | singular_forms(last)} - {key}


# --------------------------------------------------------------------------- results


@dataclass(slots=True)
class MatchedItem:
    """One knowledge-base entry found in the text, read in its context."""

    text: str  # as written in the input
    start: int
    end: int
    name: str  # the entry's canonical name
    status: Status  # the entry's status in the data
    category: str
    reason: str  # from the data
    counts_as: Status | None  # what it adds to the verdict here; None when negated
    negated: bool = False  # "egg-free", "no gelatin", "free from milk"
    qualifier: str | None = None  # "vegan", "faux", "dairy free", "flavour", ...
    note: str | None = None  # how the context changed the entry's status
    alternatives: tuple[Alternative, ...] = ()  # only when it counts as non_vegan or maybe

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "name": self.name,
            "status": self.status,
            "category": self.category,
            "reason": self.reason,
            "counts_as": self.counts_as,
            "negated": self.negated,
            "qualifier": self.qualifier,
            "note": self.note,
            "alternatives": [a.model_dump() for a in self.alternatives],
        }


@dataclass(slots=True)
class CheckResult:
    """The answer of ``check(text)``; ``to_dict()`` is the ``--json`` output."""

    text: str
    verdict: Verdict
    summary: str  # one line: the verdict and what decided it
    items: list[MatchedItem] = field(default_factory=list)
    may_contain: list[MatchedItem] = field(default_factory=list)  # warnings, not ingredients
    unknown_terms: list[str] = field(default_factory=list)  # label items nothing matched
    claims: list[str] = field(default_factory=list)  # "vegan", "not vegan" as stated in the text

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "verdict": self.verdict,
            "summary": self.summary,
            "items": [i.to_dict() for i in self.items],
            "may_contain": [i.to_dict() for i in self.may_contain],
            "unknown_terms": list(self.unknown_terms),
            "claims": list(self.claims),
        }


# --------------------------------------------------------------------------- context words

# Words after which a matched item is negated, with the items listed after it.
_PREFIX_NEGATORS = frozenset(
    {
        "no",
        "without",
        "non",
        "zero",
        "excluding",
        "excludes",
        "exclude",
        "never",
        "not",
        "nor",
        "minus",
        # advice that takes an item out: "replace the eggs with flax eggs", "omit the honey"
        "replace",
        "swap",
        "omit",
        "skip",
        "ditch",
    }
)
_NEGATION_WORDS = _PREFIX_NEGATORS | {"free"}
_NEGATION_FILLERS_MAX = 2  # "no added milk", "does not contain milk"
_LIST_CONNECTORS = frozenset({"and", "or", "nor", "any"})
_CONTINUE_GAPS = frozenset({"", ",", "/"})
_FREE_BREAKERS = frozenset({"range", "run", "roaming", "roam"})  # "free-range eggs" are eggs

# Vegan qualifiers before an item: "vegan cheese", "faux fur", "mock duck".
_VEGAN_PREFIXES = frozenset({"vegan", "faux", "fake", "mock", "plantbased", "vegetalien"})
# Only for materials and cosmetics: "imitation leather" is vegan, imitation crab is fish.
_MATERIAL_PREFIXES = frozenset(
    {"imitation", "synthetic", "artificial", "pu", "pvc", "polyurethane", "manmade", "simulated", "acrylic"}
)
_NON_FOOD = frozenset({"material", "cosmetic_ingredient", "household"})
# "X-based" is a vegan qualifier when X is one of these (or a vegan entry: "oat-based").
_PLANT_BASES = frozenset({"plant", "vegetable", "veg", "nut", "grain", "legume", "bean", "fungi", "mushroom"})
# Vegan qualifiers after an item: "chicken-style pieces", "egg replacer", "milk alternative".
_VEGAN_SUFFIXES = frozenset(
    {
        "style",
        "alternative",
        "alternatives",
        "substitute",
        "substitutes",
        "replacer",
        "replacers",
        "replacement",
        "replacements",
        "analogue",
        "analogues",
        "analog",
        "analogs",
        "look",
        "effect",
    }
)
# Before an item: "soya alternative to yoghurt", "substitute for egg", "instead of butter".
_ALTERNATIVE_TO = frozenset({"alternative", "alternatives", "substitute", "substitutes", "replacement", "instead"})

# Plant analogues named "<plant> <animal food>": "pistachio milk", "cashew cheese",
# "cauliflower steak", "seitan kebab". The plant word must be one that such analogues
# are made *from*: "chocolate milk", "garlic butter" and "lemon chicken" are the animal
# food with a flavour, so flavour words are deliberately absent from these lists.
# The data lists the common analogues as entries; these tables catch the rest.
_MILK_BASES = frozenset(
    {
        "almond",
        "cashew",
        "hazelnut",
        "macadamia",
        "walnut",
        "pecan",
        "pistachio",
        "peanut",
        "brazil",
        "oat",
        "oats",
        "rice",
        "soy",
        "soya",
        "soybean",
        "coconut",
        "hemp",
        "pea",
        "flax",
        "linseed",
        "sesame",
        "sunflower",
        "quinoa",
        "spelt",
        "tigernut",
        "chickpea",
        "lupin",
        "barley",
        "potato",
        "plant",
    }
)
_BUTTER_BASES = _MILK_BASES | {
    "cocoa",
    "cacao",
    "shea",
    "mango",
    "kokum",
    "murumuru",
    "cupuacu",
    "illipe",
    "avocado",
    "apple",
    "pumpkin",
    "seed",
    "nut",
}
_MEAT_ANALOGUE_BASES = frozenset(
    {
        "tofu",
        "tempeh",
        "seitan",
        "soy",
        "soya",
        "jackfruit",
        "mushroom",
        "cauliflower",
        "carrot",
        "coconut",
        "eggplant",
        "aubergine",
        "beetroot",
        "celeriac",
        "lentil",
        "chickpea",
        "tvp",
        "banana",
        "watermelon",
    }
)
_ANALOGUE_BASES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("milk", "drink", "cheese", "yoghurt", "mylk"), _MILK_BASES),
    "butter": _BUTTER_BASES,
    # Not nut creams in general: "hazelnut cream" and "pistachio cream" spreads often hold
    # milk powder, and French "almond cream" is frangipane (butter and eggs).
    "cream": frozenset({"cashew", "oat", "oats", "soy", "soya", "coconut", "rice", "spelt", "hemp", "pea", "plant"}),
    **dict.fromkeys(
        (
            "bacon",
            "steak",
            "steaks",
            "jerky",
            "wings",
            "lox",
            "nuggets",
            "mince",
            "chorizo",
            "kebab",
            "tuna",
            "ham",
            "pepperoni",
            "schnitzel",
            "ribs",
            "meatballs",
        ),
        _MEAT_ANALOGUE_BASES,
    ),
}
# Substitutes that replace the animal part of whatever dish follows: "silken tofu
# chocolate mousse", "aquafaba meringue", "tempeh bolognese". ("cashew chicken" is
# chicken, so nuts are not on this list.)
_SUBSTITUTE_BASES = frozenset({"tofu", "aquafaba", "seitan", "tempeh", "jackfruit", "tvp"})
_SUBSTITUTABLE = frozenset(
    {"dish", "meat", "poultry", "fish", "seafood", "dairy", "egg", "animal_fat", "animal_derivative"}
)
# "almond croissant made with vegan butter": one part swapped, the rest unknown.
_MADE_WITH = frozenset({"made", "prepared", "baked", "cooked"})
# After an item, a named flavour is usually a flavouring: "chicken flavour noodles".
_FLAVOUR_SUFFIXES = frozenset({"flavour", "flavours", "flavoured", "flavouring", "flavourings"})
# After an item, an allergy note says nothing about the recipe: "milk allergy sufferers".
_ALLERGY_SUFFIXES = frozenset({"allergy", "allergies", "allergic", "allergen", "intolerance", "intolerant"})

# Category groups that a "<word>-free" qualifier frees the *next* item from:
# "dairy-free cheese" is vegan cheese, "egg-free mayo" vegan mayo. A meat-free or
# vegetarian product may still hold egg or dairy, so it becomes "maybe", not "vegan".
_MEAT = frozenset({"meat", "poultry", "fish", "seafood", "animal_fat"})
_ALL_ANIMAL = frozenset(
    {"meat", "poultry", "fish", "seafood", "dairy", "egg", "bee_product", "animal_fat", "animal_derivative"}
)
_FREE_GROUPS: dict[str, tuple[frozenset[str], Status]] = {
    "dairy": (frozenset({"dairy"}), "vegan"),
    "milk": (frozenset({"dairy"}), "vegan"),
    "egg": (frozenset({"egg"}), "vegan"),
    "eggs": (frozenset({"egg"}), "vegan"),
    "honey": (frozenset({"bee_product"}), "vegan"),
    "gelatin": (frozenset({"animal_derivative"}), "vegan"),
    "animal": (_ALL_ANIMAL, "vegan"),
    "meat": (_MEAT, "maybe"),
}
# One-word forms of the same: "eggless mayo", "meatless meatballs", "vegetarian sausages".
_GROUP_WORDS: dict[str, tuple[frozenset[str], Status]] = {
    "eggless": _FREE_GROUPS["egg"],
    "nondairy": _FREE_GROUPS["dairy"],
    "dairyfree": _FREE_GROUPS["dairy"],
    "meatless": _FREE_GROUPS["meat"],
    "meatfree": _FREE_GROUPS["meat"],
    "vegetarian": _FREE_GROUPS["meat"],
    "veggie": _FREE_GROUPS["meat"],
}
_LIST_AND = frozenset({"and", "or", "nor"})

# "may contain" warnings.
_MAY_VERBS = frozenset({"may", "might", "could", "can"})
_CONTAIN = frozenset({"contain", "contains"})
_TRACE = frozenset({"trace", "traces"})
# "made in a factory ...", "produced on shared equipment", "a kitchen that also handles".
# A kitchen or bakery needs "shared" or "also handles": "made in our kitchen with eggs"
# names an ingredient, not a cross-contact risk.
_PLANT_ROOMS = frozenset(
    {"factory", "factories", "facility", "facilities", "equipment", "premises", "environment", "site", "line", "lines"}
)
_FACILITY = _PLANT_ROOMS | {"kitchen", "kitchens", "bakery", "fryer", "fryers"}
_MADE = frozenset({"made", "produced", "manufactured", "packed", "processed", "packaged", "baked"})
_SHARED = frozenset({"shared", "same"})
_HANDLES = frozenset({"handles", "handling", "handle", "processes", "processing", "process", "also"})
# A bracket opening with these is an allergen note, not the item's make-up.
_ALLERGEN_NOTE = frozenset({"contains", "contain", "including", "incl", "with", "may"})
_WARNING_WORDS = _MAY_VERBS | _TRACE | _FACILITY | {"cross"}
_SCOPE_STOPPERS = frozenset({"ingredients", "ingredient", "contains", "allergens", "allergy"})

_NEGATIVE_CLAIM_LEAD = frozenset({"not", "non", "unsuitable", "isnt", "arent", "never"})
_CLAIM_WORDS = frozenset({"vegan", "vegans"})


# --------------------------------------------------------------------------- matcher


@dataclass(slots=True)
class _Hit:
    s: int  # first word
    e: int  # one past the last word
    entry: Entry
    alternatives: tuple[Alternative, ...]
    negated: bool = False
    qualifier: str | None = None
    counts_as: Status | None = None
    note: str | None = None
    may_contain: bool = False


class Matcher:
    """Compiled phrase index over the knowledge base; ``check`` is the whole pipeline."""

    def __init__(self, entries: Sequence[Entry], phrases: Mapping[str, int]):
        self._entries = list(entries)
        self._alternatives = [tuple(e.alternatives) for e in self._entries]
        self._phrases = dict(phrases)
        lengths: dict[str, set[int]] = {}
        for key in self._phrases:
            words = key.split(" ")
            lengths.setdefault(words[0], set()).add(len(words))
        # Longest first, so the first hit at a position is the longest match.
        self._lengths = {w: tuple(sorted(ls, reverse=True)) for w, ls in lengths.items()}

    def lookup_key(self, key: str) -> Entry | None:
        idx = self._phrases.get(key)
        if idx is None and _E_NUMBER.match(key):
            idx = self._phrases.get(_e_number_fallback(key))
        return None if idx is None else self._entries[idx]

    # ---- the pipeline

    def check(self, text: str) -> CheckResult:
        _validate_text(text)
        toks = tokenize(text)
        hits = self._match(toks)
        sentence, questions = _sentences(toks)
        owner = [-1] * len(toks.words)
        for h_idx, hit in enumerate(hits):
            for i in range(hit.s, hit.e):
                owner[i] = h_idx
        _mark_may_contain(toks, hits, owner)
        _negate(toks, hits, owner, sentence)
        for hit in hits:
            hit.counts_as = None if (hit.negated or hit.may_contain) else hit.entry.status
        _qualify(toks, hits, owner)
        _made_with(toks, hits, sentence)
        _supersede_generic(toks, hits, sentence)
        claims, positive, negative = _claims(toks, owner, sentence, questions)
        return _result(text, toks, hits, claims, positive, negative)

    def _match(self, toks: Tokens) -> list[_Hit]:
        """Leftmost-longest matching, except that a longer phrase starting inside a match
        wins: "pan-fried chicken of the woods" is the mushroom, not "fried chicken"."""
        words, gaps = toks.words, toks.gaps
        n = len(words)
        hits: list[_Hit] = []
        entries, alternatives = self._entries, self._alternatives
        i = 0
        while i < n:
            found = self._longest_at(words, gaps, i)
            if found is None:
                first = words[i][0]
                if first == "e" or first.isdigit():  # cheap test before the regexes
                    idx = self._code_at(words, gaps, i, hits)
                    if idx is not None:
                        hits.append(_Hit(i, i + 1, entries[idx], alternatives[idx]))
                i += 1
                continue
            length, idx = found
            for j in range(i + 1, i + length):
                inner = self._longest_at(words, gaps, j)
                if inner is not None and inner[0] > length and j + inner[0] > i + length:
                    i, (length, idx) = j, inner
                    break
            hits.append(_Hit(i, i + length, entries[idx], alternatives[idx]))
            i += length
        return hits

    def _longest_at(self, words: list[str], gaps: list[str], i: int) -> tuple[int, int] | None:
        """(length, entry index) of the longest phrase starting at word ``i``.

        A phrase may not run past punctuation: the gaps inside it must all be empty.
        """
        word = words[i]
        lengths = self._lengths.get(word)
        if lengths is None:
            return None
        n = len(words)
        for length in lengths:
            if length == 1:
                idx = self._phrases.get(word)
            elif i + length > n or any(gaps[i + 1 : i + length]):
                continue
            else:
                idx = self._phrases.get(" ".join(words[i : i + length]))
            if idx is not None:
                return length, idx
        return None

    def _code_at(self, words: list[str], gaps: list[str], i: int, hits: list[_Hit]) -> int | None:
        """E-numbers not indexed exactly, and bare codes after an additive class.

        "E472e" falls back to E472 when only the family is in the data. Labels from
        Australia and New Zealand print "emulsifier (471)": a bare 3-4 digit code counts
        as an E-number when it directly follows an additive (or another such code).
        """
        word = words[i]
        if _E_NUMBER.match(word):
            return self._phrases.get(_e_number_fallback(word))
        if _BARE_CODE.match(word) and i > 0 and gaps[i] in ("(", ":", "", ",") and _after_additive(words, hits, i):
            code = "e" + word
            idx = self._phrases.get(code)
            return idx if idx is not None else self._phrases.get(_e_number_fallback(code))
        return None


def _after_additive(words: list[str], hits: list[_Hit], i: int) -> bool:
    """Word ``i`` follows an additive class ("emulsifier", "colour") or another code."""
    prev = words[i - 1]
    if prev in _ADDITIVE_CLASSES:
        return True
    return bool(hits) and hits[-1].e == i and hits[-1].entry.category == "additive"


def _e_number_fallback(code: str) -> str:
    """E472e -> E472, E1422 stays: the family entry when the exact member is not indexed."""
    return code[:-1] if code[-1].isalpha() else code


def _validate_text(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"check() takes text (str), not {type(text).__name__}")
    if not text or text.isspace():
        raise ValueError("nothing to check: the text is empty")
    if "\x00" in text:
        raise ValueError("the text contains NUL bytes: it looks like binary data, not text")


def _sentences(toks: Tokens) -> tuple[list[int], set[int]]:
    """Sentence index of every word, and the sentences that are questions."""
    if _STRONG.isdisjoint("".join(toks.gaps)) and "?" not in toks.tail:
        return [0] * len(toks.words), set()  # the common case: one sentence
    sentence: list[int] = []
    questions: set[int] = set()
    current = 0
    for gap in toks.gaps:
        if gap and not _STRONG.isdisjoint(gap):
            if "?" in gap and sentence:
                questions.add(current)
            current += 1
        sentence.append(current)
    if "?" in toks.tail:
        questions.add(current)
    return sentence, questions


# --------------------------------------------------------------------------- context passes


def _mark_may_contain(toks: Tokens, hits: list[_Hit], owner: list[int]) -> None:
    """Items in a "may contain" / "made in a factory that handles" warning."""
    words, gaps = toks.words, toks.gaps
    n = len(words)
    present = set(words)
    if present.isdisjoint(_WARNING_WORDS):
        for hit in hits:  # still: "not suitable for milk allergy sufferers"
            if hit.e < n and not gaps[hit.e] and words[hit.e] in _ALLERGY_SUFFIXES:
                hit.may_contain = True
        return
    i = 0
    while i < n:
        if _is_warning_start(words, gaps, i):
            in_brackets = "(" in gaps[i] or (i > 0 and _open_bracket_before(gaps, i))
            j = i
            while j < n:
                if j > i and gaps[j] and (not _STRONG.isdisjoint(gaps[j]) or (in_brackets and ")" in gaps[j])):
                    break
                if j > i and words[j] in _SCOPE_STOPPERS and not _is_warning_start(words, gaps, j):
                    break
                if owner[j] != -1:
                    hits[owner[j]].may_contain = True
                j += 1
            i = j
            continue
        i += 1
    for hit in hits:  # "not suitable for milk allergy sufferers"
        if hit.e < n and not gaps[hit.e] and words[hit.e] in _ALLERGY_SUFFIXES:
            hit.may_contain = True


def _open_bracket_before(gaps: list[str], i: int) -> bool:
    depth = 0
    for gap in gaps[: i + 1]:
        depth += gap.count("(") - gap.count(")")
    return depth > 0


def _is_warning_start(words: list[str], gaps: list[str], i: int) -> bool:
    word = words[i]
    n = len(words)
    if word in _MAY_VERBS:
        j = i + 1
        if j < n and words[j] == "also":
            j += 1
        return j < n and words[j] in _CONTAIN and not gaps[j]
    if word in _TRACE:
        return True
    if word == "cross" and i + 1 < n and words[i + 1] in ("contamination", "contact"):
        return True
    if word in _FACILITY:
        if any(w in _SHARED for w in words[max(0, i - 2) : i]):
            return True
        if any(w in _HANDLES for w in words[i + 1 : i + 5]):
            return True
        return word in _PLANT_ROOMS and any(w in _MADE for w in words[max(0, i - 4) : i])
    return False


def _negate(toks: Tokens, hits: list[_Hit], owner: list[int], sentence: list[int]) -> None:
    """ "no X", "without X or Y", "free from X, Y", "X-free", "X, Y and Z free"."""
    words, gaps = toks.words, toks.gaps
    if _NEGATION_WORDS.isdisjoint(words):
        return
    n = len(words)
    for i, word in enumerate(words):
        if owner[i] != -1:
            continue
        if word in _PREFIX_NEGATORS:
            _negate_forward(words, gaps, hits, owner, sentence, i + 1)
        elif word == "free":
            after = words[i + 1] if i + 1 < n and not gaps[i + 1] else ""
            if after in ("from", "of"):
                _negate_forward(words, gaps, hits, owner, sentence, i + 2)
            elif after not in _FREE_BREAKERS and i > 0 and not gaps[i]:
                _negate_backward(words, gaps, hits, owner, i - 1)


def _negate_forward(
    words: list[str], gaps: list[str], hits: list[_Hit], owner: list[int], sentence: list[int], j: int
) -> None:
    """Negate the item after a negator, and the items listed with it."""
    n = len(words)
    if j >= n or gaps[j] not in ("", ":"):
        return
    fillers = 0
    while owner[j] == -1:  # "no added milk", "does not contain eggs"
        fillers += 1
        if fillers > _NEGATION_FILLERS_MAX or words[j] in ("but", "except", "only", "with"):
            return
        if j + 1 >= n or gaps[j + 1] not in ("", ":"):
            return
        j += 1
    while True:
        hit = hits[owner[j]]
        hit.negated = True
        j = hit.e
        # The list goes on over "," "and" "or": "free from milk, eggs and honey". A colon
        # after it starts something else: "made without honey: oats, maple syrup".
        while j < n and gaps[j] in _CONTINUE_GAPS and owner[j] == -1 and words[j] in _LIST_CONNECTORS:
            j += 1
        if j >= n or owner[j] == -1 or gaps[j] not in _CONTINUE_GAPS or sentence[j] != sentence[hit.s]:
            return


def _negate_backward(words: list[str], gaps: list[str], hits: list[_Hit], owner: list[int], k: int) -> None:
    """Negate the list that ends right before "free" at ``k``: "dairy, egg and gluten free".

    The list is read back part by part; a part is one item or at most two plain words
    ("gluten"), and parts are joined by "and"/"or"/"/". A comma joins parts only once an
    "and" was seen, so "milk chocolate, sugar free" leaves the milk chocolate alone.
    """
    crossed = False
    while k >= 0:
        if owner[k] != -1:
            hit = hits[owner[k]]
            hit.negated = True
            s = hit.s
        else:
            s = k
            if words[s] in _LIST_CONNECTORS:
                return
            if s > 0 and not gaps[s] and owner[s - 1] == -1 and words[s - 1] not in _LIST_CONNECTORS:
                s -= 1
        if s == 0:
            return
        gap = gaps[s]
        if gap == "/" or (gap == "," and crossed):
            k = s - 1
        elif not gap and owner[s - 1] == -1 and words[s - 1] in _LIST_AND:
            crossed = True
            if s - 1 == 0 or gaps[s - 1] not in ("", ","):
                return
            k = s - 2
        else:
            return


def _qualify(toks: Tokens, hits: list[_Hit], owner: list[int]) -> None:
    """Qualifiers before ("vegan cheese") and after ("chicken-style", "chicken flavour")."""
    words, gaps = toks.words, toks.gaps
    n = len(words)
    for hit in hits:
        if hit.counts_as is None or hit.counts_as == "vegan":
            continue
        found = _qualifier_before(words, gaps, hits, owner, hit)
        if found is not None:
            label, status = found
            hit.qualifier = label
            hit.counts_as = status
            hit.note = f"described as {label!r}: " + _qualifier_note(label, status)
            continue
        j = hit.e
        if j < n and not gaps[j]:
            after = words[j]
            if after in _VEGAN_SUFFIXES:
                hit.qualifier, hit.counts_as = after, "vegan"
                hit.note = f"'{words[hit.e - 1]} {after}': a plant-based stand-in, not the animal product"
            elif after in _FLAVOUR_SUFFIXES and hit.counts_as == "non_vegan":
                hit.qualifier, hit.counts_as = after, "maybe"
                hit.note = "a named flavour is often plant-based flavouring: check the ingredients"


def _qualifier_note(label: str, status: Status) -> str:
    if status == "vegan":
        return "an animal-free version"
    if label.startswith(("meat", "vegetarian", "veggie", "non-meat")):
        return "no meat, but it may still hold egg or dairy"
    return "that ingredient is ruled out, but the rest of the recipe is not given"


def _qualifier_before(
    words: list[str], gaps: list[str], hits: list[_Hit], owner: list[int], hit: _Hit
) -> tuple[str, Status] | None:
    category = hit.entry.category
    k = hit.s - 1
    fillers = 0
    while k >= 0 and not gaps[k + 1] and fillers <= 2:
        word = words[k]
        if k == hit.s - 1 and word in _ANALOGUE_BASES.get(words[hit.s], ()):
            return f"{word} {words[hit.s]}", "vegan"  # "cashew cheese", "seitan kebab"
        if k == hit.s - 1 and word in _SUBSTITUTE_BASES and category in _SUBSTITUTABLE:
            return f"{word} {words[hit.s]}", "vegan"  # "silken tofu chocolate mousse"
        if owner[k] != -1:
            prev = hits[owner[k]]
            # "non-dairy creamer": the negated "dairy" frees the creamer.
            return _group_release(words[k], category) if prev.negated and k == prev.e - 1 else None
        if word in _VEGAN_PREFIXES:
            return word, "vegan"
        if word in ("to", "for", "of") and k > 0 and not gaps[k] and words[k - 1] in _ALTERNATIVE_TO:
            return f"{words[k - 1]} {word}", "vegan"
        if word == "based" and k > 0 and not gaps[k]:
            base = words[k - 1]
            prev_vegan = owner[k - 1] != -1 and hits[owner[k - 1]].entry.status == "vegan"
            return (f"{base}-based", "vegan") if base in _PLANT_BASES or prev_vegan else None
        if word in _MATERIAL_PREFIXES and category in _NON_FOOD:
            return word, "vegan"
        if word in _GROUP_WORDS:
            groups, status = _GROUP_WORDS[word]
            return (word, status) if category in groups else None
        if word == "free" and k > 0 and not gaps[k]:  # "dairy-free cheese", "meat-free sausages"
            return _group_release(words[k - 1], category, suffix="-free")
        if word in _LIST_CONNECTORS or word in ("with", "in", "of", "free"):
            return None
        fillers += 1
        k -= 1
    return None


def _made_with(toks: Tokens, hits: list[_Hit], sentence: list[int]) -> None:
    """A non-vegan dish "made with" only plant items is partly veganised: a maybe.

    "Almond croissant made with vegan butter" swaps the butter, but says nothing of the
    egg wash; "chocolate mousse made with eggs and cream" stays non-vegan because the
    listed items count on their own.
    """
    words = toks.words
    n = len(words)
    for pos, hit in enumerate(hits):
        if hit.entry.category != "dish" or hit.counts_as != "non_vegan":
            continue
        for k in range(hit.e, min(hit.e + 3, n - 1)):
            if sentence[k] != sentence[hit.s] or (k > hit.e and toks.gaps[k]):
                break
            if words[k] in _MADE_WITH and words[k + 1] in ("with", "using", "from"):
                listed = [h for h in hits[pos + 1 :] if h.s > k + 1 and sentence[h.s] == sentence[hit.s]]
                counted = [h.counts_as for h in listed if h.counts_as is not None]
                if counted and all(c == "vegan" for c in counted):
                    hit.counts_as, hit.qualifier = "maybe", f"{words[k]} {words[k + 1]}"
                    hit.note = "made with plant ingredients named in the text; the rest of the recipe is not given"
                break


def _group_release(word: str, category: str, suffix: str = "") -> tuple[str, Status] | None:
    """What "<word>-free" / "non-<word>" makes of the next item, if anything.

    An item of the freed group becomes its own plant version ("dairy-free cheese"); a
    dish only loses that one ingredient ("egg-free cake" may still hold butter), so it
    becomes a maybe.
    """
    group = _FREE_GROUPS.get(word)
    if group is None:
        return None
    label = f"{word}{suffix}" if suffix else f"non-{word}"
    if category in group[0]:
        return label, group[1]
    return (label, "maybe") if category == "dish" else None


def _supersede_generic(toks: Tokens, hits: list[_Hit], sentence: list[int]) -> None:
    """An item whose make-up is spelled out right after it is settled by what is listed.

    A "maybe" is only a maybe because its source is unknown: "emulsifier (soy
    lecithin)", "colour: E120", "emulsifier E471", "vitamin D3 (from lichen)". A dish is
    only judged by its standard recipe until the text gives the real one: "caesar
    dressing: oil, capers, nutritional yeast", "veggie burger (pea protein, oats)".
    The listed items then decide instead, for better or worse. A bracket that names
    nothing we know, or only an allergen note ("natural flavouring (contains celery)"),
    settles nothing.
    """
    words, gaps = toks.words, toks.gaps
    n = len(words)
    for pos, first in enumerate(hits):
        is_maybe = first.counts_as == "maybe" and first.entry.status == "maybe"
        is_dish = first.entry.category == "dish" and first.counts_as in ("maybe", "non_vegan")
        if not (is_dish or is_maybe):
            continue
        j = first.e
        if is_dish:  # the list may follow the product name: "gummy vitamins: ..."
            while j < n and not gaps[j] and j - first.e < 2 and not _E_NUMBER.match(words[j]):
                j += 1
        if j >= n:
            continue
        later = hits[pos + 1 :]
        if gaps[j] == "(" and words[j] not in _ALLERGEN_NOTE:
            close = _bracket_end(gaps, j)
            inside = [h for h in later if j <= h.s < close]
            if not is_maybe and len(inside) < 2:
                continue  # "pizza (mushroom)" names a topping, not the recipe
        elif gaps[j] == ":" and is_dish:
            inside = [h for h in later if h.s >= j and sentence[h.s] == sentence[j]]
        elif is_maybe and (gaps[j] == ":" or (not gaps[j] and _E_NUMBER.match(words[j]))):
            inside = [h for h in later[:1] if h.s == j]
        else:
            continue
        inside = [h for h in inside if not h.negated and not h.may_contain and h.entry.category != "practice"]
        if inside:
            first.counts_as = None
            first.qualifier = "specified"
            names = ", ".join(repr(h.entry.name) for h in inside[:4]) + (", ..." if len(inside) > 4 else "")
            first.note = f"spelled out in the text as {names}: those decide"


def _bracket_end(gaps: list[str], i: int) -> int:
    """Index of the first word after the bracket that opens before word ``i``."""
    depth = 0
    for j in range(i, len(gaps)):
        depth += gaps[j].count("(") - gaps[j].count(")")
        if depth <= 0:
            return j
    return len(gaps)


def _claims(toks: Tokens, owner: list[int], sentence: list[int], questions: set[int]) -> tuple[list[str], bool, bool]:
    """Label claims: "suitable for vegans", "certified vegan", "not suitable for vegans".

    A question ("is this vegan?") claims nothing. "plant-based" on its own counts as a
    vegan claim; before an item it qualifies that item instead (see ``_qualify``).
    """
    words, gaps = toks.words, toks.gaps
    claims: list[str] = []
    positive = negative = False
    present = set(words)
    if present.isdisjoint(_CLAIM_WORDS) and "based" not in present:
        return claims, positive, negative
    sentence_start: dict[int, int] = {}
    for i, sent in enumerate(sentence):
        sentence_start.setdefault(sent, i)
    for i, word in enumerate(words):
        if sentence[i] in questions:
            continue
        # Inside an entry's name, "vegan" claims the product only as its title ("Vegan
        # cheddar-style block: ..."), not as one ingredient ("made with vegan butter").
        if owner[i] != -1 and i - sentence_start.get(sentence[i], 0) > 1:
            continue
        is_plant_based = word == "based" and i > 0 and words[i - 1] == "plant" and not gaps[i]
        if word not in _CLAIM_WORDS and not is_plant_based:
            continue
        lead = _negative_lead(words, gaps, i)
        if lead is not None:
            negative = True
            claims.append(f"not vegan ({lead})")
        elif word in _CLAIM_WORDS and i + 1 < len(words) and not gaps[i + 1] and words[i + 1] == "friendly":
            positive = True
            claims.append("vegan (vegan friendly)")
        else:
            positive = True
            claims.append("vegan (plant-based)" if is_plant_based else "vegan")
    return claims, positive, negative


def _negative_lead(words: list[str], gaps: list[str], i: int) -> str | None:
    """The "not"/"non"/"unsuitable" up to three words before a claim word, if any."""
    k = i - 1
    while k >= max(0, i - 3) and not gaps[k + 1]:
        if words[k] in _NEGATIVE_CLAIM_LEAD:
            return " ".join(words[k : i + 1])
        k -= 1
    return None


# --------------------------------------------------------------------------- verdict


def _result(
    text: str, toks: Tokens, hits: list[_Hit], claims: list[str], positive: bool, negative: bool
) -> CheckResult:
    items: list[MatchedItem] = []
    warnings: list[MatchedItem] = []
    for hit in hits:
        (warnings if hit.may_contain else items).append(_item(text, toks, hit))
    unknown, covered = _coverage(text, toks, hits)
    verdict, summary = _verdict(items, positive, negative, covered)
    return CheckResult(text, verdict, summary, items, warnings, unknown, claims)


def _item(text: str, toks: Tokens, hit: _Hit) -> MatchedItem:
    entry = hit.entry
    start, end = toks.starts[hit.s], toks.ends[hit.e - 1]
    counts = hit.counts_as
    note = hit.note
    if hit.negated:
        note = "negated: the text says it is absent"
    elif hit.may_contain:
        note = "in a 'may contain' warning: cross-contact, not an ingredient"
    alternatives = hit.alternatives if counts in ("non_vegan", "maybe") or hit.may_contain else ()
    # Positional: this runs for every item of every text, and keywords cost ~30% more.
    return MatchedItem(
        text[start:end],
        start,
        end,
        entry.name,
        entry.status,
        entry.category,
        entry.reason,
        counts,
        hit.negated,
        hit.qualifier,
        note,
        alternatives,
    )


# A label list is recognisably covered when at least this share of its items matched.
MIN_LIST_COVERAGE = 0.5


def _coverage(text: str, toks: Tokens, hits: list[_Hit]) -> tuple[list[str], bool]:
    """Unmatched items of a comma-separated label list, and whether the list is covered.

    Free text (fewer than three list items) is always "covered": one recognised item is
    enough to speak for a sentence. A label list needs MIN_LIST_COVERAGE of its items
    recognised before an all-vegan match may be called vegan.
    """
    if sum(map(text.count, ",;\n.")) < 2:
        return [], True  # fewer than three parts: free text
    parts = _list_parts(toks)
    if len(parts) < 3:
        return [], True
    starts = [s for s, _ in parts]
    recognised: set[int] = set()
    for hit in hits:  # a hit never spans punctuation, so it lies inside one part
        k = bisect.bisect_right(starts, hit.s) - 1
        if k >= 0 and hit.s < parts[k][1]:
            recognised.add(k)
    unknown = [text[toks.starts[s] : toks.ends[e - 1]] for k, (s, e) in enumerate(parts) if k not in recognised]
    return unknown, len(recognised) >= MIN_LIST_COVERAGE * len(parts)


_HEADER_WORDS = frozenset({"ingredients", "ingredient", "contains", "composition", "inci", "allergens"})
# A list part with one of these words is a statement about the product, not an ingredient.
_STATEMENT_WORDS = frozenset(
    {
        "may",
        "traces",
        "trace",
        "suitable",
        "vegan",
        "vegans",
        "vegetarian",
        "vegetarians",
        "free",
        "certified",
        "allergy",
        "allergens",
        "factory",
        "facility",
        "equipment",
        "store",
        "keep",
        "best",
        "serve",
    }
)


def _list_parts(toks: Tokens) -> list[tuple[int, int]]:
    """Top-level comma/semicolon separated word ranges, brackets kept inside their item."""
    words, gaps = toks.words, toks.gaps
    parts: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for i, gap in enumerate(gaps):
        if not gap:
            continue
        split = False
        for c in gap:
            if c in "([":
                depth += 1
            elif c in ")]":
                depth = max(0, depth - 1)
            elif c in ",;\n." and depth == 0:
                split = True
        if split and i > start:
            parts.append((start, i))
            start = i
    if words:
        parts.append((start, len(words)))
    cleaned = []
    for s, e in parts:
        while s < e and words[s] in _HEADER_WORDS:  # "Ingredients:" heads the first item
            s += 1
        if s == e or not _STATEMENT_WORDS.isdisjoint(words[s:e]):
            continue
        if e - s == 1 and words[s][0].isdigit():  # "(30%)", "2.5"
            continue
        cleaned.append((s, e))
    return cleaned


def _verdict(items: list[MatchedItem], positive: bool, negative: bool, covered: bool) -> tuple[Verdict, str]:
    by_status: dict[str, list[str]] = {"non_vegan": [], "maybe": [], "vegan": []}
    for item in items:
        if item.counts_as is not None:
            by_status[item.counts_as].append(item.name)
    if negative:
        return "non_vegan", "non_vegan: the text says it is not vegan"
    if by_status["non_vegan"]:
        return "non_vegan", "non_vegan: contains " + _names(by_status["non_vegan"])
    if by_status["maybe"] and not positive:
        return "maybe", "maybe: depends on the source of " + _names(by_status["maybe"])
    if positive:
        resolved = f", which settles {_names(by_status['maybe'])}" if by_status["maybe"] else ""
        return "vegan", "vegan: stated vegan, nothing non-vegan found" + resolved
    if by_status["vegan"] and covered:
        return "vegan", "vegan: every recognised item is vegan (" + _names(by_status["vegan"]) + ")"
    if by_status["vegan"]:
        return "unknown", "unknown: too few of the listed items are recognised to say"
    return "unknown", "unknown: nothing in the text is in the knowledge base"


def _names(names: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(names))
