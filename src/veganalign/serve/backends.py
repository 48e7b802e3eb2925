"""Where answers come from: a local model, batched, or an upstream OpenAI-compatible server.

Both give the app one async call, ``generate(messages, decoding, stop, on_delta, deadline)``,
that never blocks the event loop, so ``/healthz`` answers while the model works.

- ``LocalBackend``: one worker thread owns the model. Requests wait in a bounded queue; the
  worker takes as many as arrive within a few milliseconds (up to ``max_batch``, with the
  same decoding settings and stop strings) and generates them in one batch, streaming each
  one's text as it grows. A cancelled request, a passed deadline or a shutdown ends a
  sequence at the next token.
- ``UpstreamBackend``: any OpenAI-compatible server (vLLM, llama.cpp, Ollama, a hosted API)
  through the official async client; its own key comes from an environment variable.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from veganalign.models.generation import Completion, Decoding

DeltaCallback = Callable[[str], None]


class Overloaded(Exception):
    """The queue is full: the client should retry later (503)."""


@dataclass
class _Job:
    messages: list[dict[str, str]]
    decoding: Decoding
    stop: tuple[str, ...]
    deadline: float
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    on_delta: DeltaCallback | None = None
    cancelled: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def key(self) -> tuple:
        return (self.decoding, self.stop)


class LocalBackend:
    kind = "local"
    prefills = True  # a conversation may end with the start of the answer (``render_chat``)

    def __init__(self, generator, *, max_batch: int = 8, batch_wait_ms: int = 15, max_queue: int = 256):
        self.generator = generator
        self.tokenizer = generator.tokenizer
        self.max_batch = max_batch
        self.wait = batch_wait_ms / 1000
        self.jobs: queue.Queue[_Job] = queue.Queue(maxsize=max_queue)
        self.closing = False
        self.busy = False
        self.batches = 0
        self.worker = threading.Thread(target=self._work, name="veganalign-generate", daemon=True)
        self.worker.start()

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        from veganalign.models.generation import render_chat

        return len(self.tokenizer(render_chat(self.tokenizer, messages), add_special_tokens=False)["input_ids"])

    def queued(self) -> int:
        return self.jobs.qsize()

    async def generate(self, messages, decoding: Decoding, stop: tuple[str, ...] = (),
                       on_delta: DeltaCallback | None = None, deadline: float | None = None) -> Completion:  # fmt: skip
        loop = asyncio.get_running_loop()
        job = _Job(messages, decoding, tuple(stop), deadline or time.monotonic() + 120, loop, loop.create_future(),
                   on_delta)  # fmt: skip
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            raise Overloaded(f"{self.jobs.maxsize} requests are already waiting") from None
        try:
            return await job.future
        except asyncio.CancelledError:  # the client went away: stop its sequence at the next token
            job.cancelled = True
            raise

    def close(self) -> None:
        """Stop taking work and end running sequences at their next token (graceful shutdown)."""
        self.closing = True

    # --- the worker thread ---------------------------------------------------------------------
    def _work(self) -> None:
        held: list[_Job] = []  # taken from the queue but waiting for a batch with their settings
        while not self.closing:
            first = held.pop(0) if held else self._take(timeout=0.2)
            if first is None:
                continue
            batch = [first]
            until = time.monotonic() + self.wait
            while len(batch) < self.max_batch:  # fill the batch with jobs of the same settings
                same = next((j for j in held if j.key == first.key), None)
                if same is not None:
                    held.remove(same)
                    batch.append(same)
                    continue
                job = self._take(timeout=max(0.0, until - time.monotonic()))
                if job is None:
                    break
                (batch if job.key == first.key else held).append(job)
            self._run(batch)
        for job in held:
            self._settle(job, error=RuntimeError("the server is shutting down"))

    def _take(self, timeout: float) -> _Job | None:
        try:
            job = self.jobs.get(timeout=timeout) if timeout > 0 else self.jobs.get_nowait()
        except queue.Empty:
            return None
        return None if job.cancelled else job

    def _run(self, batch: list[_Job]) -> None:
        first = batch[0]
        self.busy = True
        self.batches += 1

        def on_delta(i: int, text: str) -> None:
            job = batch[i]
            if job.on_delta is not None and not job.cancelled:
                job.loop.call_soon_threadsafe(job.on_delta, text)

        def should_stop(i: int) -> bool:
            job = batch[i]
            return self.closing or job.cancelled or time.monotonic() > job.deadline

        try:
            results = self.generator.generate([j.messages for j in batch], first.decoding, batch_size=len(batch),
                                              stop=first.stop, on_delta=on_delta, should_stop=should_stop)  # fmt: skip
        except Exception as exc:  # a broken batch fails its requests, not the server
            for job in batch:
                self._settle(job, error=exc)
        else:
            for job, result in zip(batch, results, strict=True):
                self._settle(job, result=result)
        finally:
            self.busy = False

    @staticmethod
    def _settle(job: _Job, result: Completion | None = None, error: Exception | None = None) -> None:
        def settle() -> None:
            if job.future.done():
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)

        job.loop.call_soon_threadsafe(settle)


class UpstreamBackend:
    """An OpenAI-compatible server that veganalign guards as a proxy."""

    kind = "upstream"
    # OpenAI's API has no way to start the answer for the model (servers that do, do it differently).
    prefills = False

    def __init__(self, ref, key_env: str | None = None, timeout: float = 120.0):
        from openai import AsyncOpenAI

        key = os.environ.get(key_env) if key_env else None
        if key_env and not key:
            from veganalign.errors import UserError

            raise UserError(f"--upstream-key-env {key_env}: the environment variable is not set")
        self.ref = ref
        self.client = AsyncOpenAI(base_url=ref.base_url, api_key=key or "not-needed", timeout=timeout, max_retries=1)
        self.active = 0

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        # No tokenizer for a remote model: about four characters a token, rounded up.
        return sum(len(m.get("content") or "") for m in messages) // 4 + 4 * len(messages)

    def queued(self) -> int:
        return self.active

    def close(self) -> None:
        pass

    async def generate(self, messages, decoding: Decoding, stop: tuple[str, ...] = (),
                       on_delta: DeltaCallback | None = None, deadline: float | None = None) -> Completion:  # fmt: skip
        args: dict[str, Any] = {"model": self.ref.name, "messages": messages, "temperature": decoding.temperature,
                                "top_p": decoding.top_p, "max_tokens": decoding.max_new_tokens}  # fmt: skip
        if decoding.seed:
            args["seed"] = decoding.seed
        if stop:
            args["stop"] = list(stop)
        self.active += 1
        try:
            if on_delta is None:
                resp = await self.client.chat.completions.create(**args)
                choice = resp.choices[0]
                n = resp.usage.completion_tokens if resp.usage else 0
                return Completion((choice.message.content or "").strip(), choice.finish_reason or "stop", n)
            parts, finish, n = [], "stop", 0
            stream = await self.client.chat.completions.create(**args, stream=True)
            async for chunk in stream:
                if chunk.usage:
                    n = chunk.usage.completion_tokens
                for choice in chunk.choices[:1]:
                    if choice.delta and choice.delta.content:
                        parts.append(choice.delta.content)
                        on_delta(choice.delta.content)
                    finish = choice.finish_reason or finish
                if deadline and time.monotonic() > deadline:
                    finish = "length"
                    await stream.close()
                    break
            return Completion("".join(parts).strip(), finish, n or len(parts))
        finally:
            self.active -= 1
