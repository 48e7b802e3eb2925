"""The layers of docs/architecture.md, checked on every import in the package (lazy ones too).

A module may import from its own package and from packages in *lower* layers only: no
upward import, and no import across packages of one layer. The table is the one the
architecture document draws; a new package gets a row there and here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import veganalign

LAYERS = [
    ("errors",),  # the base class of errors a user can fix
    ("jsonl", "yamlio"),  # data moves between stages as JSONL files; YAML read with size and alias limits
    ("provenance", "config", "console"),  # manifests and hashes; typed configs; the consoles and fail()
    ("spec", "knowledge", "models"),  # the alignment document, the facts, text out of any model
    ("signals",),  # what a response does, read with the knowledge base and the spec's tone phrases
    ("data",),  # prompt bank, SFT examples, preference pairs, eval suites
    ("eval", "annotate"),  # judges, gold set, metrics, reports; Label Studio projects, imports, agreement
    ("train",),  # SFT, DPO, reward model, GRPO
    ("monitor",),  # the serving store: redaction, conflict flags, recorder, review pages, reports, export
    ("serve",),  # the OpenAI-compatible server
    ("card",),  # the model card, read from a run's files
    ("redteam",),  # red-team runs and improvement rounds (a round refreshes the card)
    ("pipeline",),  # veganalign run
    ("cli",),  # the command line
    ("__main__",),  # python -m veganalign
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
PACKAGE = Path(veganalign.__file__).parent


def unit_of(module: str) -> str:
    """``veganalign.eval.judges.rules`` -> ``eval``; ``veganalign.cli`` -> ``cli``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, m) for line, m in found if m == "veganalign" or m.startswith("veganalign.")]


def test_every_package_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if p.suffix == ".py" or p.is_dir()}
    units -= {"__init__", "__pycache__"}
    units = {u for u in units if (PACKAGE / u).is_file() or (PACKAGE / u / "__init__.py").exists()}
    assert units <= set(LAYER), f"give these a layer (here and in docs/architecture.md): {units - set(LAYER)}"


def test_no_module_imports_upwards_or_across_its_layer():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(("veganalign", *path.relative_to(PACKAGE).with_suffix("").parts))
        here = unit_of(module)
        for line, target in imports(path):
            there = unit_of(target)
            if there in (here, "__init__"):
                continue
            if LAYER[there] >= LAYER[here]:
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: {here} (layer {LAYER[here]}) imports "
                                f"{target} (layer {LAYER[there]})")  # fmt: skip
    assert not problems, "\n".join(problems)


def test_the_architecture_document_draws_the_same_layers():
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    for names in LAYERS:
        for name in names:
            if name != "__main__":
                assert f"`{name}" in doc, f"docs/architecture.md does not name {name}"
