"""The examples a training run learns from: read, checked, validation held out if none given,
and Stage 1's own rationales (another column or file) checked against the evaluation data.

Reads only the plain options it names (:class:`TrainingDataOptions`, which ``TrainConfig``
satisfies), so that the data layer needs nothing from training.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from reason2decide.data.example import Example
from reason2decide.data.fingerprint import fingerprint
from reason2decide.data.labels import LabelSet, check_labels
from reason2decide.data.readers import ColumnMap, read_examples
from reason2decide.data.splits import stratified_holdout
from reason2decide.data.stats import overlapping_rows, training_data_warnings
from reason2decide.errors import R2DError

Say = Callable[[str], None]


class TrainingDataOptions(Protocol):
    """The options training data is read with (``TrainConfig`` has them all)."""

    train: Path
    val: Path | None
    val_fraction: float
    seed: int
    labels: str | None
    label_col: str
    rationale_col: str
    stage1_train: Path | None
    stage1_rationale_col: str | None
    stage1_exclude_overlap: bool

    def columns(self, rationale: str | None | Literal["config"] = "config") -> ColumnMap:
        """The column mapping, with ``rationale`` as the rationale column."""
        ...


@dataclass
class TrainingData:
    """Training and validation examples, the label set, and where each came from.

    ``stage1_train``/``stage1_val`` are Stage 1's examples: the same as ``train``/``val`` unless
    Stage 1 takes its rationales from another column or file (e.g. LLM-written rationales for
    Stage 1, clinicians' for Stage 2, the paper's key setting).
    """

    train: list[Example]
    val: list[Example]
    labels: LabelSet
    sources: dict[str, Any]
    stage1_train: list[Example] | None = None
    stage1_val: list[Example] | None = None

    def for_stage(self, name: str) -> tuple[list[Example], list[Example]]:
        """Training and validation examples of objective ``name``."""
        if name == "stage1" and self.stage1_train is not None:
            return self.stage1_train, self.stage1_val or self.val
        return self.train, self.val


def load_training_data(
    config: TrainingDataOptions,
    *,
    needs_rationale: bool,
    stages: tuple[str, ...] = ("stage1", "stage2"),
    say: Say = print,
    held_out: Mapping[str, Sequence[Example]] | None = None,
) -> TrainingData:
    """Read and check the training data of ``config`` for the objectives ``stages``; hold out
    validation data if none given. ``sources["rationales"]`` records, per stage that learns
    rationales, where they come from.

    Stage-1 rows of another source (``--stage1-train``, ``--stage1-rationale-col``) are checked
    against the validation rows and the sets in ``held_out`` (name → examples, e.g. the bench's
    test set): overlaps are warned about and recorded, or dropped with
    ``--stage1-exclude-overlap``.
    """
    columns = config.columns()
    train = read_examples(config.train, columns, require_rationale=needs_rationale)
    sources: dict[str, Any] = {"train": fingerprint(config.train)}
    if config.val is not None:
        val = read_examples(config.val, columns, require_rationale=needs_rationale)
        sources["val"] = fingerprint(config.val)
    else:
        train, val = stratified_holdout(train, config.val_fraction, config.seed)
        sources["val"] = {
            "held_out_from": "train",
            "fraction": config.val_fraction,
            "seed": config.seed,
            "ids": [e.id for e in val],
        }
        say(f"No --val given: held out {len(val)} of the training examples for validation.")
    if not train or not val:
        raise R2DError("too few examples to train and validate", path=config.train)
    if config.labels:
        labels = LabelSet.parse(config.labels)
        # a multiple-choice case's label is one of its own options, not of --labels
        outside = sorted({e.label for e in train if e.choices is None and e.label not in labels})
        if outside:
            raise R2DError(
                f"{len(outside)} training label(s) are not in --labels: {', '.join(outside[:5])}",
                path=config.train,
                field=config.label_col,
            )
    else:
        labels = LabelSet.from_examples(train)
    if len(labels) < 2:
        raise R2DError(
            f"the training data has a single label ({', '.join(labels)}): nothing to decide",
            path=config.train,
            field=config.label_col,
        )
    check_labels(val, labels, config.val or config.train)
    for message in training_data_warnings(train, val):
        warnings.warn(message, stacklevel=2)
    data = TrainingData(train, val, labels, sources)
    own = {"file": str(config.train), "column": config.rationale_col}
    sources["rationales"] = {
        name: dict(own) for name in stages if needs_rationale and name != "stage1"
    }
    if needs_rationale and "stage1" in stages:
        sources["rationales"]["stage1"] = dict(own)
        if config.stage1_train or config.stage1_rationale_col:
            _add_stage1_source(config, data, {"validation": val, **(held_out or {})}, say)
    return data


def _add_stage1_source(
    config: TrainingDataOptions,
    data: TrainingData,
    evaluation: Mapping[str, Sequence[Example]],
    say: Say = print,
) -> None:
    """Stage 1's own rationales: another column of the same rows, or another file; its rows are
    checked against the ``evaluation`` sets (see :func:`stage1_overlap`)."""
    column = config.stage1_rationale_col or config.rationale_col
    columns = config.columns(column)
    if config.stage1_train is not None:
        rows = read_examples(config.stage1_train, columns, require_rationale=True)
        rows, overlap = stage1_overlap(rows, evaluation, config.stage1_exclude_overlap, say)
        if not rows:
            raise R2DError(
                "every Stage-1 row also occurs in the evaluation data: nothing left to train on",
                path=config.stage1_train,
                hint="drop --stage1-exclude-overlap, or give Stage 1 other rows",
            )
        data.stage1_train, data.stage1_val = stratified_holdout(
            rows, config.val_fraction, config.seed
        )
        data.sources["stage1_train"] = fingerprint(config.stage1_train)
        data.sources["rationales"]["stage1"] = {
            "file": str(config.stage1_train),
            "column": column,
            "validation": f"{len(data.stage1_val)} rows held out from it",
            **({"overlap": overlap} if overlap else {}),
        }
        return

    def with_column(path: Path, examples: list[Example]) -> list[Example]:
        by_id = {e.id: e.rationale for e in read_examples(path, columns, require_rationale=True)}
        missing = [e.id for e in examples if e.id not in by_id]
        if missing:
            raise R2DError(
                f"{len(missing)} row id(s) have no Stage-1 rationale (e.g. {missing[0]!r})",
                path=path,
                field=column,
            )
        return [replace(e, rationale=by_id[e.id]) for e in examples]

    data.stage1_train, overlap = stage1_overlap(
        with_column(Path(config.train), data.train),
        evaluation,
        config.stage1_exclude_overlap,
        say,
    )
    if not data.stage1_train:
        raise R2DError(
            "every Stage-1 row also occurs in the evaluation data: nothing left to train on",
            path=config.train,
            hint="drop --stage1-exclude-overlap",
        )
    data.stage1_val = with_column(Path(config.val or config.train), data.val)
    data.sources["rationales"]["stage1"] = {
        "file": str(config.train),
        "column": column,
        **({"overlap": overlap} if overlap else {}),
    }


def stage1_overlap(
    rows: list[Example],
    evaluation: Mapping[str, Sequence[Example]],
    exclude: bool,
    say: Say = print,
) -> tuple[list[Example], dict[str, Any]]:
    """Stage-1 ``rows`` that share an id or a question with an ``evaluation`` set (name →
    examples): Stage 1 would learn their rationales, inflating held-out scores. Warns with the
    counts (or, with ``exclude``, drops those rows); returns the rows kept and the counts, as
    ``run.json`` records them (empty when nothing overlaps)."""
    hit = [False] * len(rows)
    counts: dict[str, Any] = {}
    for name, reference in evaluation.items():
        mask, ids, questions = overlapping_rows(rows, reference)
        if any(mask):
            counts[name] = {"rows": sum(mask), "ids": ids, "questions": questions}
            hit = [a or b for a, b in zip(hit, mask, strict=True)]
    if not counts:
        return rows, {}
    n = sum(hit)
    detail = "; ".join(
        f"{c['rows']} with the {name} set ({c['ids']} by id, {c['questions']} by question)"
        for name, c in counts.items()
    )
    counts["dropped"] = n if exclude else 0
    if exclude:
        say(
            f"Stage 1: dropped {n} of {len(rows)} rows that also occur in evaluation data: "
            f"{detail}."
        )
        return [row for row, h in zip(rows, hit, strict=True) if not h], counts
    warnings.warn(
        f"{n} of {len(rows)} Stage-1 training rows also occur in evaluation data ({detail}): "
        "Stage 1 learns their rationales, which inflates held-out scores; "
        "--stage1-exclude-overlap drops them",
        stacklevel=2,
    )
    return rows, counts
