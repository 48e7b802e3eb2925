"""``veganalign annotate ...``: people in the loop through Label Studio (export, import, agreement)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veganalign.console import fail, out, user_errors

app = typer.Typer(
    help="Human review and ranking in Label Studio: export a project, import the annotations, see agreement.",
    no_args_is_help=True,
)


def _errors() -> tuple[type[BaseException], ...]:
    return (*user_errors(), OSError)


@app.command("export")
def export_command(
    task: Annotated[
        str,
        typer.Option(
            "--task", help="'rank' (2-4 answers to rank and rate) or 'review' (approve, edit or reject an SFT example)."
        ),
    ],
    source: Annotated[
        list[Path],
        typer.Option(
            "--from",
            help="rank: JSONL with prompt + responses, preference pairs, or generation files (repeat --from: the "
            "answers to one id across files are ranked together); review: one SFT JSONL.",
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Project folder: config.xml, tasks.json, project.json.")],
    spec: Annotated[Path | None, typer.Option("--spec", help="Spec YAML (default: the shipped one).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of each item's answer order.")] = 0,
) -> None:
    """Write a Label Studio project: the labelling configuration from the spec, and the tasks."""
    from veganalign.annotate.project import export_project
    from veganalign.jsonl import check_output_dir
    from veganalign.spec import load_spec

    if task not in ("rank", "review"):
        fail(f"--task {task!r}: choose rank or review")
    try:
        check_output_dir(out_dir, "--out")
        project = export_project(load_spec(spec), task, source, out_dir, seed)  # type: ignore[arg-type]
    except _errors() as exc:
        fail(str(exc))
    out.print(f"wrote {len(project['tasks'])} {task} tasks for project {project['project']} to {out_dir} "
              "(config.xml, tasks.json)")  # fmt: skip


@app.command("import")
def import_command(
    export: Annotated[Path, typer.Argument(help="Label Studio's JSON export of the project.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for pairs/sft/rejected/labels JSONL and agreement.")],
    project: Annotated[
        Path | None,
        typer.Option("--project", help="The `annotate export` folder: tasks from any other project are refused."),
    ] = None,  # fmt: skip
    users: Annotated[
        Path | None,
        typer.Option(
            "--users", help="JSON {user id: email} for exports naming annotators by id (default: users.json beside it)."
        ),
    ] = None,
    license: Annotated[str, typer.Option(help="Licence of the annotations.")] = "Apache-2.0",
) -> None:
    """Turn annotations into preference pairs (rank) or reviewed SFT examples (review), with agreement."""
    from veganalign.annotate.imports import import_export
    from veganalign.jsonl import check_output_dir

    try:
        check_output_dir(out_dir, "--out")
        result = import_export(export, out_dir, project=project, users=users, license=license)
    except _errors() as exc:
        fail(str(exc))
    counts = ", ".join(f"{name} {n}" for name, n in result["counts"].items())
    out.print(f"imported {result['annotations']} annotations ({result['task']}) into {out_dir}: {counts}")
    for criterion, entry in result["agreement"]["criteria"].items():
        alpha = "n/a" if entry["alpha"] is None else f"{entry['alpha']:.2f}"
        out.print(f"  {criterion}: Krippendorff's alpha {alpha} over {entry['units']} units")
    out.print(f"  to adjudicate: {len(result['agreement']['disagreements'])} (see {out_dir / 'agreement.html'})")


UrlOption = Annotated[str, typer.Option("--url", help="Label Studio's address, e.g. http://127.0.0.1:8080.")]
TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="LABEL_STUDIO_TOKEN",
        help="A personal access token (refreshed as needed) or a legacy token; or set LABEL_STUDIO_TOKEN.",
    ),
]


@app.command("push")
def push_command(
    project: Annotated[Path, typer.Argument(help="The `annotate export` folder.")],
    url: UrlOption,
    token: TokenOption,
    title: Annotated[str | None, typer.Option(help="Project title in Label Studio.")] = None,
) -> None:
    """Create the project in Label Studio and import its tasks."""
    from veganalign.annotate.client import push

    try:
        info = push(project, url, token, title)
    except _errors() as exc:
        fail(str(exc))
    out.print(f"pushed {info['items']} tasks to {url} (project {info['label_studio']['project_id']})")


@app.command("pull")
def pull_command(
    project: Annotated[Path, typer.Argument(help="The `annotate export` folder, pushed before.")],
    token: TokenOption,
    url: Annotated[str | None, typer.Option("--url", help="Default: where it was pushed.")] = None,
) -> None:
    """Download the project's annotations (export.json) and its annotators (users.json)."""
    from veganalign.annotate.client import pull

    try:
        path, annotations = pull(project, url, token)
    except _errors() as exc:
        fail(str(exc))
    out.print(f"pulled {annotations} annotations to {path}; next: veganalign annotate import {path} --out DIR")
