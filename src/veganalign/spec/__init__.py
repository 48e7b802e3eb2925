"""The alignment document: load, validate, hash and render a vegan-ethics spec."""

from veganalign.spec.load import SpecError, default_spec_path, load_spec, parse_spec, spec_sha256
from veganalign.spec.render import render, render_guideline, render_rubric, render_system_prompt, rubric_json
from veganalign.spec.schema import Spec

__all__ = [
    "Spec",
    "SpecError",
    "default_spec_path",
    "load_spec",
    "parse_spec",
    "render",
    "render_guideline",
    "render_rubric",
    "render_system_prompt",
    "rubric_json",
    "spec_sha256",
]
