"""``veganalign run``: every stage in order into ``runs/NAME/``, cached by content hash.

Stages: ``spec`` (validate, hash, render, keep a copy) → ``knowledge`` (validate, size) →
``data`` (prompt bank, SFT, pairs, eval suites, contamination report) → ``sft`` → ``dpo`` →
``eval`` (the four arms on the held-out suites) → ``demo`` (base and tuned answers to the
demonstration prompts, side by side) → ``card`` (``MODEL_CARD.md``).

A run is configured by a ``RunConfig`` (its YAML is a profile: ``configs/run-*.yaml``),
whose ``sft`` and ``dpo`` sections name a recipe config plus overrides, so the run and
``veganalign train`` read the same settings. The run's spec is the copy in
``runs/NAME/spec/``: every later stage reads that one, and a rerun without ``--spec``
keeps it.

Each stage records, in ``runs/NAME/manifest.json``, the sha256 of its input files and of
the parts of the spec it reads (``spec:NAME`` inputs), its config, the code version,
library versions, seed, hardware and wall time. A stage is reused only when all of these
match and its outputs exist, so editing one principle's statement redoes the stages
that read it (the spec copy, the model card) and reuses the rest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.table import Table

from veganalign.config import CONFIG_DIR, ConfigError, read_yaml, validate_config
from veganalign.jsonl import write_text_atomic
from veganalign.provenance import code_version, hardware, library_versions, sha256_file, sha256_json, utc_now

STAGES = ("spec", "knowledge", "data", "sft", "dpo", "eval", "demo", "card")
PROFILES = ("quick", "default", "gpu")


class EvalSettings(BaseModel):
    """The eval stage: the four arms on the run's held-out suites."""

    model_config = ConfigDict(extra="forbid")

    judge: str = Field("rules", description="rules | llm:MODEL_REF")
    limit_per_category: int | None = Field(None, ge=1, description="At most N cases per category (None: all).")
    category_limits: dict[str, int] = Field(default_factory=dict, description="Per-category limits over the above.")
    max_new_tokens: int = Field(256, ge=1)
    batch_size: int = Field(16, ge=1)
    api_key_env: str = Field("OPENAI_API_KEY", description="Key for an llm: judge.")


class RoundSettings(BaseModel):
    """Red-team and improvement rounds after the eval (``veganalign iterate``; one round retrains and re-measures)."""

    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(0, ge=0, description="Rounds to have after the eval (the command line's --rounds wins).")
    limit: int = Field(12, ge=1, description="Train-split attacks per family, where failures are found.")
    heldout_limit: int = Field(12, ge=1, description="Held-out attacks per family: the round's measure.")
    families: list[str] = Field(default_factory=list, description="Attack families (empty: all).")
    replay: int = Field(32, ge=0, description="Pairs of the run's own data mixed into each round.")
    lookalike_ratio: float = Field(0.5, ge=0, description="Most look-alike pairs per failure pair in a round.")
    correction: Literal["swap", "redirection"] = Field(
        "swap",
        description="A failure's correction without a teacher: its answer with the animal products swapped "
        "for the knowledge base's alternatives (else the redirection), or always the redirection.",
    )
    dpo_steps: int = Field(-1, description="DPO steps a round (-1: one epoch over its pairs).")
    eval: bool = Field(True, description="Re-run the run's eval cases on each round's model.")
    teacher: str | None = Field(None, description="Model ref that writes corrections (default: knowledge base).")
    max_new_tokens: int = Field(112, ge=1)


class DemoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompts: int = Field(12, ge=1, description="How many demonstration prompts, in order.")
    max_new_tokens: int = Field(160, ge=1)


class RunConfig(BaseModel):
    """A whole run. ``sft``/``dpo``: ``config: FILE`` (a recipe config) plus any key of that recipe."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("smollm2-135m-instruct", description="Base model ref.")
    spec: Path | None = Field(None, description="Spec YAML (default: the run's own copy, else the shipped spec).")
    seed: int = 0
    out: Path | None = Field(None, description="Run directory (the command line's --out wins).")
    trust: Path | None = Field(None, description="Directory of agreement files for judge trust (default: shipped).")
    keep_unknown_principles: bool = Field(
        False, description="Keep authored data tagged with principle ids this spec lacks (default: drop, reported)."
    )
    sft: dict[str, Any] = Field(default_factory=dict)
    dpo: dict[str, Any] = Field(default_factory=dict)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    demo: DemoSettings = Field(default_factory=DemoSettings)
    redteam: RoundSettings = Field(default_factory=RoundSettings)


# What the run itself decides for each recipe: its paths, the model chain, the spec, the seed.
RUN_OWNED = {"model", "train_file", "val_file", "output_dir", "spec", "seed"}


@dataclass
class Run:
    """A validated run config with its recipe sections resolved (recipe YAML + overrides)."""

    config: RunConfig
    source: str  # the YAML it came from (for messages)
    sft: dict[str, Any] = field(default_factory=dict)
    dpo: dict[str, Any] = field(default_factory=dict)


def profile_path(name: str) -> Path:
    if name not in PROFILES:
        raise ConfigError(f"--profile {name!r}: choose one of {', '.join(PROFILES)}")
    return CONFIG_DIR / f"run-{name}.yaml"


def _recipe_section(section: dict[str, Any], cls: type[BaseModel], stage: str, where: str, base: Path) -> dict:
    """A run's ``sft``/``dpo`` section: the named recipe config, then the section's own keys over it."""
    section = dict(section)
    merged: dict[str, Any] = {}
    name = section.pop("config", None)
    if name is not None:
        path = Path(name)
        path = path if path.is_absolute() else (base / path if (base / path).exists() else CONFIG_DIR / path)
        merged.update(read_yaml(path))
    merged.update(section)
    # Validate now, before any model loads; the run's own paths stand in for the recipe's.
    placeholders = {"model": "smollm2-135m-instruct", "train_file": Path("train.jsonl"), "output_dir": Path(stage)}
    validate_config(cls, {**merged, **placeholders}, where, prefix=f"{stage}.")
    resolved = {k: v for k, v in merged.items() if k not in RUN_OWNED}
    resolved["val_file"] = bool(merged.get("val_file"))  # whether to validate; the run names the file
    return resolved


def load_run(config: Path | None = None, profile: str | None = None, **overrides: Any) -> Run:
    """A run from a YAML (a profile's, or a user's that may start from ``profile: NAME``) and CLI overrides."""
    from veganalign.train.dpo import DPORecipe
    from veganalign.train.sft import SFTRecipe

    path = config if config is not None else profile_path(profile or "default")
    data = read_yaml(path)
    base_profile = data.pop("profile", None)
    if base_profile is not None:
        start = read_yaml(profile_path(str(base_profile)))
        for key in ("sft", "dpo", "eval", "demo"):  # sections merge key by key; the rest replaces
            if isinstance(start.get(key), dict) and isinstance(data.get(key), dict):
                data[key] = {**start[key], **data[key]}
        data = {**start, **data}
    given = {k for k, v in overrides.items() if v is not None}
    data.update({k: overrides[k] for k in given})
    cfg = validate_config(RunConfig, data, str(path), overridden=given)
    if cfg.spec is not None and not cfg.spec.is_absolute() and "spec" not in given:
        cfg.spec = path.parent / cfg.spec  # a spec named in a run YAML is relative to that YAML
    base = path.parent
    return Run(cfg, str(path), _recipe_section(cfg.sft, SFTRecipe, "sft", str(path), base),
               _recipe_section(cfg.dpo, DPORecipe, "dpo", str(path), base))  # fmt: skip


class Manifest:
    """``runs/NAME/manifest.json``: one record per stage."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "manifest.json"
        self.data: dict[str, Any] = {"format": 2, "stages": {}}
        if self.path.exists():
            self.data = json.loads(self.path.read_text())

    def is_current(self, stage: str, key: str, run_dir: Path) -> bool:
        rec = self.data["stages"].get(stage)
        return bool(rec and rec.get("key") == key and all((run_dir / o).exists() for o in rec.get("outputs", [])))

    def record(self, stage: str, rec: dict[str, Any]) -> None:
        self.data["stages"][stage] = rec
        # Stages stay in the order they first ran (no sort_keys): the manifest reads like the pipeline.
        write_text_atomic(self.path, json.dumps(self.data, indent=2) + "\n")


def run_spec_file(run_dir: Path, spec_path: Path | None) -> Path:
    """The spec this run reads: the one given, else the run's own copy from an earlier run, else the shipped one."""
    from veganalign.spec import default_spec_path

    if spec_path is not None:
        return Path(spec_path)
    own = run_dir / "spec" / "spec.yaml"
    return own if own.is_file() else default_spec_path()


@dataclass
class Stage:
    """One stage of a run: what it is keyed on (config, input files, the parts of the spec it reads) and its body."""

    name: str
    config: dict[str, Any]
    inputs: dict[str, Path]
    spec_views: dict[str, Any]
    run: Callable[[], list[str]]

    def key(self, common: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """``(cache key, sha256 of every input)``: files hashed now, spec parts as canonical JSON."""
        inputs_sha = {k: sha256_file(v) if v.exists() else "missing" for k, v in self.inputs.items()}
        inputs_sha.update({f"spec:{k}": sha256_json(v) for k, v in self.spec_views.items()})
        material = json.dumps({"config": self.config, "inputs": inputs_sha, **common}, sort_keys=True, default=str)
        return hashlib.sha256(material.encode()).hexdigest(), inputs_sha


def plan_stages(run_dir: Path, run: Run, spec_file: Path, console: Console) -> list[Stage]:
    """The stages of a run in order, each with the parts of the spec it reads (and only those)."""
    from veganalign.data.build import data_spec_view
    from veganalign.eval.judges import judge_spec_view
    from veganalign.spec import load_spec, render_system_prompt, spec_sha256

    spec = load_spec(spec_file)
    system_prompt = render_system_prompt(spec)
    cfg = run.config
    data = run_dir / "data"
    run_spec = run_dir / "spec" / "spec.yaml"
    dpo_adapter = run_dir / "dpo" / "adapter_model.safetensors"
    trains_with_prompt = run.sft.get("system_prompt", "none") != "none"
    return [
        Stage("spec", {}, {"spec": spec_file}, {}, lambda: _stage_spec(spec_file, run_dir / "spec")),
        Stage("knowledge", {}, {}, {}, lambda: _stage_knowledge(run_dir / "knowledge")),
        Stage("data", {"seed": cfg.seed, "keep_unknown_principles": cfg.keep_unknown_principles}, {},
              {"data_view": data_spec_view(spec)}, lambda: _stage_data(data, run_spec, cfg)),
        Stage("sft", {"model": cfg.model, **run.sft},
              {"train": data / "sft_train.jsonl", "val": data / "sft_val.jsonl"},
              {"system_prompt": system_prompt} if trains_with_prompt else {}, lambda: _stage_sft(run_dir, run)),
        Stage("dpo", run.dpo,
              {"train": data / "pairs_train.jsonl", "sft": run_dir / "sft" / "adapter_model.safetensors"},
              {}, lambda: _stage_dpo(run_dir, run)),
        Stage("eval", {"model": cfg.model, **cfg.eval.model_dump(), "trust": str(cfg.trust) if cfg.trust else None},
              {"dpo": dpo_adapter, "cases": data / "summary.json"},
              {"system_prompt": system_prompt, "judge": judge_spec_view(cfg.eval.judge, spec)},
              lambda: _stage_eval(run_dir, run, console)),
        Stage("demo", {"model": cfg.model, **cfg.demo.model_dump()}, {"dpo": dpo_adapter}, {},
              lambda: _stage_demo(run_dir, run, console)),
        Stage("card", {}, {"summary": run_dir / "eval" / "summary.json"}, {"spec": spec_sha256(spec)},
              lambda: _stage_card(run_dir, cfg.model)),
    ]  # fmt: skip


def run_pipeline(
    run_dir: Path,
    run: Run,
    *,
    force: bool = False,
    from_stage: str | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    from veganalign.spec import load_spec, spec_sha256

    console = console or Console(stderr=True)
    cfg = run.config
    if from_stage is not None and from_stage not in STAGES:
        raise ValueError(f"--from {from_stage!r}: choose one of {', '.join(STAGES)}")
    spec_file = run_spec_file(run_dir, cfg.spec)
    spec = load_spec(spec_file)  # validated before anything runs; the spec stage copies it into the run
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(run_dir)
    console.print(f"spec: {spec.name} {spec.spec_version} ({spec_file}, sha256 {spec_sha256(spec)[:12]}…)")
    common = {"code_version": code_version(), "libraries": library_versions(), "seed": cfg.seed}
    stages = plan_stages(run_dir, run, spec_file, console)
    summary: dict[str, Any] = {}
    forced = force
    started_run = time.time()
    for index, stage in enumerate(stages, start=1):
        name = stage.name
        forced = forced or name == from_stage
        key, inputs_sha = stage.key(common)  # after the stages before it ran: their outputs are its inputs
        if not forced and manifest.is_current(name, key, run_dir):
            console.print(f"[dim]stage {index}/{len(stages)} {name}: unchanged, reused[/dim]")
            summary[name] = "reused"
            continue
        console.rule(f"stage {index}/{len(stages)}: {name}  (run time so far {time.time() - started_run:.0f}s)")
        _start_stage_dir(run_dir, name, key)
        started = time.time()
        outputs = stage.run()
        wall = time.time() - started
        manifest.record(
            name,
            {
                "key": key,
                "config": json.loads(json.dumps(stage.config, default=str)),
                "inputs": {
                    **{k: {"path": str(v), "sha256": inputs_sha[k]} for k, v in stage.inputs.items()},
                    **{f"spec:{k}": {"sha256": inputs_sha[f"spec:{k}"]} for k in stage.spec_views},
                },
                "spec_sha256": spec_sha256(spec),
                **common,
                "hardware": hardware(),
                "wall_time_s": round(wall, 2),
                "finished_at": utc_now(),
                "outputs": outputs,
            },
        )
        console.print(f"stage {name}: done in {wall:.1f}s")
        summary[name] = "done"
    _print_final_table(run_dir, console)
    if cfg.redteam.rounds or (run_dir / "rounds").exists():
        summary["rounds"] = _run_rounds(
            run_dir,
            cfg.redteam,
            model=cfg.model,
            retrained=any(summary.get(s) == "done" for s in ("sft", "dpo")),
            console=console,
        )
    return summary


def _run_rounds(run_dir: Path, settings: RoundSettings, *, model: str, retrained: bool,
                console: Console) -> list[int]:  # fmt: skip
    """Red-team and iterate until the run has ``settings.rounds`` finished rounds.

    Rounds made from an earlier model (this invocation retrained SFT or DPO) no longer
    follow from the run: they are moved aside to ``rounds.stale-TIME``, never deleted.
    """
    from veganalign.redteam.iterate import finished_rounds, iterate_round

    rounds = run_dir / "rounds"
    if retrained and rounds.exists():
        stale = run_dir / f"rounds.stale-{time.strftime('%Y%m%dT%H%M%S')}"
        rounds.rename(stale)
        console.print(f"[yellow]the run was retrained: its earlier rounds moved to {stale}[/yellow]")
        if (run_dir / "MODEL_CARD.md").is_file():  # the card stage ran before the move and still listed them
            _stage_card(run_dir, model)
    while len(finished_rounds(run_dir)) < settings.rounds:
        k = len(finished_rounds(run_dir)) + 1
        console.rule(f"round {k} of {settings.rounds}: red-team, data, train, re-measure")
        started = time.time()
        iterate_round(run_dir, teacher=settings.teacher, limit=settings.limit, heldout_limit=settings.heldout_limit,
                      families=settings.families or None, replay=settings.replay,
                      lookalike_ratio=settings.lookalike_ratio, correction_kind=settings.correction,
                      dpo_steps=settings.dpo_steps,
                      eval_cases=settings.eval, max_new_tokens=settings.max_new_tokens, console=console)  # fmt: skip
        console.print(f"round {k}: done in {time.time() - started:.1f}s")
    return finished_rounds(run_dir)


def _start_stage_dir(run_dir: Path, stage: str, key: str) -> None:
    """Clear the eval stage's files when they were made for another key (another model, spec or setting).

    Generations resume by id, so rows made by an earlier tuned model or under an earlier
    system prompt would otherwise be reused; an interrupted stage with the same key resumes.
    """
    if stage != "eval":
        return
    out = run_dir / "eval"
    stamp = out / "stage_key.txt"
    if out.exists() and (not stamp.exists() or stamp.read_text().strip() != key):
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key + "\n")


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
    text = spec_file.read_text(encoding="utf-8")
    write_text_atomic(out / "system_prompt.txt", render_system_prompt(spec))
    write_text_atomic(out / "guideline.md", render_guideline(spec))
    write_text_atomic(out / "rubric.txt", render_rubric(spec))
    write_text_atomic(out / "rubric.json", rubric_json(spec))
    if spec_file.resolve() != (out / "spec.yaml").resolve():
        write_text_atomic(out / "spec.yaml", text)
    write_text_atomic(
        out / "spec.json",
        json.dumps({"name": spec.name, "version": spec.spec_version, "sha256": spec_sha256(spec)}, indent=2) + "\n",
    )
    names = ("system_prompt.txt", "guideline.md", "rubric.txt", "rubric.json", "spec.yaml", "spec.json")
    return [f"spec/{n}" for n in names]


def _stage_knowledge(out: Path) -> list[str]:
    from collections import Counter

    from veganalign.knowledge import knowledge_sha256, load_knowledge_base

    kb = load_knowledge_base()
    summary = {
        "entries": len(kb.entries),
        "sha256": knowledge_sha256(),
        "by_status": dict(Counter(e.status for e in kb.entries)),
        "by_category": dict(Counter(e.category for e in kb.entries)),
    }
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return ["knowledge/summary.json"]


def _stage_data(out: Path, spec_file: Path, cfg: RunConfig) -> list[str]:
    from veganalign.data.build import build_dataset

    build_dataset(out, seed=cfg.seed, spec_path=spec_file, keep_unknown_principles=cfg.keep_unknown_principles)
    return [
        "data/summary.json",
        "data/sft_train.jsonl",
        "data/pairs_train.jsonl",
        "data/contamination.md",
        "data/unknown_principles.json",
    ]


def _stage_sft(run_dir: Path, run: Run) -> list[str]:
    from veganalign.train.sft import SFTRecipe, run_sft

    out = run_dir / "sft"
    data = run_dir / "data"
    cfg = SFTRecipe(**{**run.sft, "model": run.config.model, "train_file": data / "sft_train.jsonl",
                       "val_file": data / "sft_val.jsonl" if run.sft["val_file"] else None,
                       "output_dir": out, "seed": run.config.seed, "spec": run_dir / "spec" / "spec.yaml"})  # fmt: skip
    # An interrupted run resumes from its last checkpoint instead of starting SFT again.
    run_sft(cfg, resume=(out / "checkpoints").is_dir())
    return ["sft/adapter_model.safetensors", "sft/manifest.json", "sft/loss.png"]


def _stage_dpo(run_dir: Path, run: Run) -> list[str]:
    from veganalign.train.dpo import DPORecipe, run_dpo

    out = run_dir / "dpo"
    data = run_dir / "data"
    cfg = DPORecipe(**{**run.dpo, "model": str(run_dir / "sft"), "train_file": data / "pairs_train.jsonl",
                       "val_file": data / "pairs_val.jsonl" if run.dpo["val_file"] else None,
                       "output_dir": out, "seed": run.config.seed, "spec": run_dir / "spec" / "spec.yaml"})  # fmt: skip
    run_dpo(cfg, resume=(out / "checkpoints").is_dir())
    return ["dpo/adapter_model.safetensors", "dpo/manifest.json", "dpo/loss.png"]


def _stage_eval(run_dir: Path, run: Run, console: Console) -> list[str]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from veganalign.eval.run import Arm, evaluate
    from veganalign.spec import load_spec, render_system_prompt

    spec = load_spec(run_dir / "spec" / "spec.yaml")
    system = render_system_prompt(spec)
    model, tuned, ev = run.config.model, str(run_dir / "dpo"), run.config.eval
    arms = [Arm("base", model, None), Arm("base+spec", model, system), Arm("tuned", tuned, None),
            Arm("tuned+spec", tuned, system)]  # fmt: skip
    files = sorted((run_dir / "data" / "eval").glob("*.jsonl"))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console) as progress:  # fmt: skip
        evaluate(arms, files, run_dir / "eval", spec=spec, judge_name=ev.judge,
                 limit_per_category=ev.limit_per_category, category_limits=ev.category_limits or None,
                 max_new_tokens=ev.max_new_tokens, batch_size=ev.batch_size, api_key_env=ev.api_key_env,
                 trust_dir=run.config.trust, progress=progress,
                 notice=lambda text: console.print(f"[yellow]{text}[/yellow]"))  # fmt: skip
    return ["eval/summary.json", "eval/report.html"]


def _stage_demo(run_dir: Path, run: Run, console: Console) -> list[str]:
    """Base and tuned answers to the demonstration prompts (the seed's own examples among them)."""
    from veganalign.jsonl import read_jsonl, write_jsonl_atomic
    from veganalign.models import Decoding, load_generator
    from veganalign.models.generate_file import generate_file, latest_rows

    out = run_dir / "demo"
    model, demo_cfg = run.config.model, run.config.demo
    demo_src = Path(str(resources.files("veganalign.data").joinpath("demo_prompts.jsonl")))
    demo = [rec for _, rec in read_jsonl(demo_src)][: demo_cfg.prompts]
    prompts = out / "prompts.jsonl"
    write_jsonl_atomic(prompts, demo)
    decoding = Decoding(max_new_tokens=demo_cfg.max_new_tokens, seed=run.config.seed)
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


def _stage_card(run_dir: Path, model: str) -> list[str]:
    from veganalign.card import write_model_card

    write_model_card(run_dir, model=model)
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
    if trust.get("measured") and trust.get("applies", True):
        flagged = ", ".join(trust["flagged_categories"]) or "none"
        console.print(f"judge {summary['judge']['version']}: gold-set agreement κ={trust['overall']['kappa']} "
                      f"overall; flagged (κ < {trust['trust_kappa']}): {flagged}")  # fmt: skip
    elif trust.get("measured"):
        console.print(f"judge {summary['judge']['version']}: its gold-set agreement was measured under another "
                      "spec and does not apply to this run's")  # fmt: skip
    else:
        console.print(f"judge {summary['judge']['version']}: agreement with the gold set not measured")
    unjudged = summary["judge"].get("unjudged_checks") or {}
    if unjudged:
        console.print(f"[yellow]not judged under this spec: {', '.join(unjudged)} (those cases are unscored)[/yellow]")
    console.print(f"report: {run_dir / 'eval' / 'report.html'} · model card: {run_dir / 'MODEL_CARD.md'}")
