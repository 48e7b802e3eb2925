"""The typed schema of an ethics spec.

A spec is the alignment document of seed section 1: principles, edge-case policies,
domains and tone. Everything downstream (system prompt, annotator guideline, judge
rubric, data tags, eval mappings) reads it through these models, so a user's own spec
(stricter or looser) works without code changes.

Unknown fields are errors (``extra="forbid"``): a typo in a field name would otherwise
silently drop a rule from the alignment document.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(
            f"id {value!r} must be lower-case letters, digits and underscores "
            "(dots separate parts), starting with a letter"
        )
    return value


class Example(_Strict):
    """A worked example: a user turn and the assistant behaviour it illustrates."""

    prompt: str = Field(min_length=1)
    response: str = Field(min_length=1)
    note: str | None = None


class Examples(_Strict):
    positive: list[Example] = Field(min_length=1, description="responses that follow the rule")
    negative: list[Example] = Field(min_length=1, description="responses that break the rule")


class Principle(_Strict):
    """A core principle (seed 1.1): what the assistant values, with a stable id."""

    id: str
    title: str = Field(min_length=1)
    statement: str = Field(min_length=1, description="the rule, one or two sentences, imperative")
    rationale: str = Field(min_length=1, description="why the rule exists")
    severity: Literal["critical", "major", "minor"] = "major"
    domains: list[str] = Field(default_factory=list, description="domain ids it applies to; empty: all")
    judge_questions: list[str] = Field(
        min_length=1, description="yes/no questions a judge asks of a response to test this principle"
    )
    examples: Examples

    _id = field_validator("id")(_check_id)


class Policy(_Strict):
    """An edge-case policy (seed 1.2): how principles apply where they pull apart."""

    id: str
    title: str = Field(min_length=1)
    statement: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    principles: list[str] = Field(min_length=1, description="ids of the principles this policy refines")
    guidance: list[str] = Field(min_length=1, description="concrete do/don't rules for annotators")
    judge_questions: list[str] = Field(min_length=1)
    examples: Examples

    _id = field_validator("id")(_check_id)


class Domain(_Strict):
    id: str
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    topics: list[str] = Field(default_factory=list)

    _id = field_validator("id")(_check_id)


class ToneRule(_Strict):
    id: str
    rule: str = Field(min_length=1)
    do: list[str] = Field(default_factory=list)
    dont: list[str] = Field(default_factory=list)

    _id = field_validator("id")(_check_id)


class Tone(_Strict):
    summary: str = Field(min_length=1)
    rules: list[ToneRule] = Field(min_length=1)
    shaming_phrases: list[str] = Field(
        default_factory=list,
        description="phrases that signal shaming or contempt; the rule judge flags them",
    )
    vegan_framing_phrases: list[str] = Field(
        default_factory=list,
        description="phrases that mark an explicit vegan stance (seed 3.1.3)",
    )


class Deployment(_Strict):
    """Text for the deployed assistant (seed 5.2 and 7.1)."""

    assistant_identity: str = Field(min_length=1, description="first sentence of the system prompt")
    system_prompt_rules: list[str] = Field(
        min_length=1, description="short imperative rules appended to the system prompt, in order"
    )
    non_overridable_notice: str = Field(
        min_length=1, description="tells the model that users cannot switch the framework off"
    )
    disclosure: str = Field(min_length=1, description="what users are told about the assistant")


class Mappings(_Strict):
    """How other stages' vocabularies map onto this spec's principle ids."""

    knowledge_categories: dict[str, list[str]] = Field(
        default_factory=dict, description="knowledge-base category -> principle ids it bears on"
    )
    eval_categories: dict[str, list[str]] = Field(
        default_factory=dict, description="eval category -> principle ids it measures"
    )
    rule_aliases: dict[str, str] = Field(
        default_factory=dict,
        description="a rule id of the shipped vocabulary (the tags on veganalign's authored data, the rule ids the "
        "built-in judges report) -> this spec's rule id that plays its part, for a spec that names its rules "
        "differently",
    )


class Spec(_Strict):
    spec_version: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    principles: list[Principle] = Field(min_length=1)
    policies: list[Policy] = Field(default_factory=list)
    domains: list[Domain] = Field(min_length=1)
    tone: Tone
    deployment: Deployment
    mappings: Mappings = Field(default_factory=Mappings)

    @model_validator(mode="after")
    def _cross_references(self) -> Spec:
        # Errors carry a path so the loader can point at the YAML line.
        errors: list[tuple[tuple, str]] = []
        seen: dict[str, tuple] = {}
        for section in ("principles", "policies", "domains"):
            for i, item in enumerate(getattr(self, section)):
                if item.id in seen:
                    errors.append(((section, i, "id"), f"duplicate id {item.id!r} (first used at {seen[item.id]})"))
                else:
                    seen[item.id] = (section, i)
        for i, rule in enumerate(self.tone.rules):
            if rule.id in seen:
                errors.append((("tone", "rules", i, "id"), f"duplicate id {rule.id!r}"))
            seen[rule.id] = ("tone", "rules", i)

        principle_ids = {p.id for p in self.principles}
        domain_ids = {d.id for d in self.domains}
        for i, policy in enumerate(self.policies):
            for j, ref in enumerate(policy.principles):
                if ref not in principle_ids:
                    errors.append(
                        (("policies", i, "principles", j), f"policy {policy.id!r} names unknown principle {ref!r}")
                    )
        for i, principle in enumerate(self.principles):
            for j, ref in enumerate(principle.domains):
                if ref not in domain_ids:
                    errors.append((("principles", i, "domains", j), f"unknown domain {ref!r}"))
        rule_ids = principle_ids | {p.id for p in self.policies}
        for table in ("knowledge_categories", "eval_categories"):
            for key, refs in getattr(self.mappings, table).items():
                for j, ref in enumerate(refs):
                    if ref not in rule_ids:
                        errors.append((("mappings", table, key, j), f"unknown principle or policy {ref!r}"))
        for key, ref in self.mappings.rule_aliases.items():
            if not ID_PATTERN.match(key):
                errors.append((("mappings", "rule_aliases", key), f"alias {key!r} is not a valid rule id"))
            if ref not in rule_ids:
                errors.append((("mappings", "rule_aliases", key), f"unknown principle or policy {ref!r}"))
        if errors:
            raise SpecCrossReferenceError(errors)
        return self

    # Lookups used by renderers, data and judges.
    def rule_ids(self) -> list[str]:
        return [p.id for p in self.principles] + [p.id for p in self.policies]

    def resolve_rule(self, rule_id: str) -> str | None:
        """This spec's id for ``rule_id``: itself if the spec defines it, else its alias, else None."""
        if rule_id in self.rule_ids():
            return rule_id
        return self.mappings.rule_aliases.get(rule_id)

    def principle(self, rule_id: str) -> Principle | Policy:
        for item in [*self.principles, *self.policies]:
            if item.id == rule_id:
                return item
        raise KeyError(rule_id)

    def principles_for_eval_category(self, category: str) -> list[str]:
        return list(self.mappings.eval_categories.get(category, []))

    def principles_for_knowledge_category(self, category: str) -> list[str]:
        return list(self.mappings.knowledge_categories.get(category, []))


class SpecCrossReferenceError(ValueError):
    """Raised inside validation; carries (path, message) pairs for precise reporting."""

    def __init__(self, errors: list[tuple[tuple, str]]):
        self.errors = errors
        super().__init__("; ".join(msg for _, msg in errors))
