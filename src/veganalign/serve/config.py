"""``ServeConfig``: every setting of ``veganalign serve``, the same keys in ``--config serve.yaml`` and as options.

Secure by default: loopback only, keys required (one is generated and printed once when
none is given), interactive docs and CORS off, request size, message count and token
limits on. The operator chooses the policy and the rails; nothing a client sends
changes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Action = Literal["flag", "regenerate", "redirect", "annotate"]
# What the rails do by default for each finding (see serve/rails.py). "regenerate" retries once with a
# corrective instruction and falls back to "redirect" when the retry is no better.
DEFAULT_ACTIONS: dict[str, Action] = {
    "recommends_animal_product": "regenerate",
    "shames": "regenerate",
    "puts_rule_above_health": "regenerate",
    "contradicts_knowledge_base": "redirect",
    "refuses_descriptive": "regenerate",
    "over_redirects": "regenerate",
    # Read on the whole answer: appended at its end (streamed too), never a retry (a streamed answer's first
    # sentence names no option yet).
    "lacks_vegan_option": "annotate",
}
ANNOTATE_ONLY = {"lacks_vegan_option": ("flag", "annotate")}


class ServeConfig(BaseModel):
    """``veganalign serve``: an OpenAI-compatible server with a policy and output rails clients cannot remove."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("smollm2-135m-instruct", description="Model ref, or openai:MODEL@URL to guard an upstream.")
    model_id: str | None = Field(None, description="Model name clients send (default: the model ref).")
    host: str = Field("127.0.0.1", description="Bind address (loopback unless you mean otherwise).")
    port: int = Field(8000, ge=0, le=65535)
    spec: Path | None = Field(None, description="Spec YAML: the policy, the rails' rules (default: the shipped one).")
    policy: Literal["spec", "none"] = Field("spec", description="spec: the spec's system prompt first, always.")
    rails: bool = Field(True, description="Check every answer before the user sees it (off only for comparisons).")
    rail_actions: dict[str, Action] = Field(default_factory=dict, description="Finding -> action, over the defaults.")
    grounding: bool = Field(True, description="Give the model the knowledge base's facts on the items asked about.")
    health_answers: Literal["vetted", "model"] = Field(
        "vetted",
        description="vetted: a prescribed or offered treatment, someone cut off from food, or an emergency happening "
        "now is answered from the spec's medical-and-survival policy (serve/health.py), not by the model; model: the "
        "model answers and the rails check it.",
    )
    retry_opening: str = Field(
        "Sure! ", description="A local model's retry after an \"instead of\" answer starts with this ('': not started)."
    )
    api_keys: list[str] = Field(default_factory=list, description="Accepted keys (kept only as sha256 hashes).")
    api_key_file: Path | None = Field(None, description="File of keys, one a line ('sha256:HEX' lines allowed).")
    no_auth: bool = Field(False, description="Accept requests without a key (loopback experiments only).")
    upstream_key_env: str | None = Field(None, description="Env var holding the upstream's own key (openai: refs).")
    rate_limit_per_minute: int | None = Field(None, ge=1, description="Requests per minute per key (off: None).")
    max_body_bytes: int = Field(256 * 1024, ge=1024, description="Largest request body accepted (413 above).")
    max_messages: int = Field(64, ge=1, description="Most messages in one request (413 above).")
    max_prompt_tokens: int = Field(4096, ge=16, description="Longest conversation in tokens (413 above).")
    max_tokens_cap: int = Field(1024, ge=1, description="Largest max_tokens a client may ask for (422 above).")
    default_max_tokens: int = Field(256, ge=1)
    max_n: int = Field(4, ge=1, description="Most choices (n) per request.")
    max_batch: int = Field(8, ge=1, description="Requests generated together by a local model.")
    batch_wait_ms: int = Field(15, ge=0, description="How long the batcher waits to fill a batch.")
    max_queue: int = Field(256, ge=1, description="Requests waiting at most; beyond that 503.")
    request_timeout_s: float = Field(120.0, gt=0, description="A generation is cut at this deadline.")
    keep_alive_s: float = Field(
        30.0, gt=0, description="Idle keep-alive connections close after this (longer than clients' own 5 s)."
    )
    stream_hold_chars: int = Field(400, ge=40, description="Most streamed text held back before the rail checks it.")
    cut_loops: bool = Field(
        True, description="End an answer where it starts repeating itself, and say a word run four times once."
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (off when empty).")
    docs: bool = Field(False, description="Serve the interactive API docs at /docs (off by default).")
    monitor: bool = Field(True, description="Keep a redacted sample of conversations and every flagged one.")
    db: str | None = Field(None, description="Monitoring store URL (default sqlite:///runs/serve/monitor.db; "
                           "postgresql+psycopg://... for PostgreSQL).")  # fmt: skip
    sample_rate: float = Field(0.1, ge=0.0, le=1.0, description="Share of unflagged conversations kept (flagged: all).")
    monitor_queue: int = Field(
        10_000, ge=1, description="Records waiting for the store at most (beyond: dropped, counted)."
    )
    pages: bool = Field(
        True, description="Serve the chat page (/chat) and, with monitoring, the review pages (/review)."
    )
    review_session_hours: float = Field(8.0, gt=0, description="How long a reviewer's login lasts.")

    @field_validator("rail_actions")
    @classmethod
    def _known_findings(cls, value: dict[str, Action]) -> dict[str, Action]:
        for kind, action in value.items():
            if kind not in DEFAULT_ACTIONS:
                raise ValueError(f"unknown finding {kind!r}; the rails' findings are {', '.join(DEFAULT_ACTIONS)}")
            if action not in ANNOTATE_ONLY.get(kind, (action,)):
                raise ValueError(f"{kind} takes {' or '.join(ANNOTATE_ONLY[kind])}, not {action!r}")
        return value

    def actions(self) -> dict[str, Action]:
        return {**DEFAULT_ACTIONS, **self.rail_actions}
