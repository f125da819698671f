"""``r2d data prepare``: build a source's splits and write them with a ``dataset.json`` record."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reason2decide import __version__
from reason2decide.data.example import Example
from reason2decide.data.fingerprint import fingerprint
from reason2decide.data.leakage import DEFAULT_PLACEHOLDER, count_leaking, mask_examples
from reason2decide.data.readers import write_examples
from reason2decide.data.sources.base import (
    DEFAULT_SEED,
    SPLITS,
    BuiltSplits,
    OptionValue,
    resolve_data_dir,
)
from reason2decide.data.sources.registry import get_source, resolve_options
from reason2decide.data.stats import cross_split_duplicates, label_distribution
from reason2decide.errors import R2DError
from reason2decide.io import write_json

#: Name of the record written beside the split files.
DATASET_FILE = "dataset.json"
#: Version of the ``dataset.json`` layout.
FORMAT_VERSION = 1
#: At most this many labels are listed per split in ``dataset.json`` for open-ended label sets.
TOP_LABELS = 20


@dataclass(frozen=True)
class PreparedDataset:
    """What :func:`prepare` wrote: the output folder, the split files and the record."""

    out_dir: Path
    files: dict[str, Path]
    metadata: dict[str, Any]


def build_source(
    source: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    seed: int = DEFAULT_SEED,
    mask_label_in_rationale: bool = False,
    options: Mapping[str, OptionValue | None] | None = None,
    only_with_rationale: bool = False,
) -> tuple[BuiltSplits, dict[str, Any]]:
    """Build a source's splits in memory; return them and the resolved settings.

    The settings hold ``data_dir`` (a :class:`Path`; None for a generated source, which has no
    raw files and looks for no data directory), ``seed``, ``mask_label_in_rationale``,
    ``options`` (source options with defaults), ``masked`` (rationales changed by masking) and,
    with ``only_with_rationale``, ``without_rationale_dropped`` (rows left out per split: the
    splits are drawn first, so each keeps the rows it would have had).
    """
    spec = get_source(source)
    resolved = resolve_options(spec, options or {})
    root = resolve_data_dir(data_dir) if spec.info.raw_files else None
    built = spec.build(root, seed=seed, options=resolved)
    dropped: dict[str, int] = {}
    if only_with_rationale:
        for name in ("train", "val", "test"):
            part = getattr(built, name)
            kept = [e for e in part if e.rationale and e.rationale.strip()]
            dropped[name] = len(part) - len(kept)
            setattr(built, name, kept)
    masked = 0
    if mask_label_in_rationale:
        before = {e.id: e.rationale for part in built.by_name().values() for e in part}
        built.train = mask_examples(built.train)
        built.val = mask_examples(built.val)
        built.test = mask_examples(built.test)
        masked = sum(
            1 for part in built.by_name().values() for e in part if before[e.id] != e.rationale
        )
    settings = {
        "data_dir": root,
        "seed": seed,
        "mask_label_in_rationale": mask_label_in_rationale,
        "options": resolved,
        "masked": masked,
    }
    if only_with_rationale:
        settings["without_rationale_dropped"] = dropped
    return built, settings


def _label_set_kind(open_labels: bool, splits: Mapping[str, list[Example]]) -> str:
    """``choices`` when every case carries its own options (each is scored over them), else
    ``open`` or ``closed`` as the source says."""
    if all(e.choices is not None for examples in splits.values() for e in examples):
        return "choices"
    return "open" if open_labels else "closed"


def _labels_record(examples: list[Example], open_labels: bool) -> dict[str, Any]:
    counts = label_distribution(examples)
    if not open_labels:
        return {"labels": counts}
    top = dict(list(counts.items())[:TOP_LABELS])
    return {"distinct_labels": len(counts), "top_labels": top}


def _raw_record(path: Path, root: Path) -> dict[str, Any]:
    info = fingerprint(path)
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        relative = path.name
    return {"path": relative, "sha256": info["sha256"], "bytes": info["bytes"]}


def prepared_record(split_file: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``dataset.json`` that :func:`prepare` wrote beside ``split_file``, when there is one
    and it lists that file among its splits with the content it has now (the sha256 it
    records, where it records one); else None (a file edited or replaced since is not
    described by that record)."""
    path = Path(split_file).parent / DATASET_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise R2DError(
            f"cannot read the prepared dataset's record: {exc}",
            path=path,
            hint="prepare the data again with r2d data prepare, or remove the file",
        ) from None
    splits = record.get("splits") if isinstance(record, dict) else None
    if not isinstance(splits, dict):
        return None
    recorded = {
        split.get("file"): split.get("sha256")
        for split in splits.values()
        if isinstance(split, dict)
    }
    name = Path(split_file).name
    if name not in recorded or not Path(split_file).is_file():
        return None
    if recorded[name] is None:
        return record
    return record if fingerprint(split_file)["sha256"] == recorded[name] else None


def prepare(
    source: str,
    out_dir: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    seed: int = DEFAULT_SEED,
    mask_label_in_rationale: bool = False,
    options: Mapping[str, OptionValue | None] | None = None,
    only_with_rationale: bool = False,
) -> PreparedDataset:
    """Write ``train.jsonl``, ``val.jsonl``, ``test.jsonl`` and ``dataset.json`` to ``out_dir``.

    The same raw files, seed and options give byte-identical output. ``dataset.json`` records
    the source, the raw files' sha256, the options, each split's size, label distribution and
    file sha256, how the text was built, and whether the rationales were written by people or
    constructed. Raises :class:`R2DError` for an unknown source, a bad option, a missing raw file
    or a raw record that does not parse.
    """
    spec = get_source(source)
    built, settings = build_source(
        spec.name,
        data_dir=data_dir,
        seed=seed,
        mask_label_in_rationale=mask_label_in_rationale,
        options=options,
        only_with_rationale=only_with_rationale,
    )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise R2DError("the output path exists and is not a folder", path=out, field="--out")
    splits = built.by_name()
    if not splits["train"] or not splits["test"]:
        raise R2DError(
            f"source '{spec.name}' gave an empty train or test split",
            path=settings["data_dir"],
            hint="check that the raw files are complete",
        )
    # A record of an earlier preparation must not outlive the files it describes: an
    # interrupted re-preparation leaves split files and no record, never a stale one.
    (out / DATASET_FILE).unlink(missing_ok=True)
    files: dict[str, Path] = {}
    split_records: dict[str, Any] = {}
    for name in SPLITS:
        path = out / f"{name}.jsonl"
        write_examples(path, splits[name])
        files[name] = path
        leaking, with_rationale = count_leaking(splits[name])
        split_records[name] = {
            "file": path.name,
            "sha256": fingerprint(path)["sha256"],
            "examples": len(splits[name]),
            "with_rationale": with_rationale,
            "label_in_rationale": leaking,
            **_labels_record(splits[name], spec.info.open_labels),
        }
    info = spec.info
    constructed = info.rationale_origin.startswith("constructed")
    metadata: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "source": info.name,
        "title": info.title,
        "prepared_with": f"reason2decide {__version__}",
        "raw_files": [_raw_record(path, settings["data_dir"]) for path in built.raw_files],
        "seed": seed,
        "options": {
            "mask_label_in_rationale": mask_label_in_rationale,
            **({"only_with_rationale": True} if only_with_rationale else {}),
            **settings["options"],
        },
        "splits": split_records,
        "split_method": info.splits,
        "text": {"question": info.question, "label": info.labels, "rationale": info.rationale},
        "rationale_origin": info.rationale_origin,
        "rationale_constructed": constructed,
        "label_set": _label_set_kind(info.open_labels, splits),
        "cross_split_duplicates": cross_split_duplicates(splits),
        "licence": info.licence,
        "citation": info.citation,
        "homepage": info.homepage,
        "notes": list(built.notes) + list(info.notes),
    }
    if mask_label_in_rationale:
        metadata["masking"] = {
            "placeholder": DEFAULT_PLACEHOLDER,
            "rationales_changed": settings["masked"],
        }
    if built.counts:
        metadata["counts"] = dict(built.counts)
    if only_with_rationale:
        dropped = settings["without_rationale_dropped"]
        metadata["without_rationale_dropped"] = dropped
        metadata["notes"].append(
            f"--only-with-rationale: {sum(dropped.values())} rows without a rationale left out "
            f"(train {dropped['train']}, val {dropped['val']}, test {dropped['test']})"
        )
    write_json(out / DATASET_FILE, metadata)
    files["dataset"] = out / DATASET_FILE
    return PreparedDataset(out_dir=out, files=files, metadata=metadata)
