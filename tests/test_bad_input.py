"""The bad-input corpus: what a new user types, wrong, and what veganalign must answer.

Every case runs the real command line (typer's CliRunner, in this process) on files made
for it in a fresh folder, and checks:

- the exit status (2 for every error a user can fix) and the message, as a pattern;
- one line: exactly one ``error:`` line, naming the file, line and field or the option
  (click's own usage errors, which print their usage panel, are marked ``usage``);
- no traceback;
- nothing changed: every file in the folder, inputs and existing outputs alike, is
  byte-for-byte what it was, and no file was added or removed;
- no model loaded: loading one raises here, so every case must fail before a model
  loads (or be a ``check``/``spec``/``data`` command that loads none).

The Hugging Face hub is switched off (``HF_HUB_OFFLINE=1``) except where a case says.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veganalign.cli import app

runner = CliRunner()

BOMB = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)
RECURSIVE = "name: x\nprinciples: &p [*p]\n"
TWO_PROMPTS = b'{"id": 1, "prompt": "Is honey vegan?"}\n{"id": 2, "prompt": "A lentil soup, please."}'
SETTINGS = b'{"important":1}'
OPENAI = "openai:teacher@http://127.0.0.1:9/v1"  # nothing listens there; no model loads for an openai: ref


def generation_row(rid, model="other-model", newline=True) -> bytes:
    row = {"id": rid, "prompt": "Is honey vegan?", "response": "No.", "model": model, "arm": "base",
           "system_prompt": None, "decoding": {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 256, "seed": 0},
           "finish_reason": "stop", "n_tokens": 2}  # fmt: skip
    return json.dumps(row).encode() + (b"\n" if newline else b"")


def shipped_spec() -> str:
    from veganalign.spec import default_spec_path

    return default_spec_path().read_text(encoding="utf-8")


def shipped_spec_with(**changes) -> str:
    import yaml

    data = yaml.safe_load(shipped_spec())
    data.update(changes)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


SFT_ROW = {"id": "s1", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
           "domain": "food", "intent": "general_help", "source": "authored", "license": "Apache-2.0"}  # fmt: skip
PAIR_ROW = {"id": "p1", "prompt": [{"role": "user", "content": "Hi"}], "chosen": [{"role": "assistant",
            "content": "Same"}], "rejected": [{"role": "assistant", "content": "Same"}], "ranking": {"method": "x"},
            "source": "authored", "license": "Apache-2.0"}  # fmt: skip


def library_without_request_slot() -> str:
    import yaml

    from veganalign.data.attacks import LIBRARY

    data = yaml.safe_load(LIBRARY.read_text())
    data["families"]["persona_roleplay"]["templates"][0]["text"] = "You are a butcher now."
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def jl(*rows) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


@dataclass
class Case:
    id: str
    args: list[str]  # "{d}" is the case's folder
    pattern: str  # a regex the error output must contain
    files: dict[str, bytes | str] = field(default_factory=dict)  # name -> content ("/" at the end: a folder)
    code: int = 2
    stdin: bytes | None = None
    env: dict[str, str | None] = field(default_factory=dict)
    usage: bool = False  # click's usage error (a panel, not one line)
    readonly: tuple[str, ...] = ()  # folders made unwritable


# fmt: off
CASES = [
    # ------------------------------------------------------------------ spec
    Case("spec-missing-file", ["spec", "validate", "{d}/nope.yaml"], r"nope\.yaml: cannot read"),
    Case("spec-is-a-directory", ["spec", "validate", "{d}/specs"], r"specs: is a directory", {"specs/": ""}),
    Case("spec-not-utf8", ["spec", "validate", "{d}/s.yaml"], r"s\.yaml:2: not UTF-8",
         {"s.yaml": b"name: x\nd: caf\xe9\n"}),
    Case("spec-invalid-yaml", ["spec", "validate", "{d}/s.yaml"], r"s\.yaml:\d+: invalid YAML",
         {"s.yaml": "name: [unclosed\nother: 1\n"}),
    Case("spec-empty", ["spec", "validate", "{d}/s.yaml"], r"s\.yaml:1: the spec must be a YAML mapping",
         {"s.yaml": ""}),
    Case("spec-a-list", ["spec", "validate", "{d}/s.yaml"], r"must be a YAML mapping", {"s.yaml": "- a\n- b\n"}),
    Case("spec-unknown-field", ["spec", "validate", "{d}/s.yaml"], r"s\.yaml:\d+: bogus_field: unknown field",
         {"s.yaml": lambda: shipped_spec() + "\nbogus_field: 1\n"}),
    Case("spec-duplicate-key", ["spec", "validate", "{d}/s.yaml"], r"s\.yaml:\d+: name: duplicate key",
         {"s.yaml": lambda: shipped_spec() + "\nname: again\n"}),
    Case("spec-alias-bomb", ["spec", "validate", "{d}/bomb.yaml"], r"bomb\.yaml:\d+: aliases expand",
         {"bomb.yaml": BOMB}),
    Case("spec-recursive-alias", ["spec", "hash", "{d}/r.yaml"], r"r\.yaml:2: .*recursive alias",
         {"r.yaml": RECURSIVE}),
    Case("spec-too-large", ["spec", "validate", "{d}/big.yaml"], r"big\.yaml: too large",
         {"big.yaml": b"#" * 10_000_001}),
    Case("spec-nested-too-deep", ["spec", "validate", "{d}/deep.yaml"], r"deep\.yaml:1: invalid YAML",
         {"deep.yaml": "[" * 5000}),
    Case("spec-wrong-type", ["spec", "validate", "{d}/s.yaml"], r"s\.yaml:\d+: principles: ",
         {"s.yaml": lambda: shipped_spec_with(principles="not a list")}),
    Case("spec-render-bad-kind", ["spec", "render", "--as", "poem"], r"--as 'poem': choose one of"),
    Case("spec-render-out-directory", ["spec", "render", "--out", "{d}/out"], r"--out .*out: is a directory",
         {"out/": ""}),
    Case("spec-render-out-is-the-spec", ["spec", "render", "{d}/s.yaml", "--out", "{d}/s.yaml"],
         r"--out .*s\.yaml: is the input file", {"s.yaml": lambda: shipped_spec()}),
    Case("spec-render-out-read-only", ["spec", "render", "--out", "{d}/ro/prompt.txt"], r"cannot write in .*ro",
         {"ro/": ""}, readonly=("ro",)),
    Case("data-build-bad-spec", ["data", "build", "--spec", "{d}/bomb.yaml", "--out", "{d}/data"],
         r"bomb\.yaml:\d+: aliases expand", {"bomb.yaml": BOMB}),
    Case("generate-bad-spec", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl", "--system-prompt",
                               "spec", "--spec", "{d}/r.yaml"], r"r\.yaml:2: .*recursive alias",
         {"p.jsonl": TWO_PROMPTS, "r.yaml": RECURSIVE}),
    # ------------------------------------------------------------------ knowledge: check
    Case("check-empty-text", ["check", "  "], r"nothing to check: the text is empty"),
    Case("check-nothing", ["check"], r"nothing to check"),
    Case("check-text-and-file", ["check", "milk", "--file", "{d}/t.txt"], r"not both", {"t.txt": "whey"}),
    Case("check-missing-file", ["check", "--file", "{d}/nope.txt"], r"cannot read .*nope\.txt"),
    Case("check-binary-file", ["check", "--file", "{d}/x.png"], r"x\.png: looks like a binary file",
         {"x.png": b"\x89PNG\r\n\x1a\n\x00\x00"}),
    Case("check-latin1-file", ["check", "--file", "{d}/l.txt"], r"l\.txt:2: not UTF-8",
         {"l.txt": "sugar\ncr\xe8me fra\xeeche".encode("latin-1")}),
    Case("check-empty-file", ["check", "--file", "{d}/e.txt"], r"e\.txt: nothing to check", {"e.txt": "\n \n"}),
    Case("check-file-too-large", ["check", "--file", "{d}/big.txt"], r"big\.txt: too large",
         {"big.txt": b"water, " * 160_000 + b"gelatin"}),
    Case("check-stdin-too-large", ["check", "-f", "-"], r"<stdin>: too large",
         stdin=b"water, " * 160_000 + b"gelatin"),
    Case("check-stdin-latin1", ["check", "-f", "-"], r"<stdin>:1: not UTF-8", stdin="cr\xe8me".encode("latin-1")),
    Case("check-stdin-empty", ["check", "-f", "-"], r"<stdin>: nothing to check", stdin=b""),
    Case("check-text-too-large", ["check", "water, " * 150_000], r"too large to be one text"),
    Case("check-lines-with-text", ["check", "milk", "--lines", "{d}/t.txt"], r"give --lines alone", {"t.txt": "x"}),
    Case("check-lines-missing", ["check", "--lines", "{d}/nope.txt"], r"cannot read .*nope\.txt"),
    Case("check-lines-bad-line", ["check", "--lines", "{d}/t.txt"], r"t\.txt:2: not UTF-8",
         {"t.txt": b"milk\ncr\xe8me\nsoy\n"}),
    # ------------------------------------------------------------------ data contracts
    Case("validate-missing", ["data", "validate", "{d}/nope.jsonl"], r"nope\.jsonl: file not found"),
    Case("validate-directory", ["data", "validate", "{d}/dir"], r"dir: is a directory", {"dir/": ""}),
    Case("validate-invalid-json", ["data", "validate", "{d}/s.jsonl"], r"s\.jsonl:2: invalid JSON",
         {"s.jsonl": jl(SFT_ROW) + b'{"id": "s2", "messages": [\n'}),
    Case("validate-not-an-object", ["data", "validate", "{d}/s.jsonl"], r"s\.jsonl:1: each line must be a JSON object",
         {"s.jsonl": b"[1, 2]\n"}),
    Case("validate-bool-id", ["data", "validate", "{d}/s.jsonl"],
         r"s\.jsonl:1: field 'id': must be str or int, got bool",
         {"s.jsonl": jl({**SFT_ROW, "id": True})}),
    Case("validate-duplicate-id", ["data", "validate", "{d}/s.jsonl"], r"s\.jsonl:2: field 'id': duplicate id",
         {"s.jsonl": jl(SFT_ROW, SFT_ROW)}),
    Case("validate-missing-field", ["data", "validate", "{d}/s.jsonl", "--kind", "sft"],
         r"s\.jsonl:1: field 'license': missing",
         {"s.jsonl": jl({k: v for k, v in SFT_ROW.items() if k != "license"})}),
    Case("validate-bad-role", ["data", "validate", "{d}/s.jsonl"], r"s\.jsonl:1: field 'messages\[1\]\.role'",
         {"s.jsonl": jl({**SFT_ROW, "messages": [{"role": "user", "content": "Hi"},
                                                 {"role": "robot", "content": "x"}]})}),
    Case("validate-identical-pair", ["data", "validate", "{d}/p.jsonl"], r"p\.jsonl:1: field 'rejected': identical",
         {"p.jsonl": jl(PAIR_ROW)}),
    Case("validate-not-a-contract-file", ["data", "validate", "{d}/nn.jsonl"], r"nn\.jsonl:1: not a data-contract file",
         {"nn.jsonl": jl({"id": "a", "nearest": "b", "overlap_8gram": 0.1})}),
    Case("validate-nested-too-deep", ["data", "validate", "{d}/d.jsonl"], r"d\.jsonl:1: invalid JSON \(nested",
         {"d.jsonl": b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"}),
    Case("validate-huge-integer", ["data", "validate", "{d}/h.jsonl"], r"h\.jsonl:1: invalid JSON",
         {"h.jsonl": b'{"id": ' + b"9" * 5000 + b', "prompt": "x"}\n'}),
    Case("validate-empty-file", ["data", "validate", "{d}/e.jsonl"], r"e\.jsonl: no records", {"e.jsonl": b"\n\n"}),
    Case("validate-not-utf8", ["data", "validate", "{d}/l.jsonl"], r"l\.jsonl:1: not UTF-8",
         {"l.jsonl": b'{"id": "caf\xe9"}\n'}),
    Case("validate-bad-kind", ["data", "validate", "{d}/s.jsonl", "--kind", "poem"], r"--kind 'poem': choose one of",
         {"s.jsonl": jl(SFT_ROW)}),
    Case("validate-good-and-bad", ["data", "validate", "{d}/good.jsonl", "{d}/bad.jsonl"],
         r"bad\.jsonl:1: each line must be a JSON object", {"good.jsonl": jl(SFT_ROW), "bad.jsonl": b"3\n"}),
    Case("stats-directory", ["data", "stats", "{d}/dir"], r"dir: is a directory", {"dir/": ""}),
    Case("export-out-is-input", ["data", "export", "{d}/s.jsonl", "--out", "{d}/s.jsonl"], r"is the input file",
         {"s.jsonl": jl(SFT_ROW)}),
    Case("export-out-directory", ["data", "export", "{d}/s.jsonl", "--out", "{d}/dir"], r"dir: is a directory",
         {"s.jsonl": jl(SFT_ROW), "dir/": ""}),
    Case("import-out-is-input", ["data", "import", "{d}/in.csv", "--out", "{d}/in.csv", "--name", "x",
                                 "--license", "MIT"], r"--out .*in\.csv: is the input file",
         {"in.csv": "prompt,category\nhi,qa\n"}),
    Case("import-bad-row", ["data", "import", "{d}/rows.jsonl", "--out", "{d}/o.jsonl", "--name", "x", "--license",
                            "MIT", "--kind", "eval"], r"rows\.jsonl:1: field 'category': missing",
         {"rows.jsonl": jl({"id": 1, "prompt": "hi"})}),
    Case("import-csv-not-utf8", ["data", "import", "{d}/in.csv", "--out", "{d}/o.jsonl", "--name", "x",
                                 "--license", "MIT"], r"in\.csv: not UTF-8", {"in.csv": b"prompt\ncr\xe8me\n"}),
    Case("import-bad-map", ["data", "import", "{d}/in.csv", "--out", "{d}/o.jsonl", "--name", "x", "--license", "MIT",
                            "--map", "text"], r"--map 'text': write SRC=DST", {"in.csv": "prompt\nhi\n"}),
    Case("import-rankings-bad-ranking", ["data", "import-rankings", "{d}/r.jsonl", "--out", "{d}/o.jsonl"],
         r"r\.jsonl:1: field 'ranking'", {"r.jsonl": jl({"id": 1, "prompt": "p", "responses": ["a", "b"],
                                                        "ranking": 7, "annotator": "ann"})}),
    Case("annotate-export-bad-task", ["annotate", "export", "--task", "grade", "--from", "{d}/s.jsonl", "--out",
                                      "{d}/p"], r"--task 'grade': choose rank or review", {"s.jsonl": "{}\n"}),
    Case("annotate-export-one-answer", ["annotate", "export", "--task", "rank", "--from", "{d}/r.jsonl", "--out",
                                        "{d}/p"], r"r\.jsonl:1: field 'responses': 1 different answers",
         {"r.jsonl": jl({"id": 1, "prompt": "p", "responses": ["a", "a "]})}),
    Case("annotate-import-not-json", ["annotate", "import", "{d}/e.json", "--out", "{d}/o"],
         r"e\.json: not a Label Studio JSON export", {"e.json": "[{"}),
    Case("annotate-pull-never-pushed", ["annotate", "pull", "{d}/p", "--token", "t"],
         r"never pushed \(run `veganalign annotate push` first\)", {"p/project.json": '{"project": "x"}'}),
    Case("build-out-is-a-file", ["data", "build", "--out", "{d}/afile"], r"--out .*afile: is a file, not a directory",
         {"afile": b"keep me"}),
    Case("synth-out-is-prompts", ["data", "synth", "--teacher", OPENAI, "--prompts", "{d}/p.jsonl", "--out",
                                  "{d}/p.jsonl", "--teacher-license", "x"], r"is the input file",
         {"p.jsonl": jl({"id": 1, "prompt": "hi", "category": "qa"})}),
    Case("synth-out-foreign", ["data", "synth", "--teacher", OPENAI, "--prompts", "{d}/p.jsonl", "--out",
                               "{d}/settings.json", "--teacher-license", "x"],
         r"settings\.json:1: not an output of veganalign data synth",
         {"p.jsonl": jl({"id": 1, "prompt": "hi", "category": "qa"}), "settings.json": SETTINGS}),
    Case("base-answers-out-foreign", ["data", "base-answers", "--out", "{d}/settings.json"],
         r"settings\.json:1: not an output of veganalign generate", {"settings.json": SETTINGS}),
    # ------------------------------------------------------------------ prompts (generate --prompts)
    Case("prompts-missing", ["generate", "--prompts", "{d}/nope.jsonl", "--out", "{d}/o.jsonl"],
         r"nope\.jsonl: file not found"),
    Case("prompts-directory", ["generate", "--prompts", "{d}/dir", "--out", "{d}/o.jsonl"], r"dir: is a directory",
         {"dir/": ""}),
    Case("prompts-invalid-json", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"],
         r"p\.jsonl:2: invalid JSON", {"p.jsonl": b'{"id": 1, "prompt": "hi"}\n{"id": 2, "prompt": }\n'}),
    Case("prompts-bool-id", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"],
         r"p\.jsonl:1: field 'id': must be str or int, got bool", {"p.jsonl": b'{"id": true, "prompt": "hi"}\n'}),
    Case("prompts-no-prompt", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"],
         r"p\.jsonl:1: field 'prompt'", {"p.jsonl": b'{"id": 1, "promt": "typo"}\n'}),
    Case("prompts-duplicate-id", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"],
         r"p\.jsonl:2: field 'id': duplicate id",
         {"p.jsonl": b'{"id": 1, "prompt": "a"}\n{"id": "1", "prompt": "b"}\n'}),
    Case("prompts-empty", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"], r"p\.jsonl: no prompts",
         {"p.jsonl": b"\n"}),
    Case("prompts-ends-with-assistant", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"],
         r"p\.jsonl:1: field 'messages': the last message",
         {"p.jsonl": jl({"id": 1, "messages": SFT_ROW["messages"]})}),
    Case("prompts-not-utf8", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"], r"p\.jsonl:1: not UTF-8",
         {"p.jsonl": b'{"id": 1, "prompt": "cr\xe8me"}\n'}),
    # ------------------------------------------------------------------ output paths (generate --out)
    Case("out-foreign-json", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/settings.json",
                              "--max-new-tokens", "8"], r"settings\.json:1: not an output of veganalign generate",
         {"p.jsonl": TWO_PROMPTS, "settings.json": SETTINGS}),
    Case("out-foreign-overwrite", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/settings.json",
                                   "--overwrite"], r"settings\.json:1: not an output of veganalign generate",
         {"p.jsonl": TWO_PROMPTS, "settings.json": SETTINGS}),
    Case("out-is-prompts", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/p.jsonl"],
         r"--out .*p\.jsonl: is the input file", {"p.jsonl": TWO_PROMPTS}),
    Case("out-is-prompts-by-another-name", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/sub/../p.jsonl"],
         r"is the input file", {"p.jsonl": TWO_PROMPTS, "sub/": ""}),
    Case("out-directory", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/dir"], r"--out .*dir: is a directory",
         {"p.jsonl": TWO_PROMPTS, "dir/": ""}),
    Case("out-json-array", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/a.json"],
         r"a\.json:1: not an output of veganalign generate: each line must be a JSON object",
         {"p.jsonl": TWO_PROMPTS, "a.json": b"[1, 2, 3]\n"}),
    Case("out-not-utf8", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/l.txt"], r"l\.txt:1: .*not UTF-8",
         {"p.jsonl": TWO_PROMPTS, "l.txt": "cr\xe8me\n".encode("latin-1")}),
    Case("out-plain-text-no-newline", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/notes.txt"],
         r"notes\.txt:1: not an output of veganalign generate: its last line is no JSON record",
         {"p.jsonl": TWO_PROMPTS, "notes.txt": b"my notes, not saved anywhere else"}),
    Case("out-other-settings-torn", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/g.jsonl"],
         r"g\.jsonl holds rows made with other settings",
         {"p.jsonl": TWO_PROMPTS, "g.jsonl": generation_row(1) + generation_row(2, newline=False)}),
    Case("out-read-only-folder", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/ro/o.jsonl"],
         r"--out .*o\.jsonl: cannot write in .*ro", {"p.jsonl": TWO_PROMPTS, "ro/": ""}, readonly=("ro",)),
    Case("out-parent-is-a-file", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/afile/o.jsonl"],
         r"afile is not a directory", {"p.jsonl": TWO_PROMPTS, "afile": b"x"}),
    # ------------------------------------------------------------------ model refs
    Case("ref-not-a-ref", ["generate", "--model", "not a model", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"],
         r"not a model reference", {"p.jsonl": TWO_PROMPTS}),
    Case("ref-no-such-directory", ["generate", "--model", "./no/such/model", "--prompts", "{d}/p.jsonl", "--out",
                                   "{d}/o.jsonl"], r"no such directory", {"p.jsonl": TWO_PROMPTS}),
    Case("ref-openai-without-url", ["generate", "--model", "openai:gpt-4o", "--prompts", "{d}/p.jsonl", "--out",
                                    "{d}/o.jsonl"], r"openai:MODEL@BASE_URL", {"p.jsonl": TWO_PROMPTS}),
    Case("ref-openai-bad-scheme", ["generate", "--model", "openai:m@ftp://host", "--prompts", "{d}/p.jsonl", "--out",
                                   "{d}/o.jsonl"], r"must start with http", {"p.jsonl": TWO_PROMPTS}),
    Case("ref-hub-offline", ["generate", "--model", "foo/bar", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl"],
         r"--model 'foo/bar': not a local model directory .*HF_HUB_OFFLINE", {"p.jsonl": TWO_PROMPTS}),
    Case("ref-hub-unreachable-or-unknown", ["generate", "--model", "veganalign-no-such-org/no-such-model", "--prompts",
                                            "{d}/p.jsonl", "--out", "{d}/o.jsonl"],
         r"--model 'veganalign-no-such-org/no-such-model': .*(cannot be reached|no such model|gated)",
         {"p.jsonl": TWO_PROMPTS}, env={"HF_HUB_OFFLINE": None}),
    Case("ref-chat-hub-offline", ["chat", "--model", "foo/bar"], r"--model 'foo/bar': not a local model",
         stdin=b"hi\n"),
    Case("ref-a-plain-file", ["generate", "--model", "{d}/weights.bin", "--prompts", "{d}/p.jsonl", "--out",
                              "{d}/o.jsonl"], r"is a file, not a model directory",
         {"p.jsonl": TWO_PROMPTS, "weights.bin": b"\x00"}),
    Case("ref-empty-directory", ["generate", "--model", "{d}/empty", "--prompts", "{d}/p.jsonl", "--out",
                                 "{d}/o.jsonl"], r"holds no model", {"p.jsonl": TWO_PROMPTS, "empty/": ""}),
    Case("ref-broken-adapter-manifest", ["generate", "--model", "{d}/adapter", "--prompts", "{d}/p.jsonl", "--out",
                                         "{d}/o.jsonl"], r"veganalign_adapter\.json: unreadable adapter manifest",
         {"p.jsonl": TWO_PROMPTS, "adapter/adapter_config.json": b"{}",
          "adapter/veganalign_adapter.json": b'{"base_model": 42}'}),
    Case("ref-adapter-without-base", ["generate", "--model", "{d}/adapter", "--prompts", "{d}/p.jsonl", "--out",
                                      "{d}/o.jsonl"], r"adapter_config\.json: the adapter names no base model",
         {"p.jsonl": TWO_PROMPTS, "adapter/adapter_config.json": b'{"r": 8}'}),
    Case("ref-lora-not-an-adapter", ["generate", "--model", "smollm2+lora:{d}/nothing", "--prompts", "{d}/p.jsonl",
                                     "--out", "{d}/o.jsonl"], r"is not a LoRA adapter directory",
         {"p.jsonl": TWO_PROMPTS}),
    Case("ref-export-openai", ["export", "--model", OPENAI, "--out", "{d}/merged"], r"no weights to export"),
    Case("chat-latin1-stdin", ["chat", "--model", OPENAI, "--system-prompt", "none"], r"<stdin>:1: not UTF-8",
         stdin="cr\xe8me br\xfbl\xe9e?\n".encode("latin-1")),
    # ------------------------------------------------------------------ CLI options
    Case("opt-max-new-tokens-zero", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl",
                                     "--max-new-tokens", "0"], r"max-new-tokens", {"p.jsonl": TWO_PROMPTS}, usage=True),
    Case("opt-temperature-too-high", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl",
                                      "--temperature", "5"], r"temperature", {"p.jsonl": TWO_PROMPTS}, usage=True),
    Case("opt-system-prompt-missing-file", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl",
                                            "--system-prompt", "@{d}/nope.txt"],
         r"--system-prompt @.*nope\.txt: cannot read",
         {"p.jsonl": TWO_PROMPTS}),
    Case("opt-system-prompt-blank", ["generate", "--prompts", "{d}/p.jsonl", "--out", "{d}/o.jsonl",
                                     "--system-prompt", "   "], r"--system-prompt: empty text",
         {"p.jsonl": TWO_PROMPTS}),
    Case("opt-run-profile", ["run", "--profile", "fastest", "--out", "{d}/run"], r"--profile 'fastest': choose one of"),
    Case("opt-train-learning-rate", ["train", "sft", "--learning-rate", "fast"], r"learning-rate", usage=True),
    Case("opt-unknown-option", ["data", "build", "--outt", "{d}/x"], r"No such option", usage=True),
    # ------------------------------------------------------------------ red-teaming and rounds
    Case("redteam-library-invalid-yaml", ["redteam", "--library", "{d}/a.yaml", "--out", "{d}/o"],
         r"a\.yaml:\d+: invalid YAML", {"a.yaml": "families: [unclosed\n"}),
    Case("redteam-library-template-without-slot", ["redteam", "--library", "{d}/a.yaml", "--out", "{d}/o"],
         r"a\.yaml: families\.persona_roleplay\.\w+-\d+: the text must hold \{request\}",
         {"a.yaml": lambda: library_without_request_slot()}),
    Case("redteam-unknown-family", ["redteam", "--families", "flattery", "--out", "{d}/o"],
         r"--families: no family flattery"),
    Case("redteam-bad-split", ["redteam", "--split", "test", "--out", "{d}/o"], r"--split 'test'"),
    Case("redteam-bad-model-ref", ["redteam", "--model", "{d}/nope", "--out", "{d}/o"], r"nope.*no such directory"),
    Case("iterate-no-run", ["iterate", "--run", "{d}/nope"], r"--run .*nope: no such run directory"),
    Case("iterate-run-without-a-model", ["iterate", "--run", "{d}/r"], r"r: no trained stage", {"r/": ""}),
    Case("iterate-unknown-correction", ["iterate", "--run", "{d}/r", "--correction", "teach"],
         r"--correction .teach.: choose one of swap, redirection", {"r/": ""}),
    Case("run-negative-rounds", ["run", "--rounds", "-1"], r"--rounds.*greater than or equal to 0", usage=True),
    # ------------------------------------------------------------------ configs (loading only)
    Case("config-train-missing", ["train", "sft", "--config", "{d}/nope.yaml"], r"nope\.yaml: cannot read"),
    Case("config-train-alias-bomb", ["train", "sft", "--config", "{d}/bomb.yaml"], r"bomb\.yaml:\d+: aliases expand",
         {"bomb.yaml": BOMB}),
    Case("config-train-recursive-alias", ["train", "rl", "--config", "{d}/r.yaml"], r"r\.yaml:2: .*recursive alias",
         {"r.yaml": RECURSIVE}),
    Case("config-train-unknown-key", ["train", "sft", "--config", "{d}/c.yaml"], r"c\.yaml: learning_rat: unknown key",
         {"c.yaml": "learning_rat: 1.0e-4\n"}),
    Case("config-train-wrong-type", ["train", "dpo", "--config", "{d}/c.yaml"], r"c\.yaml: beta: ",
         {"c.yaml": "beta: strong\n"}),
    Case("config-train-a-list", ["train", "reward", "--config", "{d}/c.yaml"], r"c\.yaml: a config must be a mapping",
         {"c.yaml": "- a\n"}),
    Case("config-train-invalid-yaml", ["train", "dpo", "--config", "{d}/c.yaml"], r"c\.yaml:\d+: invalid YAML",
         {"c.yaml": "beta: [0.1\n"}),
    Case("config-train-too-large", ["train", "reward", "--config", "{d}/big.yaml"], r"big\.yaml: too large",
         {"big.yaml": b"#" * 10_000_001}),
    Case("config-run-alias-bomb", ["run", "--config", "{d}/bomb.yaml"], r"bomb\.yaml:\d+: aliases expand",
         {"bomb.yaml": BOMB}),
    Case("config-run-unknown-key", ["run", "--config", "{d}/run.yaml"], r"run\.yaml: sedd: unknown key",
         {"run.yaml": "profile: quick\nsedd: 3\n"}),
    Case("config-run-missing-recipe", ["run", "--config", "{d}/run.yaml"], r"no-such-recipe\.yaml: cannot read",
         {"run.yaml": "profile: quick\nsft:\n  config: no-such-recipe.yaml\n"}),
    Case("config-run-not-utf8", ["run", "--config", "{d}/run.yaml"], r"run\.yaml:2: not UTF-8",
         {"run.yaml": b"profile: quick\nspec: caf\xe9.yaml\n"}),
    Case("config-run-bad-profile", ["run", "--config", "{d}/run.yaml"], r"--profile 'fastest': choose one of",
         {"run.yaml": "profile: fastest\n"}),
    Case("config-serve-alias-bomb", ["serve", "--config", "{d}/bomb.yaml"], r"bomb\.yaml:\d+: aliases expand",
         {"bomb.yaml": BOMB}),
    Case("config-serve-unknown-key", ["serve", "--config", "{d}/s.yaml"], r"s\.yaml: prot: unknown key",
         {"s.yaml": "prot: 8000\n"}),
    Case("config-serve-bad-model", ["serve", "--config", "{d}/s.yaml"], r"not a model reference",
         {"s.yaml": "model: not a model\nno_auth: true\n"}),
    Case("config-serve-unknown-finding", ["serve", "--config", "{d}/s.yaml"],
         r"s\.yaml: rail_actions: .*unknown finding 'recomends_animal_product'",
         {"s.yaml": "rail_actions:\n  recomends_animal_product: flag\n"}),
    Case("config-serve-option-not-a-retry", ["serve", "--config", "{d}/s.yaml"],
         r"s\.yaml: rail_actions: .*lacks_vegan_option takes flag or annotate, not 'regenerate'",
         {"s.yaml": "rail_actions:\n  lacks_vegan_option: regenerate\n"}),
]
# fmt: on


def _make(folder: Path, files: dict) -> None:
    for name, content in files.items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        content = content() if callable(content) else content
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None), by path relative to ``folder``."""
    return {str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes()) for p in sorted(folder.rglob("*"))}


@pytest.fixture(autouse=True)
def no_model_loads(monkeypatch):
    """Loading any model fails the case: every one must be refused before that."""
    import veganalign.models
    import veganalign.models.embedded as embedded
    import veganalign.models.generation as generation

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded: the bad input was not refused first")

    def weights_then_refuse(ref, *args, **kwargs):
        generation.weights_dir(ref)  # the model-ref checks (a Hugging Face id, offline) still run
        refuse()

    monkeypatch.setattr(embedded, "embedded_model_dir", refuse)
    monkeypatch.setattr(embedded, "materialise_gguf", refuse)
    monkeypatch.setattr(generation, "load_local_model", weights_then_refuse)
    monkeypatch.setattr(generation, "load_merged", refuse)
    # The package re-exports the loaders; stages import them from there inside functions.
    monkeypatch.setattr(veganalign.models, "load_merged", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _unwritable(monkeypatch, folder: Path) -> None:
    """``folder`` cannot be written: by its mode, and (as root, which modes do not stop) for our probe too."""
    folder.chmod(0o555)
    if os.geteuid() == 0:
        real = tempfile.mkstemp

        def mkstemp(*args, **kwargs):
            if Path(kwargs.get("dir") or "") == folder:
                raise PermissionError(13, "Permission denied", str(folder))
            return real(*args, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_the_corpus_is_large_and_wide():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    commands = {c.args[0] for c in CASES}
    assert {"spec", "check", "data", "generate", "chat", "train", "run", "serve", "export"} <= commands


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_cleanly_and_changes_nothing(case: Case, tmp_path: Path, monkeypatch):
    folder = tmp_path / "case"
    folder.mkdir()
    _make(folder, case.files)
    for name in case.readonly:
        _unwritable(monkeypatch, folder / name)
    before = _snapshot(folder)
    args = [a.replace("{d}", str(folder)) for a in case.args]
    try:
        result = runner.invoke(app, args, input=case.stdin, env=case.env)
    finally:
        for name in case.readonly:
            (folder / name).chmod(0o755)
    shown = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{shown}"
    )
    assert "Traceback" not in shown
    assert result.exit_code == case.code, shown
    assert re.search(case.pattern, result.stderr), f"expected /{case.pattern}/ in:\n{result.stderr}"
    if not case.usage:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
        assert len(errors) == 1, result.stderr
        assert re.search(case.pattern, errors[0]), f"the error line itself must say it: {errors[0]}"
    assert _snapshot(folder) == before, "an input or an existing output was changed (or a file left behind)"


def test_the_alias_bomb_is_refused_fast_and_small(tmp_path: Path):
    """Reproduction 3: `spec validate` on an alias bomb answered with one line, in seconds, in little memory."""
    import resource
    import subprocess
    import sys
    import time

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)

    def limit_memory() -> None:  # the blow-up was 2.2 GB: 1.5 GB of address space is plenty for an answer
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))

    started = time.monotonic()
    command = [sys.executable, "-m", "veganalign", "spec", "validate", str(bomb)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, preexec_fn=limit_memory, env=env)
    assert proc.returncode == 2, proc.stderr
    assert re.fullmatch(r"error: invalid spec: .*bomb\.yaml:\d+: aliases expand .*\n", proc.stderr), proc.stderr
    assert time.monotonic() - started < 60
