"""``r2d data ...``: demo data, built-in sources, statistics."""

from __future__ import annotations

import typer

from reason2decide.cli.app import app

data_app = typer.Typer(help="Make, prepare and inspect data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
