"""The vegan knowledge base: authored YAML data, validated and indexed, and ``check(text)``.

The small API the other stages use::

    from veganalign import knowledge

    knowledge.check("Sugar, whey powder (milk), E120").verdict   # "non_vegan"
    knowledge.check_many(["honey", "oat milk"])                  # [CheckResult, CheckResult]
    knowledge.lookup("gelatine").reason
    knowledge.alternatives("honey")                              # [Alternative(...), ...]
    knowledge.knowledge_sha256()                                 # hex SHA-256 of the validated data

The module-level functions use the shipped data (entries in ``data/*.yaml``, the
matcher's word lists in ``lexicon.yaml``), loaded once and cached.
"""

from __future__ import annotations

from collections.abc import Iterable

from veganalign.knowledge.check import VERDICTS, CheckResult, MatchedItem, TextError, Verdict
from veganalign.knowledge.kb import (
    KnowledgeBase,
    KnowledgeBaseError,
    KnowledgeIssue,
    default_data_files,
    default_lexicon_file,
    knowledge_sha256,
    load_knowledge_base,
)
from veganalign.knowledge.schema import Alternative, Category, Entry, Lexicon, Status


def check(text: str) -> CheckResult:
    """Verdict on an ingredient list, a product or dish description, or a sentence."""
    return load_knowledge_base().check(text)


def check_many(texts: Iterable[str]) -> list[CheckResult]:
    """``check`` for each text, in order, in one call; a bad text raises (naming its index) before any is checked."""
    return load_knowledge_base().check_many(texts)


def lookup(name: str) -> Entry | None:
    """The entry for a name, synonym or E-number, or None."""
    return load_knowledge_base().lookup(name)


def alternatives(item: str | Entry) -> list[Alternative]:
    """Animal-free alternatives for an item; ``KeyError`` when it is not in the knowledge base."""
    return load_knowledge_base().alternatives(item)


__all__ = [
    "VERDICTS",
    "Alternative",
    "Category",
    "CheckResult",
    "Entry",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "KnowledgeIssue",
    "Lexicon",
    "MatchedItem",
    "Status",
    "TextError",
    "Verdict",
    "alternatives",
    "check",
    "check_many",
    "default_data_files",
    "default_lexicon_file",
    "knowledge_sha256",
    "load_knowledge_base",
    "lookup",
]
