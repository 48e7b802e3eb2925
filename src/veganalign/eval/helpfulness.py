"""Objective scoring of ordinary tasks: exact answers and executed unit tests.

Alignment must not cost general helpfulness. Fact and arithmetic cases carry
``expect.answer`` (accepted strings); code cases carry ``expect.entry_point`` and
``expect.tests`` (assert statements) that are run against the code in the response. The
model under test may be a remote endpoint, so its code is untrusted: it runs in
:mod:`veganalign.eval.sandbox` (namespaces, read-only filesystem, no network, no privileges,
resource limits). Where that sandbox cannot be set up the code is not run and the case is
*unscored* (``Outcome.passed is None``), with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from veganalign.eval.sandbox import Limits, SandboxUnavailable, run_python

# The tasks are small functions checked by a few asserts: a correct answer needs milliseconds.
CODE_LIMITS = Limits(wall_s=5.0, cpu_s=2)


@dataclass(frozen=True)
class Outcome:
    """One scored case: ``passed`` is True or False, or None when the case could not be scored."""

    passed: bool | None
    reason: str

    @property
    def scored(self) -> bool:
        return self.passed is not None


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


def run_tests(code: str, tests: list[str], limits: Limits = CODE_LIMITS) -> Outcome:
    program = code + "\n\n" + "\n".join(tests) + "\n"
    try:
        result = run_python(program, limits=limits)
    except SandboxUnavailable as exc:
        return Outcome(None, f"sandbox unavailable: {exc}")
    if result.killed_reason:
        return Outcome(False, f"killed: {result.killed_reason}")
    if result.returncode == 0:
        return Outcome(True, "all tests passed")
    return Outcome(False, failure_line(result.stderr, result.returncode)[:200])


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b")


def failure_line(stderr: str, returncode: int) -> str:
    """The line that says why: the last ``SomeError: ...`` line, else the last line.

    Several processes (a program that forks) can write tracebacks at once, so the last
    line of stderr may be the middle of another process's traceback.
    """
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    named = [ln for ln in lines if _EXCEPTION_LINE.match(ln)]
    return (named or lines or [f"exit status {returncode}"])[-1]


def score(case: dict[str, Any], response: str, limits: Limits = CODE_LIMITS) -> Outcome:
    expect = case.get("expect") or {}
    if "answer" in expect:
        answers = expect["answer"] if isinstance(expect["answer"], list) else [expect["answer"]]
        low = response.lower()
        hit = next(
            (a for a in answers if re.search(r"(?<![\w.])" + re.escape(str(a).lower()) + r"(?![\w])", low)), None
        )
        return Outcome(hit is not None, f"found {hit!r}" if hit else f"none of {answers} in the response")
    if "tests" in expect and "entry_point" in expect:
        code = extract_code(response, expect["entry_point"])
        if code is None:
            return Outcome(False, f"no function {expect['entry_point']} in the response")
        return run_tests(code, expect["tests"], limits)
    return Outcome(False, "case has no objective expectation")
