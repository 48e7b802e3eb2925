"""The few things every recipe needs: device settings, the base model, the spec, metrics, manifest.

Kept small on purpose: each recipe still reads top to bottom in its own file.
"""

from __future__ import annotations

import json
import re
import time
from importlib import resources
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

TRAIN_TEMPLATE = Path(str(resources.files("veganalign.train").joinpath("templates", "chatml_train.jinja")))


def last_valid_checkpoint(checkpoints: Path) -> str | None:
    """The newest checkpoint that finished saving, or None.

    A run killed while writing a checkpoint leaves a folder without ``trainer_state.json``
    (the Trainer writes it last); resuming from it would fail, so it is skipped and the
    run loses at most one checkpoint interval.
    """
    done = [p for p in checkpoints.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    if not done:
        return None
    return str(max(done, key=lambda p: int(p.name.split("-")[-1])))


_HEADER_LINE = re.compile(r"^\s*(#+\s.*|\*\*[^*]+\*\*:?)\s*$")


def concise(text: str, max_words: int | None) -> str:
    """``text`` cut to whole paragraphs (else whole sentences) within ``max_words`` words.

    A 135M model trained for a few dozen steps learns the *opening* of its targets; long
    authored answers cut at ``max_length`` teach it to start essays it never finishes.
    Cutting at a paragraph boundary keeps each target a complete short answer with an end
    of turn, and cutting chosen and rejected alike keeps DPO from rewarding length.
    Markdown heading lines are dropped (see below).
    """
    if not max_words:
        return text
    # Heading-only lines go too: a small model trained on them loops on "**Heading**" lines
    # under greedy decoding instead of writing the answer.
    text = "\n".join(line for line in text.splitlines() if not _HEADER_LINE.match(line))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text.split()) <= max_words:
        return text
    kept: list[str] = []
    words = 0
    for para in re.split(r"\n\s*\n", text.strip()):
        n = len(para.split())
        if words + n > max_words:
            if not kept:  # the first paragraph alone is too long: keep whole sentences of it
                for sentence in re.split(r"(?<=[.!?])\s+", para):
                    if words + len(sentence.split()) > max_words and kept:
                        break
                    kept.append(sentence)
                    words += len(sentence.split())
                return " ".join(kept).strip()
            break
        kept.append(para)
        words += n
    while kept and _HEADER_LINE.match(kept[-1].splitlines()[-1]):  # never end on a heading
        lines = kept[-1].splitlines()[:-1]
        kept[-1:] = ["\n".join(lines)] if lines else []
    return "\n\n".join(kept).strip()


def answer_words(messages: list[dict]) -> int:
    """Words in the assistant turns of one conversation."""
    return sum(len(m["content"].split()) for m in messages if m["role"] == "assistant")


def concise_pair(row: dict, max_words: int | None) -> dict:
    """A preference row's chosen and rejected answers cut alike with :func:`concise` (no length reward)."""
    return {side: [{**m, "content": concise(m["content"], max_words)} for m in row[side]]
            for side in ("chosen", "rejected")}  # fmt: skip


def device_defaults(bf16: bool | None, gradient_checkpointing: bool | None) -> dict[str, Any]:
    """Explicit precision and checkpointing: TRL turns both on by default, also on CPU.

    CPU: fp32 (bf16 matmuls are slow and lossy there), no gradient checkpointing (it
    trades compute for memory a 135M model does not need). CUDA: bf16 where supported,
    gradient checkpointing on unless told otherwise.
    """
    import torch

    cuda = torch.cuda.is_available()
    return {
        "bf16": bool(cuda and torch.cuda.is_bf16_supported()) if bf16 is None else bf16,
        "fp16": False,
        "gradient_checkpointing": cuda if gradient_checkpointing is None else gradient_checkpointing,
        "use_cpu": not cuda,
    }


def base_model_path(model_ref: str) -> tuple[str, str]:
    """``(path or HF id to load, ref to record)`` for a base model ref (never a cache path in manifests)."""
    from veganalign.models import parse_model_ref, weights_dir

    ref = parse_model_ref(model_ref)
    if ref.kind in ("embedded", "gguf", "hf"):
        return weights_dir(ref), (ref.name if ref.kind == "embedded" else ref.raw)
    raise ValueError(
        f"--model {model_ref!r}: a training base must be the embedded model, a GGUF file, a HF id or a local model dir"
    )


def load_recipe_spec(spec_path: Path | None):
    """The spec a recipe reads (its system prompt, tone phrases) and records by sha256: ``(spec, sha256)``."""
    from veganalign.spec import load_spec, spec_sha256

    spec = load_spec(spec_path)
    return spec, spec_sha256(spec)


def training_tokenizer(path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    tok.chat_template = TRAIN_TEMPLATE.read_text()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


class MetricsLogger(TrainerCallback):
    """Append every log record (loss, lr, eval loss, rewards, KL...) to ``metrics.jsonl``."""

    def __init__(self, path: Path):
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.time()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        record = {"step": state.global_step, "epoch": state.epoch, "time_s": round(time.time() - self.started, 2)}
        record.update({k: v for k, v in logs.items() if isinstance(v, (int, float))})
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_curves(metrics_path: Path, out_png: Path, keys: list[str], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        points = [(r["step"], r[key]) for r in rows if key in r]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", markersize=3)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


def write_manifest(out_dir: Path, *, stage: str, config: dict[str, Any], inputs: dict[str, Path], base_model: str,
                   spec_sha256: str, seed: int, wall_time_s: float,
                   extra: dict[str, Any] | None = None) -> None:  # fmt: skip
    """The stage manifest (see ``veganalign.provenance``), with the sha256 of the spec this recipe read."""
    from veganalign.provenance import write_stage_manifest

    write_stage_manifest(out_dir, stage=stage, config=config, inputs=inputs, base_model=base_model,
                         spec_sha256=spec_sha256, seed=seed, wall_time_s=wall_time_s, extra=extra)  # fmt: skip
