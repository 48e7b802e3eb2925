"""What every command shares: the two consoles and the one way to report an error a user can fix.

Errors a user can fix (a broken spec or config, a bad JSONL line, an unknown model ref)
print one message naming the file, line and field or the option, and exit with status 2;
they never print a traceback.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from veganalign.errors import UserError

out = Console()
err = Console(stderr=True)


def error(message: str) -> None:
    """Print one error line (``error: ...``) and go on: for commands that check several inputs."""
    # escape: messages name fields like "principles[2]", which rich would read as markup
    err.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    error(message)
    raise typer.Exit(code)


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean bad input, not a bug: every stage's errors derive from ``UserError``."""
    return (UserError,)
