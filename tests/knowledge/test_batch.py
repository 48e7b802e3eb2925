"""Many texts at once: ``knowledge.check_many`` and ``veganalign check --lines``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign import knowledge
from veganalign.cli import app
from veganalign.knowledge import cli as check_cli

TEXTS = ["Sugar, whey powder (milk)", "oat milk", "Wine, unfined and unfiltered", "a nice day at the park"]

runner = CliRunner()


# --------------------------------------------------------------------------- the Python API


def test_check_many_is_check_for_each_text_in_order() -> None:
    results = knowledge.check_many(TEXTS)
    assert [r.to_dict() for r in results] == [knowledge.check(t).to_dict() for t in TEXTS]
    assert knowledge.load_knowledge_base().check_many(iter(TEXTS))[1].verdict == "vegan"  # any iterable
    assert knowledge.check_many([]) == []


@pytest.mark.parametrize(("bad", "error"), [("  ", ValueError), ("milk\x00", ValueError), (42, TypeError)])
def test_check_many_names_the_bad_text_before_checking_any(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"text #2: "):
        knowledge.check_many(["honey", "milk", bad])


# --------------------------------------------------------------------------- --lines


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "lines.txt"
    path.write_bytes(data)
    return path


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_lines_gives_one_json_object_per_line(tmp_path: Path) -> None:
    path = write(tmp_path, ("\n".join(TEXTS) + "\n").encode())
    result = runner.invoke(app, ["check", "--lines", str(path)])
    assert result.exit_code == 0, result.output
    out = records(result.stdout)
    assert [r["line"] for r in out] == [1, 2, 3, 4]
    assert [r["verdict"] for r in out] == ["non_vegan", "vegan", "vegan", "unknown"]
    assert {k: v for k, v in out[0].items() if k != "line"} == knowledge.check(TEXTS[0]).to_dict()


def test_lines_from_stdin_without_a_final_newline() -> None:
    result = runner.invoke(app, ["check", "--lines", "-"], input="honey\r\noat milk")
    assert result.exit_code == 0, result.output
    assert [(r["line"], r["text"], r["verdict"]) for r in records(result.stdout)] == [
        (1, "honey", "non_vegan"),
        (2, "oat milk", "vegan"),
    ]


def test_bad_lines_are_named_with_file_and_line_and_none_is_lost(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfhoney\n\ncr\xe8me fra\xeeche\nmilk\x00\n   \noat milk\n"
    path = write(tmp_path, data)
    result = runner.invoke(app, ["check", "--lines", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    out = records(result.stdout)
    assert [r["line"] for r in out] == [1, 2, 3, 4, 5, 6]
    assert out[0]["text"] == "honey"  # the byte-order mark is not part of the text
    assert out[1] == {"line": 2, "error": "empty line"}
    assert out[2]["error"].startswith("not UTF-8") and out[3]["error"].startswith("binary data")
    assert out[5]["verdict"] == "vegan"
    assert result.stderr.splitlines() == [
        f"error: {path}:3: not UTF-8 text (byte 3 of the line)",
        f"error: {path}:4: binary data (NUL bytes), not text",
    ]


def test_a_line_over_the_limit_is_skipped_not_read_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(check_cli, "MAX_LINE_BYTES", 16)
    path = write(tmp_path, b"honey\n" + b"oat " * 40 + b"\nmilk\n")
    out = io.StringIO()
    assert check_cli.check_lines(path, knowledge.check, out) == 2
    lines = records(out.getvalue())
    assert [r["line"] for r in lines] == [1, 2, 3]
    assert lines[1] == {"line": 2, "error": "line over 16 bytes"}
    assert lines[2]["text"] == "milk"


def test_lines_rejects_a_text_or_file_too(tmp_path: Path) -> None:
    path = write(tmp_path, b"honey\n")
    for extra in (["honey"], ["--file", str(path)]):
        result = runner.invoke(app, ["check", "--lines", str(path), *extra])
        assert result.exit_code == 2 and "--lines alone" in result.stderr


def test_lines_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--lines", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2 and "cannot read" in result.stderr and result.stdout == ""


def test_empty_file_gives_no_lines(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--lines", str(write(tmp_path, b""))])
    assert result.exit_code == 0 and result.stdout == ""
