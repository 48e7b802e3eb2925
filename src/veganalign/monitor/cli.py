"""``veganalign monitor ...``: report on the store, export flagged conversations, add reviewers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from veganalign.console import err, fail, out, user_errors

app = typer.Typer(
    help="The serving store: reports, exports for the next data round, reviewer accounts.", no_args_is_help=True
)
DEFAULT_DB = "sqlite:///runs/serve/monitor.db"
DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        help="Store URL: sqlite:///PATH (the server's default is runs/serve/monitor.db) or "
        "postgresql+psycopg://USER@HOST/DB.",
    ),
]


def _errors() -> tuple[type[BaseException], ...]:
    return (*user_errors(), ValueError, OSError)


def _open(db: str):
    from veganalign.monitor.store import open_store

    if db.startswith("sqlite:///") and db != "sqlite:///:memory:":
        path = Path(db.removeprefix("sqlite:///"))
        if not path.exists():
            fail(f"--db {db}: no store at {path} (the server creates it on its first request)")
    return open_store(db)


@app.command("report")
def report(
    db: DbOption = DEFAULT_DB,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.json, report.html and the plot.")
    ] = Path("runs/serve/report"),
) -> None:
    """Flags by principle and day, conflicts, errors, latency, reviews; a plot and an HTML page."""
    from veganalign.jsonl import check_output_dir
    from veganalign.monitor.report import write_report

    try:
        check_output_dir(out_dir, "--out")
        summary = write_report(_open(db), out_dir)
    except _errors() as exc:
        fail(str(exc))
    table = Table(title=f"{summary['conversations']} conversations kept, {summary['flagged']} flagged")
    table.add_column("flagged for")
    table.add_column("findings", justify="right")
    for label, count in summary["flags_by_principle"].items():
        table.add_row(label, str(count))
    out.print(table)
    rec = summary["recorder"]
    out.print(
        f"reviews: {summary['reviews']['decisions'] or 'none'}; waiting: {summary['reviews']['waiting']}; "
        f"recorder: {rec['written']} handled, {rec['dropped']} dropped"
    )
    out.print(f"wrote {out_dir / 'report.html'}")


@app.command("export")
def export(
    out_file: Annotated[
        Path,
        typer.Option("--out", "-o", help="Prompts JSONL; corrections go next to it (OUT.sft.jsonl, OUT.pairs.jsonl)."),
    ],
    db: DbOption = DEFAULT_DB,
    flagged: Annotated[
        bool, typer.Option("--flagged/--all", help="Flagged conversations only (default), or all kept ones.")
    ] = True,
    license: Annotated[str, typer.Option(help="Licence field of the records written.")] = "operator-internal",
) -> None:
    """Flagged conversations as prompts, reviewed corrections as SFT examples and pairs, in the data contracts."""
    from veganalign.jsonl import check_output_path
    from veganalign.monitor.export import export_flagged

    try:
        check_output_path(out_file, "--out")
        written = export_flagged(_open(db), out_file, license=license, flagged_only=flagged)
    except _errors() as exc:
        fail(str(exc))
    for kind, info in written.items():
        out.print(f"{kind}: {info['records']} record(s) -> {info['path']}")


@app.command("add-reviewer")
def add_reviewer(
    username: Annotated[str, typer.Argument(help="The reviewer's login name.")],
    db: DbOption = DEFAULT_DB,
    password_env: Annotated[
        str | None, typer.Option(help="Read the password from this environment variable (default: prompt).")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Set a new password for an existing reviewer.")] = False,
) -> None:
    """Create a reviewer account for the review page (the password is stored only as a scrypt hash)."""
    from veganalign.monitor import reviewers
    from veganalign.monitor.store import open_store

    if password_env:
        password = os.environ.get(password_env)
        if not password:
            fail(f"--password-env {password_env}: the variable is not set or empty")
    elif sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")  # one line on stdin, for scripts
    try:
        reviewers.add_reviewer(open_store(db), username, password, replace=replace)
    except _errors() as exc:
        fail(str(exc))
    err.print(f"reviewer {username!r} {'updated' if replace else 'added'}")
