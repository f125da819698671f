"""Typer flags built from declared fields, so that a group of options is declared once: its
names, defaults and help live on the declaration (a dataclass here; ``TrainConfig``'s pydantic
fields through :mod:`reason2decide.cli.train_options`), and :func:`add_flags` turns them into
keyword-only parameters of a command."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Collection, Sequence
from dataclasses import MISSING, Field, dataclass, fields
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def flag(name: str) -> str:
    """The command-line flag of a setting: ``num_beams`` → ``--num-beams``."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class FlagSpec:
    """One flag of a command: its parameter name, type, default, spellings and help."""

    name: str
    annotation: Any
    default: Any
    decls: tuple[str, ...]
    help: str
    show_default: bool = False
    hidden: bool = False
    metavar: str | None = None

    def parameter(self) -> inspect.Parameter:
        option = typer.Option(
            self.default,
            *self.decls,
            help=self.help,
            show_default=self.show_default,
            hidden=self.hidden,
            metavar=self.metavar,
        )
        kind = inspect.Parameter.KEYWORD_ONLY
        return inspect.Parameter(self.name, kind, default=option, annotation=self.annotation)


def add_flags(
    parameter: str, specs: Sequence[FlagSpec], collect: Callable[[dict[str, Any]], Any]
) -> Callable[[F], F]:
    """A decorator giving a typer command one flag per spec; the command receives
    ``collect({name: value})`` of all of them in its parameter ``parameter``."""

    def decorate(func: F) -> F:
        signature = inspect.signature(func, eval_str=True)
        if parameter not in signature.parameters:
            raise TypeError(f"{func.__name__} needs a '{parameter}' parameter")
        kept = [p for p in signature.parameters.values() if p.name != parameter]
        added = [spec.parameter() for spec in specs]
        clash = {p.name for p in kept} & {p.name for p in added}
        if clash:
            raise TypeError(f"{func.__name__} already has parameter(s) {sorted(clash)}")
        added_names = [p.name for p in added]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in added_names}
            return func(*args, **kwargs, **{parameter: collect(values)})

        wrapper.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in kept},
            **{p.name: p.annotation for p in added},
        }
        return wrapper  # type: ignore[return-value]

    return decorate


def field_help(item: Field[Any]) -> str:
    """A field's ``help`` metadata (empty without)."""
    return str(item.metadata.get("help", ""))


def _dataclass_specs(
    cls: type, names: Collection[str] | None, help_of: Callable[[Field[Any]], str]
) -> list[FlagSpec]:
    hints = typing.get_type_hints(cls)
    out = []
    for item in fields(cls):
        if names is not None and item.name not in names:
            continue
        default = item.default if item.default is not MISSING else None
        out.append(
            FlagSpec(
                item.name,
                hints[item.name],
                default,
                (flag(item.name),),
                help_of(item),
                show_default=default is not None,
            )
        )
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
    return add_flags(parameter, _dataclass_specs(cls, names, help_of), lambda v: cls(**v))
