"""Judges: the rule judge (``rules``) and the LLM judge (``llm:MODEL_REF``), behind one interface (``base``)."""

from __future__ import annotations

from veganalign.eval.judges.base import Check, Judge, Verdict

JUDGE_HELP = "rules | llm:MODEL_REF (any OpenAI-compatible endpoint, e.g. llm:openai:gpt-4o@https://api.openai.com/v1)"


def make_judge(name: str, spec=None, api_key_env: str = "OPENAI_API_KEY") -> Judge:
    """A judge by name, judging under ``spec`` (a loaded Spec; the shipped one when None)."""
    if name == "rules":
        from veganalign.eval.judges.rules import RuleJudge

        return RuleJudge(spec)
    if name.startswith("llm:") and name[len("llm:") :].strip():
        from veganalign.eval.judges.llm import LLMJudge

        return LLMJudge(name[len("llm:") :], api_key_env=api_key_env, spec=spec)
    raise ValueError(f"--judge {name!r}: use {JUDGE_HELP}")


def judge_spec_view(name: str, spec) -> dict:
    """The parts of the spec a judge's verdicts depend on (the pipeline redoes the eval stage when they change)."""
    if name == "rules":
        return {
            "rule_ids": sorted(spec.rule_ids()),
            "mappings": spec.mappings.model_dump(mode="json"),
            "shaming_phrases": list(spec.tone.shaming_phrases),
            "vegan_framing_phrases": list(spec.tone.vegan_framing_phrases),
        }
    from veganalign.spec import render_rubric

    return {"rubric": render_rubric(spec)}


__all__ = ["Check", "JUDGE_HELP", "Judge", "Verdict", "judge_spec_view", "make_judge"]
