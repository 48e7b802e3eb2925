"""``veganalign data ...``: build, validate, inspect, import and export the data sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from veganalign.console import err, error, fail, out, user_errors

app = typer.Typer(help="Prompt bank, SFT examples, preference pairs and eval sets.", no_args_is_help=True)
KINDS_HELP = "prompt | sft | pair | eval | generation (default: detected from the first record)"
SpecOption = Annotated[
    Path | None,
    typer.Option("--spec", help="Spec YAML: its rule ids, tone phrases and system prompt (default: the shipped one)."),
]


def _user_errors() -> tuple[type[BaseException], ...]:
    return (*user_errors(), ValueError, OSError)


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("name")
    table.add_column("count", justify="right")
    for k, v in counts.items():
        table.add_row(str(k), str(v))
    return table


@app.command("build")
def build(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("runs/data"),
    seed: Annotated[int, typer.Option(help="Seed for template expansion and sampling.")] = 0,
    base_answers: Annotated[
        Path | None, typer.Option(help="Base-model answers (generation JSONL) for on-policy rejected responses.")
    ] = None,
    spec: SpecOption = None,
    keep_unknown_principles: Annotated[
        bool, typer.Option(help="Keep authored data tagged with rule ids the spec lacks (default: drop, reported).")
    ] = False,
) -> None:
    """Build the default data set from the shipped sources (deterministic for a seed)."""
    from veganalign.data.build import build_dataset
    from veganalign.jsonl import check_output_dir

    try:
        check_output_dir(out_dir, "--out")  # before the build: a file there, or a folder that cannot be written
        with err.status("building the data set..."):
            summary = build_dataset(out_dir, seed=seed, base_answers_path=base_answers, spec_path=spec,
                                    keep_unknown_principles=keep_unknown_principles)  # fmt: skip
    except _user_errors() as exc:
        fail(str(exc))
    p = summary["principles"]
    if p["unknown_ids"]:
        err.print(f"[yellow]rule ids the spec lacks: {', '.join(p['unknown_ids'])}; dropped {p['dropped']}, kept "
                  f"{p['kept_with_unknown']} (listed in {out_dir}/unknown_principles.json)[/yellow]")  # fmt: skip
    out.print(_counts_table(f"files in {out_dir}", summary["files"]))
    for key in ("domain", "intent", "source"):
        out.print(_counts_table(f"prompt bank by {key}", summary["prompt_bank"].get(key, {})))
    out.print(_counts_table("SFT examples by domain", summary["sft"].get("domain", {})))
    out.print(_counts_table("pairs by rejected kind", summary["pairs"]["rejected_kind"]))
    c = summary["contamination"]
    out.print(
        f"contamination: found {c['found']['exact']} exact / {c['found']['near']} near; removed {c['removed']}; "
        f"remaining {c['remaining']['exact']} exact / {c['remaining']['near']} near (see {out_dir}/contamination.md)"
    )
    v = summary["sft_variety"]
    out.print(
        f"SFT variety: distinct-4-gram ratio {v['distinct_4gram_ratio']}, max 8-gram overlap with nearest neighbour "
        f"{v['max_overlap_8gram']}, mean {v['mean_response_words']} words"
    )


@app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="JSONL files to check.")],
    kind: Annotated[str | None, typer.Option(help=KINDS_HELP)] = None,
) -> None:
    """Check files against their data contract; errors name the file, line and field.

    Every file is checked, a bad one does not stop the rest; the exit code is 2 if any failed.
    """
    from veganalign.data.contracts import KINDS, validate_file

    if kind is not None and kind not in KINDS:
        fail(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    failed = 0
    for path in files:
        try:
            detected, records = validate_file(path, kind)  # type: ignore[arg-type]
        except _user_errors() as exc:
            error(str(exc))
            failed += 1
            continue
        out.print(f"[green]ok[/green] {path}: {len(records)} {detected} records")
    if failed:
        err.print(f"{failed} of {len(files)} files failed")
        raise typer.Exit(2)


@app.command("stats")
def stats(
    file: Annotated[Path, typer.Argument(help="A JSONL data file.")],
    kind: Annotated[str | None, typer.Option(help=KINDS_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts per domain, intent, principle and source; variety measures for responses."""
    from veganalign.data.contracts import validate_file
    from veganalign.data.stats import counts, variety

    try:
        detected, records = validate_file(file, kind)  # type: ignore[arg-type]
    except _user_errors() as exc:
        fail(str(exc))
    result = {"file": str(file), "kind": detected, "records": len(records), **counts(records)}
    if detected in ("sft", "pair", "generation"):
        v = variety(records)
        result["variety"] = {
            **{k: v[k] for k in v if k != "nearest_neighbours"},
            "closest": v["nearest_neighbours"][:5],
        }
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    out.print(f"{file}: {len(records)} {detected} records")
    for key in ("domain", "intent", "principle", "source", "category"):
        if key in result:
            out.print(_counts_table(f"by {key}", result[key]))
    if "variety" in result:
        v = result["variety"]
        out.print(
            f"distinct-4-gram ratio {v['distinct_4gram_ratio']}; max 8-gram overlap {v['max_overlap_8gram']}; "
            f"mean {v['mean_response_words']} words"
        )


@app.command("export")
def export_cmd(
    file: Annotated[Path, typer.Argument(help="A JSONL data file (SFT, pairs or prompts).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL file or datasets directory.")],
    to: Annotated[str, typer.Option(help="jsonl | hf (a datasets directory for load_from_disk)")] = "jsonl",
    all_columns: Annotated[bool, typer.Option(help="Keep provenance columns, not just TRL's.")] = False,
) -> None:
    """Export in the TRL conversational formats, as JSONL or a Hugging Face datasets directory."""
    from veganalign.data.contracts import validate_file
    from veganalign.data.io import export
    from veganalign.jsonl import check_output_path

    try:
        if to == "jsonl":  # an hf export is a directory that datasets writes
            check_output_path(out_path, "--out", inputs=[file])
        elif Path(out_path).resolve() == Path(file).resolve():
            fail(f"--out {out_path}: is the input file; write the export elsewhere")
        kind, records = validate_file(file)
        n = export(records, kind, out_path, to, trl_only=not all_columns)
    except _user_errors() as exc:
        fail(str(exc))
    out.print(f"wrote {n} {kind} records to {out_path} ({to})")


@app.command("import")
def import_cmd(
    src: Annotated[str, typer.Argument(help="JSONL or CSV file, a datasets directory, or a hub id.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL.")],
    name: Annotated[str, typer.Option(help="Data set name, recorded as source import:NAME.")],
    license: Annotated[str, typer.Option(help="The source's licence, kept on every row.")],
    kind: Annotated[str | None, typer.Option(help="Check rows against this contract: " + KINDS_HELP)] = None,
    mapping: Annotated[list[str], typer.Option("--map", help="Rename a column: SRC=DST (repeatable).")] = [],  # noqa: B006
) -> None:
    """Import a data set you bring, keeping its provenance and licence."""
    from veganalign.data.contracts import KINDS
    from veganalign.data.io import import_rows
    from veganalign.jsonl import check_output_path

    if kind is not None and kind not in KINDS:
        fail(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    try:
        check_output_path(out_path, "--out", inputs=[src] if Path(src).exists() else [])
    except _user_errors() as exc:
        fail(str(exc))
    pairs = {}
    for m in mapping:
        if "=" not in m:
            fail(f"--map {m!r}: write SRC=DST")
        a, b = m.split("=", 1)
        pairs[a] = b
    try:
        n = import_rows(src, out_path, name=name, license=license, kind=kind, mapping=pairs)  # type: ignore[arg-type]
    except _user_errors() as exc:
        fail(str(exc))
    out.print(f"imported {n} rows from {src} to {out_path}")


@app.command("import-rankings")
def import_rankings_cmd(
    file: Annotated[Path, typer.Argument(help="Human rankings: JSONL (responses + ranking) or CSV (chosen/rejected).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output pairs JSONL.")],
    license: Annotated[str, typer.Option(help="Licence of the rankings.")] = "Apache-2.0",
) -> None:
    """Turn human rankings (with annotator ids) into preference pairs."""
    from veganalign.data.contracts import check_pair
    from veganalign.data.pairs import import_rankings
    from veganalign.jsonl import check_output_path, write_jsonl_atomic

    try:
        check_output_path(out_path, "--out", inputs=[file])
        pairs = import_rankings(file, license)
        for p in pairs:
            check_pair(p)
        write_jsonl_atomic(out_path, pairs)
    except _user_errors() as exc:
        fail(str(exc))
    out.print(f"wrote {len(pairs)} pairs to {out_path}")


@app.command("base-answers")
def base_answers(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output generation JSONL (resumable).")],
    model: Annotated[str, typer.Option("--model", "-m", help="Model ref.")] = "smollm2-135m-instruct",
    max_new_tokens: int = 256,
    batch_size: int = 16,
) -> None:
    """Generate the base model's answers to the SFT prompts (the on-policy rejected responses)."""
    import os
    import tempfile

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from veganalign.data.build import load_sft
    from veganalign.jsonl import write_jsonl_atomic
    from veganalign.models import Decoding, load_generator
    from veganalign.models.generate_file import generate_file, prepare_output

    prompts = None
    try:
        decoding = Decoding(max_new_tokens=max_new_tokens)
        prepare_output(out_path, out_path.with_name(f".{out_path.name}.prompts"), model=model, system_prompt=None,
                       decoding=decoding)  # before any model loads: only our own output is resumed  # fmt: skip
        sft = load_sft()
        # the prompts go to a temporary file of our own, never over a file of the user's
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".prompts.jsonl", dir=out_path.parent)
        os.close(fd)
        prompts = Path(tmp)
        write_jsonl_atomic(prompts, [{"id": r["id"], "messages": r["messages"][:-1]} for r in sft])
        generator = load_generator(model)
        with Progress(
            TextColumn("base answers"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
        ) as bar:
            task = bar.add_task("", total=len(sft))
            counts = generate_file(
                generator, prompts, out_path, system_prompt=None, decoding=decoding,
                arm="base", batch_size=batch_size,
                on_start=lambda total, skipped: bar.update(task, completed=skipped),
                on_done=lambda n: bar.advance(task, n),
            )  # fmt: skip
    except _user_errors() as exc:
        fail(str(exc))
    finally:
        if prompts is not None:
            prompts.unlink(missing_ok=True)
    out.print(counts)


@app.command("synth")
def synth(
    teacher: Annotated[str, typer.Option(help="Teacher model ref, e.g. openai:MODEL@URL.")],
    prompts: Annotated[Path, typer.Option(help="Prompt JSONL (id, prompt or messages, domain, intent).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output SFT JSONL (resumable).")],
    teacher_license: Annotated[str, typer.Option(help="The teacher's terms of use, recorded on every example.")],
    limit: Annotated[int | None, typer.Option(help="Use the first N prompts only.")] = None,
    max_new_tokens: int = 512,
    temperature: float = 0.7,
    api_key_env: Annotated[str, typer.Option(help="Env var with the teacher's API key.")] = "OPENAI_API_KEY",
    spec: SpecOption = None,
) -> None:
    """Synthetic SFT data: teacher draft -> critique against the spec -> revision -> rule filter."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from veganalign.data.contracts import validate_file
    from veganalign.data.synth import synth_done, synthesize
    from veganalign.models import Decoding, load_generator, parse_model_ref

    try:
        _, rows = validate_file(prompts, "prompt") if _has_provenance(prompts) else validate_file(prompts, "eval")
        rows = rows[:limit] if limit else rows
        synth_done(out_path, str(parse_model_ref(teacher)), inputs=[prompts])  # before the teacher loads
        gen = load_generator(teacher, api_key_env=api_key_env)
        with Progress(
            TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
        ) as bar:
            task = bar.add_task("", total=len(rows))
            counts = synthesize(
                gen, rows, out_path, teacher_license=teacher_license,
                decoding=Decoding(temperature=temperature, max_new_tokens=max_new_tokens),
                on_done=lambda n: bar.advance(task, n), spec_path=spec,
            )  # fmt: skip
    except _user_errors() as exc:
        fail(str(exc))
    out.print(counts)


def _has_provenance(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            first = fh.readline(1_000_000)
        return "source" in json.loads(first)
    except (OSError, ValueError, TypeError, RecursionError):
        return True  # let validation report the broken line (or the missing file)
