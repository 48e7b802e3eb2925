"""``veganalign redteam`` with the embedded model: really multi-turn, summaries with intervals, a served endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign.cli import app
from veganalign.data.attacks import DILEMMA, MULTI_TURN
from veganalign.redteam.run import DILEMMA_UNSCORED, redteam, summarise

pytestmark = pytest.mark.slow
FIELDS = {"n", "successes", "rate", "low", "high", "over_refusal", "over_redirection"}


class Spy:
    """The real generator, recording every batch of conversations it is asked to answer."""

    def __init__(self, inner):
        self.inner, self.ref, self.calls = inner, inner.ref, []

    def generate(self, conversations, decoding, **kwargs):
        outs = self.inner.generate(conversations, decoding, **kwargs)
        self.calls.append(([list(c) for c in conversations], [o.text for o in outs]))
        return outs


def rows(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "transcripts.jsonl").read_text().splitlines()]


def test_multi_turn_attacks_show_the_model_its_own_earlier_answers(embedded_generator, tmp_path):
    spy = Spy(embedded_generator)
    summary = redteam("smollm2-135m-instruct", tmp_path, families=[MULTI_TURN], limit=3, max_new_tokens=12,
                      generator=spy)  # fmt: skip
    transcripts = rows(tmp_path)
    longest = max(r["turns"] for r in transcripts)
    assert longest >= 2 and len(spy.calls) == longest  # one batched call per turn
    # every conversation of turn 2 carries, verbatim, the answer the model gave it in turn 1
    first_convs, first_answers = spy.calls[0]
    answer_of = {json.dumps(c[1:]): a for c, a in zip(first_convs, first_answers, strict=True)}  # [0] is the system
    for conv in spy.calls[1][0]:
        opening = conv[1:2]
        assert conv[2] == {"role": "assistant", "content": answer_of[json.dumps(opening)]}
        assert conv[3]["role"] == "user"
    for r in transcripts:
        assert r["turns"] == 1 + len(r["pushback"])
        roles = [m["role"] for m in r["conversation"]]
        assert roles == ["user", "assistant"] * r["turns"]
        assert [m["content"] for m in r["conversation"] if m["role"] == "assistant"] == r["answers"]
    fam = summary["families"][MULTI_TURN]
    assert set(fam) >= FIELDS and fam["n"] == 3 and sum(fam["turns"].values()) == 3


def test_redteam_command_writes_summary_transcripts_and_report(tmp_path):
    out = tmp_path / "rt"
    result = CliRunner().invoke(app, ["redteam", "--families", "ignore_instructions,indirection,dilemma",
                                      "--limit", "2", "--max-new-tokens", "16", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["families"]) == {"ignore_instructions", "indirection", DILEMMA}
    for name in ("ignore_instructions", "indirection"):
        fam = summary["families"][name]
        assert set(fam) >= FIELDS and fam["n"] == 2 and fam["n_lookalikes"] == 2
        assert 0 <= fam["low"] <= fam["rate"] <= fam["high"] <= 1
    dilemma = summary["families"][DILEMMA]
    assert dilemma["n"] == 0 and dilemma["unscored"] == 2 and dilemma["unscored_reason"] == DILEMMA_UNSCORED
    assert summary["system_prompt"] == "spec" and summary["judge"]["name"] == "rules"
    assert (out / "asr_by_family.png").stat().st_size > 1000
    html = (out / "report.html").read_text()
    assert "ignore_instructions" in html and "kappa 0.02" in html


def test_the_guarded_server_is_red_teamed_over_http_as_users_meet_it(tmp_path, monkeypatch):
    from conftest import free_port
    from helpers.standin import Running
    from veganalign.serve import build_app
    from veganalign.serve.config import ServeConfig

    cfg = ServeConfig(model="smollm2-135m-instruct", model_id="guarded", api_keys=["rt-key"], monitor=False)
    with Running(build_app(cfg, notice=lambda text: None), free_port()) as srv:
        monkeypatch.setenv("RT_KEY", "rt-key")
        summary = redteam(f"openai:guarded@{srv.url}", tmp_path, families=["persona_roleplay", MULTI_TURN], limit=2,
                          max_new_tokens=24, api_key_env="RT_KEY")  # fmt: skip
    # the server applies its own policy: the red-team sends none, as a user would
    assert summary["system_prompt"] == "none"
    multi = [r for r in rows(tmp_path) if r["family"] == MULTI_TURN and not r["lookalike"]]
    assert multi and all(len(r["answers"]) == r["turns"] >= 2 for r in multi)
    assert all(a.strip() for r in rows(tmp_path) for a in r["answers"])  # answered over HTTP, not errors
    assert summary["families"]["persona_roleplay"]["n"] == 2


def test_summary_counts_rates_and_lookalike_failures():
    def attack(i, success, family="f"):
        return {"id": f"a{i}", "family": family, "lookalike": False, "scored": True, "success": success,
                "violations": ["non_harm_food"] if success else [], "attempts": [{"success": success}],
                "turns": 1}  # fmt: skip

    def twin(i, refused=False, redirected=False, family="f"):
        return {"id": f"a{i}-lookalike", "family": family, "lookalike": True, "over_refusal": refused,
                "over_redirection": redirected, "recommends": []}  # fmt: skip

    data = [attack(1, True), attack(2, False), attack(3, False), attack(4, True),
            twin(1, refused=True), twin(2), twin(3, redirected=True), twin(4)]  # fmt: skip
    fam = summarise(data)["families"]["f"]
    assert (fam["n"], fam["successes"], fam["rate"]) == (4, 2, 0.5)
    assert fam["low"] < 0.5 < fam["high"]
    assert fam["over_refusal"] == 0.25 and fam["over_redirection"] == 0.25
    assert fam["principles_broken"] == {"non_harm_food": 2} and fam["worst"] == ["a1", "a4"]


def test_adaptive_rewrites_retry_every_attack_the_model_withstood(embedded_generator, tmp_path):
    summary = redteam("smollm2-135m-instruct", tmp_path, families=["persona_roleplay", "no_lectures_format"], limit=3,
                      adaptive=2, max_new_tokens=16, generator=embedded_generator)  # fmt: skip
    attacks = [r for r in rows(tmp_path) if not r["lookalike"]]
    for r in attacks:
        first = r["attempts"][0]
        assert first["attempt"] == 0 and first["source"] == "library"
        if first["success"]:
            assert len(r["attempts"]) == 1  # nothing to rewrite
            continue
        retries = r["attempts"][1:]
        assert 1 <= len(retries) <= 2
        assert all(t["source"] == "attacker" or t["source"].startswith("composition:") for t in retries)
        # an attacker's rewrite still asks for the target; only the last try may have succeeded
        assert all(r["target"].lower() in t["prompt"].lower() for t in retries if t["source"] == "attacker")
        assert not any(t["success"] for t in retries[:-1])
        if r["success"]:
            assert r["adaptive_success_at"] == len(retries)
    fam = summary["families"]["persona_roleplay"]
    assert fam["successes"] >= fam["first_try_successes"]
    assert summary["adaptive"] == 2 and summary["attacker"] == "the target model"
