"""The ``r2d`` command line. Thin: parse, validate, call the library, print.

Each command group lives in its own module and registers itself on :data:`app`;
:func:`main` turns :class:`~reason2decide.errors.R2DError` into a one-line message and exit 2.
"""

from __future__ import annotations

import sys

from reason2decide.cli.app import app, console_err
from reason2decide.errors import R2DError

# Importing the command modules registers their commands on ``app``.
from reason2decide.cli import bench as _bench  # noqa: E402,F401  isort: skip
from reason2decide.cli import data as _data  # noqa: E402,F401  isort: skip
from reason2decide.cli import llm as _llm  # noqa: E402,F401  isort: skip
from reason2decide.cli import predict as _predict  # noqa: E402,F401  isort: skip
from reason2decide.cli import serve as _serve  # noqa: E402,F401  isort: skip
from reason2decide.cli import train as _train  # noqa: E402,F401  isort: skip


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``r2d`` console script."""
    try:
        app(args=argv, standalone_mode=True)
    except R2DError as exc:  # raised outside typer's own handling (e.g. during import-time)
        console_err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


__all__ = ["app", "main"]
