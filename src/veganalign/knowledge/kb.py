"""Load, validate and index the knowledge base (``knowledge/data/*.yaml``, ``knowledge/lexicon.yaml``).

Every file is parsed once into a YAML node tree, so that an error can name the line,
and the same tree is turned into Python data (no second parse). An entry file is
validated as a ``KnowledgeFile`` and the lexicon as a ``Lexicon``; a problem names the
file, the line, the entry's index and name where there is one, and the field. All
problems of a load, in every file, are reported together.

Names, synonyms and E-numbers are the matcher's keys: two entries may not share one,
in the same file or across files, because the matcher could not say which is meant.
Keys are compared after the matcher's own normalisation ("Gelatine" == "gelatin",
"E-120" == "E120"), since that is what would collide at match time.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from veganalign.errors import UserError
from veganalign.knowledge.check import CheckResult, Matcher, Vocabulary, gapped_key, key_variants, phrase_key
from veganalign.knowledge.schema import Alternative, Entry, KnowledgeFile, Lexicon, Translation
from veganalign.yamlio import MAX_YAML_BYTES, YamlError, check_expansion, decode, invalid, may_have_aliases

try:  # Python >= 3.11
    from importlib.resources.abc import Traversable
except ImportError:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

DATA_PACKAGE = "veganalign.knowledge"
DATA_DIR = "data"
EXTRA_FILE = "extra.yaml"
LEXICON_FILE = "lexicon.yaml"  # beside data/, not in it: it is not an entry file

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster

PathLike = str | Path | Traversable


@dataclass(frozen=True)
class KnowledgeIssue:
    file: str
    line: int | None
    message: str
    entry: str | None = None  # "entry #12 ('whey')"
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        parts = [p for p in (self.entry, f"field {self.field!r}" if self.field else None) if p]
        return f"{where}: {', '.join(parts) + ': ' if parts else ''}{self.message}"


class KnowledgeBaseError(UserError):
    """One or more problems with the data files; ``str()`` lists them one per line."""

    def __init__(self, issues: list[KnowledgeIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True)
class _Source:
    file: str  # file name as shown in messages
    index: int  # 0-based position in the file's entries
    line: int | None

    def label(self, entry: Entry) -> str:
        return f"{self.file}:{self.line or '?'} entry #{self.index} ({entry.name!r})"


class KnowledgeBase:
    """The validated entries and lexicon, with the matcher's indexes built once."""

    def __init__(self, entries: Sequence[Entry], sources: Sequence[_Source], matcher: Matcher):
        self._entries = tuple(entries)
        self._sources = tuple(sources)
        self._matcher = matcher
        self._by_name = {e.name.casefold(): e for e in self._entries}

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._entries

    @property
    def lexicon(self) -> Lexicon:
        return self._matcher.vocabulary.lexicon

    @functools.cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of the validated content: every entry, in load order, and the lexicon.

        Hashed as canonical JSON of the validated models, so comments, layout, quoting and
        key order in the YAML do not change it; any changed value, added or removed entry,
        or reordered entry (load order decides between generated plural keys) does.
        """
        content = {
            "entries": [e.model_dump(mode="json") for e in self._entries],
            "lexicon": self.lexicon.model_dump(mode="json"),
        }
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, name: str) -> Entry | None:
        """The entry for a name, synonym or E-number (any case, plural, "E 120" spelling).

        A name the lexicon's patterns match as a whole finds the pattern's entry
        ("laneth-10", "tallowamine"), which may not be one of ``entries``.
        """
        exact = self._by_name.get(name.strip().casefold())
        if exact is not None:
            return exact
        return self._matcher.lookup(name)

    def alternatives(self, item: str | Entry) -> list[Alternative]:
        """Animal-free alternatives for an item; ``KeyError`` when the item is unknown."""
        entry = item if isinstance(item, Entry) else self.lookup(item)
        if entry is None:
            raise KeyError(f"{item!r} is not in the knowledge base")
        return list(entry.alternatives)

    def check(self, text: str) -> CheckResult:
        """Verdict on an ingredient list, a product or dish description, or a sentence."""
        return self._matcher.check(text)

    def check_many(self, texts: Iterable[str]) -> list[CheckResult]:
        """``check`` for each text, in order; a bad text (empty, NUL bytes) raises before any is checked."""
        return self._matcher.check_many(texts)

    def source(self, entry: Entry) -> str:
        """Where an entry is defined, as "file:line" (or the lexicon, for a pattern's own entry)."""
        for e, src in zip(self._entries, self._sources, strict=True):
            if e is entry:
                return f"{src.file}:{src.line or '?'}"
        if any(e is entry for e in self._matcher.pattern_entries):
            return f"{LEXICON_FILE}: patterns"
        raise KeyError(entry.name)


# --------------------------------------------------------------------------- loading


def default_data_files() -> list[Traversable]:
    """The shipped data files (works from a wheel or a checkout).

    In name order, except that the gap-filling ``extra.yaml`` comes last, so that a
    duplicate between it and a thematic file is reported against ``extra.yaml``.
    """
    folder = resources.files(DATA_PACKAGE).joinpath(DATA_DIR)
    files = [p for p in folder.iterdir() if p.name.endswith(".yaml")]
    return sorted(files, key=lambda p: (p.name == EXTRA_FILE, p.name))


def default_lexicon_file() -> Traversable:
    """The shipped lexicon (works from a wheel or a checkout)."""
    return resources.files(DATA_PACKAGE).joinpath(LEXICON_FILE)


def load_knowledge_base(paths: Iterable[PathLike] | None = None, lexicon: PathLike | None = None) -> KnowledgeBase:
    """Load and index entry files and a lexicon; the shipped ones where None.

    With neither given, the shipped knowledge base is built once and cached.
    """
    if paths is None and lexicon is None:
        return _default_knowledge_base()
    files = default_data_files() if paths is None else [_as_traversable(p) for p in paths]
    return _build(files, default_lexicon_file() if lexicon is None else _as_traversable(lexicon))


def knowledge_sha256() -> str:
    """Hex SHA-256 of the shipped knowledge base's validated content (``KnowledgeBase.sha256``)."""
    return load_knowledge_base().sha256


@functools.lru_cache(maxsize=1)
def _default_knowledge_base() -> KnowledgeBase:
    return _build(default_data_files(), default_lexicon_file())


def _as_traversable(path: PathLike) -> Traversable:
    return Path(path) if isinstance(path, str) else path


def _build(files: Sequence[Traversable], lexicon_file: Traversable) -> KnowledgeBase:
    # Loading allocates ~100k small objects, none of them cyclic garbage; pausing the
    # cycle collector meanwhile halves the load time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_unpaused(files, lexicon_file)
    finally:
        if was_enabled:
            gc.enable()


def _build_unpaused(files: Sequence[Traversable], lexicon_file: Traversable) -> KnowledgeBase:
    if not files:
        raise KnowledgeBaseError([KnowledgeIssue("<knowledge base>", None, "no data files given")])
    issues: list[KnowledgeIssue] = []
    lexicon = _load_lexicon(lexicon_file, issues)
    entries: list[Entry] = []
    sources: list[_Source] = []
    translations: list[tuple[Translation, _Source]] = []
    for file in files:
        for item, source in _load_file(file, issues):
            if isinstance(item, Translation):
                translations.append((item, source))
            else:
                entries.append(item)
                sources.append(source)
    if lexicon is None:  # keys cannot be made without its spellings: report what was found so far
        raise KnowledgeBaseError(issues)
    vocabulary = Vocabulary(lexicon)
    translated = _translate(entries, translations, issues)
    phrases, gapped = _index(entries, sources, issues, vocabulary, translated)
    if issues:
        raise KnowledgeBaseError(issues)
    return KnowledgeBase(entries, sources, Matcher(entries, phrases, vocabulary, gapped))


def _load_file(file: Traversable, issues: list[KnowledgeIssue]) -> list[tuple[Entry | Translation, _Source]]:
    """The valid entries and translations of one data file; the problems of the others go to ``issues``."""
    name = _display_name(file)
    parsed = _read_yaml(file, name, issues)
    if parsed is None:
        return []
    node, data = parsed
    raw_entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(raw_entries, list):
        raw_entries = []
    raw_translations = data.get("translations") if isinstance(data, dict) else None
    if not isinstance(raw_translations, list):
        raw_translations = []
    entry_nodes = _entry_nodes(node)
    try:
        checked = KnowledgeFile.model_validate(data)
        valid, translations = list(enumerate(checked.entries)), list(enumerate(checked.translations))
    except ValidationError as exc:
        failed: set[int] = set()
        failed_translations: set[int] = set()
        for err in exc.errors():
            loc = tuple(err["loc"])
            if loc[:1] == ("translations",) and len(loc) > 1 and isinstance(loc[1], int):
                failed_translations.add(loc[1])
                raw = raw_translations[loc[1]] if loc[1] < len(raw_translations) else None
                label = f"translation #{loc[1]}" + (f" ({raw['entry']!r})" if isinstance(raw, dict)
                                                     and "entry" in raw else "")  # fmt: skip
                issues.append(_schema_issue(name, node, err, _ENTRY_FILE_SHAPE, label, _dotted(loc[2:]) or None))
            elif loc[:1] == ("entries",) and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(raw_entries):
                index = loc[1]
                failed.add(index)
                raw = raw_entries[index]
                label = f"entry #{index}" + (f" ({raw['name']!r})" if isinstance(raw, dict) and "name" in raw else "")
                issues.append(_schema_issue(name, node, err, _ENTRY_FILE_SHAPE, label, _dotted(loc[2:]) or None))
            else:
                issues.append(_schema_issue(name, node, err, _ENTRY_FILE_SHAPE, None, _dotted(loc) or None))
        # The other entries still go on to the duplicate checks, so one load reports everything.
        valid = [(i, Entry.model_validate(raw)) for i, raw in enumerate(raw_entries) if i not in failed]
        translations = [(i, Translation.model_validate(raw)) for i, raw in enumerate(raw_translations)
                        if i not in failed_translations and isinstance(raw, dict)]  # fmt: skip
    out: list[tuple[Entry | Translation, _Source]] = []
    for items, nodes in ((valid, entry_nodes), (translations, _entry_nodes(node, "translations"))):
        for index, item in items:
            item_node = nodes[index] if index < len(nodes) else None
            line = item_node.start_mark.line + 1 if item_node is not None else None
            out.append((item, _Source(name, index, line)))
    return out


def _load_lexicon(file: Traversable, issues: list[KnowledgeIssue]) -> Lexicon | None:
    name = _display_name(file)
    parsed = _read_yaml(file, name, issues)
    if parsed is None:
        return None
    node, data = parsed
    try:
        return Lexicon.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            issues.append(_schema_issue(name, node, err, _LEXICON_SHAPE, None, _dotted(tuple(err["loc"])) or None))
        return None


def _read_yaml(file: Traversable, name: str, issues: list[KnowledgeIssue]) -> tuple[yaml.Node | None, Any] | None:
    """The node tree and data of a YAML file, or None (and an issue) when it cannot be read."""
    try:
        if isinstance(file, Path):
            if file.is_dir():
                raise YamlError(name, None, "is a directory, not a YAML file")
            if file.stat().st_size > MAX_YAML_BYTES:
                raise YamlError(name, None, f"too large for a knowledge file (over {MAX_YAML_BYTES:,} bytes)")
        text = decode(file.read_bytes(), name)
        node, data = _parse(text, name)
    except OSError as exc:
        issues.append(KnowledgeIssue(name, None, f"cannot read: {exc.strerror or exc}"))
        return None
    except YamlError as exc:  # not UTF-8, too large, invalid YAML, an alias bomb or a recursive alias
        issues.append(KnowledgeIssue(name, exc.line, exc.message))
        return None
    issues.extend(_duplicate_keys(node, name))
    return node, data


_ENTRY_FILE_SHAPE = "a data file must be a mapping with an 'entries' (or 'translations') list"
_LEXICON_SHAPE = "the lexicon must be a mapping of named word lists (see the shipped lexicon.yaml)"


def _schema_issue(
    name: str, node: yaml.Node | None, err: Any, shape: str, entry: str | None, field: str | None
) -> KnowledgeIssue:
    """One schema error at its line; ``shape`` is the message for a file that is not a mapping at all."""
    loc = tuple(err["loc"])
    message = shape if not loc and err["type"] == "model_type" else _message(err)
    return KnowledgeIssue(name, _line_of(node, loc) or 1, message, entry, field)


def _display_name(file: Traversable) -> str:
    # A path on disk is shown in full (clickable in a terminal); a file inside a zip by name.
    return str(file) if isinstance(file, Path) else file.name


def _parse(text: str, name: str = "<yaml>") -> tuple[yaml.Node | None, Any]:
    """One parse: the node tree (for lines and duplicate keys) and the data made from it.

    The tree's expansion is measured first (``yamlio.check_expansion``): the walks below
    follow aliases, so a recursive alias or an alias bomb would never end.
    """
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise invalid(exc, name) from None
        if node is not None and may_have_aliases(text):
            check_expansion(node, name)
        try:
            data = _to_python(node, loader) if node is not None else None
        except yaml.YAMLError as exc:
            raise invalid(exc, name) from None
    finally:
        loader.dispose()
    return node, data


_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"


def _to_python(node: yaml.Node, loader: Any) -> Any:
    """Plain data from a composed node: PyYAML's own constructor, minus most of its cost.

    The data files are strings, lists and mappings; building them directly is several
    times faster than ``construct_document`` and keeps the knowledge base load well
    under a second. Other scalars (``yes``, ``12``, dates) still go through PyYAML's
    constructor, so they arrive as the types the schema then rejects with a clear error.
    Merge keys (``<<``) are not expanded: the schema reports them as unknown fields.
    """
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STR_TAG:
            return node.value
        if node.tag == _NULL_TAG:
            return None
        return loader.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, loader) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        return {_to_python(key, loader): _to_python(value, loader) for key, value in node.value}
    return loader.construct_object(node, deep=True)  # pragma: no cover - no other node kinds


def _entry_nodes(node: yaml.Node | None, section: str = "entries") -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == section and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line of the deepest node along ``loc``: a field's key, a list's item (a missing field points at its parent)."""
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line = key.start_mark.line + 1
                    child = value
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1  # a list may span lines: "additive_classes[18]" is on its own
        node = child
    if node is not None and line is None:
        line = node.start_mark.line + 1
    return line


def _duplicate_keys(node: yaml.Node | None, name: str) -> list[KnowledgeIssue]:
    """PyYAML keeps the last of two equal keys without a word; reviewers should hear of it."""
    issues = []
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in n.value:
                line = key.start_mark.line + 1
                if key.value in seen:
                    issues.append(
                        KnowledgeIssue(name, line, f"duplicate key {key.value!r} (first at line {seen[key.value]})")
                    )
                seen[key.value] = line
                stack.append(value)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return issues


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field (not in the knowledge schema; check the spelling)"
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "string_type" and isinstance(err["input"], bool):
        return 'expected text, got a boolean: unquoted no, yes, on and off are booleans in YAML; quote it ("no")'
    return str(err["msg"]).removeprefix("Value error, ")


# --------------------------------------------------------------------------- indexing


def _translate(
    entries: list[Entry], translations: Sequence[tuple[Translation, _Source]], issues: list[KnowledgeIssue]
) -> dict[tuple[int, str], _Source]:
    """Add each translation's names to its entry's synonyms; -> (entry index, name) -> the translation's source,
    so that a clash is reported where the name was written."""
    by_name = {e.name: i for i, e in enumerate(entries)}
    added: dict[tuple[int, str], _Source] = {}
    for translation, source in translations:
        idx = by_name.get(translation.entry)
        if idx is None:
            issues.append(KnowledgeIssue(source.file, source.line, f"no entry is named {translation.entry!r}",
                                         f"translation #{source.index}", "entry"))  # fmt: skip
            continue
        names = translation.names()
        entries[idx] = entries[idx].model_copy(update={"synonyms": [*entries[idx].synonyms, *names]})
        added.update({(idx, n): source for n in names})
    return added


def _index(
    entries: Sequence[Entry],
    sources: Sequence[_Source],
    issues: list[KnowledgeIssue],
    vocabulary: Vocabulary,
    translated: dict[tuple[int, str], _Source] | None = None,
) -> tuple[dict[str, int], dict[str, int]]:
    """Phrase keys -> entry index: exact names/synonyms first, then plural/singular forms;
    and the keys of names with punctuation in them ("propane-1,2-diol") -> entry index.

    Exact keys must be unique across the knowledge base. A generated form never
    overrides an exact key ("fries" is whatever entry says "fries", not "fry" + s),
    and between two generated forms the earlier file wins.
    """
    exact: dict[str, int] = {}
    gapped: dict[str, int] = {}
    translated = translated or {}
    # The entries' own names first, then the translations' names: a clash is the translation's to report.
    own = [(i, e, p) for i, e in enumerate(entries) for p in _phrases_of(e) if (i, p) not in translated]
    names = [(idx, entries[idx], p) for idx, p in translated]
    for idx, entry, phrase in [*own, *names]:
        key = phrase_key(phrase, vocabulary.spelling)
        if not key:
            issues.append(_issue(sources[idx], entry, f"name or synonym {phrase!r} has no words to match"))
            continue
        if _PUNCTUATION.search(phrase):  # the cheap test first: most names have none
            punctuated = gapped_key(phrase, vocabulary.spelling)
            if punctuated is not None:
                gapped.setdefault(punctuated, idx)
        owner = exact.setdefault(key, idx)
        if owner != idx:
            other = entries[owner]
            where = translated.get((idx, phrase))
            message = f"duplicate name/synonym {phrase!r} (matches as {key!r}): already used by "
            message += sources[owner].label(other)
            if where is not None:  # written in a translation, reported there
                issues.append(KnowledgeIssue(where.file, where.line, message,
                                             f"translation #{where.index} ({entry.name!r})"))  # fmt: skip
            else:
                issues.append(_issue(sources[idx], entry, message))
    phrases = dict(exact)
    for key, idx in exact.items():
        if key.startswith("e") and key[1:2].isdigit():
            continue  # E-numbers have no plural
        for variant in key_variants(key, vocabulary):
            phrases.setdefault(variant, idx)
    return phrases, gapped


# Punctuation the tokeniser keeps between words ("propane-1,2-diol", "lecithin (soy)").
_PUNCTUATION = re.compile(r"[,;:()\[\]{}.!?/|]")


def _phrases_of(entry: Entry) -> list[str]:
    phrases = [entry.name, *entry.synonyms]
    if entry.e_number:
        phrases.append(entry.e_number)
    return phrases


def _issue(source: _Source, entry: Entry, message: str) -> KnowledgeIssue:
    return KnowledgeIssue(source.file, source.line, message, f"entry #{source.index} ({entry.name!r})")
