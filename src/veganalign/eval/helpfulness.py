"""Objective scoring of ordinary tasks: exact answers and executed unit tests.

Alignment must not cost general helpfulness. Fact and arithmetic cases carry
``expect.answer`` (accepted strings); code cases carry ``expect.entry_point`` and
``expect.tests`` (assert statements) that are run against the code in the response, in
a separate Python process with a time limit and no network use expected.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_CODE_BLOCK = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)


def extract_code(response: str, entry_point: str) -> str | None:
    blocks = _CODE_BLOCK.findall(response)
    for block in blocks:
        if f"def {entry_point}" in block:
            return block
    if f"def {entry_point}" in response:
        # Unfenced code: from the def to the end of the indented block.
        start = response.index(f"def {entry_point}")
        lines = response[start:].splitlines()
        body = [lines[0]] + [ln for ln in lines[1:] if ln.startswith((" ", "\t")) or not ln.strip()]
        return "\n".join(body)
    return None


def run_tests(code: str, tests: list[str], timeout: float = 10.0) -> tuple[bool, str]:
    program = code + "\n\n" + "\n".join(tests) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidate.py"
        path.write_text(program)
        try:
            proc = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True, timeout=timeout,
                                  cwd=tmp)  # fmt: skip
        except subprocess.TimeoutExpired:
            return False, "timed out"
    if proc.returncode == 0:
        return True, "all tests passed"
    last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return False, last[:200]


def score(case: dict[str, Any], response: str) -> tuple[bool, str]:
    expect = case.get("expect") or {}
    if "answer" in expect:
        answers = expect["answer"] if isinstance(expect["answer"], list) else [expect["answer"]]
        low = response.lower()
        hit = next(
            (a for a in answers if re.search(r"(?<![\w.])" + re.escape(str(a).lower()) + r"(?![\w])", low)), None
        )
        return (hit is not None), (f"found {hit!r}" if hit else f"none of {answers} in the response")
    if "tests" in expect and "entry_point" in expect:
        code = extract_code(response, expect["entry_point"])
        if code is None:
            return False, f"no function {expect['entry_point']} in the response"
        return run_tests(code, expect["tests"])
    return False, "case has no objective expectation"
