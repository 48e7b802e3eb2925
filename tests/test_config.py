"""One configuration system: every shipped config loads, and a bad one is named before any model loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.config import CONFIG_DIR, ConfigError, load_config
from veganalign.pipeline import PROFILES, load_run
from veganalign.train.dpo import DPORecipe
from veganalign.train.reward import RewardRecipe
from veganalign.train.rl import RLRecipe
from veganalign.train.sft import SFTRecipe

runner = CliRunner()
RECIPES = {"sft": SFTRecipe, "dpo": DPORecipe, "reward": RewardRecipe, "rl": RLRecipe}


def test_every_shipped_config_loads():
    """A shipped YAML with a stale or misspelt key would only fail when a user runs it."""
    configs = sorted(CONFIG_DIR.glob("*.yaml"))
    assert {p.name for p in configs} >= {"run-default.yaml", "run-quick.yaml", "run-gpu.yaml", "sft-cpu.yaml",
                                         "dpo-cpu.yaml", "rl-gpu.yaml", "reward-gpu.yaml"}  # fmt: skip
    for path in configs:
        kind = path.name.split("-")[0]
        if kind == "run":
            run = load_run(path)
            assert run.sft and run.dpo and run.config.model, path
        else:
            cfg = load_config(RECIPES[kind], path)
            assert cfg.output_dir.name == kind, path  # each writes where the next stage's config reads
    for path in sorted((CONFIG_DIR / "accelerate").glob("*.yaml")):
        assert isinstance(yaml.safe_load(path.read_text()), dict), path
    assert {f"run-{p}.yaml" for p in PROFILES} <= {p.name for p in configs}


def test_the_default_run_trains_exactly_what_its_recipe_configs_say():
    """Profiles name recipe configs instead of repeating them, so the two cannot drift apart."""
    run = load_run(CONFIG_DIR / "run-default.yaml")
    sft = load_config(SFTRecipe, CONFIG_DIR / "sft-cpu.yaml").model_dump()
    dpo = load_config(DPORecipe, CONFIG_DIR / "dpo-cpu.yaml").model_dump()
    owned = {"model", "train_file", "val_file", "output_dir", "spec", "seed"}
    for key, value in run.sft.items():
        if key not in owned:
            assert sft[key] == value, key
    assert {k: v for k, v in sft.items() if k not in owned and k in run.sft} == {
        k: v for k, v in run.sft.items() if k not in owned
    }
    for key, value in run.dpo.items():
        if key not in owned:
            assert dpo[key] == value, key
    # the settings the README measured (64 SFT steps, 16 DPO steps on 2 CPU cores)
    assert (run.sft["max_examples"], run.sft["epochs"], run.sft["batch_size"], run.sft["learning_rate"]) == (
        256, 2, 8, 1e-3)  # fmt: skip
    assert run.sft["val_file"] is True and run.dpo["val_file"] is False
    assert (run.dpo["max_pairs"], run.dpo["rejected_from_policy"], run.dpo["learning_rate"]) == (64, True, 2e-4)


def test_a_user_run_config_starts_from_a_profile_and_overrides_keys(tmp_path: Path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("profile: quick\nspec: my-spec.yaml\nsft:\n  learning_rate: 5.0e-4\neval:\n  max_new_tokens: 16\n")
    run = load_run(mine)
    assert run.sft["learning_rate"] == 5e-4 and run.sft["max_steps"] == 4  # quick's, with one key changed
    assert run.config.eval.max_new_tokens == 16 and run.config.eval.limit_per_category == 2
    assert run.config.spec == tmp_path / "my-spec.yaml"  # relative to the YAML that names it


@pytest.mark.parametrize(
    "text, message",
    [
        ("profile: quick\nsft:\n  max_stepz: 3\n", "sft.max_stepz: unknown key"),
        ("profile: quick\ndpo:\n  beta: strong\n", "dpo.beta: Input should be a valid number"),
        ("profile: quick\neval:\n  limit_per_categroy: 3\n", "eval.limit_per_categroy: unknown key"),
        ("profile: quick\nsed: 3\n", "sed: unknown key"),
        ("profile: quick\nsft:\n  config: no-such-recipe.yaml\n", "no-such-recipe.yaml: cannot read"),
        ("profile: quick\n  bad: [indent\n", "invalid YAML"),
        ("profile: huge\n", "--profile 'huge'"),
    ],
)
def test_a_bad_run_config_is_named_before_any_model_loads(tmp_path: Path, text: str, message: str):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_run(bad)
    assert message in str(info.value)
    result = runner.invoke(app, ["run", "--config", str(bad), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()  # nothing ran


def test_recipe_config_errors_name_the_file_and_key(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("learning_rate: fast\nunknown_knob: 3\n")
    result = runner.invoke(app, ["train", "sft", "--config", str(cfg)])
    assert result.exit_code == 2
    assert f"{cfg}: learning_rate" in result.output and f"{cfg}: unknown_knob: unknown key" in result.output
    result = runner.invoke(app, ["train", "sft", "--train-file", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "file not found" in result.output
