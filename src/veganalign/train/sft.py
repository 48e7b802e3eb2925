"""SFT recipe: LoRA (default), QLoRA or full fine-tuning on TRL's SFTTrainer.

Reads top to bottom: config → checks → tokenizer and data → model → trainer → train →
save. Loss is on assistant turns only (a training chat template with ``{% generation %}``
markers; SmolLM2's own has none). Every TRL default that is wrong for LoRA or for a CPU
is set explicitly below: learning rate, epochs, max length, truncation, precision,
gradient checkpointing, save and eval steps.

    veganalign train sft --train-file runs/x/data/sft_train.jsonl --output-dir runs/x/sft
    veganalign train sft --config src/veganalign/configs/sft-cpu.yaml --resume
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SFTRecipe(BaseModel):
    """Supervised fine-tuning of a chat model on SFT examples (TRL conversational "messages")."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("smollm2-135m-instruct", description="Base model ref.")
    train_file: Path = Field(Path("runs/default/data/sft_train.jsonl"), description="SFT JSONL (messages).")
    val_file: Path | None = Field(None, description="Validation SFT JSONL; validation loss is logged when set.")
    output_dir: Path = Field(Path("runs/default/sft"), description="Adapter, metrics, manifest; checkpoints/ inside.")
    method: Literal["lora", "qlora", "full"] = Field("lora", description="lora | qlora (CUDA + bitsandbytes) | full.")
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str = Field("all-linear", description="LoRA target modules (comma list or all-linear).")
    learning_rate: float = Field(2e-4, gt=0, description="TRL's 2e-5 suits full fine-tuning; LoRA wants ~1e-4..3e-4.")
    epochs: float = Field(2.0, gt=0)
    max_steps: int = Field(-1, description="Stop after this many steps (-1: run all epochs).")
    batch_size: int = Field(8, ge=1, description="Per-device batch size.")
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_length: int = Field(768, ge=32, description="Tokens per example; longer ones are truncated at the end.")
    packing: bool = Field(
        False,
        description="Pack examples into max_length blocks, padding-free: fast with FlashAttention on a GPU; on a CPU "
        "the flattened batch makes SDPA attention quadratic in the whole batch, so leave it off there.",
    )
    group_by_length: bool = Field(True, description="Batch examples of similar length together (less padding).")
    system_prompt: Literal["none", "spec", "mixed"] = Field(
        "none", description="none: train without a system prompt; spec: with the spec's; mixed: half and half."
    )
    spec: Path | None = Field(
        None,
        description="Spec YAML this recipe reads and records by sha256 (default: the shipped spec); its "
        "system prompt is the one system_prompt: spec|mixed trains with.",
    )
    intents: str = Field(
        "",
        description="Comma-separated intents to train on (empty: all), e.g. the requests "
        "a model most often gets wrong: prescriptive_nonvegan,adversarial_roleplay,...",
    )
    max_examples: int | None = Field(None, ge=1, description="Train on a seeded random subset of N examples.")
    max_response_words: int | None = Field(
        None, ge=10, description="Cut each assistant answer to whole paragraphs within N words (short, complete "
        "targets for a small model; see train.common.concise).",
    )  # fmt: skip
    max_source_words: int | None = Field(
        None, ge=10, description="Train only on examples whose assistant answer was written within N words. "
        "A small model learns a short answer written as one better than the opening of a long one cut short.",
    )  # fmt: skip
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    lr_scheduler: str = Field("cosine")
    weight_decay: float = Field(0.0, ge=0)
    logging_steps: int = Field(5, ge=1)
    save_steps: int = Field(25, ge=1, description="Checkpoint interval (TRL's 500 never checkpoints a short run).")
    eval_steps: int = Field(25, ge=1)
    save_total_limit: int = Field(2, ge=1)
    bf16: bool | None = Field(None, description="Default: on for CUDA with bf16 support, off on CPU.")
    gradient_checkpointing: bool | None = Field(None, description="Default: on for CUDA, off on CPU.")
    seed: int = 0


def run_sft(cfg: SFTRecipe, resume: bool = False) -> dict:
    from veganalign.data.contracts import validate_file
    from veganalign.train.common import load_recipe_spec

    # --- checks that need no model: fail before minutes of loading ---------------------
    spec, spec_sha = load_recipe_spec(cfg.spec)
    validate_file(cfg.train_file, "sft")
    if cfg.val_file is not None:
        validate_file(cfg.val_file, "sft")
    if cfg.method == "qlora":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("method: qlora needs CUDA and bitsandbytes; use lora on this machine")

    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from veganalign.config import dump_config
    from veganalign.data.prompts import stable_fraction
    from veganalign.models import model_licence, parse_model_ref
    from veganalign.provenance import sha256_text
    from veganalign.spec import render_system_prompt
    from veganalign.train.common import (
        MetricsLogger,
        answer_words,
        base_model_path,
        concise,
        device_defaults,
        last_valid_checkpoint,
        plot_curves,
        training_tokenizer,
        write_manifest,
    )

    started = time.time()
    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    path, base_ref = base_model_path(cfg.model)
    tokenizer = training_tokenizer(path)

    # --- data: TRL conversational format, system prompt as configured ------------------
    system = render_system_prompt(spec).strip()

    def with_policy(row):
        msgs = [
            {"role": m["role"], "content": concise(m["content"], cfg.max_response_words)}
            if m["role"] == "assistant" else m
            for m in row["messages"] if m["role"] != "system"
        ]  # fmt: skip
        use = cfg.system_prompt == "spec" or (cfg.system_prompt == "mixed" and stable_fraction(str(row["id"])) < 0.5)
        return {"messages": ([{"role": "system", "content": system}] if use else []) + msgs}

    def load(file: Path):
        ds = load_dataset("json", data_files=str(file), split="train")
        ds = ds.map(with_policy, remove_columns=ds.column_names)
        return ds

    train_ds = load(cfg.train_file)
    wanted = {x.strip() for x in cfg.intents.split(",") if x.strip()}
    if wanted or cfg.max_source_words:
        raw = load_dataset("json", data_files=str(cfg.train_file), split="train")
        keep = [
            i for i, (intent, msgs) in enumerate(zip(raw["intent"], raw["messages"], strict=True))
            if (not wanted or intent in wanted)
            and (not cfg.max_source_words or answer_words(msgs) <= cfg.max_source_words)
        ]  # fmt: skip
        if not keep:
            raise ValueError(f"{cfg.train_file}: no example has an intent in intents={cfg.intents!r}"
                             + (f" and an answer within max_source_words={cfg.max_source_words}"
                                if cfg.max_source_words else ""))  # fmt: skip
        train_ds = train_ds.select(keep)
    if cfg.max_examples:
        # A seeded random subset: the file is ordered by domain, and a prefix would be one domain.
        train_ds = train_ds.shuffle(seed=cfg.seed).select(range(min(cfg.max_examples, len(train_ds))))
    val_ds = load(cfg.val_file) if cfg.val_file else None

    # --- model ------------------------------------------------------------------------
    dev = device_defaults(cfg.bf16, cfg.gradient_checkpointing)
    load_kwargs: dict = {"dtype": torch.bfloat16 if dev["bf16"] else torch.float32}
    if cfg.method == "qlora":
        from transformers import BitsAndBytesConfig

        load_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
        )
    model = AutoModelForCausalLM.from_pretrained(path, **load_kwargs)
    n_parameters = model.num_parameters()  # the base model's size, for the model card
    peft_config = None
    if cfg.method in ("lora", "qlora"):
        targets = cfg.target_modules if cfg.target_modules == "all-linear" else cfg.target_modules.split(",")
        peft_config = LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, target_modules=targets,
            task_type="CAUSAL_LM",
        )  # fmt: skip

    # --- trainer: every default that matters, set -------------------------------------
    args = SFTConfig(
        output_dir=str(out / "checkpoints"),
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        max_length=cfg.max_length,
        truncation_mode="keep_start",  # keeps the prompt; only an over-long answer's tail is cut
        packing=cfg.packing,
        train_sampling_strategy="group_by_length" if cfg.group_by_length and not cfg.packing else "random",
        assistant_only_loss=True,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a fraction of all steps
        lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if val_ds is not None else "no",
        eval_steps=cfg.eval_steps,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        seed=cfg.seed,
        dataloader_num_workers=0,
        disable_tqdm=False,
        **dev,
    )
    metrics_path = out / "metrics.jsonl"
    if not resume:
        metrics_path.unlink(missing_ok=True)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[MetricsLogger(metrics_path)],
    )

    # --- train ------------------------------------------------------------------------
    resume_from = last_valid_checkpoint(out / "checkpoints") if resume else None
    result = trainer.train(resume_from_checkpoint=resume_from)

    # --- save: the adapter at the stage root, with what it needs to be a model ref ------
    trainer.save_model(str(out))
    if not trainer.is_world_process_zero():
        return {"global_step": trainer.state.global_step}  # rank 0 writes the rest
    tokenizer.save_pretrained(str(out))
    (out / "config.yaml").write_text(dump_config(cfg))
    if cfg.system_prompt != "none":  # the exact prompt the examples were trained with, beside the adapter
        (out / "system_prompt.txt").write_text(system + "\n", encoding="utf-8")
    plot_curves(metrics_path, out / "loss.png", ["loss", "eval_loss"], f"SFT ({cfg.method}) on {base_ref}")
    tokens = int(trainer.state.num_input_tokens_seen)
    runtime = float(result.metrics.get("train_runtime", 0.0)) or 1e-9
    summary = {
        "global_step": trainer.state.global_step,
        "train_loss": result.metrics.get("train_loss"),
        "trained_tokens": tokens,
        "trained_tokens_per_second": round(tokens / runtime, 1),
        "examples": len(train_ds),
        "resumed_from_checkpoint": bool(resume_from),
    }
    if val_ds is not None:
        evals = [r["eval_loss"] for r in trainer.state.log_history if "eval_loss" in r]
        summary["eval_loss"] = evals[-1] if evals else trainer.evaluate().get("eval_loss")
    write_manifest(
        out, stage="sft", config=cfg.model_dump(mode="json"),
        inputs={"train_file": cfg.train_file, "val_file": cfg.val_file}, base_model=base_ref,
        spec_sha256=spec_sha, seed=cfg.seed, wall_time_s=time.time() - started,
        extra={"result": summary, "base_model_licence": model_licence(parse_model_ref(cfg.model)),
               "base_model_parameters": n_parameters,
               "system_prompt_sha256": sha256_text(system + "\n") if cfg.system_prompt != "none" else None},
    )  # fmt: skip
    return summary
