"""Candidate answers to rank, shared by the annotation tests."""

from __future__ import annotations

import json
from pathlib import Path

AUTHORED = "Try a smoky lentil and mushroom stew with thyme; it is hearty and fully plant-based."
BASE = "Brown two pounds of beef chuck, then simmer it with carrots and stock for three hours."
NOTED = "Brown beef chuck and simmer it with carrots (a vegan could use lentils instead)."


def rank_items(path: Path, n: int = 6, answers: int = 3) -> Path:
    rows = []
    for i in range(n):
        responses = [f"{AUTHORED} ({i})", f"{NOTED} ({i})", f"{BASE} ({i})"][:answers]
        rows.append({"id": f"item-{i}", "prompt": f"How do I make a beef stew for {i + 2} people?",
                     "responses": responses, "sources": ["authored", "flawed:noted", "base-model"][:answers],
                     "principles": ["non_harm_food", "promote_alternatives"]})  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
