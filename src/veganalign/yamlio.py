"""YAML read with limits: every spec, config, knowledge-base file and template goes through here.

A YAML file can be small on disk and enormous in memory: anchors and aliases let a few
lines stand for billions of values (the "billion laughs"), and an alias inside its own
anchor makes a structure that contains itself. PyYAML composes such a file cheaply (an
alias is the same node object as its anchor); whatever then walks the result (line maps,
validation, hashing) does the expansion and runs out of memory or never ends. So:

- a file larger than ``MAX_YAML_BYTES`` is refused before it is parsed;
- the composed node tree is measured as it would be expanded, once per node (memoised),
  and refused when aliases add more than ``MAX_ALIAS_NODES`` nodes or an alias refers to
  the structure it is inside;
- invalid YAML (libyaml also caps nesting depth at 1,000) is reported with its line.

Every problem is a ``YamlError`` naming the file and the line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from veganalign.errors import UserError

# libyaml's loader when present: the same results, several times faster.
Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_YAML_BYTES = 10_000_000  # the shipped spec is 74 kB, the largest knowledge file 106 kB
MAX_ALIAS_NODES = 100_000  # nodes that aliases may add to a document when it is expanded


# An anchor is "&name" at the start of a node: after a line start, a space or a flow indicator.
# Text without one cannot hold an alias (an alias to an unknown anchor is a parse error).
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s]", re.MULTILINE)


def may_have_aliases(text: str) -> bool:
    """False when ``text`` certainly defines no anchor (so the expansion check can be skipped)."""
    return _ANCHOR.search(text) is not None


class YamlError(UserError):
    """A YAML file that cannot be read safely: ``FILE[:LINE]: message``."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{self.path}{f':{line}' if line else ''}: {message}")


def read_text(path: str | Path, what: str = "file") -> str:
    """A YAML file's text: size-checked before reading, UTF-8 decoded (a BOM is dropped)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise YamlError(path, None, f"is a directory, not a {what}")
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise YamlError(path, None, f"too large for a {what} ({size:,} bytes; the limit is {MAX_YAML_BYTES:,})")
        with path.open("rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise YamlError(path, None, f"cannot read ({exc.strerror or exc})") from None
    return decode(raw, path, what)


def decode(raw: bytes, path: str | Path, what: str = "file") -> str:
    """Bytes already read (from a path or a package resource) as text, with the size limit applied."""
    if len(raw) > MAX_YAML_BYTES:
        raise YamlError(path, None, f"too large for a {what} (over {MAX_YAML_BYTES:,} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError(path, line, "not UTF-8 text") from None
    return text.removeprefix("\ufeff")


def compose(text: str, path: str | Path, loader: type = Loader) -> tuple[Any, yaml.Node | None]:
    """``(loader, node)``: the document's node tree, checked for size and alias expansion.

    The caller builds data from the node with ``loader.construct_document(node)`` (or its
    own builder) and must call ``loader.dispose()``.
    """
    if len(text) > MAX_YAML_BYTES:
        raise YamlError(path, None, f"too large (over {MAX_YAML_BYTES:,} characters)")
    ld = loader(text)
    try:
        node = ld.get_single_node()
    except yaml.YAMLError as exc:
        ld.dispose()
        raise invalid(exc, path) from None
    except RecursionError:  # the pure-Python loader on deep nesting (libyaml stops at 1,000 levels)
        ld.dispose()
        raise YamlError(path, None, "invalid YAML: nested too deeply") from None
    if node is not None and may_have_aliases(text):
        try:
            check_expansion(node, path)
        except YamlError:
            ld.dispose()
            raise
    return ld, node


def load(text: str, path: str | Path) -> Any:
    """Plain data from YAML text (like ``yaml.safe_load``), with the limits above."""
    ld, node = compose(text, path)
    try:
        return None if node is None else ld.construct_document(node)
    except yaml.YAMLError as exc:
        raise invalid(exc, path) from None
    finally:
        ld.dispose()


def load_file(path: str | Path, what: str = "file") -> Any:
    """Plain data from a YAML file, with the limits above."""
    return load(read_text(path, what), path)


def invalid(exc: yaml.YAMLError, path: str | Path) -> YamlError:
    """A YAMLError as a one-line ``FILE:LINE: invalid YAML: problem``."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return YamlError(path, mark.line + 1 if mark is not None else None, f"invalid YAML: {problem}")


def check_expansion(root: yaml.Node, path: str | Path, limit: int = MAX_ALIAS_NODES) -> int:
    """The node count of ``root`` expanded; raise ``YamlError`` for a recursive alias or an alias bomb.

    Each node's expanded size is computed once (an alias is the node object of its
    anchor, met again), so this is linear in the composed document whatever the aliases
    would expand to. Iterative: no recursion limit to hit.
    """
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    seen_once: set[int] = set()
    extra = 0
    # (node, line of the key or item holding it, children pushed?)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, root.start_mark.line + 1, False)]
    while stack:
        node, line, expanded = stack.pop()
        key = id(node)
        if expanded:
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c, _ in children)
            open_nodes.discard(key)
            continue
        if key in open_nodes:
            raise YamlError(path, line, "an alias refers to the structure it is inside (a recursive alias)")
        if key in seen_once:
            # An alias: it adds a copy of its anchor's whole subtree (known: the anchor came first).
            extra += size.get(key, 1)
            if extra > limit:
                raise YamlError(path, line, f"aliases expand to over {limit:,} more values (an alias bomb); "
                                            "write the values out or use fewer aliases")  # fmt: skip
            continue
        seen_once.add(key)
        children = _children(node)
        if not children:
            size[key] = 1
            continue
        open_nodes.add(key)
        stack.append((node, line, True))
        stack.extend((child, at, False) for child, at in reversed(children))
    return size[id(root)] + extra


def _children(node: yaml.Node) -> list[tuple[yaml.Node, int]]:
    """A node's children with the line each is written on (a mapping value: its key's line)."""
    if isinstance(node, yaml.SequenceNode):
        # An alias item is its anchor's node, marked where the anchor is: an item marked before
        # its own list starts is an alias, shown at the list's line.
        here = node.start_mark.line
        return [(item, max(item.start_mark.line, here) + 1) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        out = []
        for key, value in node.value:
            out.append((key, key.start_mark.line + 1))
            out.append((value, key.start_mark.line + 1))
        return out
    return []
