"""One way to get text out of any model: the embedded default, a GGUF file, a Hugging Face
model, an adapter, or any OpenAI-compatible endpoint; and the public way to its weights
(``weights_dir``, ``tokenizer_dir``, ``load_merged``) and licence (``model_licence``)."""

from veganalign.models.generation import (
    Completion,
    Decoding,
    Generator,
    LocalGenerator,
    OpenAIGenerator,
    base_of,
    load_generator,
    load_merged,
    model_licence,
    render_chat,
    tokenizer_dir,
    weights_dir,
    with_system_prompt,
)
from veganalign.models.refs import ModelRef, ModelRefError, parse_model_ref

__all__ = [
    "Completion",
    "Decoding",
    "Generator",
    "LocalGenerator",
    "ModelRef",
    "ModelRefError",
    "OpenAIGenerator",
    "base_of",
    "load_generator",
    "load_merged",
    "model_licence",
    "parse_model_ref",
    "render_chat",
    "tokenizer_dir",
    "weights_dir",
    "with_system_prompt",
]
