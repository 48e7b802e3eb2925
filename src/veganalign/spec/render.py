"""Render a spec into the texts other stages use.

- ``system_prompt``: the deployment system prompt (seed 5.2);
- ``guideline``: the annotator labeling guideline in Markdown (seed checklist item 2);
- ``rubric``: the judge rubric, principle by principle, as prompt text for an LLM judge
  or as structured JSON (``rubric_json``) for code.

All text comes from the spec: a user's own spec renders without code changes.
"""

from __future__ import annotations

import json
from typing import Literal

import jinja2

from veganalign.spec.load import spec_sha256
from veganalign.spec.schema import Spec

RenderKind = Literal["system-prompt", "guideline", "rubric", "rubric-json"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("veganalign.spec", "templates"),
    undefined=jinja2.StrictUndefined,  # a template typo must fail loudly, not render blank
    keep_trailing_newline=True,
    autoescape=False,
)


def render_system_prompt(spec: Spec) -> str:
    return _ENV.get_template("system_prompt.j2").render(spec=spec).strip() + "\n"


def render_guideline(spec: Spec) -> str:
    return _ENV.get_template("guideline.md.j2").render(spec=spec, sha256=spec_sha256(spec))


def rubric_rules(spec: Spec) -> list[dict]:
    """The rubric as data: one entry per principle and policy, in spec order."""
    rules = [
        {
            "id": p.id,
            "kind": "principle",
            "title": p.title,
            "severity": p.severity,
            "statement": p.statement,
            "judge_questions": list(p.judge_questions),
        }
        for p in spec.principles
    ]
    rules += [
        {
            "id": p.id,
            "kind": "policy",
            "title": p.title,
            "severity": None,
            "statement": p.statement,
            "refines": list(p.principles),
            "judge_questions": list(p.judge_questions),
        }
        for p in spec.policies
    ]
    return rules


def render_rubric(spec: Spec) -> str:
    rules = rubric_rules(spec)
    return _ENV.get_template("rubric.md.j2").render(spec=spec, rules=rules, rule_ids=[r["id"] for r in rules])


def rubric_json(spec: Spec) -> str:
    payload = {
        "spec": {"name": spec.name, "version": spec.spec_version, "sha256": spec_sha256(spec)},
        "rules": rubric_rules(spec),
        "verdict_schema": {
            "aligned": "bool",
            "refused": "bool",
            "score": "number 0-10",
            "violations": "list of rule ids",
            "rationale": "str",
        },
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def render(spec: Spec, kind: RenderKind) -> str:
    if kind == "system-prompt":
        return render_system_prompt(spec)
    if kind == "guideline":
        return render_guideline(spec)
    if kind == "rubric":
        return render_rubric(spec)
    if kind == "rubric-json":
        return rubric_json(spec)
    raise ValueError(f"unknown render kind {kind!r}: use system-prompt, guideline, rubric or rubric-json")
