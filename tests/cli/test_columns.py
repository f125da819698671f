"""The one place the CLI builds a column mapping from its flags and a model's stored mapping."""

from __future__ import annotations

import pytest

from reason2decide.cli.columns import (
    INPUT_FLAGS,
    TEMPLATE_AND_CHOICES,
    ColumnFlags,
    column_map,
    column_options,
    input_columns,
)
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


def _command_params(path: tuple[str, ...]) -> dict[str, object]:
    import typer

    import reason2decide.cli  # noqa: F401  (registers every command)
    from reason2decide.cli.app import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return {p.name: p for p in command.params}


COMMANDS = {
    ("train",): ColumnFlags.__dataclass_fields__.keys(),
    ("predict",): INPUT_FLAGS,
    ("evaluate",): ColumnFlags.__dataclass_fields__.keys(),
    ("bench",): TEMPLATE_AND_CHOICES,
    ("zero-shot",): ColumnFlags.__dataclass_fields__.keys(),
    ("rationales", "generate"): ColumnFlags.__dataclass_fields__.keys(),
}


@pytest.mark.parametrize("path", list(COMMANDS), ids=" ".join)
def test_each_command_takes_its_column_flags_from_one_declaration(path: tuple[str, ...]) -> None:
    params = _command_params(path)
    for name in COMMANDS[path]:
        help_text = params[name].help
        assert help_text.startswith(ColumnFlags.__dataclass_fields__[name].metadata["help"])
    stored = path in {("predict",), ("evaluate",)}
    assert ("[the model's" in params["question_template"].help) is stored


def test_column_flags_make_the_same_mapping_as_column_map() -> None:
    flags = ColumnFlags(choices_col="options", choices_sep="|", label_col="answer")
    assert flags.to_map(STORED) == column_map(
        STORED, choices_col="options", choices_sep="|", label_col="answer"
    )
    assert flags.given() == {"choices_col": "options", "choices_sep": "|", "label_col": "answer"}
    assert ColumnFlags().to_map() == ColumnMap()


def test_column_options_refuse_an_unknown_flag_and_a_parameter_declared_twice() -> None:
    with pytest.raises(TypeError, match="no field"):
        column_options(("question_column",))

    def command(question_col: str = "x", *, column_flags: ColumnFlags) -> None: ...

    with pytest.raises(TypeError, match="already has"):
        column_options()(command)


def test_a_decorated_command_receives_only_its_flags_together() -> None:
    seen: list[ColumnFlags] = []

    @column_options(("id_col",))
    def command(*, column_flags: ColumnFlags) -> None:
        seen.append(column_flags)

    command(id_col="pmid")
    assert seen == [ColumnFlags(id_col="pmid")]
