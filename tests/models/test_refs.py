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


def test_a_gguf_file_anywhere_is_a_model_ref(tmp_path):
    gguf = tmp_path / "my-model.Q4_0.gguf"
    gguf.write_bytes(b"GGUF")
    ref = parse_model_ref(str(gguf))
    assert ref.kind == "gguf" and ref.name == str(gguf.resolve())
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(ModelRefError, match="not a model directory or a .gguf file"):
        parse_model_ref(str(text))


def test_the_licence_is_read_from_the_models_own_files(tmp_path):
    from veganalign.models import model_licence

    # the embedded model declares it in its GGUF metadata (general.license)
    assert model_licence(parse_model_ref("smollm2-135m-instruct")).startswith("apache-2.0 (GGUF metadata")
    # a local model directory: the README front matter, as on the Hugging Face hub
    mit = tmp_path / "mit-model"
    mit.mkdir()
    (mit / "config.json").write_text("{}")
    (mit / "README.md").write_text("---\nlanguage: en\nlicense: mit\n---\n# A model\n")
    assert model_licence(parse_model_ref(str(mit))).startswith("mit (README.md front matter")
    # an adapter carries its base's licence; a model that declares none is "unknown", never guessed
    bare = tmp_path / "bare-model"
    bare.mkdir()
    (bare / "config.json").write_text("{}")
    assert model_licence(parse_model_ref(str(bare))).startswith("unknown")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(mit)}))
    assert model_licence(parse_model_ref(str(adapter))).startswith("mit")
    assert model_licence(parse_model_ref("openai:gpt-x@http://127.0.0.1:9/v1")).startswith("unknown")


@pytest.mark.slow
def test_a_gguf_file_outside_the_package_generates_like_the_embedded_model(tmp_path, monkeypatch):
    import shutil

    from veganalign.models import Decoding, load_generator
    from veganalign.models.embedded import gguf_path

    monkeypatch.setenv("VEGANALIGN_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "elsewhere" / "smollm2.gguf"
    copy.parent.mkdir()
    shutil.copyfile(gguf_path(), copy)
    chat = [[{"role": "user", "content": "What is the capital of France?"}]]
    ours = load_generator(str(copy)).generate(chat, Decoding(max_new_tokens=8))
    assert ours[0].text and ours[0].n_tokens > 0
    assert any((tmp_path / "cache" / "models").glob("smollm2-*"))  # materialised once, under the cache
