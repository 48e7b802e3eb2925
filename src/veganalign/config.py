"""One configuration system: a typed model per config, the same fields in YAML and on the CLI.

After litgpt: a recipe's pydantic model *is* its schema. ``command_for`` turns it into
a typer command whose options are the model's fields (``--learning-rate 1e-4``), plus
``--config FILE.yaml``. Precedence: field defaults < YAML < command line. Unknown keys,
wrong types and missing files are reported by key (and YAML file) before any model loads.

The shipped configs live in ``veganalign/configs/``: the recipes' (``sft-cpu.yaml`` ...)
and the run profiles' (``run-default.yaml`` ...), which name recipe configs rather than
repeat their settings, so the two cannot drift apart. ``read_yaml`` and
``validate_config`` are the loader both use.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
import yaml
from pydantic import BaseModel, ValidationError

from veganalign.errors import UserError
from veganalign.yamlio import YamlError, load_file

C = TypeVar("C", bound=BaseModel)


class ConfigError(UserError):
    pass


CONFIG_DIR = Path(__file__).with_name("configs")


def read_yaml(yaml_path: Path) -> dict[str, Any]:
    """A config file's mapping; errors name the file (and the line for invalid YAML)."""
    try:
        # size and alias limits: a config that expands without bound is refused, not loaded
        loaded = load_file(yaml_path, "config")
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{yaml_path}: a config must be a mapping of key: value")
    return loaded


def validate_config(cls: type[C], data: dict[str, Any], where: str, prefix: str = "",
                    overridden: set[str] | None = None) -> C:  # fmt: skip
    """``cls`` from ``data``; every problem named as ``WHERE: [PREFIX.]KEY: message``."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(config)"
            origin = "command line" if overridden and err["loc"] and err["loc"][0] in overridden else where
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{origin}: {prefix}{key}: {msg}")
        raise ConfigError("\n".join(problems)) from None


def load_config(cls: type[C], yaml_path: Path | None = None, overrides: dict[str, Any] | None = None) -> C:
    data: dict[str, Any] = read_yaml(yaml_path) if yaml_path is not None else {}
    given = {key for key, value in (overrides or {}).items() if value is not None}
    data.update({key: overrides[key] for key in given})  # type: ignore[index]
    return validate_config(cls, data, str(yaml_path) if yaml_path is not None else "command line", overridden=given)


def dump_config(config: BaseModel) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def _cli_type(annotation: Any) -> Any:
    """The type typer parses for a field; None for types that go through YAML only."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _cli_type(args[0]) if len(args) == 1 else str
    if origin is typing.Literal:
        return str
    if annotation in (int, float, str, bool, Path):
        return annotation
    if origin in (list, dict):
        return None
    return str


def command_for(cls: type[C], run: Callable[[C, bool], None]) -> Callable[..., None]:
    """A typer command with one option per config field, plus --config and --resume."""
    params = [
        inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(None, "--config", "-c", help="YAML file with any of the options below."),
            annotation=Path | None,
        ),
        inspect.Parameter(
            "resume",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(False, "--resume", help="Continue from the last checkpoint in output_dir."),
            annotation=bool,
        ),
    ]
    for name, field in cls.model_fields.items():
        kind = _cli_type(field.annotation)
        if kind is None:
            continue
        default = field.default if field.default is not None else "none"
        help_text = f"{field.description or ''} (default: {default})".strip()
        if kind is bool:
            opt = typer.Option(
                None, f"--{name.replace('_', '-')}/--no-{name.replace('_', '-')}", help=help_text, show_default=False
            )
        else:
            opt = typer.Option(None, f"--{name.replace('_', '-')}", help=help_text, show_default=False)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=kind | None))

    def command(**kwargs: Any) -> None:
        yaml_path = kwargs.pop("config")
        resume = kwargs.pop("resume")
        try:
            cfg = load_config(cls, yaml_path, kwargs)
        except ConfigError as exc:
            typer.echo(f"error: invalid config: {exc}", err=True)  # the first problem on the error line
            raise typer.Exit(2) from None
        run(cfg, resume)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = cls.__doc__
    return command
