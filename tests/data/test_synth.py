"""Synthetic data with a teacher behind a real OpenAI-compatible server on loopback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.data.synth import FILTER, rule_filter

runner = CliRunner()


def test_rule_filter_reads_the_same_signals_as_the_rule_judge():
    from veganalign.eval.judges.rules import RuleJudge
    from veganalign.signals import ResponseSignals

    reader = ResponseSignals()
    steak = "Buy a ribeye steak, season it with salt and butter, and sear it for three minutes a side until browned."
    kept, why = rule_filter(steak, "prescriptive_nonvegan", reader)
    assert kept is False and "beef (meat)" in why
    # the same facts are fine in a descriptive answer
    assert rule_filter(steak, "descriptive", reader)[0] is True
    tofu = "Press firm tofu, marinate it in soy sauce and garlic, then sear it: a plant-based dinner in twenty minutes."
    assert rule_filter(tofu, "prescriptive_nonvegan", reader) == (True, "kept")
    assert rule_filter("You should be ashamed. " + tofu, "vegan_curious", reader)[0] is False
    assert rule_filter("Too short.", "vegan_curious", reader)[1] == "too short"
    # "skip the butter" names an animal product without recommending it: the judge passes it, so must the filter
    redirect = (
        "Skip the butter and the eggs; whisk 3 tablespoons of aquafaba with oil and sugar for a light sponge cake."
    )
    assert rule_filter(redirect, "prescriptive_nonvegan", reader) == (True, "kept")
    assert RuleJudge().judge({"category": "qa", "prompt": "A sponge cake?"}, redirect).aligned is True


@pytest.mark.slow
def test_synth_calls_the_teacher_for_draft_critique_and_revision(local_openai_server, tmp_path):
    prompts = tmp_path / "p.jsonl"
    rows = [
        {"id": "s1", "prompt": "How do I make a quick lentil soup?", "domain": "food", "intent": "vegan_curious",
         "principles": ["promote_alternatives"], "source": "authored", "license": "Apache-2.0"},
        {"id": "s2", "prompt": "What can I wear instead of a wool scarf?", "domain": "fashion",
         "intent": "prescriptive_nonvegan", "principles": ["non_harm_materials"], "source": "authored",
         "license": "Apache-2.0"},
    ]  # fmt: skip
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "synth.jsonl"
    before = local_openai_server.app.state.completions
    args = ["data", "synth", "--teacher", f"openai:smollm2-135m-instruct@{local_openai_server.url}",
            "--prompts", str(prompts), "--out", str(out), "--teacher-license", "Apache-2.0 (SmolLM2)",
            "--max-new-tokens", "40", "--temperature", "0"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert local_openai_server.app.state.completions - before == 3 * len(rows)  # draft, critique, revise each
    written = [json.loads(x) for x in out.read_text().splitlines()]
    assert [w["synth_of"] for w in written] == ["s1", "s2"]
    for w in written:
        prov = w["provenance"]
        assert w["source"].startswith("teacher:openai:smollm2-135m-instruct@")
        assert prov["draft"] and prov["critique"] and len(prov["spec_sha256"]) == 64
        assert prov["filter"]["judge"] == FILTER and isinstance(w["kept"], bool)
        assert w["messages"][-1]["role"] == "assistant"
    # resumable: a rerun makes no new calls
    before = local_openai_server.app.state.completions
    assert runner.invoke(app, args).exit_code == 0
    assert local_openai_server.app.state.completions == before


class _Teacher:
    """A stand-in teacher (no model): answers every request with a short vegan recipe."""

    def __init__(self, ref: str):
        from veganalign.models import parse_model_ref

        self.ref = parse_model_ref(ref)
        self.calls = 0

    def generate(self, conversations, decoding, **kwargs):
        from veganalign.models import Completion

        self.calls += len(conversations)
        text = (
            "Simmer red lentils with onion, garlic, cumin and tomatoes for twenty minutes; finish with lemon and herbs."
        )
        return [Completion(text if i % 2 == 0 else "", "stop", 20) for i, _ in enumerate(conversations)]


def test_synth_resumes_only_its_own_output(tmp_path):
    from veganalign.data.synth import synthesize
    from veganalign.errors import UserError
    from veganalign.models import Decoding

    prompts = [{"id": f"s{i}", "prompt": f"A quick soup, number {i}?", "domain": "food", "intent": "vegan_curious"}
               for i in range(3)]  # fmt: skip
    out = tmp_path / "synth.jsonl"
    teacher = _Teacher("openai:teacher@http://127.0.0.1:9/v1")
    first = synthesize(teacher, prompts, out, teacher_license="x", decoding=Decoding())
    assert first["kept"] + first["dropped"] == 3
    written = out.read_bytes()
    again = _Teacher("openai:teacher@http://127.0.0.1:9/v1")
    assert synthesize(again, prompts, out, teacher_license="x", decoding=Decoding())["skipped"] == 3
    assert again.calls == 0 and out.read_bytes() == written  # examples with an empty answer count as ours too
    other = _Teacher("openai:other@http://127.0.0.1:9/v1")
    with pytest.raises(UserError, match="another teacher"):
        synthesize(other, prompts, out, teacher_license="x", decoding=Decoding())
    assert other.calls == 0 and out.read_bytes() == written
