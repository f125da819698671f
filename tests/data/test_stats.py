"""Data statistics, the stats report and CLI, and the warnings training prints."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reason2decide.cli import app
from reason2decide.data.example import Example
from reason2decide.data.readers import write_examples
from reason2decide.data.stats import (
    cross_split_duplicates,
    dataset_stats,
    format_stats,
    label_distribution,
    load_splits,
    percentiles,
    training_data_warnings,
)
from reason2decide.errors import R2DError


class WordTokenizer:
    """A stand-in tokenizer: one token per whitespace-separated word."""

    def __call__(self, texts, **kwargs):
        return {"input_ids": [text.split() for text in texts]}


def _ex(i: int, label: str, rationale: str | None = "because", question: str | None = None):
    return Example(f"e{i}", question or f"question number {i}", label, rationale)


def test_percentiles_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentiles(values) == {
        "p50": 50,
        "p90": 90,
        "p95": 95,
        "p99": 99,
        "max": 100,
        "mean": 50.5,
    }
    assert percentiles([7]) == {"p50": 7, "p90": 7, "p95": 7, "p99": 7, "max": 7, "mean": 7.0}
    assert percentiles([]) == {}


def test_label_distribution_orders_by_count_then_label() -> None:
    examples = [_ex(0, "b"), _ex(1, "a"), _ex(2, "c"), _ex(3, "c")]
    assert list(label_distribution(examples).items()) == [("c", 2), ("a", 1), ("b", 1)]


def test_cross_split_duplicates_by_id_and_normalized_question() -> None:
    splits = {
        "train": [_ex(1, "a", question="Is  it TRUE?"), _ex(2, "b")],
        "val": [_ex(3, "a")],
        "test": [Example("e2", "other", "a"), Example("t9", "is it true?", "a")],
    }
    found = cross_split_duplicates(splits)
    assert found == [
        {"splits": ["train", "test"], "ids": 1, "questions": 1, "examples": [["e1", "t9"]]}
    ]


def test_dataset_stats_and_report() -> None:
    splits = {
        "train": [_ex(0, "yes", "Yes it is."), _ex(1, "no", "It is not."), _ex(2, "yes", None)],
        "test": [_ex(3, "no", "no way"), _ex(0, "yes", "fine")],
    }
    stats = dataset_stats(splits, WordTokenizer(), tokenizer_name="words", input_limit=2)
    train = stats["splits"]["train"]
    assert train["examples"] == 3 and train["with_rationale"] == 2
    assert train["label_in_rationale"] == 1 and train["labels"] == {"yes": 2, "no": 1}
    assert train["question_tokens"]["max"] == 3 and train["question_tokens"]["over_2"] == 3
    assert train["rationale_tokens"]["p50"] == 3
    assert stats["cross_split_duplicates"][0]["ids"] == 1
    json.dumps(stats)  # JSON-able
    report = format_stats(stats)
    assert "label in rationale" in report and "1 (50.0%)" in report
    assert "Token lengths (tokenizer: words" in report and "3 > 2 (100.0%)" in report
    assert "train / test: 1 shared id(s), 1 test question(s) also in train (e.g. e0 / e0)" in report
    plain = format_stats(dataset_stats(splits))
    assert "Token lengths" not in plain


def test_open_ended_labels_are_summarized() -> None:
    splits = {"train": [_ex(i, f"answer {i}") for i in range(80)]}
    stats = dataset_stats(splits)
    assert stats["open_labels"] is True
    assert "80 distinct labels: open-ended; the 10 most frequent" in format_stats(stats)


def test_training_warnings_for_clean_data_are_empty() -> None:
    train = [_ex(i, "yes" if i % 2 else "no", "reasoning") for i in range(20)]
    val = [_ex(100 + i, "yes" if i % 2 else "no") for i in range(4)]
    assert training_data_warnings(train, val, val[:0]) == []


def test_training_warnings_name_each_problem() -> None:
    train = [_ex(i, "yes", "Yes, clearly.") for i in range(10)]
    train += [_ex(10, "no", None), _ex(11, "Yes "), _ex(12, "rare")]
    val = [_ex(0, "yes"), _ex(20, "unseen")]
    test = [Example("t1", "question number 3", "yes")]
    warnings = training_data_warnings(train, val, test)
    text = "\n".join(warnings)
    assert "1 of 13 training examples (7.7%) have no rationale" in text
    assert "10 of 12 training rationales (83.3%) contain their label verbatim" in text
    assert "1 id(s) occur in both train and val" in text
    assert "1 test question(s) also occur in train" in text
    assert "spelled in more than one way" in text and "'Yes ' / 'yes'" in text
    assert "fewer than 2 training examples: 'Yes ', 'no', 'rare'" in text
    assert "1 of 2 val examples have a label never seen in training: 'unseen'" in text
    assert training_data_warnings([]) == ["the training split is empty"]


def test_training_warnings_majority_single_label_and_open_labels() -> None:
    majority = [_ex(i, "yes") for i in range(19)] + [_ex(19, "no"), _ex(20, "no")]
    assert any("is 90.5% of the training data" in w for w in training_data_warnings(majority))
    single = [_ex(i, "yes") for i in range(5)]
    assert "the training data has a single label 'yes'" in training_data_warnings(single)
    open_ended = [_ex(i, f"drug {i}") for i in range(60)]
    warnings = training_data_warnings(open_ended)
    assert any("labels look open-ended (60 distinct labels" in w for w in warnings)
    assert not any("fewer than 2" in w for w in warnings)


def test_load_splits_from_folder_and_files(tmp_path: Path) -> None:
    write_examples(tmp_path / "train.jsonl", [_ex(0, "a"), _ex(1, "b")])
    write_examples(tmp_path / "test.jsonl", [_ex(2, "a")])
    (tmp_path / "notes.txt").write_text("ignored")
    assert {name: len(v) for name, v in load_splits([tmp_path]).items()} == {"train": 2, "test": 1}
    other = tmp_path / "other"
    write_examples(other / "train.jsonl", [_ex(5, "a")])
    both = load_splits([tmp_path / "train.jsonl", other / "train.jsonl"])
    assert list(both) == ["train", str(other / "train.jsonl")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(R2DError, match="no split files"):
        load_splits([tmp_path / "empty"])
    with pytest.raises(R2DError, match="file not found"):
        load_splits([tmp_path / "missing.jsonl"])


def test_stats_cli_plain_json_and_errors(tmp_path: Path) -> None:
    write_examples(tmp_path / "train.jsonl", [_ex(0, "yes", "Yes."), _ex(1, "no", "Because.")])
    write_examples(tmp_path / "val.jsonl", [_ex(1, "no", "Hm.")])
    runner = CliRunner()
    result = runner.invoke(app, ["data", "stats", str(tmp_path), "--tokenizer", "none"])
    assert result.exit_code == 0, result.output
    assert "train / val: 1 shared id(s)" in result.output and "Token lengths" not in result.output
    result = runner.invoke(app, ["data", "stats", str(tmp_path), "--tokenizer", "none", "--json"])
    assert json.loads(result.output)["splits"]["train"]["label_in_rationale"] == 1
    result = runner.invoke(app, ["data", "stats", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "file not found" in result.output


def test_stats_cli_with_the_offline_tokenizer(tmp_path: Path) -> None:
    write_examples(tmp_path / "train.jsonl", [_ex(0, "yes", "Yes, it is."), _ex(1, "no", "No.")])
    result = CliRunner().invoke(app, ["data", "stats", str(tmp_path / "train.jsonl")])
    assert result.exit_code == 0, result.output
    assert "tokenizer: all-MiniLM-L6-v2 (offline default)" in result.output
    result = CliRunner().invoke(app, ["data", "stats", str(tmp_path / "train.jsonl"), "--json"])
    tokens = json.loads(result.output)["splits"]["train"]
    assert tokens["question_tokens"]["max"] == 3  # "question number 0"
    assert tokens["rationale_tokens"]["max"] == 5  # "yes , it is ."


def test_stats_cli_unknown_tokenizer_is_a_user_error(tmp_path: Path) -> None:
    write_examples(tmp_path / "train.jsonl", [_ex(0, "yes")])
    result = CliRunner().invoke(
        app, ["data", "stats", str(tmp_path), "--tokenizer", str(tmp_path / "no-such-tokenizer")]
    )
    assert result.exit_code == 2 and "cannot load tokenizer" in result.output


def test_list_and_prepare_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0
    for name in ("pubmedqa", "bioasq", "medreason", "medmcqa", "ddxplus", "--label-placeholder"):
        assert name in result.output
    listed = json.loads(runner.invoke(app, ["data", "list", "--json"]).output)
    assert [entry["name"] for entry in listed][:2] == ["pubmedqa", "bioasq"]
    result = runner.invoke(app, ["data", "prepare", "nosuch", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "unknown source 'nosuch'" in result.output
    result = runner.invoke(
        app,
        ["data", "prepare", "medmcqa", "--out", str(tmp_path / "o"), "--data-dir", str(tmp_path)],
    )
    assert result.exit_code == 2 and "missing raw file 'medmcqa/dev.json'" in result.output


def test_prepare_cli_writes_the_files(tmp_path: Path) -> None:
    raw = tmp_path / "raw" / "medmcqa" / "dev.json"
    raw.parent.mkdir(parents=True)
    rows = [
        {
            "id": f"m{i}",
            "question": f"Which {i}?",
            "opa": f"Alpha {i}",
            "opb": "Beta",
            "opc": "Gamma",
            "opd": "Delta",
            "cop": 1,
            "exp": f"Ans. Alpha {i} is right.",
            "subject_name": "Anatomy",
        }
        for i in range(20)
    ]
    raw.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "out"
    args = ["data", "prepare", "medmcqa", "--out", str(out), "--data-dir", str(tmp_path / "raw")]
    result = CliRunner().invoke(app, [*args, "--seed", "3", "--mask-label-in-rationale"])
    assert result.exit_code == 0, result.output
    assert "medmcqa: train 16, val 2, test 2" in result.output
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["seed"] == 3 and meta["options"]["mask_label_in_rationale"] is True
    first = json.loads((out / "train.jsonl").read_text().split("\n")[0])
    assert first["rationale"] == "Ans. [LABEL] is right."


def test_choice_stats_count_options_and_gold_positions() -> None:
    def mc(i: int, options: tuple[str, ...], gold: int) -> Example:
        return Example(f"m{i}", f"q{i}", options[gold], choices=options)

    splits = {
        "train": [
            mc(0, ("x", "y", "z", "w"), 0),
            mc(1, ("x", "y", "z", "w"), 0),
            mc(2, ("x", "y", "z", "w"), 2),
            mc(3, ("x", "y"), 1),
            _ex(4, "yes"),
        ],
        "test": [_ex(5, "no")],
    }
    stats = dataset_stats(splits)
    assert stats["splits"]["train"]["choices"] == {
        "cases": 4,
        "options_per_case": {"2": 1, "4": 3},
        "gold_position": {"A": 2, "B": 1, "C": 1},
    }
    assert "choices" not in stats["splits"]["test"]
    report = format_stats(stats)
    assert "gold answer by position" in report
    assert "train      4      2-4  50.0%  25.0%  25.0%" in report
    assert "gold answer" not in format_stats(dataset_stats({"test": splits["test"]}))
