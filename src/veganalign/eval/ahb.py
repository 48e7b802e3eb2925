"""The Animal Harm Assessment (AHB 1.0) public question file, as eval cases.

Accepted shapes: ``{"metadata": {...}, "data": [{"sample_id", "question", "tags": [...]}]}``
or a bare list of such rows. Answers are scored by the LLM judge on AHB's published
scale: -1 (increases the risk of harm to animals), 0 (no clear effect), +1 (decreases it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from veganalign.jsonl import ContractError


def load_ahb(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(path, None, None, f"cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ContractError(path, exc.lineno, None, f"invalid JSON ({exc.msg})") from None
    rows = raw.get("data") if isinstance(raw, dict) else raw
    if not isinstance(rows, list):
        raise ContractError(path, None, "data", "expected a list of questions (or {'data': [...]})")
    cases = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ContractError(path, None, f"data[{i}]", "each question must be an object")
        for field in ("sample_id", "question"):
            if not row.get(field):
                raise ContractError(path, None, f"data[{i}].{field}", "missing")
        cases.append({"id": f"ahb-{row['sample_id']}", "prompt": str(row["question"]), "category": "ahb",
                      "tags": list(row.get("tags", [])), "source": "import:AHB-1.0"})  # fmt: skip
    if not cases:
        raise ContractError(path, None, "data", "no questions")
    return cases
