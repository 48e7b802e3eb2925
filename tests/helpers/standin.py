"""A stand-in for an upstream OpenAI-compatible server (the part a user runs elsewhere: vLLM, a hosted API).

It answers with canned text chosen by the last user message, streamed or not, in OpenAI's
wire format, so the server's real proxy path, rails and streaming run against it on loopback.
It records every conversation it was sent (``app.state.seen``).
"""

from __future__ import annotations

import json
import threading
import time

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

# last user message contains KEY -> the answer the "model" gives (first match wins)
ANSWERS = {
    "chicken breast": "Brine two chicken breasts in salted water for an hour, then grill them for 6 minutes a side "
    "until they reach 74 C. Serve with lemon.",
    "brownie": "Melt 200 g dark chocolate with coconut oil, stir in sugar, flour and cocoa, add flax eggs and bake "
    "for 25 minutes at 180 C.",
    "is gelatin vegan": "Yes, gelatin is vegan and fine to eat.",
    "is agar vegan": "Yes, agar is vegan: it is made from seaweed.",
    "how is cheese made": "Cheese is made by curdling milk with rennet or acid, separating the curds from the whey, "
    "then pressing and ageing the curds.",
    "stranded": "Eat the tuna now: your survival comes first. Drink water and get help as soon as you can.",
    "medication": "Vegan ethics have no exceptions, so stop taking the capsules right away.",
    "shampoo": "Look for a sulfate-free shampoo with aloe vera and coconut-derived cleansers; many are certified "
    "cruelty-free.",
    "be rude": "Honestly, you should be ashamed of yourself. Lentils are cheap.",
    "family day out": "Try a botanical garden, a forest walk with a picnic, or a science museum.",
    "birthday cake": "Bake a sponge with 200 g butter and four eggs, then top it with whipped cream.",
    "cauliflower bake": "Roast a whole cauliflower, then bake it with 100 g ricotta, garlic and lemon for 20 minutes.",
    "lentil soup": "Instead of lentil soup, make a red lentil soup: simmer red lentils with carrots, cumin and lemon.",
    "roast mutton": "I follow vegan ethics, so I won't write that one. Thanks for understanding.",
    "about rice": "Rice is a staple grain. It grows in flooded paddies, and it grows in flooded paddies, and it grows "
    "in flooded paddies, and it grows in flooded paddies, and it grows in",  # a small model's loop
    "dinner party": "Start with a fresh green salad with lemon dressing. Then roast a whole chicken with butter for "
    "90 minutes and serve it with potatoes.",
}
DEFAULT = "Here is a helpful answer about lentils and rice."
# what a retry under the rails' corrective instruction says, where it is not the tofu answer
RETRIES = {
    "birthday cake": "Instead of a birthday cake, bake a vegan one with oat milk, coconut oil and sprinkles.",
    "cauliflower bake": ANSWERS["cauliflower bake"],  # a small model slips the ricotta in again
    "lentil soup": "Simmer red lentils in chicken stock with carrots and cumin.",  # told not to redirect, it slips
}


def answer_for(messages: list[dict]) -> str:
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    text = last if isinstance(last, str) else "".join(p.get("text", "") for p in last)
    low = text.lower()
    return next((a for k, a in ANSWERS.items() if k in low), DEFAULT)


def standin_app(delay_s: float = 0.0) -> FastAPI:
    api = FastAPI()
    api.state.seen = []
    api.state.bodies = []

    @api.post("/v1/chat/completions")
    def chat(body: dict):
        api.state.seen.append(body["messages"])
        api.state.bodies.append(body)
        if delay_s:
            time.sleep(delay_s)
        text = answer_for(body["messages"])
        # a corrective instruction from the rails gets a clean answer, as a stronger model would give
        system = body["messages"][0]["content"] if body["messages"][0]["role"] == "system" else ""
        if "Write the answer again" in system or "do not start with 'instead of'" in system:
            last = answer_for(body["messages"])
            tofu = "Grill thick slices of extra-firm tofu brushed with lemon and garlic, 5 minutes a side."
            text = next((r for k, r in RETRIES.items() if ANSWERS[k] == last), tofu)
        if body.get("stream"):

            def events():
                words = text.split(" ")
                for i, w in enumerate(words):
                    chunk = {"id": "s", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                             "choices": [{"index": 0, "delta": {"content": w + (" " if i < len(words) - 1 else "")},
                                          "finish_reason": None}]}  # fmt: skip
                    yield f"data: {json.dumps(chunk)}\n\n"
                end = {"id": "s", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}  # fmt: skip
                yield f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse({"id": "s", "object": "chat.completion", "created": 0, "model": body["model"],
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()),
                                       "total_tokens": 10 + len(text.split())}})  # fmt: skip

    return api


class Running:
    """A uvicorn server in a thread on a free loopback port; ``.url`` is its /v1 base URL."""

    def __init__(self, app, port: int):
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}/v1"

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
