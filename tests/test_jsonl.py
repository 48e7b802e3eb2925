"""JSONL contracts: precise errors, atomic writes, torn-line repair."""

from __future__ import annotations

import json

import pytest

from veganalign.jsonl import ContractError, load_finished_rows, write_jsonl_atomic
from veganalign.models.generate_file import read_prompts


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "bad_line, field, message",
    [
        ('{"id": "a", "prompt": "hi"', None, "invalid JSON"),
        ('["not", "an", "object"]', None, "JSON object"),
        ('{"prompt": "no id"}', "id", "missing"),
        ('{"id": "b"}', "prompt", "needs 'prompt'"),
        ('{"id": "c", "prompt": "   "}', "prompt", "must not be empty"),
        ('{"id": "d", "prompt": 42}', "prompt", "must be str"),
        ('{"id": "e", "messages": [{"role": "assistant", "content": "x"}]}', "messages", "start with a user turn"),
        (
            '{"id": "f", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}',
            "messages",
            "in a row",
        ),
        ('{"id": "g", "messages": [{"role": "robot", "content": "a"}]}', "messages[0].role", "must be system"),
        ('{"id": "h", "messages": [{"role": "user", "content": ""}]}', "messages[0].content", "non-empty"),
        ('{"id": "first", "prompt": "dup"}', "id", "duplicate id"),
    ],
)
def test_prompt_file_errors_name_line_and_field(tmp_path, bad_line, field, message):
    path = write(tmp_path / "p.jsonl", ['{"id": "first", "prompt": "ok"}', "", bad_line])
    with pytest.raises(ContractError) as info:
        read_prompts(path)
    err = info.value
    assert err.line == 3 and err.field == field and message in str(err)
    assert str(err).startswith(f"{path}:3:")


def test_binary_and_empty_files(tmp_path):
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage\n")
    with pytest.raises(ContractError, match="not UTF-8"):
        read_prompts(binary)
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(ContractError, match="no prompts"):
        read_prompts(empty)


def test_torn_last_line_is_cut_and_complete_rows_kept(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps({"id": 1}) + "\n" + json.dumps({"id": 2}) + "\n" + '{"id": 3, "resp')
    rows = load_finished_rows(path)
    assert [r["id"] for r in rows] == [1, 2]
    assert path.read_text().endswith("}\n")


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    path = tmp_path / "data.jsonl"
    write_jsonl_atomic(path, [{"id": 1}])

    def broken():
        yield {"id": 2}
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_jsonl_atomic(path, broken())
    assert load_finished_rows(path) == [{"id": 1}]
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    write_jsonl_atomic(tmp_path / "a.jsonl", [{"id": 1}])
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.jsonl").stat().st_mode) == 0o666 & ~mask
