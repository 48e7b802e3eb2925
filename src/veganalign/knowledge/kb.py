"""Load, validate and index the knowledge base (``knowledge/data/*.yaml``).

Every file is parsed once into a YAML node tree, so that an error can name the line,
and the same tree is turned into Python data (no second parse). Each entry is
validated on its own, so a problem names the file, the line, the entry's index and
name, and the field. All problems of a load are reported together.

Names, synonyms and E-numbers are the matcher's keys: two entries may not share one,
in the same file or across files, because the matcher could not say which is meant.
Keys are compared after the matcher's own normalisation ("Gelatine" == "gelatin",
"E-120" == "E120"), since that is what would collide at match time.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from veganalign.knowledge.check import CheckResult, Matcher, key_variants, phrase_key
from veganalign.knowledge.schema import Alternative, Entry

try:  # Python >= 3.11
    from importlib.resources.abc import Traversable
except ImportError:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

DATA_PACKAGE = "veganalign.knowledge"
DATA_DIR = "data"
EXTRA_FILE = "extra.yaml"

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


class KnowledgeBaseError(ValueError):
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
    """The validated entries, with the matcher's indexes built once."""

    def __init__(self, entries: Sequence[Entry], sources: Sequence[_Source], matcher: Matcher):
        self._entries = tuple(entries)
        self._sources = tuple(sources)
        self._matcher = matcher
        self._by_name = {e.name.casefold(): e for e in self._entries}

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, name: str) -> Entry | None:
        """The entry for a name, synonym or E-number (any case, plural, "E 120" spelling)."""
        exact = self._by_name.get(name.strip().casefold())
        if exact is not None:
            return exact
        key = phrase_key(name)
        return self._matcher.lookup_key(key) if key else None

    def alternatives(self, item: str | Entry) -> list[Alternative]:
        """Animal-free alternatives for an item; ``KeyError`` when the item is unknown."""
        entry = item if isinstance(item, Entry) else self.lookup(item)
        if entry is None:
            raise KeyError(f"{item!r} is not in the knowledge base")
        return list(entry.alternatives)

    def check(self, text: str) -> CheckResult:
        """Verdict on an ingredient list, a product or dish description, or a sentence."""
        return self._matcher.check(text)

    def source(self, entry: Entry) -> str:
        """Where an entry is defined, as "file:line"."""
        for e, src in zip(self._entries, self._sources, strict=True):
            if e is entry:
                return f"{src.file}:{src.line or '?'}"
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


def load_knowledge_base(paths: Iterable[PathLike] | None = None) -> KnowledgeBase:
    """Load and index data files; the shipped ones (cached after the first call) when None."""
    if paths is None:
        return _default_knowledge_base()
    return _build([_as_traversable(p) for p in paths])


@functools.lru_cache(maxsize=1)
def _default_knowledge_base() -> KnowledgeBase:
    return _build(default_data_files())


def _as_traversable(path: PathLike) -> Traversable:
    return Path(path) if isinstance(path, str) else path


def _build(files: Sequence[Traversable]) -> KnowledgeBase:
    # Loading allocates ~100k small objects, none of them cyclic garbage; pausing the
    # cycle collector meanwhile halves the load time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_unpaused(files)
    finally:
        if was_enabled:
            gc.enable()


def _build_unpaused(files: Sequence[Traversable]) -> KnowledgeBase:
    if not files:
        raise KnowledgeBaseError([KnowledgeIssue("<knowledge base>", None, "no data files given")])
    issues: list[KnowledgeIssue] = []
    entries: list[Entry] = []
    sources: list[_Source] = []
    for file in files:
        for entry, source in _load_file(file, issues):
            entries.append(entry)
            sources.append(source)
    phrases = _index(entries, sources, issues)
    if issues:
        raise KnowledgeBaseError(issues)
    return KnowledgeBase(entries, sources, Matcher(entries, phrases))


def _load_file(file: Traversable, issues: list[KnowledgeIssue]) -> list[tuple[Entry, _Source]]:
    name = _display_name(file)
    try:
        text = file.read_bytes().decode("utf-8")
    except OSError as exc:
        issues.append(KnowledgeIssue(name, None, f"cannot read: {exc.strerror or exc}"))
        return []
    except UnicodeDecodeError:
        issues.append(KnowledgeIssue(name, None, "not UTF-8 text"))
        return []
    try:
        node, data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        issues.append(KnowledgeIssue(name, mark.line + 1 if mark else None, f"invalid YAML: {problem}"))
        return []
    issues.extend(_duplicate_keys(node, name))
    raw_entries = _entries_of(data, node, name, issues)
    entry_nodes = _entry_nodes(node)
    out: list[tuple[Entry, _Source]] = []
    for index, raw in enumerate(raw_entries):
        entry_node = entry_nodes[index] if index < len(entry_nodes) else None
        line = entry_node.start_mark.line + 1 if entry_node is not None else None
        label = f"entry #{index}" + (f" ({raw['name']!r})" if isinstance(raw, dict) and "name" in raw else "")
        try:
            entry = Entry.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                field = _dotted(loc) or None
                issues.append(KnowledgeIssue(name, _line_of(entry_node, loc) or line, _message(err), label, field))
            continue
        out.append((entry, _Source(name, index, line)))
    return out


def _display_name(file: Traversable) -> str:
    # A path on disk is shown in full (clickable in a terminal); a file inside a zip by name.
    return str(file) if isinstance(file, Path) else file.name


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """One parse: the node tree (for lines and duplicate keys) and the data made from it."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = _to_python(node, loader) if node is not None else None
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


def _entries_of(data: Any, node: yaml.Node | None, name: str, issues: list[KnowledgeIssue]) -> list[Any]:
    line = node.start_mark.line + 1 if node is not None else 1
    if not isinstance(data, dict) or "entries" not in data:
        issues.append(KnowledgeIssue(name, line, "a data file must be a mapping with an 'entries' list"))
        return []
    extra = sorted(set(data) - {"entries"})
    if extra:
        issues.append(KnowledgeIssue(name, line, f"unknown top-level field(s) {extra}: only 'entries' is allowed"))
    entries = data["entries"]
    if not isinstance(entries, list) or not entries:
        issues.append(KnowledgeIssue(name, line, "'entries' must be a non-empty list", field="entries"))
        return []
    return entries


def _entry_nodes(node: yaml.Node | None) -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "entries" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Line of the deepest node along ``loc`` (a missing field points at its parent)."""
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
    return str(err["msg"])


# --------------------------------------------------------------------------- indexing


def _index(entries: Sequence[Entry], sources: Sequence[_Source], issues: list[KnowledgeIssue]) -> dict[str, int]:
    """Phrase keys -> entry index: exact names/synonyms first, then plural/singular forms.

    Exact keys must be unique across the knowledge base. A generated form never
    overrides an exact key ("fries" is whatever entry says "fries", not "fry" + s),
    and between two generated forms the earlier file wins.
    """
    exact: dict[str, int] = {}
    for idx, entry in enumerate(entries):
        for phrase in _phrases_of(entry):
            key = phrase_key(phrase)
            if not key:
                issues.append(_issue(sources[idx], entry, f"name or synonym {phrase!r} has no words to match"))
                continue
            owner = exact.setdefault(key, idx)
            if owner != idx:
                other = entries[owner]
                issues.append(
                    _issue(
                        sources[idx],
                        entry,
                        f"duplicate name/synonym {phrase!r} (matches as {key!r}): "
                        f"already used by {sources[owner].label(other)}",
                    )
                )
    phrases = dict(exact)
    for key, idx in exact.items():
        if key.startswith("e") and key[1:2].isdigit():
            continue  # E-numbers have no plural
        for variant in key_variants(key):
            phrases.setdefault(variant, idx)
    return phrases


def _phrases_of(entry: Entry) -> list[str]:
    phrases = [entry.name, *entry.synonyms]
    if entry.e_number:
        phrases.append(entry.e_number)
    return phrases


def _issue(source: _Source, entry: Entry, message: str) -> KnowledgeIssue:
    return KnowledgeIssue(source.file, source.line, message, f"entry #{source.index} ({entry.name!r})")
