"""``veganalign export``: a trained adapter chain merged into one plain Hugging Face model directory."""

from __future__ import annotations

from pathlib import Path

from veganalign.models import generation
from veganalign.models.refs import ModelRefError, parse_model_ref

DTYPES = ("float32", "bfloat16", "float16")


def export_merged(model: str, out_dir: Path, dtype: str = "float32") -> Path:
    """Merge ``model``'s adapters into their base and save it with its tokenizer; return ``out_dir``."""
    import torch
    from transformers import AutoTokenizer

    if dtype not in DTYPES:
        raise ValueError(f"--dtype {dtype!r}: choose {', '.join(DTYPES)}")
    ref = parse_model_ref(model)
    if ref.kind == "openai":
        raise ModelRefError("--model: an OpenAI endpoint has no weights to export")
    # Looked up on the module at call time, not bound at import, so a patched or reloaded
    # loader is the one that runs.
    merged = generation.load_merged(ref, getattr(torch, dtype))
    merged.save_pretrained(out_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(generation.tokenizer_dir(ref)).save_pretrained(out_dir)
    return out_dir
