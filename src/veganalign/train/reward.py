"""Reward-model recipe (seed 4.2.1): a scalar scorer trained on ranked pairs with TRL's RewardTrainer.

Reads top to bottom: config → checks → model → data → trainer → train → held-out
accuracy → save. The reward model is the base (or SFT) model with a one-output ``score``
head and a LoRA adapter; the head is trained in full (``modules_to_save``). The merged
model is saved under ``merged/`` because the RL recipe loads it as a plain classifier.

Held-out accuracy is measured on pairs whose prompts were never trained on (the data
stage splits by prompt), reported separately for pairs whose rejected answer is a real
model output (the base model's own answer) and for hand-made flawed rejects, which are
trivially easy.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class RewardRecipe(BaseModel):
    """Train a reward model on prompt/chosen/rejected pairs."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("smollm2-135m-instruct", description="Base model ref (a model, or an SFT stage to merge).")
    train_file: Path = Field(Path("runs/default/data/pairs_train.jsonl"))
    val_file: Path = Field(Path("runs/default/data/pairs_val.jsonl"), description="Held-out pairs (unseen prompts).")
    output_dir: Path = Field(Path("runs/default/reward"))
    learning_rate: float = Field(1e-4, gt=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1)
    batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_length: int = Field(640, ge=32)
    max_pairs: int | None = Field(None, ge=1)
    max_response_words: int | None = Field(
        110, ge=10, description="Cut chosen and rejected alike to whole paragraphs within N words: TRL's reward "
        "trainer drops pairs longer than max_length, which would keep only the shortest answers.",
    )  # fmt: skip
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    logging_steps: int = Field(5, ge=1)
    save_steps: int = Field(50, ge=1)
    bf16: bool | None = None
    gradient_checkpointing: bool | None = None
    spec: Path | None = Field(
        None, description="Spec YAML this recipe reads and records by sha256 (default: the shipped spec)."
    )
    seed: int = 0


def score_texts(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 8) -> list[float]:
    import torch

    scores: list[float] = []
    tokenizer.padding_side = "right"
    for i in range(0, len(texts), batch_size):
        batch = tokenizer(texts[i : i + batch_size], return_tensors="pt", padding=True, truncation=True,
                          max_length=max_length, add_special_tokens=False).to(model.device)  # fmt: skip
        with torch.inference_mode():
            scores += model(**batch).logits[:, 0].float().tolist()
    return scores


def pairwise_accuracy(model, tokenizer, pairs: list[dict], max_length: int) -> dict:
    """Accuracy (chosen scored above rejected), overall and by kind of rejected answer."""
    texts = []
    for p in pairs:
        for side in ("chosen", "rejected"):
            texts.append(tokenizer.apply_chat_template(p["prompt"] + p[side], tokenize=False))
    scores = score_texts(model, tokenizer, texts, max_length)
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for i, p in enumerate(pairs):
        kind = p.get("ranking", {}).get("rejected_kind", "unknown")
        group = "real_model_output" if kind == "base" else f"flawed:{kind}"
        by_kind[group].append(scores[2 * i] > scores[2 * i + 1])
    everything = [x for v in by_kind.values() for x in v]
    return {
        "overall": {"n": len(everything), "accuracy": sum(everything) / max(1, len(everything))},
        **{k: {"n": len(v), "accuracy": sum(v) / len(v)} for k, v in sorted(by_kind.items())},
    }


def run_reward(cfg: RewardRecipe, resume: bool = False) -> dict:
    from veganalign.data.contracts import validate_file
    from veganalign.models.refs import parse_model_ref
    from veganalign.train.common import load_recipe_spec

    _, spec_sha = load_recipe_spec(cfg.spec)
    validate_file(cfg.train_file, "pair")
    _, val_pairs = validate_file(cfg.val_file, "pair")
    ref = parse_model_ref(cfg.model)
    if ref.kind == "openai":
        raise ValueError("model: a reward model needs local weights")

    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from veganalign.config import dump_config
    from veganalign.models import load_merged, model_licence, weights_dir
    from veganalign.train.common import (
        MetricsLogger,
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
    dtype = torch.bfloat16 if dev["bf16"] else torch.float32
    tokenizer = training_tokenizer(weights_dir(ref))

    # A causal LM's trunk with a fresh scalar head; an SFT stage is merged first.
    trunk_dir = out / "trunk"
    if ref.kind == "adapter":
        load_merged(ref, dtype).save_pretrained(trunk_dir)
        trunk = str(trunk_dir)
    else:
        trunk = weights_dir(ref)
    model = AutoModelForSequenceClassification.from_pretrained(trunk, num_labels=1, dtype=dtype)
    model.config.pad_token_id = tokenizer.pad_token_id

    def shorten(row):
        return concise_pair(row, cfg.max_response_words)

    def load(file: Path):
        ds = load_dataset("json", data_files=str(file), split="train").select_columns(["prompt", "chosen", "rejected"])
        return ds.map(shorten) if cfg.max_response_words else ds

    train_ds = load(cfg.train_file)
    if cfg.max_pairs:
        train_ds = train_ds.shuffle(seed=cfg.seed).select(range(min(cfg.max_pairs, len(train_ds))))

    args = RewardConfig(
        output_dir=str(out / "checkpoints"),
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        max_length=cfg.max_length,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        report_to="none",
        seed=cfg.seed,
        dataloader_num_workers=0,
        **dev,
    )
    metrics_path = out / "metrics.jsonl"
    if not resume:
        metrics_path.unlink(missing_ok=True)
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            target_modules="all-linear",
            task_type="SEQ_CLS",
            modules_to_save=["score"],
        ),  # fmt: skip
        callbacks=[MetricsLogger(metrics_path)],
    )
    resume_from = last_valid_checkpoint(out / "checkpoints") if resume else None
    result = trainer.train(resume_from_checkpoint=resume_from)

    # --- held-out accuracy on prompts never trained on ---------------------------------------
    trainer.model.eval()
    val_pairs = [{**p, **shorten(p)} if cfg.max_response_words else p for p in val_pairs]
    heldout = pairwise_accuracy(trainer.model, tokenizer, val_pairs, cfg.max_length)
    # Both sides of the pairs above that count as "real model outputs" still differ in style
    # (a hand-written answer against a model's): the gold set's pairs of two real outputs to
    # one eval prompt, ranked by its labels, are the test a style cue cannot pass.
    from veganalign.eval.gold import real_output_pairs

    gold_pairs = real_output_pairs()
    if gold_pairs:
        gold_acc = pairwise_accuracy(trainer.model, tokenizer, gold_pairs, cfg.max_length)
        heldout["gold_real_vs_real"] = gold_acc["overall"]

    # --- save: the adapter, and a merged classifier for the RL recipe ---------------------------
    trainer.save_model(str(out))
    if not trainer.is_world_process_zero():
        return {"global_step": trainer.state.global_step}  # rank 0 writes the rest
    merged = trainer.model.merge_and_unload()
    merged.save_pretrained(out / "merged")
    tokenizer.save_pretrained(out / "merged")
    tokenizer.save_pretrained(out)
    if trunk_dir.exists():
        import shutil

        shutil.rmtree(trunk_dir)
    (out / "config.yaml").write_text(dump_config(cfg))
    (out / "heldout_accuracy.json").write_text(json.dumps(heldout, indent=2) + "\n")
    plot_curves(metrics_path, out / "loss.png", ["loss", "accuracy"], "reward model")
    summary = {
        "global_step": trainer.state.global_step,
        "train_loss": result.metrics.get("train_loss"),
        "pairs": len(train_ds),
        "heldout_accuracy": round(heldout["overall"]["accuracy"], 3),
        "heldout_accuracy_real_model_outputs": round(
            heldout.get("real_model_output", {}).get("accuracy", float("nan")), 3
        ),
        "heldout_pairs_real_model_outputs": heldout.get("real_model_output", {}).get("n", 0),
        "gold_real_vs_real_accuracy": round(heldout.get("gold_real_vs_real", {}).get("accuracy", float("nan")), 3),
        "gold_real_vs_real_pairs": heldout.get("gold_real_vs_real", {}).get("n", 0),
    }
    write_manifest(
        out, stage="reward", config=cfg.model_dump(mode="json"),
        inputs={"train_file": cfg.train_file, "val_file": cfg.val_file}, base_model=cfg.model,
        spec_sha256=spec_sha, seed=cfg.seed, wall_time_s=time.time() - started,
        extra={"result": summary, "heldout": heldout, "base_model_licence": model_licence(ref)},
    )  # fmt: skip
    return summary
