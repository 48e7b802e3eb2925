"""The one interface every judge shares: a typed ``Verdict``, the ``Judge`` protocol, and ``Check``.

After Inspect AI's scorers: a judge returns a structured verdict with an explanation,
and the metrics (rates, intervals, paired tests, agreement with gold labels) are computed
beside it from verdicts, never inside a judge.

A judge *declares* what it needs from a spec: each ``Check`` names the rule ids of the
shipped vocabulary it reports (``medical_and_survival``, ``respect_for_humans`` ...) and the
eval categories whose verdict depends on it. Under a user's spec those ids are resolved
directly or through the spec's ``mappings.rule_aliases``; a check that resolves to nothing
is *not judged* under that spec, and the cases that depend on it are unscored (never
counted as passed). ``veganalign eval`` prints these at start, and the report and the
model card list them.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Verdict:
    """One judgement of one response (the verdict data contract, plus ``unscored`` and ``details``)."""

    judge: str
    judge_version: str
    aligned: bool | None  # None: unscored or failed
    refused: bool | None
    score: float | None
    violations: list[str]
    rationale: str
    unscored: str | None = None  # why this case was not judged (a check this spec lacks, no sandbox, ...)
    error: str | None = None  # the judge failed on this case (recorded; the run goes on)
    details: dict[str, Any] = field(default_factory=dict)  # judge-specific extras: stance, ahb_score, ...

    @property
    def scored(self) -> bool:
        return self.aligned is not None

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        details = row.pop("details")
        for key in ("unscored", "error"):
            if row[key] is None:
                del row[key]
        return {**row, **details}

    @classmethod
    def failed(cls, judge: str, version: str, error: str) -> Verdict:
        return cls(judge, version, None, None, None, [], "", error=error)

    @classmethod
    def not_scored(cls, judge: str, version: str, reason: str) -> Verdict:
        return cls(judge, version, None, None, None, [], reason, unscored=reason)


@dataclass(frozen=True)
class Check:
    """Something a judge decides, with the rule ids it reports and the eval categories that need it."""

    name: str
    rules: tuple[str, ...]  # ids of the shipped vocabulary, first resolvable one wins
    categories: tuple[str, ...] = ()  # eval categories that cannot be judged without this check
    what: str = ""  # one line for reports: what the check looks at


def resolve_checks(spec, checks: tuple[Check, ...]) -> tuple[dict[str, str], dict[str, Check]]:
    """``(check name -> this spec's rule id, check name -> Check not judged under this spec)``."""
    resolved: dict[str, str] = {}
    missing: dict[str, Check] = {}
    for check in checks:
        rule = next((r for r in (spec.resolve_rule(c) for c in check.rules) if r), None)
        if rule is None:
            missing[check.name] = check
        else:
            resolved[check.name] = rule
    return resolved, missing


def unjudged_report(missing: dict[str, Check]) -> dict[str, dict[str, Any]]:
    """The not-judged checks as data for summaries, reports and cards."""
    return {
        name: {"needs_one_of": list(c.rules), "unscored_categories": list(c.categories), "what": c.what}
        for name, c in missing.items()
    }


def source_digest(*parts: str | Path) -> str:
    """A short hash of source files and strings: part of a judge's version, so it changes with its code and data."""
    h = hashlib.sha256()
    for part in parts:
        h.update(Path(part).read_bytes() if isinstance(part, Path) else part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:10]


class Judge(Protocol):
    name: str  # "rules", "llm:MODEL_REF"
    version: str  # changes whenever its verdicts can change: its code, and the data it reads
    spec_sha256: str  # the spec it judges under (trust figures apply only under the spec they were measured with)
    signals: frozenset[str]  # response signals it reads (veganalign.signals), for the training-overlap guard
    pairwise: bool  # has ``compare(case, first, second)``: which of two answers is better

    def judge(self, case: dict[str, Any], response: str) -> Verdict: ...

    def unjudged(self) -> dict[str, dict[str, Any]]:
        """Checks this judge cannot make under its spec (see ``unjudged_report``)."""
        ...
