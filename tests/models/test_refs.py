"""Model refs: one syntax for every stage's --model."""

from __future__ import annotations

import json

import pytest

from veganalign.models.refs import ModelRefError, parse_model_ref


def test_embedded_aliases():
    for alias in ("smollm2-135m-instruct", "SmolLM2-135M-Instruct", "default"):
        ref = parse_model_ref(alias)
        assert ref.kind == "embedded" and ref.name == "smollm2-135m-instruct"


def test_openai_endpoint():
    ref = parse_model_ref("openai:meta-llama/Llama-3.1-8B-Instruct@http://127.0.0.1:8000/v1/")
    assert ref.kind == "openai"
    assert ref.name == "meta-llama/Llama-3.1-8B-Instruct"
    assert ref.base_url == "http://127.0.0.1:8000/v1"
    # a model name may itself contain '@'; the URL is after the last one
    assert parse_model_ref("openai:org/m@v2@https://h/v1").name == "org/m@v2"


@pytest.mark.parametrize("bad", ["openai:gpt-4o", "openai:@http://x", "openai:gpt@ftp://x", "openai:gpt@"])
def test_openai_malformed(bad):
    with pytest.raises(ModelRefError):
        parse_model_ref(bad)


def test_hf_id_and_unknown_names():
    assert parse_model_ref("HuggingFaceTB/SmolLM2-360M-Instruct").kind == "hf"
    with pytest.raises(ModelRefError, match="not a model reference"):
        parse_model_ref("gpt5-please")
    with pytest.raises(ModelRefError, match="no such directory"):
        parse_model_ref("./missing/model")
    with pytest.raises(ModelRefError, match="empty"):
        parse_model_ref("  ")


def test_local_dirs(tmp_path):
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    assert parse_model_ref(str(model_dir)).kind == "hf"

    adapter = tmp_path / "run" / "dpo"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/some/cache/path"}))
    (adapter / "veganalign_adapter.json").write_text(json.dumps({"base_model": "smollm2-135m-instruct"}))
    ref = parse_model_ref(str(adapter))
    assert ref.kind == "adapter" and ref.is_tuned
    assert ref.base.kind == "embedded"  # the manifest's ref wins over a cache path
    # a run directory resolves to its last trained stage
    run_ref = parse_model_ref(str(tmp_path / "run"))
    assert run_ref.kind == "adapter" and run_ref.name.endswith("dpo")

    explicit = parse_model_ref(f"smollm2-135m-instruct+lora:{adapter}")
    assert explicit.kind == "adapter" and explicit.base.kind == "embedded"

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelRefError, match="holds no model"):
        parse_model_ref(str(empty))
    with pytest.raises(ModelRefError, match="not a LoRA adapter"):
        parse_model_ref(f"smollm2-135m-instruct+lora:{empty}")
