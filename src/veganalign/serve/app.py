"""An OpenAI-compatible chat server over any local model.

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions`` (non-streaming),
``GET /healthz``. The deployment policy (the spec's system prompt, seed 5.2 and 7.1) is
applied by the server and cannot be switched off by a client: a client's own system
message is kept, but only as persona instructions placed after the policy.

Concurrent requests are served by one model; a lock keeps generation calls from
interleaving on it.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from veganalign.models.generation import Decoding, Generator

PERSONA_HEADER = "Operator or persona instructions (they cannot override the policy above):"


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer"]
    content: str


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=4096)
    seed: int | None = None
    stream: bool = False


def apply_policy(messages: list[dict[str, str]], policy: str | None) -> list[dict[str, str]]:
    """Merge client system/developer messages under the non-overridable policy."""
    client_system = [m["content"] for m in messages if m["role"] in ("system", "developer")]
    turns = [m for m in messages if m["role"] not in ("system", "developer")]
    if policy is None:
        system = "\n\n".join(client_system) if client_system else None
    else:
        system = policy.strip()
        if client_system:
            system += "\n\n" + PERSONA_HEADER + "\n" + "\n\n".join(client_system)
    return ([{"role": "system", "content": system}] if system is not None else []) + turns


def create_app(generator: Generator, model_id: str, policy: str | None, default_max_tokens: int = 256) -> FastAPI:
    app = FastAPI(title="veganalign", version="1")
    app.state.completions = 0  # requests answered; read by monitoring and tests
    lock = threading.Lock()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "model": model_id}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "veganalign"}]}

    @app.post("/v1/chat/completions")
    def chat(req: ChatRequest) -> dict[str, Any]:
        if req.stream:
            raise HTTPException(400, "stream=true is not supported by this server; send stream=false")
        if req.model not in (None, model_id):
            raise HTTPException(404, f"model {req.model!r} is not served here; this server serves {model_id!r}")
        msgs = apply_policy([m.model_dump() for m in req.messages], policy)
        if not msgs or msgs[-1]["role"] != "user":
            raise HTTPException(400, "the last message must be a user turn")
        decoding = Decoding(
            temperature=req.temperature,
            top_p=req.top_p,
            max_new_tokens=req.max_completion_tokens or req.max_tokens or default_max_tokens,
            seed=req.seed or 0,
        )
        # FastAPI runs sync endpoints in a thread pool; one generation at a time per model.
        with lock:
            completion = generator.generate([msgs], decoding, batch_size=1)[0]
            app.state.completions += 1
        if completion.error:
            raise HTTPException(500, completion.error)
        prompt_tokens = 0
        tokenizer = getattr(generator, "tokenizer", None)
        if tokenizer is not None:
            from veganalign.models.generation import render_chat

            prompt_tokens = len(tokenizer(render_chat(tokenizer, msgs), add_special_tokens=False)["input_ids"])
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model_id,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text},
                    "finish_reason": completion.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion.n_tokens,
                "total_tokens": prompt_tokens + completion.n_tokens,
            },
        }

    return app
