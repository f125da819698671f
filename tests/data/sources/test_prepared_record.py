"""The prepared dataset's record describes the split files only as they were written."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from reason2decide.data.sources import prepare, prepared_record

# the submodule (the package exports its function under the same name)
prepare_module = importlib.import_module("reason2decide.data.sources.prepare")


def test_the_record_describes_a_split_file_only_while_it_is_unchanged(tmp_path: Path) -> None:
    out = prepare("synth-triage", tmp_path / "data", options={"n": 200}).out_dir
    train = out / "train.jsonl"
    assert prepared_record(train)["source"] == "synth-triage"
    # Regression: a split file edited (or replaced) after preparation kept its old record.
    train.write_text(train.read_text().splitlines()[0] + "\n")
    assert prepared_record(train) is None
    assert prepared_record(out / "val.jsonl") is not None


def test_an_interrupted_re_preparation_leaves_no_stale_record(tmp_path, monkeypatch) -> None:
    out = prepare("synth-triage", tmp_path / "data", options={"n": 200}).out_dir
    written = prepare_module.write_examples

    def fail_on_val(path, examples):
        if Path(path).name == "val.jsonl":
            raise KeyboardInterrupt
        written(path, examples)

    monkeypatch.setattr(prepare_module, "write_examples", fail_on_val)
    with pytest.raises(KeyboardInterrupt):
        prepare("synth-triage", out, seed=7, options={"n": 200})
    assert not (out / "dataset.json").exists()
    assert prepared_record(out / "test.jsonl") is None
