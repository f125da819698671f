"""``r2d data ...``: demo data, built-in sources, statistics."""

from __future__ import annotations

from pathlib import Path

import typer

from reason2decide.cli.app import app, console, console_err, user_errors

data_app = typer.Typer(help="Make, prepare and inspect data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


# --- built-in sources: list / prepare / stats -------------------------------------------------


@data_app.command("list")
@user_errors
def list_sources(
    json_output: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the built-in medical sources: task, labels, size, splits, licence, citation.

    Raw files are read from --data-dir, $R2D_DATA_DIR, or ../shared/data beside the current
    directory or the checkout; nothing is downloaded. Choices made here: PubMedQA test = the
    official 500 ids, train/val = 450/50 stratified; BioASQ test = the latest batch year;
    MedReason has no train file, so Reason2Decide-C's val file gives train/val (90/10) and its
    test file is test, with --label-placeholder keep as default (the files as Reason2Decide-C
    trained on them); MedMCQA and DDXPlus are split 80/10/10; DDXPlus rationales are
    constructed from a template. Default seed 42.
    """
    import json

    from reason2decide.data.sources import SOURCES

    if json_output:
        rows = []
        for source in SOURCES.values():
            entry = dict(vars(source.info))
            entry["options"] = {
                option.flag: {"choices": list(option.choices), "default": option.default}
                for option in source.options.values()
            }
            rows.append(entry)
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    for index, source in enumerate(SOURCES.values()):
        info = source.info
        if index:
            console.print()
        console.print(f"[bold]{info.name}[/]  {info.title}", highlight=False, soft_wrap=True)
        fields = [
            ("task", info.task),
            ("labels", info.labels),
            ("size", info.size),
            ("splits", info.splits),
            ("rationale", f"{info.rationale} [{info.rationale_origin}]"),
            ("licence", info.licence),
            ("citation", info.citation),
            ("homepage", info.homepage),
            ("raw files", ", ".join(info.raw_files)),
        ]
        fields += [(option.flag, option.help) for option in source.options.values()]
        fields += [("note", note) for note in info.notes]
        for key, value in fields:
            console.print(
                f"  {key + ':':<20} {value}", highlight=False, markup=False, soft_wrap=True
            )


@data_app.command("prepare")
@user_errors
def prepare_source(
    source: str = typer.Argument(..., help="Source name (see `r2d data list`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for train/val/test.jsonl."),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Folder with the raw files (default: $R2D_DATA_DIR, else ../shared/data).",
    ),
    seed: int = typer.Option(42, "--seed", help="Seed of the random splits."),
    mask_label_in_rationale: bool = typer.Option(
        False,
        "--mask-label-in-rationale",
        help="Replace the label inside rationales by [LABEL] (for rationale-to-label metrics).",
    ),
    label_placeholder: str | None = typer.Option(
        None,
        "--label-placeholder",
        help="medreason: keep (default) / fill / drop the literal [LABEL] in rationales.",
    ),
    ideal_answers: str | None = typer.Option(
        None,
        "--ideal-answers",
        help="bioasq: first (default) / all (also write every ideal answer as 'references').",
    ),
) -> None:
    """Prepare a built-in source: train/val/test.jsonl plus dataset.json, identical every run."""
    from reason2decide.data.sources import prepare

    result = prepare(
        source,
        out,
        data_dir=data_dir,
        seed=seed,
        mask_label_in_rationale=mask_label_in_rationale,
        options={"label_placeholder": label_placeholder, "ideal_answers": ideal_answers},
    )
    meta = result.metadata
    sizes = ", ".join(f"{name} {split['examples']}" for name, split in meta["splits"].items())
    console.print(f"{meta['source']}: {sizes} -> {result.out_dir}", highlight=False, soft_wrap=True)
    for note in meta["notes"]:
        console.print(f"  note: {note}", highlight=False, markup=False, soft_wrap=True)
    if meta["cross_split_duplicates"]:
        console_err.print("warning: questions or ids shared between splits", highlight=False)


@data_app.command("stats")
@user_errors
def stats(
    paths: list[Path] = typer.Argument(
        ..., help="Split files, or a folder holding train/val/test files."
    ),
    tokenizer: str = typer.Option(
        "minilm",
        "--tokenizer",
        help="Tokenizer for token lengths: 'minilm' (offline default), a local folder or a "
        "Hugging Face name, or 'none' to skip.",
    ),
    input_limit: int = typer.Option(512, "--input-limit", help="Count questions above this."),
    target_limit: int = typer.Option(
        256, "--target-limit", help="Count rationales above this many tokens."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
) -> None:
    """Label distribution, token lengths, label leakage and duplicates across splits."""
    import json

    from reason2decide.data.stats import dataset_stats, format_stats, load_splits, load_tokenizer

    splits = load_splits(paths)
    model, shown = load_tokenizer(tokenizer)
    result = dataset_stats(
        splits,
        model,
        tokenizer_name=shown,
        input_limit=input_limit,
        target_limit=target_limit,
    )
    if json_output:
        console.print_json(json.dumps(result, ensure_ascii=False))
    else:
        console.print(format_stats(result), highlight=False, markup=False, soft_wrap=True)


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
    mask_label_in_rationale: bool = typer.Option(
        False,
        "--mask-label-in-rationale",
        help="Replace the label inside rationales by [LABEL] (for rationale-to-label metrics).",
    ),
) -> None:
    """Write the synthetic telephone-triage demo set: 4 dispositions, each with a rationale.

    A demo for trying the library offline, not a benchmark. The rules that decide the labels are
    documented in reason2decide.data.synth_triage.
    """
    from rich.table import Table

    from reason2decide.data import synth_triage as triage
    from reason2decide.data.readers import read_examples

    sizes = triage.write_splits(
        out,
        n,
        seed,
        val_fraction,
        test_fraction,
        noise=noise,
        mask_label_in_rationale=mask_label_in_rationale,
    )
    counts = {
        split: [example.label for example in read_examples(out / triage.SPLIT_FILES[split])]
        for split in sizes
    }
    shown = ", ".join(f"{split} {size}" for split, size in sizes.items())
    masked = " (labels masked in rationales)" if mask_label_in_rationale else ""
    console.print(
        f"synth-triage (seed {seed}): {shown} -> {out}{masked}", highlight=False, soft_wrap=True
    )
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
