"""``r2d data ...``: demo data, built-in sources, statistics."""

from __future__ import annotations

from pathlib import Path

import typer

from reason2decide.cli.app import app, console, user_errors

data_app = typer.Typer(help="Make, prepare and inspect data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


# --- synthetic demo data ----------------------------------------------------------------------


@data_app.command("synth-triage")
@user_errors
def synth_triage(
    out: Path = typer.Option(..., "--out", "-o", help="Folder for train/val/test.jsonl."),
    n: int = typer.Option(2000, "--n", help="Number of cases, all splits together."),
    seed: int = typer.Option(0, "--seed", help="The same seed writes byte-identical files."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of cases in val."),
    test_fraction: float = typer.Option(0.1, "--test-fraction", help="Share of cases in test."),
    noise: float = typer.Option(
        0.05, "--noise", help="Share of labels replaced by another disposition at random."
    ),
) -> None:
    """Write the synthetic telephone-triage demo set: 4 dispositions, each with a rationale.

    A demo for trying the library offline, not a benchmark. The rules that decide the labels are
    documented in reason2decide.data.synth_triage.
    """
    from rich.table import Table

    from reason2decide.data import synth_triage as triage
    from reason2decide.data.readers import read_examples

    sizes = triage.write_splits(out, n, seed, val_fraction, test_fraction, noise=noise)
    counts = {
        split: [example.label for example in read_examples(out / triage.SPLIT_FILES[split])]
        for split in sizes
    }
    shown = ", ".join(f"{split} {size}" for split, size in sizes.items())
    console.print(f"synth-triage (seed {seed}): {shown} -> {out}", highlight=False, soft_wrap=True)
    table = Table(title="label distribution")
    table.add_column("label")
    for split in sizes:
        table.add_column(split, justify="right")
    table.add_column("all", justify="right")
    for label in triage.LABELS:
        per_split = [labels.count(label) for labels in counts.values()]
        total = sum(per_split)
        table.add_row(label, *map(str, per_split), f"{total} ({100 * total / n:.1f}%)")
    console.print(table)
