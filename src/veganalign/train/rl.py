"""Online RL recipe (seed 4.2.1): GRPO of the SFT policy against the trained reward model.

TRL 1.x has no PPO; GRPO samples a group of answers per prompt and pushes the policy
towards the better ones by their reward relative to the group. The reward is the reward
model's score, optionally shaped (seed 4.2.1 "reward shaping") by two response signals
of ``veganalign.signals``, read exactly as the rule judge reads them: a penalty when an
answer recommends an animal product (``kb_weight``) and when it uses one of the spec's
shaming phrases (``tone_weight``). The manifest records those signals
(``shaping_signals``), so the eval stage keeps any judge that reads them out of this
policy's headline figures.

The KL coefficient ``beta`` is explicit: GRPO's default of 0 would let the policy drift
from the SFT model unchecked. Reads top to bottom: config → checks → policy → rewards →
trainer → train → save, with the first and last sampled completions saved for a
before/after look.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class RLRecipe(BaseModel):
    """GRPO of the SFT policy against a reward model (with optional rule-based shaping)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("runs/default/sft", description="The policy to improve: the SFT stage (or any local model).")
    reward_model: Path = Field(Path("runs/default/reward"), description="The reward stage directory (uses merged/).")
    prompts_file: Path = Field(Path("runs/default/data/prompts.jsonl"), description="Prompt bank JSONL.")
    output_dir: Path = Field(Path("runs/default/rl"))
    beta: float = Field(0.04, ge=0, description="KL coefficient towards the SFT policy (GRPO's default is 0).")
    kb_weight: float = Field(0.5, ge=0, description="Weight of the knowledge-base shaping penalty (0 = off).")
    tone_weight: float = Field(0.5, ge=0, description="Weight of the shaming-phrase penalty (0 = off).")
    num_generations: int = Field(4, ge=2, description="Answers sampled per prompt (the GRPO group).")
    prompts_per_step: int = Field(2, ge=1)
    max_completion_length: int = Field(96, ge=8)
    max_steps: int = Field(24, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    temperature: float = Field(1.0, gt=0)
    max_prompts: int | None = Field(None, ge=1)
    intents: str = Field("", description="Comma-separated intents to sample prompts from (empty: all).")
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    logging_steps: int = Field(1, ge=1)
    save_steps: int = Field(10, ge=1)
    bf16: bool | None = None
    gradient_checkpointing: bool | None = None
    spec: Path | None = Field(
        None, description="Spec YAML whose tone phrases shape the reward, recorded by sha256 (default: shipped)."
    )
    seed: int = 0


def shaping_functions(kb_weight: float, tone_weight: float, spec=None):
    """Reward terms on response signals (``veganalign.signals``), named so TRL logs them separately."""
    from veganalign.signals import ResponseSignals

    reader = ResponseSignals(spec)
    funcs = []

    def text_of(completion) -> str:
        return completion[-1]["content"] if isinstance(completion, list) else str(completion)

    def recommends_animal_product(prompts, completions, **kwargs) -> list[float]:
        return [-kb_weight if reader.recommends_animal_product(text_of(c)) else 0.0 for c in completions]

    def shames(prompts, completions, **kwargs) -> list[float]:
        return [-tone_weight if reader.shames(text_of(c)) else 0.0 for c in completions]

    if kb_weight > 0:
        funcs.append(recommends_animal_product)
    if tone_weight > 0:
        funcs.append(shames)
    return funcs


def run_rl(cfg: RLRecipe, resume: bool = False) -> dict:
    from veganalign.data.contracts import validate_file
    from veganalign.models.refs import parse_model_ref
    from veganalign.train.common import load_recipe_spec

    # --- checks ------------------------------------------------------------------------------
    spec, spec_sha = load_recipe_spec(cfg.spec)
    _, prompts = validate_file(cfg.prompts_file, "prompt")
    merged_rm = cfg.reward_model / "merged"
    if not (merged_rm / "config.json").is_file():
        raise FileNotFoundError(
            f"reward_model: {merged_rm} holds no merged reward model; run `veganalign train reward`"
        )
    ref = parse_model_ref(cfg.model)
    if ref.kind == "openai":
        raise ValueError("model: RL needs local weights")

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from veganalign.config import dump_config
    from veganalign.models import load_merged, model_licence, tokenizer_dir
    from veganalign.signals import SHAPING_SIGNALS
    from veganalign.train.common import (
        MetricsLogger,
        device_defaults,
        last_valid_checkpoint,
        plot_curves,
        training_tokenizer,
        write_manifest,
    )
    from veganalign.train.dpo import base_ref_for_manifest

    started = time.time()
    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    # The response signals the reward shaping penalises: the eval stage reads them back from the manifest.
    shaping = {SHAPING_SIGNALS[k]: f"{k}={getattr(cfg, k)}" for k in SHAPING_SIGNALS if getattr(cfg, k) > 0}
    dev = device_defaults(cfg.bf16, cfg.gradient_checkpointing)
    policy = load_merged(ref, torch.bfloat16 if dev["bf16"] else torch.float32)
    tokenizer = training_tokenizer(tokenizer_dir(ref))
    tokenizer.padding_side = "left"
    rm_tokenizer = AutoTokenizer.from_pretrained(merged_rm)
    rm_tokenizer.padding_side = "right"

    wanted = {x.strip() for x in cfg.intents.split(",") if x.strip()}
    rows = [{"prompt": [{"role": "user", "content": p["prompt"]}]} for p in prompts
            if isinstance(p.get("prompt"), str) and (not wanted or p.get("intent") in wanted)]  # fmt: skip
    dataset = Dataset.from_list(rows).shuffle(seed=cfg.seed)
    if cfg.max_prompts:
        dataset = dataset.select(range(min(cfg.max_prompts, len(dataset))))

    args = GRPOConfig(
        output_dir=str(out / "checkpoints"),
        beta=cfg.beta,
        num_generations=cfg.num_generations,
        per_device_train_batch_size=cfg.num_generations * cfg.prompts_per_step,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        learning_rate=cfg.learning_rate,
        max_steps=cfg.max_steps,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        log_completions=True,
        num_completions_to_print=0,
        report_to="none",
        seed=cfg.seed,
        dataloader_num_workers=0,
        **dev,
    )
    metrics_path = out / "metrics.jsonl"
    if not resume:
        metrics_path.unlink(missing_ok=True)
    reward_funcs = [str(merged_rm), *shaping_functions(cfg.kb_weight, cfg.tone_weight, spec)]
    samples: list[dict] = []

    def keep_samples(prompts, completions, **kwargs) -> list[None]:
        # Records what the policy wrote at each step (returns None: not part of the reward).
        step = kwargs.get("trainer_state").global_step if kwargs.get("trainer_state") else None
        for p, c in zip(prompts, completions, strict=False):
            samples.append({"step": step, "prompt": p[-1]["content"], "completion": c[-1]["content"]})
        return [None] * len(completions)

    trainer = GRPOTrainer(
        model=policy,
        reward_funcs=[*reward_funcs, keep_samples],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        reward_processing_classes=[rm_tokenizer] + [None] * (len(reward_funcs) - 1) + [None],
        peft_config=LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM"
        ),  # fmt: skip
        callbacks=[MetricsLogger(metrics_path)],
    )

    resume_from = last_valid_checkpoint(out / "checkpoints") if resume else None
    trainer.train(resume_from_checkpoint=resume_from)

    # --- save --------------------------------------------------------------------------------
    trainer.save_model(str(out))
    if not trainer.is_world_process_zero():
        return {"global_step": trainer.state.global_step}  # rank 0 writes the rest
    tokenizer.save_pretrained(str(out))
    (out / "config.yaml").write_text(dump_config(cfg))
    plot_curves(metrics_path, out / "reward.png", ["reward", "kl", "loss"], f"GRPO (beta={cfg.beta})")
    rewards = [r["reward"] for r in trainer.state.log_history if "reward" in r]
    first, last = rewards[:5], rewards[-5:]
    spread = statistics.pstdev([b - a for a, b in zip(rewards, rewards[1:], strict=False)]) if len(rewards) > 2 else 0.0
    steps_seen = sorted({s["step"] for s in samples if s["step"] is not None})
    before = [s for s in samples if s["step"] == steps_seen[0]] if steps_seen else []
    after = [s for s in samples if s["step"] == steps_seen[-1]] if steps_seen else []
    (out / "samples.json").write_text(json.dumps({"first_step": before, "last_step": after}, indent=2) + "\n")
    summary = {
        "global_step": trainer.state.global_step,
        "reward_first5": round(statistics.fmean(first), 4) if first else None,
        "reward_last5": round(statistics.fmean(last), 4) if last else None,
        "step_to_step_spread": round(spread, 4),
        "kl_last": next((r["kl"] for r in reversed(trainer.state.log_history) if "kl" in r), None),
        "prompts": len(dataset),
    }
    write_manifest(
        out, stage="rl", config=cfg.model_dump(mode="json"),
        inputs={"prompts_file": cfg.prompts_file, "reward_model": merged_rm / "config.json"},
        base_model=base_ref_for_manifest(cfg.model, out), spec_sha256=spec_sha, seed=cfg.seed,
        wall_time_s=time.time() - started,
        extra={"result": summary, "base_model_licence": model_licence(ref), "shaping_signals": shaping},
    )  # fmt: skip
    return summary
