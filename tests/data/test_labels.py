"""LabelSet: order, parsing, errors, round trip; check_labels warns once with a count."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from reason2decide.data.example import Example
from reason2decide.data.labels import LabelOutsideSetWarning, LabelSet, check_labels
from reason2decide.errors import R2DError


def _examples(*labels: str) -> list[Example]:
    return [Example(id=str(i), question=f"q{i}", label=label) for i, label in enumerate(labels)]


def test_from_examples_is_sorted_and_distinct() -> None:
    labels = LabelSet.from_examples(_examples("yes", "no", "maybe", "no", "yes"))
    assert labels.labels == ("maybe", "no", "yes")
    assert len(labels) == 3 and list(labels) == ["maybe", "no", "yes"]
    assert labels.index("yes") == 2
    assert "no" in labels and "nope" not in labels


def test_from_examples_without_labels_is_an_error() -> None:
    with pytest.raises(R2DError, match="no labels"):
        LabelSet.from_examples(_examples("", ""))


def test_parse_comma_list_keeps_given_order() -> None:
    assert LabelSet.parse("yes, no ,maybe").labels == ("yes", "no", "maybe")


def test_parse_single_label() -> None:
    assert LabelSet.parse("yes").labels == ("yes",)


def test_parse_file_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_text("emergency now\n\nself-care at home\n", encoding="utf-8")
    assert LabelSet.parse(str(path)).labels == ("emergency now", "self-care at home")


def test_parse_json_list_and_labels_json(tmp_path: Path) -> None:
    bare = tmp_path / "a.json"
    bare.write_text(json.dumps(["b", "a"]), encoding="utf-8")
    assert LabelSet.parse(str(bare)).labels == ("b", "a")
    saved = tmp_path / "labels.json"
    LabelSet(["x", "y"]).save(saved)
    assert LabelSet.parse(str(saved)).labels == ("x", "y")


def test_parse_missing_file_is_not_read_as_a_label(tmp_path: Path) -> None:
    with pytest.raises(R2DError, match="not found"):
        LabelSet.parse(str(tmp_path / "labels.txt"))


@pytest.mark.parametrize("option", ["", "  ", "yes,,no", "yes,no,yes", "a, a"])
def test_parse_rejects_empty_or_duplicate(option: str) -> None:
    with pytest.raises(R2DError):
        LabelSet.parse(option)


def test_file_with_duplicates_names_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_text("a\nb\na\n", encoding="utf-8")
    with pytest.raises(R2DError) as info:
        LabelSet.parse(str(path))
    assert str(path) in str(info.value) and "'a'" in str(info.value)


def test_constructor_errors() -> None:
    with pytest.raises(R2DError, match="empty"):
        LabelSet([])
    with pytest.raises(R2DError, match="duplicate"):
        LabelSet(["a", " a "])
    with pytest.raises(R2DError, match="not a string"):
        LabelSet(["a", 3])  # type: ignore[list-item]


def test_index_of_unknown_label() -> None:
    with pytest.raises(R2DError, match="'c'"):
        LabelSet(["a", "b"]).index("c")


def test_save_load_round_trip(tmp_path: Path) -> None:
    labels = LabelSet(["yes", "no", "maybe"])
    path = tmp_path / "ckpt" / "labels.json"
    labels.save(path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"labels": ["yes", "no", "maybe"]}
    assert LabelSet.load(path) == labels
    assert LabelSet.from_json(labels.to_json()) == labels


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(R2DError, match="not found"):
        LabelSet.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"labels": ', encoding="utf-8")
    with pytest.raises(R2DError, match="not valid JSON"):
        LabelSet.load(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"classes": ["a"]}', encoding="utf-8")
    with pytest.raises(R2DError, match='"labels"'):
        LabelSet.load(wrong)


def test_immutable() -> None:
    labels = LabelSet(["a"])
    with pytest.raises(AttributeError):
        labels.labels = ("b",)  # type: ignore[misc]


def test_check_labels_warns_once_with_count_and_examples() -> None:
    label_set = LabelSet(["yes", "no"])
    examples = _examples("yes", "maybe", "maybe", "unsure", "no", "", "YES")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        count = check_labels(examples, label_set, "test.jsonl")
    assert count == 4
    assert len(caught) == 1
    warning = caught[0]
    assert issubclass(warning.category, LabelOutsideSetWarning)
    message = str(warning.message)
    assert "test.jsonl" in message and "4 examples" in message
    assert "'maybe'" in message and "'unsure'" in message and "'YES'" in message


def test_check_labels_shows_at_most_five_labels() -> None:
    examples = _examples(*[f"l{i}" for i in range(8)])
    with pytest.warns(LabelOutsideSetWarning) as record:
        assert check_labels(examples, LabelSet(["x"]), Path("d.csv")) == 8
    message = str(record[0].message)
    assert sum(f"'l{i}'" in message for i in range(8)) == 5 and "3 more" in message


def test_check_labels_silent_when_all_inside() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_labels(_examples("a", "b"), LabelSet(["a", "b"]), "d.jsonl") == 0


def test_run_label_set_is_labels_option_else_training_labels_never_none() -> None:
    from reason2decide.data.labels import run_label_set

    train = _examples("yes", "no", "maybe")
    assert run_label_set(None, train).labels == ("maybe", "no", "yes")
    assert run_label_set("no,yes", train).labels == ("no", "yes")
    assert run_label_set("no,yes", None).labels == ("no", "yes")
    with pytest.raises(R2DError, match="label set is unknown") as info:
        run_label_set(None, None)
    assert "--train" in str(info.value) and "--labels" in str(info.value)
