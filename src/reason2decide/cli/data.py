"""``r2d data ...``: demo data, built-in sources, statistics."""

from __future__ import annotations

from pathlib import Path

import typer

from reason2decide.cli.app import app, console, console_err, user_errors
from reason2decide.data.sources.synth_triage import DEFAULT_SEED as TRIAGE_SEED
from reason2decide.data.sources.synth_triage import OPTIONS as TRIAGE

data_app = typer.Typer(help="Make, prepare and inspect data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


# --- built-in sources: list / prepare / stats -------------------------------------------------


@data_app.command("list")
@user_errors
def list_sources(
    json_output: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List the built-in medical sources: task, labels, size, splits, licence, citation.

    `r2d data prepare` reads raw files from --data-dir, $R2D_DATA_DIR, or ../shared/data beside
    the current directory or the checkout; nothing is downloaded. Choices made here: PubMedQA
    test = the official 500 ids, train/val = 450/50 stratified; BioASQ test = the latest batch
    year; MedReason has no train file, so Reason2Decide-C's val file gives train/val (90/10) and
    its test file is test, with --label-placeholder keep as default (the files as
    Reason2Decide-C trained on them); MedMCQA and DDXPlus are split 80/10/10; DDXPlus rationales
    are constructed from a template. Default seed 42. synth-triage is generated offline (no raw
    files): the synthetic demo set that `r2d data synth-triage` writes.
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
            ("raw files", ", ".join(info.raw_files) or "none (generated offline)"),
        ]
        fields += [(option.flag, option.help) for option in source.options.values()]
        fields += [("note", note) for note in info.notes]
        for key, value in fields:
            console.print(
                f"  {key + ':':<20} {value}", highlight=False, markup=False, soft_wrap=True
            )


def _triage_help(key: str) -> str:
    """The help of a synth-triage option of `r2d data prepare`, with its real default."""
    option = TRIAGE[key]
    return f"{option.help} (default {option.default})."


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
    only_with_rationale: bool = typer.Option(
        False,
        "--only-with-rationale",
        help="Leave out the rows without a rationale (Reason2Decide needs one per training "
        "row; MedMCQA has none for 47 %), after splitting.",
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
    n: int | None = typer.Option(None, "--n", help=_triage_help("n")),
    val_fraction: float | None = typer.Option(
        None, "--val-fraction", help=_triage_help("val_fraction")
    ),
    test_fraction: float | None = typer.Option(
        None, "--test-fraction", help=_triage_help("test_fraction")
    ),
    noise: float | None = typer.Option(None, "--noise", help=_triage_help("noise")),
) -> None:
    """Prepare a built-in source: train/val/test.jsonl plus dataset.json, identical every run."""
    from reason2decide.data.sources import prepare

    options = {
        "label_placeholder": label_placeholder,
        "ideal_answers": ideal_answers,
        "n": n,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "noise": noise,
    }
    result = prepare(
        source,
        out,
        data_dir=data_dir,
        seed=seed,
        mask_label_in_rationale=mask_label_in_rationale,
        options=options,
        only_with_rationale=only_with_rationale,
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
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder for train/val/test.jsonl and dataset.json."
    ),
    n: int = typer.Option(TRIAGE["n"].default, "--n", help="Number of cases, all splits together."),
    seed: int = typer.Option(
        TRIAGE_SEED, "--seed", help="The same seed writes byte-identical files."
    ),
    val_fraction: float = typer.Option(
        TRIAGE["val_fraction"].default, "--val-fraction", help="Share of cases in val."
    ),
    test_fraction: float = typer.Option(
        TRIAGE["test_fraction"].default, "--test-fraction", help="Share of cases in test."
    ),
    noise: float = typer.Option(
        TRIAGE["noise"].default,
        "--noise",
        help="Share of labels replaced by another disposition at random.",
    ),
    mask_label_in_rationale: bool = typer.Option(
        False,
        "--mask-label-in-rationale",
        help="Replace the label inside rationales by [LABEL] (for rationale-to-label metrics).",
    ),
) -> None:
    """Write the synthetic telephone-triage demo set: 4 dispositions, each with a rationale.

    A demo for trying the library offline, not a benchmark: the built-in source synth-triage
    (`r2d data prepare synth-triage`, with its own default seed), so dataset.json is written too.
    The rules that decide the labels are documented in reason2decide.data.sources.synth_triage.
    """
    from rich.table import Table

    from reason2decide.data.sources import prepare
    from reason2decide.data.sources.synth_triage import LABELS

    result = prepare(
        "synth-triage",
        out,
        seed=seed,
        mask_label_in_rationale=mask_label_in_rationale,
        options={
            "n": n,
            "val_fraction": val_fraction,
            "test_fraction": test_fraction,
            "noise": noise,
        },
    )
    splits = result.metadata["splits"]
    shown = ", ".join(f"{split} {record['examples']}" for split, record in splits.items())
    masked = " (labels masked in rationales)" if mask_label_in_rationale else ""
    console.print(
        f"synth-triage (seed {seed}): {shown} -> {out}{masked}", highlight=False, soft_wrap=True
    )
    table = Table(title="label distribution")
    table.add_column("label")
    for split in splits:
        table.add_column(split, justify="right")
    table.add_column("all", justify="right")
    for label in LABELS:
        per_split = [record["labels"].get(label, 0) for record in splits.values()]
        total = sum(per_split)
        table.add_row(label, *map(str, per_split), f"{total} ({100 * total / n:.1f}%)")
    console.print(table)
    if result.metadata["cross_split_duplicates"]:
        console_err.print("warning: questions or ids shared between splits", highlight=False)
