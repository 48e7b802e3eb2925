"""Load a spec file, with errors that name the file, the line and the field.

PyYAML drops line numbers once a document becomes Python objects, and silently keeps
the last of two duplicate keys. So the file is parsed twice over the same text: once
into a node tree (to map every field path to its line and to catch duplicate keys),
and once into plain data for pydantic. A pydantic error's location is then looked up
in the path -> line map.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from veganalign.errors import UserError
from veganalign.spec.schema import Spec, SpecCrossReferenceError
from veganalign.yamlio import YamlError, compose, invalid, read_text

DEFAULT_SPEC_NAME = "vegan-ethics.yaml"


@dataclass
class SpecIssue:
    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class SpecError(UserError):
    """One or more problems with a spec file; ``str()`` lists them one per line."""

    def __init__(self, issues: list[SpecIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def default_spec_path() -> Path:
    return Path(str(resources.files("veganalign.spec").joinpath(DEFAULT_SPEC_NAME)))


def _line_map(node: yaml.Node, path: str, issues: list[SpecIssue]) -> dict[tuple, int]:
    """Map each field path (tuple of keys and indexes) to its 1-based line."""
    lines: dict[tuple, int] = {}

    def walk(n: yaml.Node, at: tuple) -> None:
        lines[at] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in n.value:
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in seen:
                    issues.append(
                        SpecIssue(path, line, _dotted((*at, key)), f"duplicate key (first at line {seen[key]})")
                    )
                seen[key] = line
                lines[(*at, key)] = line
                walk(value_node, (*at, key))
                lines[(*at, key)] = line  # the key's line beats its value's
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*at, i))

    walk(node, ())
    return lines


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    # A missing field has no line of its own: point at the nearest enclosing one.
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def parse_spec(text: str, path: str = "<spec>") -> Spec:
    """Validate spec text; raise ``SpecError`` listing every problem found."""
    issues: list[SpecIssue] = []
    try:
        # One parse, limited: a file that is too large or whose aliases expand without bound
        # is refused here, before anything walks the tree.
        loader, node = compose(text, path)
        try:
            data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            raise invalid(exc, path) from None
        finally:
            loader.dispose()
    except YamlError as exc:
        raise SpecError([SpecIssue(path, exc.line, None, exc.message)]) from None
    if node is None or not isinstance(data, dict):
        raise SpecError([SpecIssue(path, 1, None, "the spec must be a YAML mapping (it is empty or not a mapping)")])
    lines = _line_map(node, path, issues)
    if issues:
        raise SpecError(issues)
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            inner = (err.get("ctx") or {}).get("error")
            if isinstance(inner, SpecCrossReferenceError):
                for loc, msg in inner.errors:
                    issues.append(SpecIssue(path, _line_for(lines, loc), _dotted(loc), msg))
                continue
            loc = tuple(err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field (not in the spec schema; check the spelling)"
            elif err["type"] == "missing":
                msg = "required field is missing"
            issues.append(SpecIssue(path, _line_for(lines, loc), _dotted(loc), msg))
        raise SpecError(issues) from None


def load_spec(path: str | Path | None = None) -> Spec:
    """Load and validate a spec file (the shipped default when ``path`` is None)."""
    p = Path(path) if path is not None else default_spec_path()
    try:
        text = read_text(p, "spec")
    except YamlError as exc:
        raise SpecError([SpecIssue(str(p), exc.line, None, exc.message)]) from None
    return parse_spec(text, str(p))


def spec_sha256(spec: Spec) -> str:
    """Hash of the normalised spec.

    Normalisation: the validated model (so defaults are filled in and whitespace around
    strings is stripped) dumped to JSON with keys sorted, no insignificant whitespace,
    UTF-8. Formatting-only edits (comments, indentation, quoting style, key order,
    folded vs literal scalars that give the same string) keep the hash; any change to a
    value or to the order of a list (principles are rendered in order) changes it.
    """
    data = spec.model_dump(mode="json")
    # Fields added to the schema later are left out while empty, so a spec that does not use
    # them keeps the hash it had before they existed.
    if not data["mappings"].get("rule_aliases"):
        data["mappings"].pop("rule_aliases", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
