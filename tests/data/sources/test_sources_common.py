"""Splitting, the data-directory search, the registry and option checks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reason2decide.data.example import Example
from reason2decide.data.sources import (
    DATA_DIR_ENV,
    SOURCES,
    base,
    get_source,
    resolve_data_dir,
    resolve_options,
    split_examples,
)
from reason2decide.errors import R2DError


def _examples(counts: dict[str, int]) -> list[Example]:
    rows = []
    for label, count in counts.items():
        rows += [Example(f"{label}-{i:03d}", f"question {label} {i}", label) for i in range(count)]
    return rows


def test_split_is_deterministic_and_independent_of_input_order() -> None:
    examples = _examples({"a": 40, "b": 25, "c": 5})
    first = split_examples(examples, {"val": 0.1, "test": 0.2}, seed=7, stratify=lambda e: e.label)
    again = split_examples(
        list(reversed(examples)), {"val": 0.1, "test": 0.2}, seed=7, stratify=lambda e: e.label
    )
    assert first == again
    other = split_examples(examples, {"val": 0.1, "test": 0.2}, seed=8, stratify=lambda e: e.label)
    assert [e.id for e in other["val"]] != [e.id for e in first["val"]]


def test_split_sizes_are_exact_and_parts_disjoint() -> None:
    examples = _examples({"a": 40, "b": 25, "c": 5})
    parts = split_examples(examples, {"val": 0.1, "test": 0.2}, seed=1, stratify=lambda e: e.label)
    assert len(parts["val"]) == 7 and len(parts["test"]) == 14 and len(parts["train"]) == 49
    ids = [e.id for part in parts.values() for e in part]
    assert sorted(ids) == sorted(e.id for e in examples)
    assert all(part == sorted(part, key=lambda e: e.id) for part in parts.values())


def test_split_is_stratified_and_keeps_singletons_in_train() -> None:
    examples = _examples({"a": 100, "b": 50, "rare": 1})
    parts = split_examples(examples, {"val": 0.1}, seed=3, stratify=lambda e: e.label)
    assert Counter(e.label for e in parts["val"]) == {"a": 10, "b": 5}
    assert [e.label for e in parts["train"]].count("rare") == 1


def test_split_keeps_equal_questions_together() -> None:
    examples = [Example(f"id{i:02d}", f"question {i % 10}", "x") for i in range(30)]
    parts = split_examples(examples, {"val": 0.3}, seed=0)
    train_q = {e.question for e in parts["train"]}
    assert not train_q & {e.question for e in parts["val"]}
    assert len(parts["val"]) == 9  # 3 question groups of 3 examples


def test_resolve_data_dir_explicit_env_and_errors(tmp_path: Path, monkeypatch) -> None:
    assert resolve_data_dir(tmp_path) == tmp_path
    with pytest.raises(R2DError, match="does not exist"):
        resolve_data_dir(tmp_path / "nope")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert resolve_data_dir() == tmp_path
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "gone"))
    with pytest.raises(R2DError, match=DATA_DIR_ENV):
        resolve_data_dir()


def test_resolve_data_dir_fallback_and_where_it_looked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(base, "_repository_roots", lambda: [])
    work = tmp_path / "clone"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(R2DError) as error:
        resolve_data_dir()
    message = str(error.value)
    assert str(tmp_path / "shared" / "data") in message and "--data-dir" in message
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert resolve_data_dir() == (tmp_path / "shared" / "data").resolve()


def test_registry_lists_the_sources_with_their_descriptions() -> None:
    assert list(SOURCES) == [
        "pubmedqa",
        "bioasq",
        "medreason",
        "medmcqa",
        "ddxplus",
        "synth-triage",
    ]
    for source in SOURCES.values():
        info = source.info
        generated = info.name == "synth-triage"  # made from its seed: no raw files
        assert info.licence and info.citation and info.splits
        assert bool(info.raw_files) != generated
    assert get_source(" PubMedQA ").name == "pubmedqa"
    with pytest.raises(R2DError, match="unknown source 'mimic'.*pubmedqa"):
        get_source("mimic")


def test_resolve_options_defaults_and_errors() -> None:
    medreason = get_source("medreason")
    assert resolve_options(medreason, {}) == {"label_placeholder": "keep"}
    assert resolve_options(medreason, {"label_placeholder": "fill", "ideal_answers": None}) == {
        "label_placeholder": "fill"
    }
    with pytest.raises(R2DError, match="must be one of keep, fill, drop"):
        resolve_options(medreason, {"label_placeholder": "maybe"})
    with pytest.raises(R2DError, match="--ideal-answers applies to bioasq only"):
        resolve_options(medreason, {"ideal_answers": "all"})
