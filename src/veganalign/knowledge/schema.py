"""Schema of the knowledge base's authored data files.

Each entry file (``knowledge/data/*.yaml``) is a ``KnowledgeFile``: ``{"entries": [Entry,
...]}``. Entries are reviewed like code: unknown fields are rejected, and every non-vegan
food or material must name an alternative.

The lexicon (``knowledge/lexicon.yaml``) is a ``Lexicon``: the word lists the matcher
reads around the entries (qualifiers, negators, warning words, spellings), and the
name patterns it matches beside them ("tallow*", "laneth #"). Its words must be words
the matcher can see, each list without repeats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

Status = Literal["non_vegan", "maybe", "vegan"]

# Categories the spec's `mappings.knowledge_categories` can map to principle ids.
Category = Literal[
    "meat",
    "poultry",
    "fish",
    "seafood",
    "dairy",
    "egg",
    "bee_product",
    "animal_fat",
    "animal_derivative",  # gelatin, collagen, isinglass, bone char, rennet, ...
    "additive",  # food additives, with E-number where one exists
    "nutrient",  # vitamins, minerals and their salts with no animal source (tests/knowledge/test_kb.py)
    "dish",  # named dishes whose standard recipe is (not) vegan
    "plant_food",  # vegan staples, including those people wrongly think are not vegan
    "material",  # textiles, leathers, jewellery, tableware
    "cosmetic_ingredient",
    "household",
    "practice",  # entertainment, tourism, sport, research practices
]

FOOD_CATEGORIES = {
    "meat",
    "poultry",
    "fish",
    "seafood",
    "dairy",
    "egg",
    "bee_product",
    "animal_fat",
    "animal_derivative",
    "additive",
    "nutrient",
    "dish",
    "plant_food",
}
E_NUMBER = re.compile(r"^E\d{3,4}[a-z]?(\([ivx]+\))?$")


class Alternative(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1)
    good_for: list[str] = Field(
        min_length=1,
        description="what it replaces the original for: binding, leavening, texture, flavour, umami, "
        "creaminess, protein, fat, sweetness, gelling, emulsifying, colour, warmth, durability, "
        "water_resistance, softness, shine, moisturising, experience, ...",
    )


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, description="canonical name, lower case")
    status: Status
    category: Category
    reason: str = Field(min_length=1, description="why it has this status; for 'maybe', what it depends on")
    synonyms: list[str] = Field(default_factory=list, description="other names and common spellings")
    e_number: str | None = Field(default=None, description="like E120 or E160a, upper-case E, no space")
    alternatives: list[Alternative] = Field(default_factory=list)

    @field_validator("e_number")
    @classmethod
    def _e_number(cls, value: str | None) -> str | None:
        if value is not None and not E_NUMBER.match(value):
            raise ValueError(f"e_number {value!r} must look like E120, E160a or E472(e)")
        return value

    @model_validator(mode="after")
    def _needs_alternative(self) -> Entry:
        if self.status == "non_vegan" and self.category != "practice" and not self.alternatives:
            raise ValueError(f"non_vegan entry {self.name!r} needs at least one alternative")
        if self.status == "non_vegan" and self.category == "practice" and not self.alternatives:
            raise ValueError(f"non_vegan practice {self.name!r} needs at least one animal-free alternative")
        return self


class Translation(BaseModel):
    """The names labels in other languages use for one entry of the other files (added to its synonyms)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    entry: str = Field(min_length=1, description="the entry's exact name")
    de: list[str] = Field(default_factory=list, description="German")
    fr: list[str] = Field(default_factory=list, description="French")
    es: list[str] = Field(default_factory=list, description="Spanish")
    it: list[str] = Field(default_factory=list, description="Italian")
    nl: list[str] = Field(default_factory=list, description="Dutch")
    pt: list[str] = Field(default_factory=list, description="Portuguese")

    def names(self) -> list[str]:
        return [*self.de, *self.fr, *self.es, *self.it, *self.nl, *self.pt]

    @model_validator(mode="after")
    def _has_names(self) -> Translation:
        if not self.names():
            raise ValueError(f"translation of {self.entry!r} gives no name in any language")
        return self


class KnowledgeFile(BaseModel):
    """One data file: entries, or translations of other files' entries. Validated per file, so a problem names
    its entry."""

    model_config = ConfigDict(extra="forbid")

    entries: list[Entry] = Field(default_factory=list)
    translations: list[Translation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> KnowledgeFile:
        if not self.entries and not self.translations:
            raise ValueError("a data file needs at least one item under entries (or translations)")
        return self


# --------------------------------------------------------------------------- the lexicon

# A lexicon word is compared with one token of the text, after the tokeniser's
# normalisation (check.tokenize): lower case, no accents, apostrophes or hyphens. A word
# the tokeniser can never produce ("plant-based", "Vegan") would silently never match.
_TOKEN_WORD = re.compile(r"[a-z0-9]+")

# A spelling variant also maps with these endings: "color" -> "colour" makes "colors" -> "colours".
SPELLING_ENDINGS = ("", "s", "ed", "ing", "ings", "less")


def _one_word(value: str) -> str:
    if not _TOKEN_WORD.fullmatch(value):
        raise ValueError(
            f"{value!r} is not one word as the matcher reads it: "
            "lower-case letters a-z and digits only, no spaces, hyphens, apostrophes or accents"
        )
    return value


Word = Annotated[str, AfterValidator(_one_word)]
Words = tuple[Word, ...]


class FreeGroup(BaseModel):
    """ "<word>-free", "non-<word>" or a one-word form ("eggless") frees an item of these categories."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    words: Words = Field(min_length=1, description='the X of "X-free" and "non-X": dairy, milk, egg')
    single_words: Words = Field(default=(), description="one-word forms: eggless, nondairy, vegetarian")
    frees: tuple[Category, ...] = Field(min_length=1, description="the categories it rules out")
    counts_as: Literal["vegan", "maybe"] = Field(description="what a freed item of those categories counts as")
    note: str | None = Field(default=None, min_length=1, description="shown when an item becomes a maybe")


# --------------------------------------------------------------------------- name patterns

# A pattern template is a space-separated sequence of elements, each matching one word
# of the text as the tokeniser produces it (docs/knowledge.md, "Name patterns"):
#
#   tallow        that word
#   of|from       one of these words
#   {livestock}   a word of the lexicon's pattern_words list "livestock"
#   tallow*       a word starting with "tallow" (tallowamine, tallowate)
#   *stearate     a word ending with "stearate" (monostearate)
#   #             a number ("laneth-10" is read as "laneth 10")
#   element?      the element may be absent
#   (...)         around the whole template: the words stand in brackets, "(animal)"
#
# Like any phrase, a match never runs over punctuation.
MIN_STEM = 4  # "tal*" would match far more than the family it is meant for
_STEM = re.compile(rf"[a-z0-9]{{{MIN_STEM},}}")
_LIST_REF = re.compile(r"\{(.+)\}")


@dataclass(frozen=True)
class TemplateElement:
    """One word position of a template: the alternatives it accepts, and whether it may be absent."""

    words: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()  # pattern_words names, resolved by the matcher
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    number: bool = False
    optional: bool = False


@dataclass(frozen=True)
class Template:
    elements: tuple[TemplateElement, ...]
    open_bracket: bool = False  # "(" right before the first word
    close_bracket: bool = False  # ")" right after the last word


def parse_template(text: str) -> Template:
    """The elements of a template; ``ValueError`` saying what is wrong with it."""
    body = text.strip()
    open_bracket, close_bracket = body.startswith("("), body.endswith(")")
    body = body.removeprefix("(").removesuffix(")").strip()
    if not body:
        raise ValueError(f"template {text!r} has no words")
    elements = [_parse_element(part, text) for part in body.split()]
    if all(e.optional or (e.number and not (e.words or e.lists or e.prefixes or e.suffixes)) for e in elements):
        raise ValueError(f"template {text!r} needs at least one word, stem or list that is not optional")
    return Template(tuple(elements), open_bracket, close_bracket)


def _parse_element(part: str, template: str) -> TemplateElement:
    optional = part.endswith("?")
    words: list[str] = []
    lists: list[str] = []
    prefixes: list[str] = []
    suffixes: list[str] = []
    number = False
    for alt in part.removesuffix("?").split("|"):
        ref = _LIST_REF.fullmatch(alt)
        if alt == "#":
            number = True
        elif ref:
            lists.append(ref.group(1))
        elif alt.endswith("*") and _STEM.fullmatch(alt[:-1]):
            prefixes.append(alt[:-1])
        elif alt.startswith("*") and _STEM.fullmatch(alt[1:]):
            suffixes.append(alt[1:])
        elif _TOKEN_WORD.fullmatch(alt):
            words.append(alt)
        else:
            raise ValueError(
                f"template {template!r}: {alt!r} is not a word (a-z, 0-9, as the matcher reads it), "
                f"stem* or *stem (stems of {MIN_STEM}+ letters), {{list}} or #"
            )
    return TemplateElement(tuple(words), tuple(lists), tuple(prefixes), tuple(suffixes), number, optional)


def _template(value: str) -> str:
    parse_template(value)
    return value


def _list_name(value: str) -> str:
    if not _LIST_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a list name: lower-case letters a-z, digits and underscores")
    return value


_LIST_NAME = re.compile(r"[a-z0-9_]+")
TemplateText = Annotated[str, AfterValidator(_template)]
ListName = Annotated[str, AfterValidator(_list_name)]


class Pattern(BaseModel):
    """A family of names the language builds by rule: "hydrolysed animal protein" with any INCI
    salt in front, "tallow*", "laneth #". It points at an entry, or carries its own verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    match: tuple[TemplateText, ...]
    entry: str | None = Field(default=None, min_length=1, description="an entry's name: more spellings of it")
    name: str | None = Field(default=None, min_length=1)
    status: Status | None = None
    category: Category | None = None
    reason: str | None = Field(default=None, min_length=1)
    alternatives: tuple[Alternative, ...] = ()

    @model_validator(mode="after")
    def _one_target(self) -> Pattern:
        own = {"name": self.name, "status": self.status, "category": self.category, "reason": self.reason}
        missing = [field for field, value in own.items() if value is None]
        if not self.match:  # checked here, not by Field(min_length=1), which repeats every bad template's error
            raise ValueError("match needs at least one template")
        if self.entry is not None:
            if len(missing) < len(own) or self.alternatives:
                raise ValueError("give either entry (an entry's name) or name, status, category and reason, not both")
        elif missing:
            raise ValueError(f"missing {', '.join(missing)}: give entry, or name, status, category and reason")
        elif self.status == "non_vegan" and not self.alternatives:
            raise ValueError(f"non_vegan pattern {self.name!r} needs at least one alternative")
        return self

    def own_entry(self) -> Entry | None:
        """The pattern's own verdict as an entry (None for an ``entry:`` pattern)."""
        if self.entry is not None:
            return None
        return Entry(
            name=self.name,
            status=self.status,
            category=self.category,
            reason=self.reason,
            alternatives=[a.model_dump() for a in self.alternatives],
        )


class ProcessingDoubt(BaseModel):
    """Maybe entries whose doubt is a processing aid (wine fined with isinglass), not an ingredient."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entries: tuple[str, ...] = Field(min_length=1, description="entry names")
    settled_by: Words = Field(default=(), description="words saying no aid was used: unfined")
    aid_words: Words = Field(default=(), description='"fined with X": X decides')
    note: str = Field(min_length=1, description="shown when a settled_by word settles an item")


class Lexicon(BaseModel):
    """The matcher's word lists; what each does is commented in lexicon.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # spelling and word forms
    spellings: dict[Word, Word]
    spellings_exact: dict[Word, Word]
    irregular_plurals: dict[Word, Word]
    same_plurals: Words
    # label structure
    additive_classes: Words
    header_words: Words
    statement_words: Words
    statement_leads: Words
    bare_word_contexts: dict[Word, Words]
    # negation
    negators: Words
    free_breakers: Words
    free_groups: tuple[FreeGroup, ...]
    # vegan qualifiers
    vegan_prefixes: Words
    material_prefixes: Words
    material_categories: tuple[Category, ...]
    plant_bases: Words
    vegan_suffixes: Words
    hyphen_suffixes: Words
    alternative_to: Words
    analogue_bases: dict[Word, Words]
    analogue_foods: dict[Word, Words]
    substitute_bases: Words
    substitutable_categories: tuple[Category, ...]
    made_with_verbs: Words
    flavour_suffixes: Words
    flavour_prefixes: Words
    flavour_links: Words
    allergy_suffixes: Words
    # "may contain" warnings
    may_verbs: Words
    contain_words: Words
    trace_words: Words
    plant_rooms: Words
    kitchens: Words
    made_words: Words
    shared_words: Words
    handling_words: Words
    warning_stoppers: Words
    allergen_note_words: Words
    # sources and processing aids
    source_links: Words
    processing_doubts: tuple[ProcessingDoubt, ...]
    # claims
    claim_words: Words
    negative_claim_words: Words
    animal_words: Words
    animal_claim_nouns: Words
    # name patterns
    pattern_words: dict[ListName, Words]
    patterns: tuple[Pattern, ...]

    def spelling_table(self) -> dict[str, str]:
        """Every variant spelling the tokeniser rewrites, with its endings, to the spelling it uses."""
        table: dict[str, str] = {}
        for variant, spelling in self.spellings.items():
            for ending in SPELLING_ENDINGS:
                table[variant + ending] = spelling + ending
        table.update(self.spellings_exact)
        return table

    @model_validator(mode="after")
    def _coherent(self) -> Lexicon:
        """Checks across items. Each problem names the item's place, so the loader can give its line."""
        problems = [
            *self._repeats(),
            *self._variant_spellings(),
            *self._unknown_base_lists(),
            *self._pattern_problems(),
        ]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    def _repeats(self) -> Iterator[InitErrorDetails]:
        """A word twice in one list is a slip: the second copy does nothing."""
        seen: dict[tuple[Any, ...], dict[str, tuple[Any, ...]]] = {}
        for place, word in self._words():
            if not isinstance(place[-1], int):
                continue  # a mapping key or value: YAML itself reports a key given twice
            # The words of all free groups are one list: a word in two groups would mean two things.
            in_groups = place[0] == "free_groups" and place[2] != "frees"
            first = seen.setdefault(("free_groups",) if in_groups else place[:-1], {}).setdefault(word, place)
            if first != place:
                yield _problem("duplicate_word", f"duplicate word {word!r}, already at {_place(first)}", place, word)

    def _variant_spellings(self) -> Iterator[InitErrorDetails]:
        """The tokeniser turns "color" into "colour" before comparing: a list holding "color" never matches."""
        table = self.spelling_table()
        for place, word in self._words():
            if word in table and place[0] not in ("spellings", "spellings_exact"):
                message = f"{word!r} is a variant spelling: the matcher reads it as {table[word]!r}, so write that"
                yield _problem("variant_spelling", message, place, word)

    def _unknown_base_lists(self) -> Iterator[InitErrorDetails]:
        for food, lists in self.analogue_foods.items():
            for i, name in enumerate(lists):
                if name not in self.analogue_bases:
                    message = f"no analogue_bases list is named {name!r} (there are: {', '.join(self.analogue_bases)})"
                    yield _problem("unknown_base_list", message, ("analogue_foods", food, i), name)

    def _pattern_problems(self) -> Iterator[InitErrorDetails]:
        """A template's {list} must exist, and its words be in the matcher's spelling."""
        table = self.spelling_table()
        for k, pattern in enumerate(self.patterns):
            for t, text in enumerate(pattern.match):
                place = ("patterns", k, "match", t)
                for element in parse_template(text).elements:
                    for name in element.lists:
                        if name not in self.pattern_words:
                            known = ", ".join(self.pattern_words) or "none"
                            message = f"template {text!r}: no pattern_words list is named {name!r} (there are: {known})"
                            yield _problem("unknown_pattern_list", message, place, text)
                    for word in element.words:
                        if word in table:
                            message = (
                                f"template {text!r}: {word!r} is a variant spelling: "
                                f"the matcher reads it as {table[word]!r}, so write that"
                            )
                            yield _problem("variant_spelling", message, place, text)

    def _words(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """(place, word) for every word and category of the lexicon: list items, mapping keys and values.

        Pattern templates are not words; ``_pattern_problems`` checks theirs.
        """
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == "patterns":
                continue
            if name in ("free_groups", "processing_doubts"):
                parts = ("words", "single_words", "frees") if name == "free_groups" else ("settled_by", "aid_words")
                for g, group in enumerate(value):
                    for part in parts:
                        for i, word in enumerate(getattr(group, part)):
                            yield (name, g, part, i), word
            elif isinstance(value, dict):
                for key, item in value.items():
                    if name != "pattern_words":  # list names are not words of the text
                        yield (name, key), key
                    if isinstance(item, str):
                        yield (name, key), item
                    else:
                        for i, word in enumerate(item):
                            yield (name, key, i), word
            else:
                for i, word in enumerate(value):
                    yield (name, i), word


def _place(loc: tuple[Any, ...]) -> str:
    return "".join(
        f"[{part}]" if isinstance(part, int) else (f".{part}" if i else str(part)) for i, part in enumerate(loc)
    )


def _problem(kind: str, message: str, loc: tuple[Any, ...], value: str) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)
