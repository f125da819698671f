"""The training flags of ``r2d train`` and ``r2d bench``, built from
:class:`~reason2decide.training.config.TrainConfig`'s fields: the flag is the field name with
dashes, its help the field's description followed by the default computed from the field. Every
flag's own default is ``None`` (not given), so that a YAML config's value stands unless the flag
is given; a command receives the flags as one ``{name: value}`` dict, ready for
:func:`~reason2decide.training.config.build_config`."""

from __future__ import annotations

import typing
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar

from pydantic.fields import FieldInfo

from reason2decide.cli.dataclass_flags import FlagSpec, add_flags, flag
from reason2decide.training.config import RENAMED_OPTIONS, TrainConfig, option_extra

F = TypeVar("F", bound=Callable[..., Any])


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return repr(value).replace("e-0", "e-")  # 5e-05 → 5e-5
    return str(value)


def default_text(name: str) -> str | None:
    """What ``--help`` shows as the default of the option ``name``: the field's default (with
    the published value, where there is one), or what an unset option means; None if nothing
    is to be shown (a required option, or an unset one whose help says it all)."""
    info = TrainConfig.model_fields[name]
    extra = option_extra(name)
    if info.is_required():
        return None
    if info.default is None:
        return extra.get("unset")
    text = _value_text(info.default)
    if "paper" in extra:
        paper = extra["paper"]
        text += " as published" if paper == info.default else f"; published: {_value_text(paper)}"
    return text


def option_help(name: str, text: str | None = None) -> str:
    """The help of the option ``name``: ``text`` (default: the field's description) and its
    default in brackets."""
    text = text if text is not None else TrainConfig.model_fields[name].description or ""
    default = default_text(name)
    return f"{text} [{default}]" if default else text


def _flag_type(info: FieldInfo) -> tuple[Any, str | None]:
    """The type typer parses the flag as (``X | None``), and the metavar listing a Literal's
    choices. Choices are checked by TrainConfig, as for a YAML value, not by the parser."""
    annotation = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not NoneType]
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = args[0] if len(args) == 1 else str
    if typing.get_origin(annotation) is Literal:
        return str | None, "|".join(str(a) for a in typing.get_args(annotation))
    if annotation not in (str, int, float, bool, Path):
        raise TypeError(f"no flag type for {info.annotation}")
    return annotation | None, None


def _spec(name: str, help: str | None = None) -> FlagSpec:
    info = TrainConfig.model_fields[name]
    kind, metavar = _flag_type(info)
    decls = (flag(name),)
    if kind == bool | None:
        decls = (f"{flag(name)}/--no-{name.replace('_', '-')}",)
    short = option_extra(name).get("short")
    if short:
        decls = (*decls, short)
    return FlagSpec(name, kind, None, decls, option_help(name, help), metavar=metavar)


def _renamed_spec(old: str, new: str) -> FlagSpec:
    kind, metavar = _flag_type(TrainConfig.model_fields[new])
    help = f"Deprecated: {flag(new)}."
    return FlagSpec(old, kind, None, (flag(old),), help, hidden=True, metavar=metavar)


def train_options(
    names: Collection[str] | None = None,
    *,
    exclude: Collection[str] = (),
    help: Mapping[str, str] | None = None,
    parameter: str = "flags",
) -> Callable[[F], F]:
    """A decorator giving a typer command one flag per TrainConfig field (those in ``names``,
    else all but ``exclude``), plus the hidden old spellings of those renamed
    (:data:`~reason2decide.training.config.RENAMED_OPTIONS`); the command receives their
    values as one dict in its parameter ``parameter`` (None: not given). ``help`` replaces a
    field's description where the command gives the option another meaning (the default is
    still added)."""
    fields = TrainConfig.model_fields
    unknown = (set(names or ()) | set(exclude) | set(help or ())) - set(fields)
    if unknown:
        raise TypeError(f"TrainConfig has no field(s) {sorted(unknown)}")
    chosen = [n for n in fields if (n in names if names is not None else n not in exclude)]
    specs = [_spec(name, (help or {}).get(name)) for name in chosen]
    specs += [_renamed_spec(old, new) for old, new in RENAMED_OPTIONS.items() if new in chosen]
    return add_flags(parameter, specs, dict)
