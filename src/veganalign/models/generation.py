"""Text out of any model: local (embedded, Hugging Face, adapter) or OpenAI-compatible.

Every backend takes a list of conversations and returns one ``Completion`` each, in
order. Local generation is batched and left-padded (one forward pass serves a whole
batch, which is what makes a CPU fast enough), sorted by prompt length so that little
compute is spent on padding, deterministic under a seed, with a rich progress bar.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from veganalign.models.refs import ModelRef, ModelRefError, check_hub_model, parse_model_ref

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Decoding:
    """Decoding settings; ``temperature == 0`` means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop" (end of turn), "length" (hit max_new_tokens) or "error"
    n_tokens: int  # generated tokens up to and including the end-of-turn token; never padding
    error: str | None = None


@dataclass
class GenerateStats:
    n_sequences: int = 0
    n_tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.n_tokens / self.seconds if self.seconds else 0.0


ProgressFn = Callable[[int], None]
DeltaFn = Callable[[int, str], None]  # (index of the conversation, text added since the last call)


class Generator(Protocol):
    ref: ModelRef

    def generate(
        self,
        conversations: Sequence[Messages],
        decoding: Decoding,
        *,
        batch_size: int = 16,
        on_done: ProgressFn | None = None,
        stop: Sequence[str] = (),
        on_delta: DeltaFn | None = None,
        should_stop: Callable[[int], bool] | None = None,
    ) -> list[Completion]: ...


def with_system_prompt(messages: Messages, system_prompt: str | None) -> Messages:
    """Put ``system_prompt`` first (replacing any system turn the input carried).

    ``None`` keeps the conversation without a system message. Local backends then also
    suppress the default that some chat templates insert (see ``LocalGenerator``).
    """
    rest = [m for m in messages if m["role"] != "system"]
    return ([{"role": "system", "content": system_prompt}] if system_prompt is not None else []) + rest


# ---------------------------------------------------------------------------
# Local models (embedded, Hugging Face directory or id, adapter)
# ---------------------------------------------------------------------------


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_local_model(ref: ModelRef, device: str | None = None, dtype: str | None = None):
    """Load ``(tokenizer, model)`` for a local ref; adapters are loaded onto their base."""
    import torch
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    device = device or pick_device()
    if dtype is None:
        # bf16 on GPUs that support it; fp32 on CPU, where bf16 matmuls are slow and lossy.
        dtype = "bfloat16" if device == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # our own progress display is the one users watch
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir(ref))
        model = load_merged(ref, getattr(torch, dtype))
    except OSError as exc:  # files missing or unreadable, a download that failed half-way
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ModelRefError(f"--model {ref.raw!r}: cannot load the model ({reason})") from None
    model.to(device)
    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model


def weights_dir(ref: ModelRef) -> str:
    """Where the plain weights at the bottom of ``ref``'s adapter chain live: a directory or a HF id.

    The embedded model and any GGUF file are materialised into the cache first, so the
    result always loads with ``from_pretrained`` and trains.
    """
    from pathlib import Path

    from veganalign.models.embedded import embedded_model_dir, materialise_gguf

    root = base_of(ref)
    if root.kind == "embedded":
        return str(embedded_model_dir())
    if root.kind == "gguf":
        return str(materialise_gguf(Path(root.name)))
    if root.kind == "openai":
        raise ValueError(f"{ref}: an OpenAI endpoint has no local weights")
    check_hub_model(root)  # a Hugging Face id: cached, or reachable within seconds, or one line now
    return root.name


def base_of(ref: ModelRef) -> ModelRef:
    """The model at the bottom of an adapter chain (``ref`` itself when it is no adapter)."""
    while ref.kind == "adapter":
        assert ref.base is not None
        ref = ref.base
    return ref


def tokenizer_dir(ref: ModelRef) -> str:
    """Where ``ref``'s tokenizer lives: a training stage saves its own (with its chat template) beside the adapter."""
    if ref.kind == "adapter" and os.path.isfile(os.path.join(ref.name, "tokenizer_config.json")):
        return ref.name
    return weights_dir(ref)


def load_merged(ref: ModelRef, dtype):
    """A plain causal LM for ``ref``: adapters merged into their base, recursively.

    A DPO adapter's base is the SFT stage (whose own base is the model), so a chain
    base -> sft -> dpo is loaded by merging one adapter at a time.
    """
    from transformers import AutoModelForCausalLM

    if ref.kind != "adapter":
        return AutoModelForCausalLM.from_pretrained(weights_dir(ref), dtype=dtype)
    from peft import PeftModel

    assert ref.base is not None
    model = PeftModel.from_pretrained(load_merged(ref.base, dtype), ref.name)
    return model.merge_and_unload()  # merged weights generate faster than a live adapter


def model_licence(ref: ModelRef) -> str:
    """The licence the model's own files declare, with where it was read; "unknown (...)" when they don't.

    Read from the model, never assumed: GGUF metadata (``general.license``) for the embedded
    model and GGUF files, the ``license:`` line of a local model directory's README front
    matter, and the base's licence for an adapter.
    """
    from pathlib import Path

    from veganalign.models.embedded import gguf_licence, gguf_path

    root = base_of(ref)
    if root.kind in ("embedded", "gguf"):
        path = gguf_path() if root.kind == "embedded" else Path(root.name)
        found = gguf_licence(path)
        if found:
            return f"{found} (GGUF metadata general.license of {path.name})"
        return f"unknown ({path.name} declares none)"
    if root.kind == "openai":
        return "unknown (a remote endpoint: see its provider's terms)"
    readme = Path(root.name) / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace")
        if text.startswith("---"):
            for line in text.split("---", 2)[1].splitlines():
                key, _, value = line.partition(":")
                if key.strip() == "license" and value.strip():
                    return f"{value.strip()} (README.md front matter of {root.name})"
    return f"unknown ({root.name} declares none in a README front matter)"


def render_chat(tokenizer, messages: Messages) -> str:
    """The prompt text for ``messages``, ending with the assistant's generation prompt.

    Some templates (SmolLM2's among them) insert their own default system message when a
    conversation has none. "No system prompt" must mean none, so that default is cut:
    render once with a sentinel system turn, find where that turn ends, and drop it.

    A conversation that ends with an assistant message ends with the *start* of the answer
    (a prefill, as ``continue_final_message`` in transformers): the prompt is the rest of the
    conversation and its generation prompt, then that text, and the model goes on from there.
    """
    if messages and messages[-1]["role"] == "assistant":
        return render_chat(tokenizer, messages[:-1]) + messages[-1]["content"]
    if messages and messages[0]["role"] == "system":
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    sentinel = "\x00VEGANALIGN_NO_SYSTEM\x00"
    with_sentinel = tokenizer.apply_chat_template(
        [{"role": "system", "content": sentinel}, *messages], tokenize=False, add_generation_prompt=True
    )
    system_only = tokenizer.apply_chat_template(
        [{"role": "system", "content": sentinel}], tokenize=False, add_generation_prompt=False
    )
    if with_sentinel.startswith(system_only):
        return with_sentinel[len(system_only) :]
    # A template that renders the system turn differently in context: fall back to its own output.
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


class LocalGenerator:
    def __init__(self, ref: ModelRef, device: str | None = None, dtype: str | None = None):
        self.ref = ref
        self.device = device or pick_device()
        self.tokenizer, self.model = load_local_model(ref, self.device, dtype)
        self.tokenizer.padding_side = "left"  # decoder-only batches must end where generation starts
        self.stats = GenerateStats()

    def generate(
        self,
        conversations: Sequence[Messages],
        decoding: Decoding,
        *,
        batch_size: int = 16,
        on_done: ProgressFn | None = None,
        stop: Sequence[str] = (),
        on_delta: DeltaFn | None = None,
        should_stop: Callable[[int], bool] | None = None,
    ) -> list[Completion]:
        """One completion per conversation, in order.

        ``stop``: strings that end a completion (cut before them, ``finish_reason`` "stop").
        ``on_delta(i, text)``: called as conversation ``i``'s text grows (streaming), from this
        thread. ``should_stop(i)``: polled every token; True ends conversation ``i`` early
        (a cancelled request or a deadline; ``finish_reason`` "length"). Without these three
        the generation is exactly the plain batched one.
        """
        import torch

        tok = self.tokenizer
        prompts = [render_chat(tok, conv) for conv in conversations]
        # Chat templates write their own BOS/special tokens; adding more would shift the model.
        encoded = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        results: list[Completion | None] = [None] * len(prompts)
        stop_ids = _stop_token_ids(tok, self.model)
        watched = bool(stop or on_delta or should_stop)
        started = time.perf_counter()
        for b, start in enumerate(range(0, len(order), batch_size)):
            idx = order[start : start + batch_size]
            batch = tok.pad({"input_ids": [encoded[i] for i in idx]}, padding=True, return_tensors="pt")
            batch = {k: v.to(self.device) for k, v in batch.items()}
            # One seed per batch: the same inputs, seed and batch size give the same outputs.
            torch.manual_seed(decoding.seed + b)
            kwargs: dict[str, Any] = {
                "max_new_tokens": decoding.max_new_tokens,
                "pad_token_id": tok.pad_token_id,
                "eos_token_id": stop_ids,
            }
            if decoding.temperature > 0:
                kwargs.update(do_sample=True, temperature=decoding.temperature, top_p=decoding.top_p)
            else:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            watch = None
            if watched:
                from transformers import StoppingCriteriaList

                watch = _Watch(tok, idx, batch["input_ids"].shape[1], stop_ids, stop, on_delta, should_stop)
                kwargs["stopping_criteria"] = StoppingCriteriaList([watch])
            with torch.inference_mode():
                out = self.model.generate(**batch, **kwargs)
            new_tokens = out[:, batch["input_ids"].shape[1] :].tolist()
            for row, (i, seq) in enumerate(zip(idx, new_tokens, strict=True)):
                results[i] = _completion(tok, seq, stop_ids) if watch is None else watch.completion(row, seq)
                self.stats.n_tokens += results[i].n_tokens
            self.stats.n_sequences += len(idx)
            if on_done:
                on_done(len(idx))
        self.stats.seconds += time.perf_counter() - started
        return [r for r in results if r is not None]


class _Watch:
    """A stopping criterion that also streams: per sequence of the batch, it reads each new token,
    sends the text grown since the last call, and ends the sequence at a stop string, at its end
    of turn, or when ``should_stop`` says so (transformers accepts a per-sequence bool tensor)."""

    def __init__(self, tok, idx, prompt_len, stop_ids, stop, on_delta, should_stop):
        self.tok, self.idx, self.prompt_len = tok, idx, prompt_len
        self.stop_ids, self.stop, self.on_delta, self.should_stop = set(stop_ids), list(stop), on_delta, should_stop
        self.done = [False] * len(idx)
        self.reason = ["length"] * len(idx)
        self.sent = [""] * len(idx)  # text already sent through on_delta
        self.text = [""] * len(idx)

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        generated = input_ids[:, self.prompt_len :].tolist()
        for row, seq in enumerate(generated):
            if self.done[row]:
                continue
            if seq and seq[-1] in self.stop_ids:
                self._finish(row, self._decode(seq[:-1]), "stop")
                continue
            text = self._decode(seq)
            cut = min((text.find(s) for s in self.stop if s and s in text), default=-1)
            if cut >= 0:
                self._finish(row, text[:cut], "stop")
            elif self.should_stop and self.should_stop(self.idx[row]):
                self._finish(row, text, "length")
            else:
                self._send(row, _stable_prefix(text))
        return torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)

    def _decode(self, seq: list[int]) -> str:
        return self.tok.decode(seq, skip_special_tokens=True) if (self.stop or self.on_delta) else ""

    def _send(self, row: int, text: str) -> None:
        self.text[row] = text
        if self.on_delta and len(text) > len(self.sent[row]) and text.startswith(self.sent[row]):
            self.on_delta(self.idx[row], text[len(self.sent[row]) :])
            self.sent[row] = text

    def _finish(self, row: int, text: str, reason: str) -> None:
        self._send(row, text.rstrip())
        self.done[row], self.reason[row] = True, reason

    def completion(self, row: int, seq: list[int]) -> Completion:
        """The final completion of a watched sequence: cut where the watch ended it."""
        plain = _completion(self.tok, seq, list(self.stop_ids))
        if not self.done[row]:  # ran to max_new_tokens (or its end of turn was the last step)
            if self.on_delta:
                self._send(row, plain.text)
            return plain
        text = self.text[row].strip() if (self.stop or self.on_delta) else plain.text
        n = min(plain.n_tokens, len(seq))
        return Completion(text, "stop" if self.reason[row] == "stop" else "length", n)


def _stable_prefix(text: str) -> str:
    """Text safe to send while decoding goes on: a trailing U+FFFD may be half of a multi-byte character."""
    return text.rstrip("\ufffd")


def _stop_token_ids(tokenizer, model) -> list[int]:
    ids = {tokenizer.eos_token_id}
    gen_eos = getattr(model.generation_config, "eos_token_id", None)
    ids.update(gen_eos if isinstance(gen_eos, list) else [gen_eos])
    for special in ("<|im_end|>", "<|eot_id|>", "<|end|>"):
        tid = tokenizer.convert_tokens_to_ids(special)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
            ids.add(tid)
    return sorted(i for i in ids if i is not None)


def _completion(tokenizer, seq: list[int], stop_ids: list[int]) -> Completion:
    stops = set(stop_ids)
    for n, token in enumerate(seq):
        if token in stops:
            return Completion(tokenizer.decode(seq[:n], skip_special_tokens=True).strip(), "stop", n + 1)
    return Completion(tokenizer.decode(seq, skip_special_tokens=True).strip(), "length", len(seq))


# ---------------------------------------------------------------------------
# OpenAI-compatible endpoints
# ---------------------------------------------------------------------------


class OpenAIGenerator:
    """Any OpenAI-compatible chat endpoint, called concurrently through the official client."""

    def __init__(self, ref: ModelRef, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8, timeout: float = 300):
        from openai import OpenAI

        self.ref = ref
        self.concurrency = max(1, concurrency)
        # Local servers (vLLM, Ollama, llama.cpp) accept any key; the client insists on one.
        key = os.environ.get(api_key_env) or "not-needed"
        self.client = OpenAI(base_url=ref.base_url, api_key=key, timeout=timeout, max_retries=3)
        self.stats = GenerateStats()

    def _one(self, i: int, messages: Messages, decoding: Decoding, stop: Sequence[str],
             on_delta: DeltaFn | None, should_stop: Callable[[int], bool] | None) -> Completion:  # fmt: skip
        args: dict[str, Any] = {"model": self.ref.name, "messages": messages, "temperature": decoding.temperature,
                                "top_p": decoding.top_p, "max_tokens": decoding.max_new_tokens,
                                "seed": decoding.seed}  # fmt: skip
        if stop:
            args["stop"] = list(stop)
        try:
            if on_delta is None:
                resp = self.client.chat.completions.create(**args)
                choice = resp.choices[0]
                n = resp.usage.completion_tokens if resp.usage else 0
                return Completion((choice.message.content or "").strip(), choice.finish_reason or "stop", n)
            # Streamed: deltas as they arrive; a request told to stop closes the stream.
            parts, finish, n = [], "stop", 0
            with self.client.chat.completions.create(**args, stream=True,
                                                     stream_options={"include_usage": True}) as stream:  # fmt: skip
                for chunk in stream:
                    if chunk.usage:
                        n = chunk.usage.completion_tokens
                    for choice in chunk.choices[:1]:
                        if choice.delta and choice.delta.content:
                            parts.append(choice.delta.content)
                            on_delta(i, choice.delta.content)
                        finish = choice.finish_reason or finish
                    if should_stop and should_stop(i):
                        finish = "length"
                        break
            return Completion("".join(parts).strip(), finish, n)
        except Exception as exc:  # one failed case is recorded, the run goes on
            return Completion("", "error", 0, error=f"{type(exc).__name__}: {exc}")

    def generate(
        self,
        conversations: Sequence[Messages],
        decoding: Decoding,
        *,
        batch_size: int = 16,
        on_done: ProgressFn | None = None,
        stop: Sequence[str] = (),
        on_delta: DeltaFn | None = None,
        should_stop: Callable[[int], bool] | None = None,
    ) -> list[Completion]:
        started = time.perf_counter()
        with ThreadPoolExecutor(self.concurrency) as pool:
            futures = [pool.submit(self._one, i, conv, decoding, stop, on_delta, should_stop)
                       for i, conv in enumerate(conversations)]  # fmt: skip
            results = []
            for fut in futures:
                results.append(fut.result())
                if on_done:
                    on_done(1)
        self.stats.seconds += time.perf_counter() - started
        self.stats.n_sequences += len(results)
        self.stats.n_tokens += sum(r.n_tokens for r in results)
        return results


def load_generator(
    ref: str | ModelRef, *, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 8, device: str | None = None
) -> Generator:
    ref = parse_model_ref(ref) if isinstance(ref, str) else ref
    if ref.kind == "openai":
        return OpenAIGenerator(ref, api_key_env=api_key_env, concurrency=concurrency)
    return LocalGenerator(ref, device=device)
