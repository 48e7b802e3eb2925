"""DPO recipe: preference optimisation of the SFT policy on ranked pairs, with TRL's DPOTrainer.

Reads top to bottom: config → checks → policy and reference → data → trainer → train →
save. The SFT adapter is merged into its base and a fresh LoRA adapter is trained on
top; with PEFT, TRL's reference model is the policy with the adapter switched off, i.e.
exactly the SFT policy (seed 4.2.2: DPO stays close to SFT, and ``beta`` is the
alignment-strength knob). Reference log-probs are computed once up front
(``precompute_ref_log_probs``), which saves a forward pass per step on a CPU.

    veganalign train dpo --model runs/x/sft --train-file runs/x/data/pairs_train.jsonl --output-dir runs/x/dpo
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class DPORecipe(BaseModel):
    """Direct preference optimisation from the SFT policy on prompt/chosen/rejected pairs."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("runs/default/sft", description="The SFT stage directory (or any model ref).")
    train_file: Path = Field(Path("runs/default/data/pairs_train.jsonl"), description="Pairs JSONL.")
    val_file: Path | None = Field(None, description="Validation pairs JSONL (reward accuracy is logged).")
    output_dir: Path = Field(Path("runs/default/dpo"), description="Adapter, metrics, manifest; checkpoints/ inside.")
    beta: float = Field(0.1, gt=0, description="Alignment strength: higher keeps closer to the SFT policy.")
    loss_type: str = Field("sigmoid", description="DPO loss(es), comma-separated: sigmoid, ipo, hinge, robust, ...")
    learning_rate: float = Field(5e-5, gt=0, description="TRL's 1e-6 barely moves a LoRA adapter.")
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1)
    batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_length: int = Field(768, ge=32, description="Prompt + response tokens; longer pairs are truncated.")
    max_pairs: int | None = Field(None, ge=1, description="Train on a seeded random subset of N pairs.")
    intents: str = Field("", description="Comma-separated intents to train on (empty: all).")
    chosen_kinds: str | None = Field(
        None, description='Keep only pairs whose ranking.chosen_kind is in this comma list (e.g. "authored").'
    )
    rejected_kinds: str | None = Field(
        None, description='Keep only pairs whose ranking.rejected_kind is in this comma list (e.g. "base,refusal": '
        "real base-model answers and over-refusals, the mistakes the policy actually makes).",
    )  # fmt: skip
    max_response_words: int | None = Field(
        None, ge=10, description="Cut chosen and rejected alike to whole paragraphs within N words (no length reward).",
    )  # fmt: skip
    max_source_words: int | None = Field(
        None, ge=10, description="Keep only pairs whose chosen answer was written within N words (see the SFT "
        "recipe's max_source_words).",
    )  # fmt: skip
    rejected_from_policy: bool = Field(
        False, description="Self-play (after SPIN): each prompt once, its rejected answer replaced by the starting "
        "policy's own greedy answer, so DPO pushes away from what this model says now; no judge is involved.",
    )  # fmt: skip
    policy_max_new_tokens: int = Field(96, ge=8, description="Length of the policy's own answers (self-play).")
    precompute_ref_log_probs: bool = Field(True, description="Reference log-probs once, before training.")
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    logging_steps: int = Field(5, ge=1)
    save_steps: int = Field(25, ge=1)
    eval_steps: int = Field(25, ge=1)
    save_total_limit: int = Field(2, ge=1)
    bf16: bool | None = None
    gradient_checkpointing: bool | None = None
    spec: Path | None = Field(
        None, description="Spec YAML this recipe reads and records by sha256 (default: the shipped spec)."
    )
    seed: int = 0


def base_ref_for_manifest(model: str, out: Path) -> str:
    """How the DPO adapter names its base: a path relative to itself for a stage of the same run."""
    path = Path(model)
    if path.is_dir():
        rel = os.path.relpath(path.resolve(), out.resolve())
        return rel if rel.startswith("..") else "./" + rel
    return model


def self_play_rejected(ds, model: str, max_new_tokens: int, record: Path, *, reuse: bool = False, write: bool = True):
    """``ds`` with each rejected answer replaced by ``model``'s own greedy answer to the prompt.

    The pairs go to ``record`` (JSONL) so a reader can see what the policy said and was
    trained away from. With ``reuse``, a record written for the same policy, length,
    prompts and chosen answers is read back instead of generating again: a resumed run
    then trains on exactly the pairs its checkpoint saw, and under ``accelerate launch``
    only the main process generates (the others read its record). ``write=False`` keeps a
    process that has to generate anyway from racing the main one's file.
    """
    from veganalign.jsonl import write_jsonl_atomic

    stamp = {"policy": model, "max_new_tokens": max_new_tokens}
    rejected = _recorded_rejected(ds, record, stamp) if reuse else None
    if rejected is None:
        from veganalign.models import Decoding, load_generator

        generator = load_generator(model)
        answers = generator.generate(list(ds["prompt"]), Decoding(max_new_tokens=max_new_tokens), batch_size=16)
        del generator
        rejected = [[{"role": "assistant", "content": a.text}] for a in answers]
    ds = ds.remove_columns("rejected").add_column("rejected", rejected)
    if write:
        rows = [{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"], **stamp} for r in ds]
        write_jsonl_atomic(record, rows)
    return ds


def _recorded_rejected(ds, record: Path, stamp: dict) -> list | None:
    """The rejected answers in ``record`` if it was written for exactly these pairs, else None."""
    from veganalign.jsonl import read_jsonl

    if not record.is_file():
        return None
    try:
        rows = [row for _, row in read_jsonl(record)]
    except ValueError:  # a damaged record is regenerated, not trusted
        return None
    same = len(rows) == len(ds) and all(
        row.get("prompt") == r["prompt"] and row.get("chosen") == r["chosen"]
        and all(row.get(k) == v for k, v in stamp.items())
        for row, r in zip(rows, ds, strict=True)
    )  # fmt: skip
    return [row["rejected"] for row in rows] if same else None


def run_dpo(cfg: DPORecipe, resume: bool = False) -> dict:
    from veganalign.data.contracts import validate_file
    from veganalign.models.refs import parse_model_ref
    from veganalign.train.common import load_recipe_spec

    # --- checks before any model loads ---------------------------------------------------
    _, spec_sha = load_recipe_spec(cfg.spec)
    validate_file(cfg.train_file, "pair")
    if cfg.val_file is not None:
        validate_file(cfg.val_file, "pair")
    ref = parse_model_ref(cfg.model)
    if ref.kind == "openai":
        raise ValueError("model: DPO needs local weights, not an OpenAI endpoint")

    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer

    from veganalign.config import dump_config
    from veganalign.models import load_merged, model_licence, tokenizer_dir
    from veganalign.train.common import (
        MetricsLogger,
        answer_words,
        concise_pair,
        device_defaults,
        last_valid_checkpoint,
        plot_curves,
        training_tokenizer,
        write_manifest,
    )

    started = time.time()
    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    dev = device_defaults(cfg.bf16, cfg.gradient_checkpointing)

    # --- data first, so a filter that keeps nothing fails before the model loads ------
    def keep(kinds: str | None, key: str):
        wanted = {k.strip() for k in kinds.split(",")} if kinds else None
        return lambda row: wanted is None or (row.get("ranking") or {}).get(key) in wanted

    def shorten(row):
        return concise_pair(row, cfg.max_response_words)

    def load(file: Path):
        ds = load_dataset("json", data_files=str(file), split="train")
        intents = {x.strip() for x in cfg.intents.split(",") if x.strip()}
        if cfg.chosen_kinds or cfg.rejected_kinds or intents or cfg.max_source_words:
            ds = ds.filter(lambda r: keep(cfg.chosen_kinds, "chosen_kind")(r) and
                           keep(cfg.rejected_kinds, "rejected_kind")(r) and
                           (not intents or r.get("intent") in intents) and
                           (not cfg.max_source_words or answer_words(r["chosen"]) <= cfg.max_source_words))  # fmt: skip
            if len(ds) == 0:
                raise ValueError(f"{file}: no pair has ranking kinds chosen={cfg.chosen_kinds} "
                                 f"rejected={cfg.rejected_kinds} and intents={cfg.intents!r}"
                                 + (f" and a chosen answer within max_source_words={cfg.max_source_words}"
                                    if cfg.max_source_words else ""))  # fmt: skip
        ds = ds.select_columns(["prompt", "chosen", "rejected"])
        return ds.map(shorten) if cfg.max_response_words else ds

    train_ds = load(cfg.train_file)
    if cfg.rejected_from_policy:  # one pair per prompt: the rejected side is about to be the policy's
        first = {json.dumps(p, sort_keys=True): i for i, p in reversed(list(enumerate(train_ds["prompt"])))}
        train_ds = train_ds.select(sorted(first.values()))
    if cfg.max_pairs:
        train_ds = train_ds.shuffle(seed=cfg.seed).select(range(min(cfg.max_pairs, len(train_ds))))
    if cfg.rejected_from_policy:
        from accelerate import PartialState

        state = PartialState()  # one process unless under `accelerate launch`
        with state.main_process_first():  # the main process generates; the others read its record
            train_ds = self_play_rejected(
                train_ds, cfg.model, cfg.policy_max_new_tokens, out / "self_play_pairs.jsonl",
                reuse=resume or not state.is_main_process, write=state.is_main_process,
            )  # fmt: skip
    val_ds = load(cfg.val_file) if cfg.val_file else None

    # --- policy = SFT merged; reference = the same weights with the new adapter disabled --
    model = load_merged(ref, torch.bfloat16 if dev["bf16"] else torch.float32)
    tokenizer = training_tokenizer(tokenizer_dir(ref))

    args = DPOConfig(
        output_dir=str(out / "checkpoints"),
        beta=cfg.beta,
        loss_type=[x.strip() for x in cfg.loss_type.split(",")],
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        max_length=cfg.max_length,
        truncation_mode="keep_start",
        precompute_ref_log_probs=cfg.precompute_ref_log_probs,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a fraction of all steps
        lr_scheduler_type="cosine",
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if val_ds is not None else "no",
        eval_steps=cfg.eval_steps,
        report_to="none",
        seed=cfg.seed,
        dataloader_num_workers=0,
        **dev,
    )
    metrics_path = out / "metrics.jsonl"
    if not resume:
        metrics_path.unlink(missing_ok=True)
    trainer = DPOTrainer(
        model=model,
        ref_model=None,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),  # fmt: skip
        callbacks=[MetricsLogger(metrics_path)],
    )

    # --- train ---------------------------------------------------------------------------
    resume_from = last_valid_checkpoint(out / "checkpoints") if resume else None
    result = trainer.train(resume_from_checkpoint=resume_from)

    # --- save ----------------------------------------------------------------------------
    trainer.save_model(str(out))
    if not trainer.is_world_process_zero():
        return {"global_step": trainer.state.global_step}  # rank 0 writes the rest
    tokenizer.save_pretrained(str(out))
    (out / "config.yaml").write_text(dump_config(cfg))
    plot_curves(
        metrics_path, out / "loss.png", ["loss", "rewards/accuracies", "rewards/margins"], f"DPO (beta={cfg.beta})"
    )
    last = {k: v for r in trainer.state.log_history for k, v in r.items()}
    summary = {
        "global_step": trainer.state.global_step,
        "train_loss": result.metrics.get("train_loss"),
        "pairs": len(train_ds),
        "reward_accuracy": last.get("rewards/accuracies"),
        "reward_margin": last.get("rewards/margins"),
        "eval_reward_accuracy": last.get("eval_rewards/accuracies"),
        "resumed_from_checkpoint": bool(resume_from),
    }
    write_manifest(
        out, stage="dpo", config=cfg.model_dump(mode="json"),
        inputs={"train_file": cfg.train_file, "val_file": cfg.val_file},
        base_model=base_ref_for_manifest(cfg.model, out), spec_sha256=spec_sha, seed=cfg.seed,
        wall_time_s=time.time() - started, extra={"result": summary, "base_model_licence": model_licence(ref)},
    )  # fmt: skip
    return summary
