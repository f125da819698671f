"""The root typer application and the shared consoles."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from reason2decide.errors import R2DError
from reason2decide.io import OUT_OF_SPACE, out_of_space

console = Console()
console_err = Console(stderr=True)

app = typer.Typer(
    name="r2d",
    help="Train small language models to make a clinical decision and explain it (Reason2Decide).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts show defaults as "[64]", "[auto]": not rich markup.
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])

# Errors about a path the user gave (or a folder it lies in), reported as "PATH: reason".
PATH_ERRORS = (
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    FileExistsError,
    FileNotFoundError,
)

_format_warning = warnings.formatwarning


def _format_own_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: Any = None
) -> str:
    """Our own warnings (data checks, label counts) as one ``warning: ...`` line, without the
    source line Python would quote; other libraries' warnings as usual."""
    if "reason2decide" in filename:
        return f"warning: {message}\n"
    return _format_warning(message, category, filename, lineno, line)


warnings.formatwarning = _format_own_warning


def user_errors(func: F) -> F:
    """Decorate a command so that an ``R2DError``, a full disk or an ``OSError`` naming a path
    (a folder where a file was expected, no permission, ...) prints one line and exits with
    status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except R2DError as exc:
            console_err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except OSError as exc:
            if exc.errno in OUT_OF_SPACE:
                # A full disk inside a library's writer (checkpoints, weights): one named line.
                error: object = out_of_space(exc.filename or "(a file of this command)", exc)
            elif isinstance(exc, PATH_ERRORS) and exc.filename is not None:
                # A path the checks before the work did not foresee: named, not a traceback.
                error = f"{exc.filename}: {exc.strerror or exc}"
            else:
                raise
            console_err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
