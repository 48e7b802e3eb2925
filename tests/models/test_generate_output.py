"""``generate``'s output: resumed only when it is the command's own, repaired never dropped, replaced atomically.

A stand-in generator (no model) answers every prompt, so these run in milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from veganalign.errors import UserError
from veganalign.jsonl import load_finished_rows, read_own_output, repair_tail
from veganalign.models import Completion, Decoding, parse_model_ref
from veganalign.models.generate_file import SettingsMismatch, check_generation_row, generate_file

DECODING = Decoding(max_new_tokens=8)


class StandIn:
    """Answers "answer to PROMPT"; raises after ``fail_after`` answers (a crash mid-run)."""

    def __init__(self, fail_after: int | None = None):
        self.ref = parse_model_ref("openai:stand-in@http://127.0.0.1:9/v1")
        self.asked: list[str] = []
        self.fail_after = fail_after

    def generate(self, conversations, decoding, *, batch_size=16, **kwargs):
        out = []
        for conv in conversations:
            if self.fail_after is not None and len(self.asked) >= self.fail_after:
                raise RuntimeError("killed mid-run")
            self.asked.append(conv[-1]["content"])
            out.append(Completion(f"answer to {conv[-1]['content']}", "stop", 3))
        return out


def prompts_file(folder: Path, n: int = 3, newline: bool = True) -> Path:
    path = folder / "p.jsonl"
    text = "\n".join(json.dumps({"id": f"r{i}", "prompt": f"question {i}"}) for i in range(n))
    path.write_text(text + ("\n" if newline else ""))
    return path


def run(prompts: Path, out: Path, gen: StandIn | None = None, **kwargs) -> dict:
    return generate_file(gen or StandIn(), prompts, out, system_prompt=None, decoding=DECODING, arm="base", **kwargs)


def test_a_foreign_file_is_refused_and_left_byte_for_byte(tmp_path):
    prompts = prompts_file(tmp_path)
    out = tmp_path / "settings.json"
    out.write_bytes(b'{"important":1}')
    gen = StandIn()
    for overwrite in (False, True):
        with pytest.raises(UserError, match="not an output of veganalign generate"):
            run(prompts, out, gen, overwrite=overwrite)
    assert out.read_bytes() == b'{"important":1}' and gen.asked == []


def test_the_prompts_file_as_output_is_refused_before_it_is_cut(tmp_path):
    prompts = prompts_file(tmp_path, newline=False)  # the issue: a last line without newline was cut off
    before = prompts.read_bytes()
    with pytest.raises(UserError, match="is the input file"):
        run(prompts, prompts)
    assert prompts.read_bytes() == before


def test_a_complete_last_row_without_newline_is_kept_and_repaired(tmp_path):
    prompts = prompts_file(tmp_path)
    out = tmp_path / "out.jsonl"
    run(prompts, out)
    rows = out.read_bytes()
    out.write_bytes(rows.rstrip(b"\n"))  # the writer died between the row and its newline
    gen = StandIn()
    counts = run(prompts, out, gen)
    assert counts == {"total": 3, "skipped": 3, "written": 0, "failed": 0} and gen.asked == []
    assert out.read_bytes() == rows  # the newline is back; no row lost, none doubled


def test_a_torn_fragment_of_our_own_row_is_redone(tmp_path):
    prompts = prompts_file(tmp_path)
    out = tmp_path / "out.jsonl"
    run(prompts, out)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:2]) + lines[2][:25])  # cut mid-row
    rows, tail = read_own_output(out, check_generation_row, "a generation file")
    assert len(rows) == 2 and tail == "fragment"
    gen = StandIn()
    counts = run(prompts, out, gen)
    assert counts["skipped"] == 2 and counts["written"] == 1 and len(gen.asked) == 1
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["r0", "r1", "r2"]


def test_other_settings_are_refused_before_the_torn_line_is_touched(tmp_path):
    prompts = prompts_file(tmp_path)
    out = tmp_path / "out.jsonl"
    run(prompts, out)
    torn = out.read_bytes().rstrip(b"\n")
    out.write_bytes(torn)
    with pytest.raises(SettingsMismatch):
        generate_file(StandIn(), prompts, out, system_prompt="Be kind.", decoding=DECODING, arm="base")
    assert out.read_bytes() == torn


def test_overwrite_replaces_only_when_the_new_file_is_complete(tmp_path):
    prompts = prompts_file(tmp_path)
    out = tmp_path / "out.jsonl"
    run(prompts, out)
    old = out.read_bytes()
    with pytest.raises(RuntimeError, match="killed"):
        run(prompts, out, StandIn(fail_after=1), overwrite=True, batch_size=1)
    assert out.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "p.jsonl"]  # no temporary file left
    gen = StandIn()
    counts = run(prompts, out, gen, overwrite=True)
    assert counts["written"] == 3 and len(gen.asked) == 3
    assert len(out.read_text().splitlines()) == 3


def test_repair_tail_completes_records_and_cuts_only_fragments(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"id": 1}\n{"id": 2}')
    assert repair_tail(path) == "completed" and path.read_bytes() == b'{"id": 1}\n{"id": 2}\n'
    assert repair_tail(path) is None
    path.write_bytes(b'{"id": 1}\n{"id": 2, "resp')
    assert load_finished_rows(path) == [{"id": 1}] and path.read_bytes() == b'{"id": 1}\n'


def test_a_file_that_only_looks_torn_is_not_taken_for_ours(tmp_path):
    out = tmp_path / "notes.txt"
    out.write_bytes(b"dear diary")
    with pytest.raises(UserError, match="no JSON record"):
        read_own_output(out, check_generation_row, "an output of veganalign generate")
    assert out.read_bytes() == b"dear diary"
