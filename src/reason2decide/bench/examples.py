"""What a bench reads from its data files: the test cases, the label set, and the check that
every run still to train finds the rationales it needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reason2decide.bench.spec import BenchSpec, PlannedRun
from reason2decide.data.example import Example
from reason2decide.data.readers import ColumnMap, read_examples
from reason2decide.methods import METHODS
from reason2decide.training.config import TrainConfig


def columns(config: TrainConfig, rationale: str | None) -> ColumnMap:
    """The columns of ``config`` with ``rationale`` as the rationale column (None: not read)."""
    return config.columns(rationale)


def read_test_examples(config: TrainConfig, spec: BenchSpec, test: Path) -> list[Example]:
    """The test cases, read with the shared columns (variants cannot change them): its
    ``rationale_col`` is the gold every run is scored against, whatever it trained on."""
    examples = read_examples(test, columns(config, config.rationale_col))
    return examples[: spec.test_limit] if spec.test_limit is not None else examples


def check_rationales(plan: Sequence[PlannedRun], train: Path, val: Path | None = None) -> None:
    """Fail before any training if a run still to train needs rationales the data lacks: its
    ``rationale_col`` in the training (and validation) file, and its Stage-1 column or file
    (which training reads for every method that needs rationales, as ``r2d train`` does)."""
    todo = [
        r
        for r in plan
        if r.trained and r.state in ("new", "resume") and METHODS[r.method].requires_rationale
    ]
    checked: set[tuple[Any, ...]] = set()

    def require(path: Path, config: TrainConfig, column: str) -> None:
        key = (str(path), column, repr(config.columns(column)))
        if key in checked:
            return
        checked.add(key)
        read_examples(path, columns(config, column), require_rationale=True)

    for run in todo:
        config = run.config
        files = [train] if val is None else [train, val]
        for path in files:
            require(path, config, config.rationale_col)
        stage1_column = config.stage1_rationale_col or config.rationale_col
        if config.stage1_train is not None:
            require(Path(config.stage1_train), config, stage1_column)
        elif config.stage1_rationale_col is not None:
            for path in files:
                require(path, config, stage1_column)


def zero_shot_labels(config: TrainConfig, train: Path) -> list[str]:
    """The label set the zero-shot LLM chooses from: the trained methods' (``labels`` of the
    shared config, else the training split's labels, sorted), as ``r2d zero-shot`` picks it."""
    from reason2decide.data.labels import run_label_set

    examples = (
        None if config.labels else read_examples(train, columns(config, config.rationale_col))
    )
    return list(run_label_set(config.labels, examples))


def bench_labels(config: TrainConfig, train: Path) -> list[str]:
    """The trained methods' label set: ``labels`` of the shared config, else the training
    split's labels, sorted (only the question and label columns are read)."""
    from reason2decide.data.labels import LabelSet

    if config.labels:
        return list(LabelSet.parse(config.labels))
    return list(LabelSet.from_examples(read_examples(train, columns(config, None))))
