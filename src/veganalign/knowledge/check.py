"""The matcher behind ``veganalign check``: text in, verdict with reasons out.

It sits in the guardrail's hot path, so the design favours one cheap pass:

1. ``tokenize`` runs one compiled regex over the text. Words are lower-cased, stripped
   of accents and apostrophes, and spelled the British way ("flavor" -> "flavour"); the
   punctuation between two words is kept as that word's *gap* ("", ",", "(" ...).
   Hyphens and spaces are both ``""``, so "egg-free" and "egg free" tokenise alike, and
   "E 120", "E-120" and "e120" all become the word ``e120``.
2. Longest match over a dict of phrases (every name, synonym and E-number of the
   knowledge base, plus plural and singular forms made at index time), and over the
   lexicon's name patterns ("tallow*", "laneth #", "of|from {livestock}"). Only words
   that start some phrase or pattern cost more than one dict lookup, and a phrase never
   spans punctuation, so "milk, chocolate" is not "milk chocolate" (unless the name
   itself holds it: "propane-1,2-diol", "lecithin (soy)").
3. A few passes over the (usually one to five) matches read the context: "may contain"
   warnings, negation ("egg-free", "no gelatin", "free from milk"), vegan qualifiers
   ("vegan leather", "plant-based milk", "chicken-style", "cashew cheese"), an item
   spelled out after it ("emulsifier (soy lecithin)", "caesar dressing: oil, capers",
   "glycerin from coconut oil"), a fining agent named or ruled out ("unfined", "fined
   with casein"), label claims ("suitable for vegans", "no animal ingredients", "not
   suitable for vegans").
4. The verdict rule (``_verdict``; docs/knowledge.md) turns what counts into one word.

The words read in steps 1 and 3 (spellings, qualifiers, negators, warning words...)
are data: ``lexicon.yaml``, validated as ``schema.Lexicon`` and compiled once per load
into a ``Vocabulary``. What stays in code is the grammar around them: punctuation, the
E-number patterns, list connectors ("and", "or") and the few words a rule is built on
("free", "based", "with").

Compound plant names ("peanut butter", "butternut squash", "coconut milk") are handled
by data, not code: they are entries of their own and win by being longer.
"""

from __future__ import annotations

import bisect
import gc
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Literal

from veganalign.errors import UserError
from veganalign.knowledge.schema import FOOD_CATEGORIES, Alternative, Entry, Lexicon, Status, Template, parse_template

Verdict = Literal["non_vegan", "maybe", "vegan", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("non_vegan", "maybe", "vegan", "unknown")

# --------------------------------------------------------------------------- tokens

# A word (letters/digits, with inner apostrophes: "lamb's") or a decimal number (one
# token, so the "." in "2.5%" is not a sentence end), or one punctuation mark that
# matters. Everything else (spaces, hyphens, quotes, "%", "*") only separates words.
_TOKEN = re.compile(r"\d+\.\d+|[^\W_]+(?:['\u2019][^\W_]+)*|[,;:()\[\]{}.!?/|\u2022\u00b7\n&+%]")
_MARKS = frozenset(",;:()[]{}.!?/|\u2022\u00b7\n&+")
_STRONG = frozenset(".!?;\n")  # ends a sentence: negation and "may contain" stop here
_E_NUMBER = re.compile(r"e\d{3,4}[a-z]?$")
_BARE_CODE = re.compile(r"\d{3,4}[a-z]?$")
# A number followed by one of these, or by a percent sign, is an amount, not an additive code:
# "Vitamin D3 1000 IU", "Sodium Bicarbonate (100%)".
_UNITS = frozenset(
    [
        "iu",
        "ui",
        "mg",
        "mcg",
        "ug",
        "µg",
        "g",
        "kg",
        "ml",
        "l",
        "cl",
        "kcal",
        "kj",
        "mm",
        "cm",
        "unit",
        "units",
        "tablet",
        "tablets",
        "capsule",
        "capsules",
    ]
)


def normalise_word(word: str, spelling: Mapping[str, str]) -> str:
    """Lower-case, drop accents, ligatures and apostrophes, one spelling (``Vocabulary.spelling``)."""
    w = word.lower()
    if not w.isascii():
        w = unicodedata.normalize("NFKD", w.casefold().replace("\u2019", ""))
        w = "".join(c for c in w if not unicodedata.combining(c))
        if not w.isascii():  # ligatures NFKD keeps: French "œufs" is "oeufs", "æ" is "ae"
            w = w.replace("œ", "oe").replace("æ", "ae")
    if "'" in w:
        w = w.replace("'", "")
    return spelling.get(w, w)


@dataclass(slots=True)
class Tokens:
    """Normalised words of a text, their offsets, and the punctuation before each."""

    words: list[str]
    starts: list[int]
    ends: list[int]
    gaps: list[str]  # punctuation between word i-1 and word i; "" for spaces/hyphens only
    tail: str  # punctuation after the last word
    percents: set[int]  # words a percent sign follows ("Pork (20%)"): amounts, not additive codes


def tokenize(text: str, spelling: Mapping[str, str]) -> Tokens:
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    gaps: list[str] = []
    gap = ""
    percents: set[int] = set()
    # Fast path: ASCII text lower-cases in one C call and keeps its offsets.
    ascii_text = text.isascii()
    for m in _TOKEN.finditer(text.lower() if ascii_text else text):
        tok = m.group()
        if tok == "%":
            if words and not gap:
                percents.add(len(words) - 1)
            continue
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
            word = spelling.get(word, word)
        else:
            word = normalise_word(tok, spelling)
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
    return Tokens(words, starts, ends, gaps, gap, percents)


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


def phrase_key(phrase: str, spelling: Mapping[str, str]) -> str:
    """The lookup key of a name, synonym or E-number: its normalised words, space-joined."""
    return " ".join(tokenize(phrase, spelling).words)


def gapped_key(phrase: str, spelling: Mapping[str, str]) -> str | None:
    """The key of a name that holds punctuation ("propane-1,2-diol", "lecithin (soy)"), or None.

    Such a name matches only with the same punctuation between the same words; written
    without it, the plain ``phrase_key`` finds it.
    """
    toks = tokenize(phrase, spelling)
    if not any(toks.gaps[1:]):
        return None
    return _join_gapped(toks.words, toks.gaps, 0, len(toks.words))


def _join_gapped(words: list[str], gaps: list[str], s: int, e: int) -> str:
    return words[s] + "".join(f" {gaps[k]} {words[k]}" if gaps[k] else f" {words[k]}" for k in range(s + 1, e))


# --------------------------------------------------------------------------- plurals


def plural_forms(word: str, vocab: Vocabulary) -> set[str]:
    """Plural spellings of an English noun (over-generating is harmless: unused keys)."""
    if len(word) < 3 or not word.isalpha() or word in vocab.same_plurals:
        return set()
    if word in vocab.irregular_plurals:
        return {vocab.irregular_plurals[word]}
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


def singular_forms(word: str, vocab: Vocabulary) -> set[str]:
    """Singular spellings of a plural name ("anchovies" -> "anchovy", "oats" -> "oat")."""
    if len(word) < 4 or not word.isalpha() or word.endswith(("ss", "us", "is")):
        return set()
    if word in vocab.irregular_singulars:
        return {vocab.irregular_singulars[word]}
    if word.endswith("ies"):
        return {word[:-3] + "y"}
    if word.endswith(("oes", "ses", "xes", "ches", "shes")):
        return {word[:-2]}
    if word.endswith("ves"):
        return {word[:-3] + "f", word[:-3] + "fe"}
    if word.endswith("s"):
        return {word[:-1]}
    return set()


def key_variants(key: str, vocab: Vocabulary) -> set[str]:
    """Keys for the plural/singular of a phrase's last word; not the key itself."""
    head, _, last = key.rpartition(" ")
    prefix = head + " " if head else ""
    return {prefix + form for form in plural_forms(last, vocab) | singular_forms(last, vocab)} - {key}


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
            # what Alternative.model_dump() gives, at a quarter of the cost (--lines writes many)
            "alternatives": [{"name": a.name, "good_for": list(a.good_for)} for a in self.alternatives],
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

# The grammar of lists and negation stays here; the words it is applied to are the lexicon's.
_NEGATION_FILLERS_MAX = 2  # "no added milk", "does not contain milk"
_LIST_CONNECTORS = frozenset({"and", "or", "nor", "any"})
_CONTINUE_GAPS = frozenset({"", ",", "/"})
_LIST_AND = frozenset({"and", "or", "nor"})

# A group release: the categories "<word>-free" rules out, and what a freed item counts as.
_Release = tuple[frozenset[str], Status]


class Vocabulary:
    """The lexicon (``lexicon.yaml``) as the matcher reads it: sets and tables, built once per load.

    Each attribute is one lexicon list as a frozenset (membership tests in the hot path),
    or a table derived from several; the lexicon file says what each list is for.
    """

    def __init__(self, lexicon: Lexicon):
        lx = lexicon
        self.lexicon = lexicon
        # spelling and word forms
        self.spelling = lx.spelling_table()
        self.irregular_plurals = dict(lx.irregular_plurals)
        self.irregular_singulars: dict[str, str] = {}
        for singular, plural in lx.irregular_plurals.items():
            self.irregular_singulars.setdefault(plural, singular)
        self.same_plurals = frozenset(lx.same_plurals)
        # label structure
        self.additive_classes = frozenset(lx.additive_classes)
        self.header_words = frozenset(lx.header_words)
        # The headers that open the ingredient list itself; "Contains: MILK" is an allergen line.
        self.list_headers = self.header_words - {"contains", "allergens"}
        self.statement_words = frozenset(lx.statement_words)
        self.statement_leads = frozenset(lx.statement_leads)
        self.bare_word_contexts = {word: frozenset(near) for word, near in lx.bare_word_contexts.items()}
        # negation: "free" is the matcher's own ("free from X", "X-free")
        self.negators = frozenset(lx.negators)
        self.negation_words = self.negators | {"free"}
        self.free_breakers = frozenset(lx.free_breakers)
        self.free_groups: dict[str, _Release] = {}  # "dairy" of "dairy-free" / "non-dairy"
        self.group_words: dict[str, _Release] = {}  # one-word forms: "eggless", "vegetarian"
        self.group_notes: dict[str, str] = {}  # qualifier label -> note for the maybe it makes
        for group in lx.free_groups:
            release = (frozenset(group.frees), group.counts_as)
            for word in group.words:
                self.free_groups[word] = release
            for word in group.single_words:
                self.group_words[word] = release
            if group.note is not None:
                labels = [label for w in group.words for label in (f"{w}-free", f"non-{w}")]
                self.group_notes.update(dict.fromkeys([*labels, *group.single_words], group.note))
        # vegan qualifiers
        self.vegan_prefixes = frozenset(lx.vegan_prefixes)
        self.material_prefixes = frozenset(lx.material_prefixes)
        self.material_categories = frozenset(lx.material_categories)
        self.plant_bases = frozenset(lx.plant_bases)
        self.vegan_suffixes = frozenset(lx.vegan_suffixes)
        self.hyphen_suffixes = frozenset(lx.hyphen_suffixes)
        self.alternative_to = frozenset(lx.alternative_to)
        # animal-food word -> the plants that make "<plant> <word>" an analogue ("cashew cheese")
        self.analogue_bases = {
            food: frozenset(base for name in lists for base in lx.analogue_bases[name])
            for food, lists in lx.analogue_foods.items()
        }
        self.substitute_bases = frozenset(lx.substitute_bases)
        self.substitutable = frozenset(lx.substitutable_categories)
        self.made_with = frozenset(lx.made_with_verbs)
        self.flavour_suffixes = frozenset(lx.flavour_suffixes)
        self.flavour_prefixes = frozenset(lx.flavour_prefixes)
        self.flavour_links = frozenset(lx.flavour_links)
        self.allergy_suffixes = frozenset(lx.allergy_suffixes)
        # "may contain" warnings
        self.may_verbs = frozenset(lx.may_verbs)
        self.contain = frozenset(lx.contain_words)
        self.trace = frozenset(lx.trace_words)
        self.plant_rooms = frozenset(lx.plant_rooms)
        self.facility = self.plant_rooms | frozenset(lx.kitchens)
        self.made = frozenset(lx.made_words)
        self.shared = frozenset(lx.shared_words)
        self.handles = frozenset(lx.handling_words)
        self.allergen_note = frozenset(lx.allergen_note_words)
        # a text without any of these has no warning to look for ("cross": "cross-contamination")
        self.warning_words = self.may_verbs | self.trace | self.facility | {"cross"}
        self.scope_stoppers = frozenset(lx.warning_stoppers)
        # sources and processing aids
        self.source_links = frozenset(lx.source_links)
        self.processing_doubts: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
            name: (frozenset(doubt.settled_by), frozenset(doubt.aid_words), doubt.note)
            for doubt in lx.processing_doubts
            for name in doubt.entries
        }
        # claims
        self.claim_words = frozenset(lx.claim_words)
        self.negative_claim_lead = frozenset(lx.negative_claim_words)
        self.animal_words = frozenset(lx.animal_words)
        self.animal_claim_nouns = frozenset(lx.animal_claim_nouns)
        self.claim_triggers = self.claim_words | self.animal_words | {"based"}
        # name patterns: (template, pattern index) in lexicon order
        lists = {name: frozenset(words) for name, words in lx.pattern_words.items()}
        self.templates = [
            (_compile(parse_template(text), lists), k)
            for k, pattern in enumerate(lx.patterns)
            for text in pattern.match
        ]


# --------------------------------------------------------------------------- name patterns


@dataclass(frozen=True, slots=True)
class _Element:
    """One word position of a compiled template (schema.TemplateElement, lists resolved)."""

    words: frozenset[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    number: bool
    optional: bool

    def accepts(self, word: str) -> bool:
        return (
            word in self.words
            or word.startswith(self.prefixes)
            or word.endswith(self.suffixes)
            or (self.number and word.isdigit())
        )

    def accepts_any(self, words: list[str]) -> bool:
        """``accepts`` for any of ``words``, the loops in C."""
        return (
            not self.words.isdisjoint(words)
            or (bool(self.prefixes) and any(map(str.startswith, words, repeat(self.prefixes))))
            or (bool(self.suffixes) and any(map(str.endswith, words, repeat(self.suffixes))))
            or (self.number and any(map(str.isdigit, words)))
        )


@dataclass(frozen=True, slots=True)
class _Template:
    elements: tuple[_Element, ...]
    open_bracket: bool
    close_bracket: bool
    fixed: bool  # no optional element
    anchor: int  # index of the first element that must be there

    def starts(self) -> list[_Element]:
        """The elements a match can begin with: up to and including the first one that must be there."""
        out = []
        for element in self.elements:
            out.append(element)
            if not element.optional:
                break
        return out

    def end(self, toks: Tokens, i: int) -> int:
        """One past the last word of the longest match starting at word ``i``, or -1."""
        words, gaps = toks.words, toks.gaps
        n = len(words)
        if self.open_bracket and "(" not in gaps[i]:
            return -1
        if self.fixed:  # no optional element: one way through, most templates fail on the second word
            e = i + len(self.elements)
            if e > n or any(gaps[i + 1 : e]):
                return -1
            # The first element matched: that is how the template was picked for this word.
            for k in range(1, len(self.elements)):
                if not self.elements[k].accepts(words[i + k]):
                    return -1
            return e if not self.close_bracket or ")" in (gaps[e] if e < n else toks.tail) else -1
        # Cheap rejection first: "sodium chloride" is not "sodium ... hydrolysed animal protein".
        if not self.elements[self.anchor].accepts_any(words[i : i + self.anchor + 1]):
            return -1
        ends = {i}
        for element in self.elements:
            after = set(ends) if element.optional else set()
            for p in ends:
                # inside a match only spaces and hyphens: a name never runs over punctuation
                if p < n and (p == i or not gaps[p]) and element.accepts(words[p]):
                    after.add(p + 1)
            if not after:
                return -1
            ends = after
        best = -1
        for e in ends:
            if e > max(i, best) and (not self.close_bracket or ")" in (gaps[e] if e < n else toks.tail)):
                best = e
        return best


def _compile(template: Template, lists: Mapping[str, frozenset[str]]) -> _Template:
    elements = []
    for el in template.elements:
        words = frozenset(el.words).union(*(lists[name] for name in el.lists))
        elements.append(_Element(words, el.prefixes, el.suffixes, el.number, el.optional))
    fixed = not any(e.optional for e in elements)
    anchor = next(k for k, e in enumerate(elements) if not e.optional)
    return _Template(tuple(elements), template.open_bracket, template.close_bracket, fixed, anchor)


# --------------------------------------------------------------------------- matcher


@dataclass(slots=True)
class _Hit:
    s: int  # first word
    e: int  # one past the last word
    entry: Entry
    alternatives: tuple[Alternative, ...]
    negated: bool = False
    freed: bool = False  # negated by "free": "honey-free", "free from honey"
    qualifier: str | None = None
    counts_as: Status | None = None
    note: str | None = None
    may_contain: bool = False


class Matcher:
    """Compiled phrase index over the knowledge base; ``check`` is the whole pipeline.

    ``phrases`` maps plain keys (words space-joined) to entry indexes; ``gapped`` maps the
    keys of names that hold punctuation (``gapped_key``). The lexicon's patterns are
    bound here: one naming an entry finds that entry (skipped where the data lacks it),
    one with its own verdict becomes an extra entry after the data's, unless the data has
    an entry of its name.
    """

    def __init__(
        self,
        entries: Sequence[Entry],
        phrases: Mapping[str, int],
        vocabulary: Vocabulary,
        gapped: Mapping[str, int] | None = None,
    ):
        self.vocabulary = vocabulary
        self._entries = list(entries)
        self._phrases = dict(phrases)
        self._lengths = _lengths_by_first_word(self._phrases)
        self._gapped = dict(gapped or {})
        gapped_lengths: dict[str, set[int]] = {}
        for key in self._gapped:
            words = [part for part in key.split(" ") if part[0].isalnum()]  # the rest are punctuation
            gapped_lengths.setdefault(words[0], set()).add(len(words))
        self._gapped_lengths = {w: tuple(sorted(ls, reverse=True)) for w, ls in gapped_lengths.items()}
        # name patterns
        by_name = {e.name.casefold(): i for i, e in enumerate(self._entries)}
        patterns = vocabulary.lexicon.patterns
        targets: list[int | None] = []
        for pattern in patterns:
            idx = by_name.get((pattern.entry or pattern.name or "").casefold())
            own = pattern.own_entry()
            if idx is None and own is not None:
                idx = len(self._entries)
                self._entries.append(own)
            targets.append(idx)
        self.pattern_entries = tuple(self._entries[len(entries) :])  # the patterns' own verdicts
        self._templates = [(t, targets[k]) for t, k in vocabulary.templates if targets[k] is not None]
        first: dict[str, list[int]] = {}
        prefixes: dict[str, list[int]] = {}
        suffixes: dict[str, list[int]] = {}
        numbers: list[int] = []
        for t_idx, (template, _) in enumerate(self._templates):
            for element in template.starts():
                for word in element.words:
                    first.setdefault(word, []).append(t_idx)
                for stem in element.prefixes:
                    prefixes.setdefault(stem, []).append(t_idx)
                for stem in element.suffixes:
                    suffixes.setdefault(stem, []).append(t_idx)
                if element.number:
                    numbers.append(t_idx)
        self._pattern_first = {w: tuple(ts) for w, ts in first.items()}
        self._prefix_starts = [(stem, tuple(ts)) for stem, ts in prefixes.items()]
        self._suffix_starts = [(stem, tuple(ts)) for stem, ts in suffixes.items()]
        self._prefixes, self._suffixes = tuple(prefixes), tuple(suffixes)
        self._number_starts = tuple(numbers)
        # word -> (lengths of the plain keys it starts, the patterns and gapped keys it may
        # start or None): the hot path is one dict get per word. Words that start nothing are
        # memoised as they are met, so the prefix, suffix and number tests run once per word.
        self._known_starts = {w: (lengths, None) for w, lengths in self._lengths.items()}
        for word in {*self._gapped_lengths, *self._pattern_first}:
            self._known_starts[word] = (self._lengths.get(word, ()), self._special_for(word))
        for word, (lengths, _) in self._known_starts.items():  # "stearate" starts keys, and a pattern by its suffix
            if word.startswith(self._prefixes) or word.endswith(self._suffixes) or word.isdigit():
                self._known_starts[word] = (lengths, self._special_for(word))
        self._starts = dict(self._known_starts)
        self._alternatives = [tuple(e.alternatives) for e in self._entries]

    def lookup_key(self, key: str) -> Entry | None:
        idx = self._phrases.get(key)
        if idx is None and _E_NUMBER.match(key):
            idx = self._phrases.get(_e_number_fallback(key))
        return None if idx is None else self._entries[idx]

    def lookup(self, name: str) -> Entry | None:
        """The entry a whole name matches: a key, or a pattern ("laneth-10", "tallowamine")."""
        toks = tokenize(name, self.vocabulary.spelling)
        if not toks.words:
            return None
        entry = self.lookup_key(" ".join(toks.words))
        if entry is None:
            found = self._longest_at(toks, 0)
            if found is not None and found[0] == len(toks.words):
                entry = self._entries[found[1]]
        return entry

    def check_many(self, texts: Iterable[str]) -> list[CheckResult]:
        """``check`` for each text, in order. Every text is validated first, so a bad one
        (empty, NUL bytes, not a str) raises before any work, naming its index."""
        texts = list(texts)
        for n, text in enumerate(texts):
            try:
                _validate_text(text)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"text #{n}: {exc}") from None
        check = self._check
        # The results are kept (unlike in a loop that drops each one), and a growing heap
        # of live objects makes the cycle collector run and rescan: ~20% of the time. The
        # results hold no cycles, so pause it meanwhile, as the loader does.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return [check(text) for text in texts]
        finally:
            if was_enabled:
                gc.enable()

    # ---- the pipeline

    def check(self, text: str) -> CheckResult:
        _validate_text(text)
        return self._check(text)

    def _check(self, text: str) -> CheckResult:
        vocab = self.vocabulary
        toks = tokenize(text, vocab.spelling)
        hits = _everyday_words(toks, self._match(toks), vocab)
        sentence, questions = _sentences(toks)
        owner = [-1] * len(toks.words)
        for h_idx, hit in enumerate(hits):
            for i in range(hit.s, hit.e):
                owner[i] = h_idx
        _mark_may_contain(toks, hits, owner, vocab)
        _negate(toks, hits, owner, sentence, vocab)
        for hit in hits:
            hit.counts_as = None if (hit.negated or hit.may_contain) else hit.entry.status
        _qualify(text, toks, hits, owner, vocab)
        _made_with(toks, hits, sentence, vocab)
        if _supersede_generic(toks, hits, owner, sentence, vocab):  # a wine, beer or cider that may be fined
            _processing_aids(toks, hits, owner, sentence, questions, vocab)
        _product_names(toks, hits, sentence, vocab)
        claims, positive, negative = _claims(toks, owner, sentence, questions, vocab)
        return _result(text, toks, hits, claims, positive, negative, vocab)

    def _match(self, toks: Tokens) -> list[_Hit]:
        """Leftmost-longest matching, except that a longer phrase starting inside a match
        wins: "pan-fried chicken of the woods" is the mushroom, not "fried chicken"."""
        words, gaps = toks.words, toks.gaps
        n = len(words)
        hits: list[_Hit] = []
        entries, alternatives = self._entries, self._alternatives
        starts, phrases = self._starts, self._phrases
        i = 0
        while i < n:
            # The hot path, inlined: one dict get tells which keys the word starts, if any.
            word = words[i]
            lengths, special = starts.get(word) or self._memo_start(word)
            found = None
            for length in lengths:
                if length == 1:
                    idx = phrases.get(word)
                elif i + length > n or any(gaps[i + 1 : i + length]):
                    continue
                else:
                    idx = phrases.get(" ".join(words[i : i + length]))
                if idx is not None:
                    found = length, idx
                    break
            if special is not None:
                found = self._special_at(toks, i, found, special)
            if found is None:
                first = word[0]
                if first == "e" or first.isdigit():  # cheap test before the regexes
                    idx = self._code_at(toks, i, hits)
                    if idx is not None:
                        hits.append(_Hit(i, i + 1, entries[idx], alternatives[idx]))
                i += 1
                continue
            length, idx = found
            for j in range(i + 1, i + length):
                inner = self._longest_at(toks, j)
                if inner is not None and inner[0] > length and j + inner[0] > i + length:
                    i, (length, idx) = j, inner
                    break
            hits.append(_Hit(i, i + length, entries[idx], alternatives[idx]))
            i += length
        return hits

    def _longest_at(self, toks: Tokens, i: int) -> tuple[int, int] | None:
        """(length, entry index) of the longest phrase or pattern starting at word ``i``.

        A phrase may not run past punctuation: the gaps inside it must all be empty. On a
        tie between a phrase and a pattern, the phrase (the data's own name) wins.
        (``_match`` inlines the first half.)
        """
        words = toks.words
        word = words[i]
        found = None
        lengths, special = self._starts.get(word) or self._memo_start(word)
        if lengths:
            phrases = self._phrases
            gaps = toks.gaps
            n = len(words)
            for length in lengths:
                if length == 1:
                    idx = phrases.get(word)
                elif i + length > n or any(gaps[i + 1 : i + length]):
                    continue
                else:
                    idx = phrases.get(" ".join(words[i : i + length]))
                if idx is not None:
                    found = length, idx
                    break
        if special is not None:
            found = self._special_at(toks, i, found, special)
        return found

    _MEMO_MAX = 200_000  # distinct words remembered before the memo starts over

    def _memo_start(self, word: str) -> tuple[tuple[int, ...], _Special | None]:
        """A word that starts no key: may it start a pattern by its prefix, suffix or digits?"""
        if word.startswith(self._prefixes) or word.endswith(self._suffixes) or word.isdigit():
            special = self._special_for(word)
        else:
            special = None
        if len(self._starts) > len(self._known_starts) + self._MEMO_MAX:
            self._starts = dict(self._known_starts)
        start = self._starts[word] = ((), special)
        return start

    def _special_for(self, word: str) -> _Special | None:
        """The patterns (indexes, lexicon order) a word may start, and whether it starts a gapped key."""
        templates = set(self._pattern_first.get(word, ()))
        templates.update(t for stem, ts in self._prefix_starts if word.startswith(stem) for t in ts)
        templates.update(t for stem, ts in self._suffix_starts if word.endswith(stem) for t in ts)
        if word.isdigit():
            templates.update(self._number_starts)
        gapped = word in self._gapped_lengths
        return (tuple(sorted(templates)), gapped) if templates or gapped else None

    def _special_at(
        self, toks: Tokens, i: int, found: tuple[int, int] | None, special: _Special
    ) -> tuple[int, int] | None:
        """``found`` or a longer match of a name with punctuation in it, or of a pattern."""
        words, gaps = toks.words, toks.gaps
        word = words[i]
        n = len(words)
        best = found[0] if found is not None else 0
        candidates, gapped = special
        for length in self._gapped_lengths[word] if gapped else ():
            if length <= best:
                break
            if i + length <= n and any(gaps[i + 1 : i + length]):  # without punctuation the plain key decides
                idx = self._gapped.get(_join_gapped(words, gaps, i, i + length))
                if idx is not None:
                    found, best = (length, idx), length
                    break
        for t_idx in candidates:  # lexicon order: on a tie the earlier pattern wins
            template, idx = self._templates[t_idx]
            length = template.end(toks, i) - i
            if length > best:
                found, best = (length, idx), length
        return found

    def _code_at(self, toks: Tokens, i: int, hits: list[_Hit]) -> int | None:
        """E-numbers not indexed exactly, and bare codes after an additive class.

        "E472e" falls back to E472 when only the family is in the data. Labels from
        Australia and New Zealand print "emulsifier (471)": a bare 3-4 digit code counts
        as an E-number when it directly follows an additive (or another such code).
        """
        words, gaps = toks.words, toks.gaps
        word = words[i]
        if _E_NUMBER.match(word):
            return self._phrases.get(_e_number_fallback(word))
        if (
            _BARE_CODE.match(word)
            and i > 0
            and gaps[i] in ("(", ":", "", ",")
            and i not in toks.percents
            and not (i + 1 < len(words) and words[i + 1] in _UNITS)
            and _after_additive(words, hits, i, self.vocabulary)
        ):
            code = "e" + word
            idx = self._phrases.get(code)
            return idx if idx is not None else self._phrases.get(_e_number_fallback(code))
        return None


# The patterns a word may start (indexes into Matcher._templates), and whether it starts a gapped key.
_Special = tuple[tuple[int, ...], bool]


def _lengths_by_first_word(keys: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """First word -> the word counts of the keys it starts, longest first (the first hit is the longest)."""
    lengths: dict[str, set[int]] = {}
    for key in keys:
        words = key.split(" ")
        lengths.setdefault(words[0], set()).add(len(words))
    return {w: tuple(sorted(ls, reverse=True)) for w, ls in lengths.items()}


def _after_additive(words: list[str], hits: list[_Hit], i: int, vocab: Vocabulary) -> bool:
    """Word ``i`` follows an additive class ("emulsifier", "colour") or another code."""
    prev = words[i - 1]
    if prev in vocab.additive_classes:
        return True
    return bool(hits) and hits[-1].e == i and hits[-1].entry.category == "additive"


def _e_number_fallback(code: str) -> str:
    """E472e -> E472, E1422 stays: the family entry when the exact member is not indexed."""
    return code[:-1] if code[-1].isalpha() else code


class TextError(UserError):
    """A text that cannot be checked (empty, or binary data): the user's input, not a bug."""


def _validate_text(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"check() takes text (str), not {type(text).__name__}")
    if not text or text.isspace():
        raise TextError("nothing to check: the text is empty")
    if "\x00" in text:
        raise TextError("the text contains NUL bytes: it looks like binary data, not text")


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


def _product_names(toks: Tokens, hits: list[_Hit], sentence: list[int], vocab: Vocabulary) -> None:
    """A dish or a maybe named before an ingredient list's header is the product's name: "Pesto. Ingredients: basil,
    sunflower oil, pine nuts" is this pesto, and its list decides, not what a pesto usually holds ("Bread.
    Ingredients: ..." likewise). A wine's or beer's fining never shows in its list.

    A meat, milk or other animal food named there is an ingredient unless the list names nothing non-vegan: then
    the name may be a style ("Chocolate Cream Biscuits. Ingredients: wheat flour, sugar, palm oil ...") or the list
    may call it something we do not know, so it is a maybe. A material is an ingredient wherever it stands."""
    doubts = vocab.processing_doubts
    named = [
        hit
        for hit in hits
        if hit.counts_as is not None
        and (
            hit.entry.category == "dish"
            or (hit.counts_as == "maybe" and hit.entry.name not in doubts)
            or (hit.counts_as == "non_vegan" and hit.entry.category in FOOD_CATEGORIES)
        )
    ]
    if not named:  # most texts: no need to look for a header
        return
    words, gaps = toks.words, toks.gaps
    # The first list header; at the very start, nothing names the product ("Ingredients: ... Contains: MILK").
    header = next((i for i in range(len(words) - 1) if words[i] in vocab.list_headers and ":" in gaps[i + 1]), None)
    if not header:
        return
    # The list vouches for a name only when it names nothing non-vegan and we know every part of it: "Prosciutto
    # cotto. Ingredienti: coscia di suino, ..." lists the pork in words we do not read.
    owned = {i for h in hits for i in range(h.s, h.e)}
    parts = [(s, e) for s, e in _list_parts(toks, vocab) if s >= header]
    vouches = (
        len(parts) >= 2
        and all(owned.intersection(range(s, e)) for s, e in parts)
        and not any(h.s >= header and h.counts_as == "non_vegan" for h in hits)
    )
    for hit in named:
        if hit.e > header:
            continue
        if hit.entry.category == "dish" or hit.counts_as == "maybe":
            hit.counts_as = None
            hit.note = "the product's name: its ingredient list decides"
        elif vouches and sentence.count(sentence[hit.s]) > hit.e - hit.s:  # not the whole name: "Milk chocolate."
            hit.counts_as = "maybe"
            hit.note = "named in the product's name but not in its ingredient list: a style name, or listed as "
            hit.note += "something unknown here"


def _mark_may_contain(toks: Tokens, hits: list[_Hit], owner: list[int], vocab: Vocabulary) -> None:
    """Items in a "may contain" / "made in a factory that handles" warning."""
    words, gaps = toks.words, toks.gaps
    n = len(words)
    present = set(words)
    allergy_suffixes = vocab.allergy_suffixes
    if present.isdisjoint(vocab.warning_words):
        for hit in hits:  # still: "not suitable for milk allergy sufferers"
            if hit.e < n and not gaps[hit.e] and words[hit.e] in allergy_suffixes:
                hit.may_contain = True
        return
    i = 0
    while i < n:
        if _is_warning_start(words, gaps, i, vocab):
            in_brackets = "(" in gaps[i] or (i > 0 and _open_bracket_before(gaps, i))
            j = i
            while j < n:
                if j > i and gaps[j] and (not _STRONG.isdisjoint(gaps[j]) or (in_brackets and ")" in gaps[j])):
                    break
                if j > i and words[j] in vocab.scope_stoppers and not _is_warning_start(words, gaps, j, vocab):
                    break
                if owner[j] != -1:
                    hits[owner[j]].may_contain = True
                j += 1
            i = j
            continue
        i += 1
    for hit in hits:  # "not suitable for milk allergy sufferers"
        if hit.e < n and not gaps[hit.e] and words[hit.e] in allergy_suffixes:
            hit.may_contain = True


def _open_bracket_before(gaps: list[str], i: int) -> bool:
    depth = 0
    for gap in gaps[: i + 1]:
        depth += gap.count("(") - gap.count(")")
    return depth > 0


def _is_warning_start(words: list[str], gaps: list[str], i: int, vocab: Vocabulary) -> bool:
    word = words[i]
    n = len(words)
    if word in vocab.may_verbs:
        j = i + 1
        if j < n and words[j] == "also":
            j += 1
        return j < n and words[j] in vocab.contain and not gaps[j]
    if word in vocab.trace:
        return True
    if word == "cross" and i + 1 < n and words[i + 1] in ("contamination", "contact"):
        return True
    if word in vocab.facility:
        if any(w in vocab.shared for w in words[max(0, i - 2) : i]):
            return True
        if any(w in vocab.handles for w in words[i + 1 : i + 5]):
            return True
        return word in vocab.plant_rooms and any(w in vocab.made for w in words[max(0, i - 4) : i])
    return False


def _everyday_words(toks: Tokens, hits: list[_Hit], vocab: Vocabulary) -> list[_Hit]:
    """Hits on a bare everyday word ("down", "coral") kept only beside one of its context words, or after an
    amount in percent ("100% down"): "let it cool down" and "Shade 212 Coral" name no animal product."""
    contexts = vocab.bare_word_contexts
    words, gaps = toks.words, toks.gaps
    n = len(words)
    kept = []
    for hit in hits:
        near = contexts.get(words[hit.s]) if hit.e - hit.s == 1 else None
        if near is None:
            kept.append(hit)
            continue
        before = [k for k in (hit.s - 1, hit.s - 2) if k >= 0]
        before = before[: next((m for m, k in enumerate(before) if _STRONG.intersection(gaps[k + 1])), len(before))]
        after = [k for k in (hit.s + 1, hit.s + 2) if k < n]
        after = after[: next((m for m, k in enumerate(after) if _STRONG.intersection(gaps[k])), len(after))]
        amount = bool(before) and before[0] == hit.s - 1 and (hit.s - 1) in toks.percents
        alone = n == 1 or any(words[k] in vocab.claim_words for k in (*before, *after))  # "down", "is coral vegan?"
        if amount or alone or any(words[k] in near for k in (*before, *after)):
            kept.append(hit)
    return kept


def _negate(toks: Tokens, hits: list[_Hit], owner: list[int], sentence: list[int], vocab: Vocabulary) -> None:
    """ "no X", "without X or Y", "free from X, Y", "X-free", "X, Y and Z free"."""
    words, gaps = toks.words, toks.gaps
    if vocab.negation_words.isdisjoint(words):
        return
    n = len(words)
    negators = vocab.negators
    for i, word in enumerate(words):
        if owner[i] != -1:
            continue
        if word in negators:
            _negate_forward(words, gaps, hits, owner, sentence, i + 1, vocab.header_words)
        elif word == "free":
            after = words[i + 1] if i + 1 < n and not gaps[i + 1] else ""
            if after in ("from", "of"):
                _negate_forward(words, gaps, hits, owner, sentence, i + 2, vocab.header_words, freed=True)
            elif after not in vocab.free_breakers and i > 0 and not gaps[i]:
                _negate_backward(words, gaps, hits, owner, i - 1)


def _negate_forward(
    words: list[str],
    gaps: list[str],
    hits: list[_Hit],
    owner: list[int],
    sentence: list[int],
    j: int,
    headers: frozenset[str],
    freed: bool = False,
) -> None:
    """Negate the item after a negator, and the items listed with it."""
    n = len(words)
    if j >= n or gaps[j] not in ("", ":"):
        return
    if owner[j] == -1:  # a list led by parts nothing matched: "free from gluten, sulphites, milk and egg"
        k = _plain_part_end(words, gaps, owner, j, headers, first=True)
        while k != j:
            while k < n and gaps[k] in _CONTINUE_GAPS and owner[k] == -1 and words[k] in _LIST_CONNECTORS:
                k += 1
            if k < n and owner[k] != -1 and sentence[k] == sentence[j]:
                j = k
                break
            after = _plain_part_end(words, gaps, owner, k, headers)
            if after == k:
                break
            k = after
    fillers = 0
    while owner[j] == -1:  # "no added milk", "does not contain eggs"
        fillers += 1
        # A list header ends it: "no animal ingredients: sugar, cocoa" lists what *is* in it.
        if fillers > _NEGATION_FILLERS_MAX or words[j] in ("but", "except", "only", "with") or words[j] in headers:
            return
        if j + 1 >= n or gaps[j + 1] not in ("", ":"):
            return
        j += 1
    while True:
        hit = hits[owner[j]]
        hit.negated, hit.freed = True, freed
        j = hit.e
        # The list goes on over "," "and" "or": "free from milk, eggs and honey". A colon
        # after it starts something else: "made without honey: oats, maple syrup".
        while True:
            while j < n and gaps[j] in _CONTINUE_GAPS and owner[j] == -1 and words[j] in _LIST_CONNECTORS:
                j += 1
            # An allergen list names things we do not match ("contains no wheat, gluten, soy, milk"): a part of one
            # or two plain words, itself listed, keeps the list going.
            k = _plain_part_end(words, gaps, owner, j, headers)
            if k == j or sentence[min(k, n - 1)] != sentence[hit.s]:
                break
            j = k
        if j >= n or owner[j] == -1 or gaps[j] not in _CONTINUE_GAPS or sentence[j] != sentence[hit.s]:
            return


def _plain_part_end(
    words: list[str], gaps: list[str], owner: list[int], j: int, headers: frozenset[str], first: bool = False
) -> int:
    """Where a list part of one or two unmatched words starting at ``j`` ends (at the next "," "/" "and" "or"),
    or ``j`` when there is none. A part after the first follows a "," or "/"."""
    n = len(words)
    if j >= n or gaps[j] not in (("", ":") if first else (",", "/")) or owner[j] != -1:
        return j
    k = j
    while k < n and k - j < 2 and owner[k] == -1 and (k == j or not gaps[k]):
        if words[k] in _LIST_CONNECTORS or words[k] in headers or words[k] in ("but", "except", "only", "with"):
            return j
        k += 1
    if k < n and (gaps[k] in (",", "/") or (not gaps[k] and words[k] in _LIST_CONNECTORS)):
        return k
    return j


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
            hit.negated = hit.freed = True
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


def _qualify(text: str, toks: Tokens, hits: list[_Hit], owner: list[int], vocab: Vocabulary) -> None:
    """Qualifiers before ("vegan cheese") and after ("chicken-style", "silk-like", "chicken flavour")."""
    words, gaps = toks.words, toks.gaps
    n = len(words)
    for hit in hits:
        if hit.counts_as is None or hit.counts_as == "vegan":
            continue
        found = _qualifier_before(words, gaps, hits, owner, hit, vocab)
        if found is not None:
            label, status = found
            hit.qualifier = label
            hit.counts_as = status
            hit.note = f"described as {label!r}: " + _qualifier_note(label, status, vocab)
            continue
        if hit.counts_as == "non_vegan" and _flavour_before(words, gaps, hit.s, vocab):
            hit.qualifier, hit.counts_as = words[hit.s - 1], "maybe"
            hit.note = "a named flavour is often plant-based flavouring: check the ingredients"
            continue
        j = hit.e
        if j < n and not gaps[j]:
            after = words[j]
            hyphened = after in vocab.hyphen_suffixes and "-" in text[toks.ends[j - 1] : toks.starts[j]]
            if after in vocab.vegan_suffixes or hyphened:
                hit.qualifier, hit.counts_as = after, "vegan"
                hit.note = f"'{words[hit.e - 1]} {after}': a plant-based stand-in, not the animal product"
            elif after in vocab.flavour_suffixes and hit.counts_as == "non_vegan":
                hit.qualifier, hit.counts_as = after, "maybe"
                hit.note = "a named flavour is often plant-based flavouring: check the ingredients"


def _flavour_before(words: list[str], gaps: list[str], s: int, vocab: Vocabulary) -> bool:
    """ "sabor jamón", "sabor a queso", "goût bacon": a flavour named before the item."""
    k = s - 1
    if k >= 1 and words[k] in vocab.flavour_links and not gaps[k + 1]:
        k -= 1
    return k >= 0 and words[k] in vocab.flavour_prefixes and not gaps[k + 1]


def _qualifier_note(label: str, status: Status, vocab: Vocabulary) -> str:
    if status == "vegan":
        return "an animal-free version"
    # "meat-free", "vegetarian": the free group says what such a maybe may still hold
    return vocab.group_notes.get(label, "that ingredient is ruled out, but the rest of the recipe is not given")


def _qualifier_before(
    words: list[str], gaps: list[str], hits: list[_Hit], owner: list[int], hit: _Hit, vocab: Vocabulary
) -> tuple[str, Status] | None:
    category = hit.entry.category
    k = hit.s - 1
    if k >= 0 and gaps[hit.s] == ")" and words[k] in vocab.analogue_bases.get(words[hit.s], ()):
        # INCI names the plant in brackets: "Butyrospermum Parkii (Shea) Butter", "Cocos Nucifera (Coconut) Milk".
        return f"({words[k]}) {words[hit.s]}", "vegan"
    fillers = 0
    while k >= 0 and not gaps[k + 1] and fillers <= 2:
        word = words[k]
        if k == hit.s - 1 and word in vocab.analogue_bases.get(words[hit.s], ()):
            return f"{word} {words[hit.s]}", "vegan"  # "cashew cheese", "seitan kebab"
        if k == hit.s - 1 and word in vocab.substitute_bases and category in vocab.substitutable:
            return f"{word} {words[hit.s]}", "vegan"  # "silken tofu chocolate mousse"
        if owner[k] != -1:
            prev = hits[owner[k]]
            # "non-dairy creamer": the negated "dairy" frees the creamer.
            if prev.negated:
                return _group_release(words[k], category, vocab) if k == prev.e - 1 else None
            if k != prev.e - 1 or prev.counts_as != "vegan" or category not in _COMPOUNDED:
                return None
            # "dairy-free salted caramel ice cream", "vegan bacon cheeseburger": the qualifier
            # of the item before heads the whole compound.
            if prev.qualifier is not None:
                return prev.qualifier, "vegan"
            # "plant-based cream cheese", "vegan block butter": the data's vegan name ("plant-based
            # cream", "vegan block") runs into a dairy or egg name, and its qualifier is the whole's.
            return _qualifier_within(words, prev, category, vocab) if category != "dish" else None
        if word in vocab.vegan_prefixes:
            return word, "vegan"
        if word in ("to", "for", "of") and k > 0 and not gaps[k] and words[k - 1] in vocab.alternative_to:
            return f"{words[k - 1]} {word}", "vegan"
        if word == "like" and k > 0 and not gaps[k] and words[k - 1] in _LIKENESS:  # "use just like honey"
            return f"{words[k - 1]} {word}", "vegan"
        if word == "based" and k > 0 and not gaps[k]:
            base = words[k - 1]
            prev_vegan = owner[k - 1] != -1 and hits[owner[k - 1]].entry.status == "vegan"
            return (f"{base}-based", "vegan") if base in vocab.plant_bases or prev_vegan else None
        if word in vocab.material_prefixes and category in vocab.material_categories:
            return word, "vegan"
        if word in vocab.group_words:
            groups, status = vocab.group_words[word]
            return (word, status) if category in groups else None
        if word == "free" and k > 0 and not gaps[k]:  # "dairy-free cheese", "meat-free sausages"
            released = _group_release(words[k - 1], category, vocab, suffix="-free")
            if released is None and category == "dish" and owner[k - 1] != -1:
                # "cheese-free pesto", "butter-free shortbread": one animal ingredient is out,
                # the rest of the recipe is not given.
                freed = hits[owner[k - 1]]
                if freed.negated and freed.entry.status == "non_vegan":
                    return f"{words[k - 1]}-free", "maybe"
            return released
        if word in _LIST_CONNECTORS or word in ("with", "in", "of", "free"):
            return None
        fillers += 1
        k -= 1
    return None


# Before "like" and an item, a comparison, not the item: "use just like honey", "tastes like bacon".
_LIKENESS = frozenset({"just", "exactly", "tastes", "taste", "tasting", "looks", "feels", "smells", "cooks"})

# Animal foods that English names with a compound noun ("cream cheese", "block butter",
# "sour cream", "bacon cheeseburger"), so a qualifier ahead of the compound is the item's.
# Not meat or fish: "vegan mayo chicken wrap" may well be chicken with vegan mayo. A dish
# takes only a qualifier the item before it was given ("vegan bacon cheeseburger"), not one
# inside a data name ("vegan mayo").
_COMPOUNDED = frozenset({"dairy", "egg", "dish"})


def _qualifier_within(words: list[str], prev: _Hit, category: str, vocab: Vocabulary) -> tuple[str, Status] | None:
    """The vegan qualifier that heads the words of ``prev``, as it applies to an item of ``category``."""
    for k in range(prev.s, prev.e):
        word = words[k]
        if word in vocab.vegan_prefixes:
            return word, "vegan"
        if word == "based" and k > prev.s and words[k - 1] in vocab.plant_bases:
            return f"{words[k - 1]}-based", "vegan"
        if word == "free" and k > prev.s:
            return _group_release(words[k - 1], category, vocab, suffix="-free")
        if word in vocab.group_words:
            groups, status = vocab.group_words[word]
            return (word, status) if category in groups else None
    # A plant milk or cream heads the dairy word that follows: "Coconut Milk - Full Cream", "oat milk ice
    # cream". Not a plant butter: "peanut butter ice cream" is ice cream with peanut butter in it.
    if prev.entry.status == "vegan" and prev.entry.category == "plant_food" and words[prev.e - 1] in ("milk", "cream"):
        return " ".join(words[prev.s : prev.e]), "vegan"
    return None


def _made_with(toks: Tokens, hits: list[_Hit], sentence: list[int], vocab: Vocabulary) -> None:
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
            if words[k] in vocab.made_with and words[k + 1] in ("with", "using", "from"):
                listed = [h for h in hits[pos + 1 :] if h.s > k + 1 and sentence[h.s] == sentence[hit.s]]
                counted = [h.counts_as for h in listed if h.counts_as is not None]
                if counted and all(c == "vegan" for c in counted):
                    hit.counts_as, hit.qualifier = "maybe", f"{words[k]} {words[k + 1]}"
                    hit.note = "made with plant ingredients named in the text; the rest of the recipe is not given"
                break


def _group_release(word: str, category: str, vocab: Vocabulary, suffix: str = "") -> tuple[str, Status] | None:
    """What "<word>-free" / "non-<word>" makes of the next item, if anything.

    An item of the freed group becomes its own plant version ("dairy-free cheese"); a
    dish only loses that one ingredient ("egg-free cake" may still hold butter), so it
    becomes a maybe.
    """
    group = vocab.free_groups.get(word)
    if group is None:
        return None
    label = f"{word}{suffix}" if suffix else f"non-{word}"
    if category in group[0]:
        return label, group[1]
    return (label, "maybe") if category == "dish" else None


def _supersede_generic(
    toks: Tokens, hits: list[_Hit], owner: list[int], sentence: list[int], vocab: Vocabulary
) -> bool:
    """An item whose make-up is spelled out right after it is settled by what is listed.

    A "maybe" is only a maybe because its source is unknown: "emulsifier (soy
    lecithin)", "colour: E120", "emulsifier E471", "vitamin D3 (from lichen)",
    "glycerin from coconut oil", "stearic acid of animal origin", "plant-derived
    squalene". A dish is only judged by its standard recipe until the text gives the
    real one: "caesar dressing: oil, capers, nutritional yeast", "veggie burger (pea
    protein, oats)". The listed items then decide instead, for better or worse. A
    bracket that names nothing we know, or only an allergen note ("natural flavouring
    (contains celery)"), settles nothing; nor does listing what a drink that may be
    fined is made of ("wine (grapes)"): True when there is one, for ``_processing_aids``.
    """
    words, gaps = toks.words, toks.gaps
    n = len(words)
    links = vocab.source_links
    doubts = False
    for pos, first in enumerate(hits):
        is_maybe = first.counts_as == "maybe" and first.entry.status == "maybe"
        is_dish = first.entry.category == "dish" and first.counts_as in ("maybe", "non_vegan")
        if not (is_dish or is_maybe):
            continue
        if first.entry.name in vocab.processing_doubts:
            doubts = True
            continue
        j = first.e
        if is_dish:  # the list may follow the product name: "gummy vitamins: ..."
            while j < n and not gaps[j] and j - first.e < 2 and not _E_NUMBER.match(words[j]):
                j += 1
        before = first.s - 1
        later = hits[pos + 1 :]
        if is_maybe and before >= 0 and not gaps[first.s] and owner[before] != -1 and words[before] in links:
            inside = [hits[owner[before]]]  # "plant-derived squalene", "animal-derived glycerin"
        elif j >= n:
            continue
        elif is_maybe and not gaps[j] and words[j] in links:
            inside = _listed_from(words, gaps, hits, owner, j, links)  # "glycerin from coconut oil"
        elif (
            is_maybe
            and words[j] in ("is", "are")
            and j + 1 < n
            and not gaps[j]
            and not gaps[j + 1]
            and (words[j + 1] in links)
        ):
            inside = _listed_from(words, gaps, hits, owner, j + 1, links)  # "our squalane is derived from sugarcane"
        elif gaps[j] == "(" and words[j] not in vocab.allergen_note:
            close = _bracket_end(gaps, j)
            inside = [h for h in later if j <= h.s < close]
            if not inside and close < n and ":" in gaps[close] and all(w[0].isdigit() for w in words[j:close]):
                # "Noodles (87%): Wheat Flour, Palm Oil, ...": an amount, then the component's own list
                inside = [h for h in later if h.s >= close and sentence[h.s] == sentence[close]]
                if len(inside) < 2:
                    continue
            if not is_maybe and len(inside) < 2:
                continue  # "pizza (mushroom)" names a topping, not the recipe
        elif gaps[j] == ":" and is_dish:
            inside = [h for h in later if h.s >= j and sentence[h.s] == sentence[j]]
        elif is_maybe and (gaps[j] == ":" or (not gaps[j] and _E_NUMBER.match(words[j]))):
            inside = [h for h in later[:1] if h.s == j]
        else:
            continue
        # "polysorbate 60 (E435)" restates the item's own code; it names no source
        inside = [h for h in inside if not h.negated and not h.may_contain and h.entry.category != "practice"
                  and h.entry is not first.entry]  # fmt: skip
        if inside:
            first.counts_as = None
            first.qualifier = "specified"
            names = ", ".join(repr(h.entry.name) for h in inside[:4]) + (", ..." if len(inside) > 4 else "")
            first.note = f"spelled out in the text as {names}: those decide"
    # A source given once holds for every mention of that ingredient: "Ingredients: Squalane. Our squalane is
    # derived from sugarcane."
    given = {h.entry.name for h in hits if h.qualifier == "specified" and h.entry.status == "maybe"}
    for hit in hits:
        if hit.counts_as == "maybe" and hit.entry.status == "maybe" and hit.entry.name in given:
            hit.counts_as, hit.qualifier = None, "specified"
            hit.note = "its source is given elsewhere in the text: that decides"
    return doubts


def _listed_from(
    words: list[str], gaps: list[str], hits: list[_Hit], owner: list[int], j: int, links: frozenset[str]
) -> list[_Hit]:
    """The items named from word ``j`` on: after up to two link words ("derived from",
    "with"), an item, and the items joined to it by "and"/"or" ("coconut and palm oil")."""
    n = len(words)
    k = j
    while k < n and owner[k] == -1 and k - j < 2 and words[k] in links and (k == j or not gaps[k]):
        k += 1
    if k >= n or owner[k] == -1 or (k > j and gaps[k] not in ("", ":")):
        return []
    listed = []
    while True:
        hit = hits[owner[k]]
        listed.append(hit)
        k = hit.e
        if k + 1 < n and not gaps[k] and words[k] in _LIST_AND and owner[k] == -1 and not gaps[k + 1]:
            k += 1
        if k >= n or owner[k] == -1 or gaps[k] or k == hit.e:
            return [h for h in listed if not h.negated and not h.may_contain]


# Between an aid word and the aid: "fined with casein", "fining agent: isinglass".
_AID_LINKS = frozenset({"with", "using", "by", "through", "agent", "agents"})


def _processing_aids(
    toks: Tokens, hits: list[_Hit], owner: list[int], sentence: list[int], questions: set[int], vocab: Vocabulary
) -> None:
    """Wine, beer, cider (the lexicon's processing_doubts): a maybe only because of the fining agent.

    Named after an aid word in the same sentence, the agents decide ("Wine (fined with
    casein)"); a negated aid word ("not fined", "no fining") or a settling word anywhere
    outside a question ("Wine, unfined and unfiltered") makes the drink vegan.
    """
    doubts = vocab.processing_doubts
    words, gaps = toks.words, toks.gaps
    for hit in hits:
        doubt = doubts.get(hit.entry.name) if hit.counts_as == "maybe" else None
        if doubt is None:
            continue
        settled_by, aids, note = doubt
        for k, word in enumerate(words):
            if owner[k] != -1 or sentence[k] in questions:
                continue
            if word in aids and sentence[k] == sentence[hit.s]:
                if k > 0 and not gaps[k] and words[k - 1] in vocab.negators:  # "not fined", "no fining"
                    hit.counts_as, hit.qualifier = "vegan", f"{words[k - 1]} {word}"
                    hit.note = "the text says no fining agent was used"
                    break
                named = _listed_from(words, gaps, hits, owner, k + 1, _AID_LINKS) if k + 1 < len(words) else []
                if named:
                    hit.counts_as, hit.qualifier = None, "specified"
                    hit.note = f"{word} with {', '.join(repr(h.entry.name) for h in named)}: those decide"
                    break
            elif word in settled_by:
                hit.counts_as, hit.qualifier, hit.note = "vegan", word, note
                break


def _bracket_end(gaps: list[str], i: int) -> int:
    """Index of the first word after the bracket that opens before word ``i``."""
    depth = 0
    for j in range(i, len(gaps)):
        depth += gaps[j].count("(") - gaps[j].count(")")
        if depth <= 0:
            return j
    return len(gaps)


def _claims(
    toks: Tokens, owner: list[int], sentence: list[int], questions: set[int], vocab: Vocabulary
) -> tuple[list[str], bool, bool]:
    """Label claims: "suitable for vegans", "certified vegan", "not suitable for vegans".

    A question ("is this vegan?") claims nothing. "plant-based" on its own counts as a
    vegan claim; before an item it qualifies that item instead (see ``_qualify``).
    """
    words, gaps = toks.words, toks.gaps
    claims: list[str] = []
    positive = negative = False
    claim_words = vocab.claim_words
    if vocab.claim_triggers.isdisjoint(words):
        return claims, positive, negative
    sentence_start: dict[int, int] = {}
    for i, sent in enumerate(sentence):
        sentence_start.setdefault(sent, i)
    for i, word in enumerate(words):
        if sentence[i] in questions:
            continue
        if word in vocab.animal_words:
            stated = _animal_free_claim(words, gaps, i, vocab)
            if stated is not None:
                positive = True
                claims.append(f"vegan ({stated})")
            continue
        # Inside an entry's name, "vegan" claims the product only as its title ("Vegan
        # cheddar-style block: ..."), not as one ingredient ("made with vegan butter").
        if owner[i] != -1 and i - sentence_start.get(sentence[i], 0) > 1:
            continue
        is_plant_based = word == "based" and i > 0 and words[i - 1] == "plant" and not gaps[i]
        if word not in claim_words and not is_plant_based:
            continue
        lead = _negative_lead(words, gaps, i, vocab)
        if lead is not None:
            negative = True
            claims.append(f"not vegan ({lead})")
        elif word in claim_words and i + 1 < len(words) and not gaps[i + 1] and words[i + 1] == "friendly":
            positive = True
            claims.append("vegan (vegan friendly)")
        else:
            positive = True
            claims.append("vegan (plant-based)" if is_plant_based else "vegan")
    return claims, positive, negative


def _animal_free_claim(words: list[str], gaps: list[str], i: int, vocab: Vocabulary) -> str | None:
    """ "no animal ingredients", "free from animal products", "animal-free": the claim as written, or None."""
    n = len(words)
    if i + 1 < n and not gaps[i + 1] and words[i + 1] == "free":
        if i + 2 >= n or gaps[i + 2] or words[i + 2] not in vocab.free_breakers:
            return f"{words[i]}-free"
        return None
    k = i + 1  # the noun, right after or after one word: "animal-derived ingredients"
    if k < n and not gaps[k] and words[k] not in vocab.animal_claim_nouns:
        k += 1
    if k >= n or gaps[k] or words[k] not in vocab.animal_claim_nouns:
        return None
    for b in range(i - 1, max(-1, i - 3), -1):  # "no", "without any", "free from", "contains no"
        if gaps[b + 1]:
            break
        if words[b] in vocab.negators:
            return " ".join(words[b : k + 1])
        if words[b] in ("from", "of") and b > 0 and words[b - 1] == "free" and not gaps[b]:
            return " ".join(words[b - 1 : k + 1])
    return None


def _negative_lead(words: list[str], gaps: list[str], i: int, vocab: Vocabulary) -> str | None:
    """The "not"/"non"/"unsuitable" up to five words before a claim word, if any, with only claim words between
    ("not suitable for vegetarians or vegans", "not strictly vegan"): "Not fined - vegan friendly" negates the
    fining."""
    k = i - 1
    while k >= max(0, i - 5) and not gaps[k + 1]:
        if words[k] in vocab.negative_claim_lead:
            return " ".join(words[k : i + 1])
        if words[k] not in _CLAIM_BETWEEN:
            return None
        k -= 1
    return None


_CLAIM_BETWEEN = frozenset({"suitable", "for", "strictly", "fully", "entirely", "completely", "certified", "a", "an",
                            "really", "truly", "100", "considered", "officially", "registered", "always", "all",
                            "vegetarian", "vegetarians", "or", "and", "nor"})  # fmt: skip


# --------------------------------------------------------------------------- verdict


def _result(
    text: str, toks: Tokens, hits: list[_Hit], claims: list[str], positive: bool, negative: bool, vocab: Vocabulary
) -> CheckResult:
    items: list[MatchedItem] = []
    warnings: list[MatchedItem] = []
    for hit in hits:
        (warnings if hit.may_contain else items).append(_item(text, toks, hit))
    unknown, covered = _coverage(text, toks, hits, vocab)
    verdict, summary = _verdict(items, positive, negative, covered)
    if verdict in ("unknown", "maybe"):
        # "honey-free flapjacks", "shellac-free nail polish": a product named by the animal
        # ingredient it is made without, and nothing else we know. Free of that one, yes; vegan,
        # nobody has said. A product we know as a maybe ("honey-free granola") keeps its doubt, said beside.
        free_of = [h.entry.name for h in hits if h.freed and h.entry.status == "non_vegan" and not h.may_contain]
        named = {i for h in hits for i in range(h.s, h.e)}
        product = [w for i, w in enumerate(toks.words) if i not in named and w not in _FREE_WORDS]
        if free_of and verdict == "maybe":
            summary = f"maybe: made without {_names(free_of)}; " + summary.removeprefix("maybe: ")
        elif free_of and product:  # "egg-free" alone names no product: unknown
            verdict = "maybe"
            summary = f"maybe: made without {_names(free_of)}, but the text does not say what else it holds"
    if verdict == "vegan" and not positive:
        drink = _drink_by_recipe(items, toks.words, vocab)
        if drink:
            verdict = "maybe"
            summary = (f"maybe: {drink} may be fined with isinglass, gelatin, casein or egg white, which no label "
                       "lists; 'unfined' or a vegan claim settles it")  # fmt: skip
    return CheckResult(text, verdict, summary, items, warnings, unknown, claims)


def _drink_by_recipe(items: list[MatchedItem], words: list[str], vocab: Vocabulary) -> str | None:
    """A list that is a beer's or a wine's without naming it: malt, hops and yeast; grapes and sulphur dioxide."""
    counted = [i for i in items if i.counts_as is not None]
    names = {i.name for i in counted}
    drink = None
    if {"hops", "yeast"} <= names and names & {"barley", "wheat", "malt extract"}:
        drink = "malt, hops and yeast make a beer, and beer"
    elif "sulphur dioxide" in names and len(names) <= 6:  # a wine's list starts with its grapes
        first = counted[0].text.lower()
        drink = "grapes and sulphur dioxide make a wine, and wine" if first.startswith("grape") else None
        drink = None if "juice" in first else drink
    settled = (words_settled for words_settled, _, _ in vocab.processing_doubts.values())
    return None if drink is None or any(w.intersection(words) for w in settled) else drink  # "unfined"


_FREE_WORDS = frozenset({"free", "from", "of"})


def _item(text: str, toks: Tokens, hit: _Hit) -> MatchedItem:
    entry = hit.entry
    start, end = toks.starts[hit.s], toks.ends[hit.e - 1]
    # A name with a bracket in it ("lecithin (soy)") ends at its ")"; one word holds no bracket.
    if hit.e - hit.s > 1 and text.find("(", start, end) != -1:
        close = text.find(")", end)
        if close != -1 and not text[end:close].strip():
            end = close + 1
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


def _coverage(text: str, toks: Tokens, hits: list[_Hit], vocab: Vocabulary) -> tuple[list[str], bool]:
    """Unmatched items of a comma-separated label list, and whether the list is covered.

    Free text (fewer than three list items) is always "covered": one recognised item is
    enough to speak for a sentence. A label list needs MIN_LIST_COVERAGE of its items
    recognised before an all-vegan match may be called vegan.
    """
    if sum(map(text.count, ",;\n.")) < 2:
        return [], True  # fewer than three parts: free text
    parts = _list_parts(toks, vocab)
    if len(parts) < 3:
        return [], True
    starts = [s for s, _ in parts]
    last = len(parts) - 1
    recognised: set[int] = set()
    for hit in hits:
        k = bisect.bisect_right(starts, hit.s) - 1
        if k >= 0 and hit.s < parts[k][1]:
            recognised.add(k)
        # A name with punctuation in it ("blood, fish and bone") may run into the next parts.
        while k < last and parts[k + 1][0] < hit.e:
            k += 1
            recognised.add(k)
    unknown = [
        _whole_part(text, toks.starts[s], toks.ends[e - 1]) for k, (s, e) in enumerate(parts) if k not in recognised
    ]
    return unknown, len(recognised) >= MIN_LIST_COVERAGE * len(parts)


def _whole_part(text: str, start: int, end: int) -> str:
    """A list part from its first word to its last, with the brackets it opened closed: a part ends at a word, and
    "vitamin B6 (pyridoxine hydrochloride" would otherwise be reported without its ")"."""
    part = text[start:end]
    missing = part.count("(") + part.count("[") - part.count(")") - part.count("]")
    while missing > 0 and end < len(text) and text[end] in ")] %":
        missing -= text[end] in ")]"
        end += 1
    return text[start:end].rstrip()


def _list_parts(toks: Tokens, vocab: Vocabulary) -> list[tuple[int, int]]:
    """Top-level comma/semicolon separated word ranges, brackets kept inside their item."""
    words, gaps = toks.words, toks.gaps
    parts: list[tuple[int, int]] = []
    sentence_starts = {0}  # parts that start a sentence (after "." ";" or a line break)
    depth = 0
    start = 0
    for i, gap in enumerate(gaps):
        if not gap:
            continue
        split = ends = False
        for c in gap:
            if c in "([":
                depth += 1
            elif c in ")]":
                depth = max(0, depth - 1)
            elif c in ",;\n." and depth == 0:
                split = True
                ends = ends or c != ","
        if split and i > start:
            parts.append((start, i))
            start = i
            if ends:
                sentence_starts.add(i)
    if words:
        parts.append((start, len(words)))
    cleaned = []
    in_statement = False
    for s, e in parts:
        in_statement = in_statement and s not in sentence_starts
        while s < e and words[s] in vocab.header_words:  # "Ingredients:" heads the first item
            s += 1
        # A statement runs to its sentence's end: "Store in a cool, dry place", "Machine wash cold, tumble dry low".
        if s == e or in_statement:
            in_statement = s < e
            continue
        if words[s] in vocab.statement_leads or not vocab.statement_words.isdisjoint(words[s:e]):
            in_statement = words[s] in vocab.statement_leads or not vocab.statement_words.isdisjoint(words[s : s + 2])
            continue
        if e - s <= 3 and words[s][0].isdigit():  # "(30%)", "2.5", "500 g", "16 fl oz": an amount
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
