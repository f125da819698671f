"""``r2d train``: train a method from flags or a YAML config."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import typer

from reason2decide.cli.app import app, console, user_errors
from reason2decide.cli.columns import ColumnFlags, column_options
from reason2decide.cli.train_options import train_options

#: TrainConfig's column options: their flags come from column_options, shared with the
#: commands that read data without training.
COLUMN_OPTIONS = tuple(item.name for item in fields(ColumnFlags))


@app.command()
@user_errors
@column_options()
@train_options(exclude=COLUMN_OPTIONS)
def train(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML file of options (keys as the flags, - or _)."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --output."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run in --output."),
    *,
    flags: dict[str, Any],  # TrainConfig's options, from the flags train_options adds
    column_flags: ColumnFlags,  # from the flags column_options adds
) -> None:
    """Train a model: Reason2Decide Stage 1 then Stage 2 by default."""
    from reason2decide.distributed import is_main_process
    from reason2decide.errors import R2DError
    from reason2decide.training.config import build_config, upgrade_options
    from reason2decide.training.output import resume_config
    from reason2decide.training.recipes import run_training

    flags = {**flags, **column_flags.given()}
    flags = upgrade_options(flags, source="command line")
    output = flags.get("output")
    if resume and output is None and config is None:
        raise R2DError("--resume needs --output (the folder of the run to continue)")
    if resume:
        out_dir = output
        if out_dir is None:
            from reason2decide.training.config import load_yaml

            out_dir = Path(load_yaml(config).get("output", ""))
        resolved = resume_config(
            out_dir, {k: v for k, v in flags.items() if k != "output"}, config_file=config
        )
    else:
        resolved = build_config(flags, config)
    manifest = run_training(resolved, resume=resume, overwrite=overwrite, say=console.print)
    if not is_main_process():
        return
    out = resolved.output
    console.print(
        f"[bold green]done[/] in {manifest['wall_time_s']:.0f} s of training. "
        f"Model: {out / 'model'}\n"
        f"Next: r2d evaluate {out} --test TEST_FILE --output {out / 'eval'}"
    )
