"""The Markdown reference of every ``r2d`` command and option (docs/cli.md), built from the
command objects themselves rather than from rendered ``--help`` text, so that it does not depend
on the terminal width.

Regenerate it with ``python -m reason2decide.cli.reference > docs/cli.md``;
``tests/cli/test_reference.py`` fails while the file differs from what this module writes.
"""

from __future__ import annotations

import enum
import os
import re
import sys
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

import typer

from reason2decide.cli import app

#: The command that rewrites docs/cli.md.
REGENERATE = "python -m reason2decide.cli.reference > docs/cli.md"

#: What a table cell shows where there is nothing to show.
NONE = "—"

#: A default the help text states itself, as its final bracket: ``... [5e-5 as published]``.
_HELP_DEFAULT = re.compile(r"\s*\[([^\[\]]*)\]\s*$")

#: Parameter type names of Click (typer versions that still use Click's types) as --help shows
#: them in the typer versions with their own.
_CLICK_TYPE_NAMES = {"integer": "int", "text": "str", "boolean": "bool"}


def command_reference(command: Any = None, prog: str = "r2d") -> str:
    """The Markdown reference of ``command`` (the ``r2d`` app when not given): one section per
    command and subcommand with its description and a table of its arguments and options."""
    root = typer.main.get_command(app) if command is None else command
    commands = list(_walk(root, [prog]))
    lines = [
        f"# `{prog}` command reference",
        "",
        f"<!-- Generated from the CLI by `{REGENERATE}`; do not edit by hand. -->",
        "",
        f"Every command, argument and option of `{prog}`, generated from the command line itself",
        f"(`{prog} COMMAND --help` shows the same). A default in code font is the value an option",
        "takes when it is not given; one in words says what leaving it out means (`as published`:",
        "the paper's value too). Every command also takes `--help`.",
        "",
    ]
    for path, cmd in commands:
        lines.extend(_section(path, cmd))
    return "\n".join(lines).rstrip("\n") + "\n"


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    """``command`` and its visible subcommands, depth first, in the order ``--help`` lists them."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            yield from _walk(sub, [*path, name])


def _anchor(path: list[str]) -> str:
    """The anchor GitHub gives the heading of the command ``path``."""
    return "-".join(path).lower()


def _section(path: list[str], command: Any) -> list[str]:
    lines = [f"## `{' '.join(path)}`", "", _description(command), ""]
    subcommands = [
        (name, sub)
        for name, sub in getattr(command, "commands", {}).items()
        if not getattr(sub, "hidden", False)
    ]
    if subcommands:
        lines.append("| command | what it does |")
        lines.append("|---|---|")
        for name, sub in subcommands:
            link = f"[`{name}`](#{_anchor([*path, name])})"
            lines.append(f"| {link} | {_cell(_description(sub))} |")
        lines.append("")
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    if params:
        lines.append("| option | type | default | description |")
        lines.append("|---|---|---|---|")
        for param in params:
            lines.append(_row(param))
        lines.append("")
    return lines


def _description(command: Any) -> str:
    """The first paragraph of a command's help, on one line."""
    text = (command.help or "").split("\f")[0].strip()
    first = re.split(r"\n\s*\n", text)[0]
    return " ".join(first.split()) or NONE


def _row(param: Any) -> str:
    help_text = " ".join((getattr(param, "help", None) or "").split())
    stated = _HELP_DEFAULT.search(help_text)
    if stated:
        help_text = help_text[: stated.start()]
        default = stated.group(1)
    else:
        default = _default(param)
    cells = [_flags(param), _type(param), default, help_text or NONE]
    return "| " + " | ".join(_cell(cell) if i else cell for i, cell in enumerate(cells)) + " |"


def _flags(param: Any) -> str:
    """Every spelling of the parameter: ``--output``, ``-o``; ``--x`` / ``--no-x``; an argument's
    name in capitals."""
    if getattr(param, "param_type_name", "") == "argument":
        name = f"`{param.name.upper()}`"
        return name + (" ..." if param.nargs == -1 else "")
    names = ", ".join(f"`{opt}`" for opt in param.opts)
    if param.secondary_opts:
        names += " / " + ", ".join(f"`{opt}`" for opt in param.secondary_opts)
    return names


def _type(param: Any) -> str:
    """The value the parameter takes: a type name, its choices, or ``flag``."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return "flag"
    choices = _choices(param)
    if choices is not None:
        label = "one of " + ", ".join(f"`{choice}`" for choice in choices)
    elif param.metavar:
        label = param.metavar
    else:
        label = _type_name(param)
        bounds = _range(param)
        if bounds:
            label += f", {bounds}"
    if getattr(param, "multiple", False):
        label += ", repeatable"
    return label


def _choices(param: Any) -> list[str] | None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        if descriptor.is_choice and descriptor.choices is not None:
            return [str(getattr(c, "value", c)) for c in descriptor.choices]
    else:
        choices = getattr(param.type, "choices", None)
        if choices is not None:
            return [str(getattr(c, "value", c)) for c in choices]
    # Options whose value is checked by the command list their choices as the metavar.
    if param.metavar and "|" in param.metavar and " " not in param.metavar:
        return param.metavar.split("|")
    return None


def _type_name(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None:  # typer versions built on Click's parameter types
        name = getattr(param.type, "name", "str").lower().removesuffix(" range")
        return _CLICK_TYPE_NAMES.get(name, name)
    if descriptor.is_path:
        return "path"
    annotation = descriptor.annotation
    if descriptor.is_list:
        annotation = getattr(annotation, "__args__", (str,))[0]
        if isinstance(annotation, type) and issubclass(annotation, PurePath):
            return "path"
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _range(param: Any) -> str | None:
    """The bounds of a number, as ``x ≥ 1`` or ``0 ≤ x ≤ 1``."""
    if hasattr(param, "type_descriptor"):
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        low_open = high_open = False
    else:
        low, high = getattr(param.type, "min", None), getattr(param.type, "max", None)
        low_open = getattr(param.type, "min_open", False)
        high_open = getattr(param.type, "max_open", False)
    if low is None and high is None:
        return None
    below = "<" if low_open else "≤"
    above = "<" if high_open else "≤"
    if high is None:
        return f"x {'>' if low_open else '≥'} {low}"
    if low is None:
        return f"x {above} {high}"
    return f"{low} {below} x {above} {high}"


def _default(param: Any) -> str:
    """The default Click knows, as ``--help`` shows it; ``—`` where it shows none or the value
    depends on the machine (an absolute path)."""
    if param.required:
        return "required"
    default = param.default
    if isinstance(getattr(param, "show_default", None), str):
        return param.show_default
    if getattr(param, "is_flag", False) and isinstance(default, bool):
        if param.secondary_opts:
            return f"`{param.opts[0] if default else param.secondary_opts[0]}`"
        return "on" if default else "off"
    if default is None or callable(default) or not getattr(param, "show_default", False):
        return NONE
    values = default if isinstance(default, (list, tuple)) else [default]
    if not values:
        return NONE
    shown = []
    for value in values:
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, PurePath) and value.is_absolute():
            return NONE
        text = str(value)
        if os.path.isabs(text) and os.sep in text[1:]:
            return NONE
        shown.append(f"`{text}`" if text else '`""`')
    return ", ".join(shown)


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell: pipes escaped (code spans included, as GitHub
    wants), and outside code spans no ``<`` or ``*`` read as HTML or emphasis."""
    if not text:
        return NONE
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        parts[i] = re.sub(r"([*<>])", r"\\\1", parts[i])
    return "`".join(parts).replace("|", "\\|")


def main() -> None:
    """Write the reference to standard output (UTF-8, whatever the locale)."""
    sys.stdout.buffer.write(command_reference().encode("utf-8"))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
