"""The one place the CLI builds a column mapping from its flags and a model's stored mapping."""

from __future__ import annotations

import pytest

from reason2decide.cli.columns import column_map, input_columns
from reason2decide.data.choices import PREPARED_CHOICES, ChoiceColumns
from reason2decide.data.readers import ColumnMap
from reason2decide.errors import R2DError
from reason2decide.training.config import build_config

STORED = ColumnMap(
    label="cop",
    template="{finding} in a {age}",
    choices=ChoiceColumns(columns=("opa", "opb", "opc", "opd"), answer_format="letter"),
)


def test_no_flags_give_the_defaults_or_the_stored_mapping():
    assert column_map() == ColumnMap()
    assert column_map().choices == PREPARED_CHOICES
    assert column_map(STORED) == STORED


def test_flags_override_the_stored_mapping():
    changed = column_map(STORED, choices_col="options", choices_sep="|")
    assert changed.choices == ChoiceColumns(column="options", sep="|")
    assert changed.template == STORED.template and changed.label == "cop"
    # a question column without a template drops the stored template
    assert column_map(STORED, question_col="stem").template is None
    assert column_map(STORED, question_template="{stem}").template == "{stem}"


def test_bad_flags_are_user_errors():
    with pytest.raises(R2DError, match="--choices-sep"):
        column_map(choices_sep=";")
    with pytest.raises(R2DError, match="question template"):
        column_map(question_template="{}")


def test_the_training_config_builds_the_same_mapping(tmp_path):
    config = build_config(
        {
            "train": tmp_path / "train.csv",
            "output": tmp_path / "out",
            "label_col": "cop",
            "question_template": "{finding} in a {age}",
            "choices_cols": "opa,opb,opc,opd",
            "answer_format": "letter",
        }
    )
    assert config.columns() == STORED
    assert config.columns(None).rationale is None
    with pytest.raises(R2DError, match="--choices-sep"):
        build_config({"train": tmp_path / "t.csv", "output": tmp_path / "o", "choices_sep": ";"})


def test_new_rows_to_predict_need_only_the_stored_input_columns():
    shared = input_columns(STORED)
    assert shared.template == STORED.template and shared.choices == STORED.choices
    assert (shared.label, shared.rationale, shared.id) == ("label", "rationale", "id")
    assert input_columns(None) is None
