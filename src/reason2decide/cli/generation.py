"""The rationale decoding flags, built from :class:`~reason2decide.generation.GenerationSettings`
so that ``predict``, ``evaluate`` and ``bench`` offer the same flags with the same defaults."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any, TypeVar

import typer

from reason2decide.generation import GenerationSettings

F = TypeVar("F", bound=Callable[..., Any])

#: The parameter through which a decorated command receives the settings.
PARAMETER = "generation"


def flag(name: str) -> str:
    """The command-line flag of a setting: ``num_beams`` → ``--num-beams``."""
    return "--" + name.replace("_", "-")


def _parameters(cls: type) -> list[inspect.Parameter]:
    hints = typing.get_type_hints(cls)
    out = []
    for item in fields(cls):
        default = item.default if item.default is not MISSING else None
        option = typer.Option(
            default,
            flag(item.name),
            help=item.metadata.get("help", ""),
            show_default=default is not None,
        )
        kind = inspect.Parameter.KEYWORD_ONLY
        out.append(inspect.Parameter(item.name, kind, default=option, annotation=hints[item.name]))
    return out


def dataclass_options(cls: type, parameter: str) -> Callable[[F], F]:
    """A decorator giving a typer command one flag per field of the dataclass ``cls`` (its
    default and ``help`` metadata); the command receives them together, as one ``cls``
    instance, in its parameter ``parameter``."""

    def decorate(func: F) -> F:
        signature = inspect.signature(func, eval_str=True)
        if parameter not in signature.parameters:
            raise TypeError(f"{func.__name__} needs a '{parameter}' parameter")
        kept = [p for p in signature.parameters.values() if p.name != parameter]
        added = _parameters(cls)
        names = [p.name for p in added]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names}
            return func(*args, **kwargs, **{parameter: cls(**values)})

        wrapper.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in kept},
            **{p.name: p.annotation for p in added},
        }
        return wrapper  # type: ignore[return-value]

    return decorate


def generation_options(func: F) -> F:
    """Give a typer command one flag per :class:`GenerationSettings` field; the command
    receives them together as its ``generation`` parameter."""
    return dataclass_options(GenerationSettings, PARAMETER)(func)
