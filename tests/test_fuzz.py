"""Property-based fuzzing of what users feed veganalign: no input raises anything but the project's own errors.

Arbitrary bytes and arbitrary JSON values through the data contracts and the JSONL
reader, arbitrary text through ``check``, arbitrary text through the YAML loaders. Each
property allows exactly the project's error types (``UserError`` and its subclasses, one
line naming the file and line); anything else (a ``KeyError``, a ``RecursionError``, a
plain ``ValueError``) is a bug. Examples are bounded so that the file runs in seconds.
"""

from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veganalign.config import ConfigError, read_yaml
from veganalign.data.contracts import KINDS, validate_file
from veganalign.errors import UserError
from veganalign.jsonl import ContractError, read_jsonl, read_own_output
from veganalign.knowledge import VERDICTS, TextError, check
from veganalign.models.generate_file import check_generation_row, read_prompts
from veganalign.spec.load import SpecError, parse_spec
from veganalign.yamlio import YamlError, load

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORKDIR = Path(tempfile.mkdtemp(prefix="veganalign-fuzz-"))
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)

# Field names of every contract, so that random records reach the checks behind the first one.
FIELDS = ["id", "prompt", "messages", "role", "content", "name", "chosen", "rejected", "ranking", "method", "source",
          "license", "domain", "intent", "category", "expect", "principles", "response", "model", "arm",
          "system_prompt", "decoding", "finish_reason", "n_tokens", "error"]  # fmt: skip
SOURCES = ["authored", "template", "teacher:x", "import:y", "flawed:z", "nope"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["user", "assistant", "system", "", " ", *SOURCES])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), inner, max_size=5)
    ),  # fmt: skip
    max_leaves=16,
)
message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant", "system", "tool"]) | scalars,
        "content": st.text(max_size=8) | scalars,
    }
)
record = st.dictionaries(
    st.sampled_from(FIELDS),
    values | st.lists(message, max_size=4) | st.sampled_from(SOURCES),
    max_size=12,
)
json_line = record.map(json.dumps) | values.map(json.dumps)
raw_line = json_line.map(str.encode) | st.binary(max_size=40)


def _file(data: bytes) -> Path:
    path = WORKDIR / "fuzz.jsonl"
    path.write_bytes(data)
    return path


def _only_own_errors(fn, *args, allowed: tuple[type[BaseException], ...] = (UserError,)):
    try:
        return fn(*args)
    except allowed:
        return None


@FUZZ
@given(data=st.binary(max_size=400), kind=st.sampled_from([None, *KINDS]))
def test_contracts_on_arbitrary_bytes(data: bytes, kind):
    path = _file(data)
    _only_own_errors(validate_file, path, kind, allowed=(ContractError,))
    _only_own_errors(lambda: list(read_jsonl(path)), allowed=(ContractError,))


@FUZZ
@given(lines=st.lists(raw_line, min_size=1, max_size=4), newline=st.booleans(), kind=st.sampled_from([None, *KINDS]))
def test_contracts_on_arbitrary_json_values(lines: list[bytes], newline: bool, kind):
    path = _file(b"\n".join(lines) + (b"\n" if newline else b""))
    result = _only_own_errors(validate_file, path, kind, allowed=(ContractError,))
    if result is not None:  # whatever passes really is a list of records of that kind
        found, records = result
        assert found in KINDS and records and all(isinstance(r, dict) for r in records)
    _only_own_errors(read_prompts, path)
    rows = _only_own_errors(lambda: read_own_output(path, check_generation_row, "a generation file"))
    if rows is not None:
        assert all(isinstance(r, dict) for r in rows[0])


@FUZZ
@given(rows=st.lists(record, min_size=1, max_size=3))
def test_prompt_rows_never_change_type_of_their_id(rows: list[dict]):
    """`id: true` was once written back as "True": an id is text or a whole number, or the row is refused."""
    path = _file("".join(json.dumps(r) + "\n" for r in rows).encode())
    prompts = _only_own_errors(read_prompts, path)
    for row, prompt in zip(rows, prompts or [], strict=False):
        assert isinstance(row["id"], (str, int)) and not isinstance(row["id"], bool)
        assert prompt.id == str(row["id"])


# Words the matcher knows, markers and punctuation: random text rarely reaches the interesting paths.
VOCAB = [
    *[
        "milk",
        "whey",
        "gelatin",
        "E120",
        "honey",
        "vegan",
        "not",
        "no",
        "free",
        "-free",
        "(",
        ")",
        ",",
        ".",
        ";",
        "/",
        "&",
        "?",
        "plant-based",
        "chicken",
        "leather",
        "sugar",
    ],
    *[
        "wine",
        "is",
        "it",
        "contains",
        "without",
        "lanolin",
        "laneth-10",
        "100%",
        "certified",
        "egg",
        "eggplant",
        "E-904",
        "unfined",
    ],
    *["E 471", "may contain", "traces of", "oat milk", "vegan leather", "bone char", "natural flavours", "\n"],
    *["beef tallow", "sodium tallowate"],
]
texts = st.text(max_size=300) | st.lists(st.sampled_from(VOCAB), max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_check_on_arbitrary_text(text: str):
    result = _only_own_errors(check, text, allowed=(TextError,))
    if result is None:
        assert not text.strip() or "\x00" in text  # only empty or binary text is refused
        return
    assert result.verdict in VERDICTS
    json.dumps(result.to_dict())  # the --json output never fails


yaml_tokens = st.lists(
    st.sampled_from(["a:", "b:", " ", "\n", "  ", "- ", "&x ", "*x", "&y ", "*y", "[", "]", "{", "}", ",", "<<: ",
                     "'", '"', "!!str ", "!!python/object ", "1", "yes", "~", "#", "---", "...", "? ", "|", ">"]),
    max_size=30,
).map("".join)  # fmt: skip


@FUZZ
@given(text=st.text(max_size=200) | yaml_tokens)
def test_yaml_loaders_on_arbitrary_text(text: str):
    _only_own_errors(load, text, "fuzz.yaml", allowed=(YamlError,))
    _only_own_errors(parse_spec, text, "fuzz.yaml", allowed=(SpecError,))
    path = WORKDIR / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _only_own_errors(read_yaml, path, allowed=(ConfigError,))


@pytest.mark.parametrize("depth", [3, 6, 9])
def test_alias_expansion_is_bounded_at_any_depth(depth: int):
    """Aliases that multiply: refused once they would add more than the bound, at any nesting."""
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, depth + 1)
    )
    expanded = sum(9 ** (i + 1) for i in range(depth + 1))
    if expanded < 100_000:
        assert isinstance(load(text, "ok.yaml"), dict)
    else:
        with pytest.raises(YamlError, match=r"ok\.yaml:\d+: aliases expand"):
            load(text, "ok.yaml")
    assert math.isfinite(expanded)
