"""``veganalign chat``: a conversation with any model in the terminal (or piped in, line by line)."""

from __future__ import annotations

import sys

from rich.console import Console

from veganalign.errors import UserError
from veganalign.models.generation import Decoding, base_of, load_generator, with_system_prompt
from veganalign.models.refs import check_hub_model, parse_model_ref

MAX_TURN_BYTES = 1_000_000  # one typed or piped turn


class ChatInputError(UserError):
    """A piped line that cannot be a chat turn (not UTF-8, or too long)."""


def _piped_lines():
    """Piped turns, one a line, as text; a line that is not UTF-8 or is too long ends the chat with its number."""
    number = 0
    while True:
        raw = sys.stdin.buffer.readline(MAX_TURN_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_TURN_BYTES and not raw.endswith(b"\n"):
            raise ChatInputError(f"<stdin>:{number}: a turn over {MAX_TURN_BYTES:,} bytes")
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ChatInputError(f"<stdin>:{number}: not UTF-8 text (byte {exc.start + 1} of the line); "
                                 "convert it first, e.g. iconv -f latin1 -t utf-8") from None  # fmt: skip


def chat_loop(model: str, system_prompt: str | None, prompt_label: str, decoding: Decoding, *,
              api_key_env: str = "OPENAI_API_KEY", out: Console, err: Console) -> None:  # fmt: skip
    """Read user turns until /exit or end of input; /reset starts over. The history goes back each turn."""
    from rich.markdown import Markdown

    ref = parse_model_ref(model)
    check_hub_model(base_of(ref))  # a Hugging Face id nowhere to be had: one line now, not after a wait
    err.print(f"loading {ref} ...")
    generator = load_generator(ref, api_key_env=api_key_env)
    out.print(f"[bold]{ref}[/bold] · system prompt: {prompt_label} · /reset, /exit")
    history: list[dict[str, str]] = []
    interactive = sys.stdin.isatty()
    piped = None if interactive else _piped_lines()
    while True:
        try:
            line = input("you> ") if piped is None else next(piped, None)
        except (EOFError, KeyboardInterrupt):
            break
        except UnicodeDecodeError:  # typed in a terminal that does not send UTF-8
            err.print("[red]that line is not UTF-8 text; set the terminal to UTF-8[/red]")
            continue
        if line is None:
            break  # end of piped input
        line = line.strip()
        if not line:
            continue
        if line in ("/exit", "/quit"):
            break
        if line == "/reset":
            history.clear()
            out.print("[dim]conversation reset[/dim]")
            continue
        history.append({"role": "user", "content": line})
        with err.status("thinking..."):
            reply = generator.generate([with_system_prompt(history, system_prompt)], decoding, batch_size=1)[0]
        if reply.error:
            history.pop()
            err.print(f"[red]{reply.error}[/red]")
            continue
        history.append({"role": "assistant", "content": reply.text})
        out.print("[bold green]assistant>[/bold green]")
        out.print(Markdown(reply.text))
