"""``veganalign train ...``: one command per recipe, its options generated from the recipe's config."""

from __future__ import annotations

import typer
from rich.table import Table

from veganalign.config import command_for
from veganalign.console import err, fail, user_errors
from veganalign.train.dpo import DPORecipe, run_dpo
from veganalign.train.reward import RewardRecipe, run_reward
from veganalign.train.rl import RLRecipe, run_rl
from veganalign.train.sft import SFTRecipe, run_sft

app = typer.Typer(help="Training recipes on TRL + PEFT: sft, dpo, reward, rl.", no_args_is_help=True)


def _run(fn, cfg, resume: bool) -> None:
    try:
        summary = fn(cfg, resume)
    except (*user_errors(), ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    table = Table(title=f"{fn.__name__.removeprefix('run_')} → {cfg.output_dir}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in summary.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    err.print(table)


app.command("sft", help=SFTRecipe.__doc__)(command_for(SFTRecipe, lambda c, r: _run(run_sft, c, r)))
app.command("dpo", help=DPORecipe.__doc__)(command_for(DPORecipe, lambda c, r: _run(run_dpo, c, r)))
app.command("reward", help=RewardRecipe.__doc__)(command_for(RewardRecipe, lambda c, r: _run(run_reward, c, r)))
app.command("rl", help=RLRecipe.__doc__)(command_for(RLRecipe, lambda c, r: _run(run_rl, c, r)))
