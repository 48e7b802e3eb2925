"""One way to get text out of any model: the embedded default, a Hugging Face model,
an adapter, or any OpenAI-compatible endpoint."""

from veganalign.models.generation import (
    Completion,
    Decoding,
    Generator,
    LocalGenerator,
    OpenAIGenerator,
    load_generator,
    render_chat,
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
    "load_generator",
    "parse_model_ref",
    "render_chat",
    "with_system_prompt",
]
