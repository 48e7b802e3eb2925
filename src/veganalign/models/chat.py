"""``veganalign chat``: a conversation with any model in the terminal (or piped in, line by line)."""

from __future__ import annotations

import sys

from rich.console import Console

from veganalign.models.generation import Decoding, load_generator, with_system_prompt
from veganalign.models.refs import parse_model_ref


def chat_loop(model: str, system_prompt: str | None, prompt_label: str, decoding: Decoding, *,
              api_key_env: str = "OPENAI_API_KEY", out: Console, err: Console) -> None:  # fmt: skip
    """Read user turns until /exit or end of input; /reset starts over. The history goes back each turn."""
    from rich.markdown import Markdown

    ref = parse_model_ref(model)
    err.print(f"loading {ref} ...")
    generator = load_generator(ref, api_key_env=api_key_env)
    out.print(f"[bold]{ref}[/bold] · system prompt: {prompt_label} · /reset, /exit")
    history: list[dict[str, str]] = []
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            break
        if not interactive and line == "":
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
