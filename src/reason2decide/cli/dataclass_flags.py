"""Typer flags built from a dataclass's fields, so that a group of options shared by several
commands is declared once: its names, defaults and help live on the dataclass."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Collection
from dataclasses import MISSING, Field, fields
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def flag(name: str) -> str:
    """The command-line flag of a setting: ``num_beams`` → ``--num-beams``."""
    return "--" + name.replace("_", "-")


def field_help(item: Field[Any]) -> str:
    """A field's ``help`` metadata (empty without)."""
    return str(item.metadata.get("help", ""))


def _parameters(
    cls: type, names: Collection[str] | None, help_of: Callable[[Field[Any]], str]
) -> list[inspect.Parameter]:
    hints = typing.get_type_hints(cls)
    out = []
    for item in fields(cls):
        if names is not None and item.name not in names:
            continue
        default = item.default if item.default is not MISSING else None
        option = typer.Option(
            default, flag(item.name), help=help_of(item), show_default=default is not None
        )
        kind = inspect.Parameter.KEYWORD_ONLY
        out.append(inspect.Parameter(item.name, kind, default=option, annotation=hints[item.name]))
    return out


def dataclass_options(
    cls: type,
    parameter: str,
    *,
    names: Collection[str] | None = None,
    help_of: Callable[[Field[Any]], str] = field_help,
) -> Callable[[F], F]:
    """A decorator giving a typer command one flag per field of the dataclass ``cls`` (its
    default and, through ``help_of``, its help); the command receives them together, as one
    ``cls`` instance, in its parameter ``parameter``. With ``names``, only those fields become
    flags and the others keep their defaults."""
    if names is not None:
        unknown = set(names) - {item.name for item in fields(cls)}
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")

    def decorate(func: F) -> F:
        signature = inspect.signature(func, eval_str=True)
        if parameter not in signature.parameters:
            raise TypeError(f"{func.__name__} needs a '{parameter}' parameter")
        kept = [p for p in signature.parameters.values() if p.name != parameter]
        added = _parameters(cls, names, help_of)
        clash = {p.name for p in kept} & {p.name for p in added}
        if clash:
            raise TypeError(f"{func.__name__} already has parameter(s) {sorted(clash)}")
        added_names = [p.name for p in added]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in added_names}
            return func(*args, **kwargs, **{parameter: cls(**values)})

        wrapper.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in kept},
            **{p.name: p.annotation for p in added},
        }
        return wrapper  # type: ignore[return-value]

    return decorate
