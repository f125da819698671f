"""The flags that say how a data file's rows become cases: the question template and each case's
own answer options. Every command that reads data files offers them with this help, and the CLI
builds its :class:`~reason2decide.data.readers.ColumnMap` with :func:`column_map` only. The
flags are declared once, on :class:`ColumnFlags`; :func:`column_options` adds them to a command.

See docs/data.md for every input shape with a worked example.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import Field, asdict, dataclass, field
from typing import Any, TypeVar

from reason2decide.cli.dataclass_flags import dataclass_options
from reason2decide.data.column_help import COLUMN_HELP
from reason2decide.data.readers import ColumnMap

F = TypeVar("F", bound=Callable[..., Any])


def _column(name: str, default: str | None = None) -> Any:
    return field(default=None, metadata={"help": COLUMN_HELP[name], "default": default})


@dataclass(frozen=True)
class ColumnFlags:
    """The column flags as given (``None``: not given)."""

    question_col: str | None = _column("question_col", ColumnMap.question)
    label_col: str | None = _column("label_col", ColumnMap.label)
    rationale_col: str | None = _column("rationale_col", ColumnMap.rationale)
    id_col: str | None = _column("id_col", ColumnMap.id)
    question_template: str | None = _column("question_template")
    choices_cols: str | None = _column("choices_cols")
    choices_col: str | None = _column("choices_col")
    choices_sep: str | None = _column("choices_sep")
    answer_format: str | None = _column("answer_format", "auto: detected once per file")

    def given(self) -> dict[str, str]:
        """The flags given, by name."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def to_map(self, stored: ColumnMap | None = None) -> ColumnMap:
        """The column mapping these flags give over ``stored`` (see :func:`column_map`)."""
        return column_map(stored, **asdict(self))


#: The flags that shape a case's text and options (not which columns hold label, rationale, id).
TEMPLATE_AND_CHOICES = (
    "question_template",
    "choices_cols",
    "choices_col",
    "choices_sep",
    "answer_format",
)
#: The flags a command reading unlabelled rows offers.
INPUT_FLAGS = ("question_col", "id_col", *TEMPLATE_AND_CHOICES)
#: The parameter through which a decorated command receives the flags.
PARAMETER = "column_flags"


def _help(stored: bool) -> Callable[[Field[Any]], str]:
    def help_of(item: Field[Any]) -> str:
        text, default = item.metadata["help"], item.metadata["default"]
        if stored:
            return f"{text} [the model's, else {default}]" if default else f"{text} [the model's]"
        return f"{text} [{default}]" if default else text

    return help_of


def column_options(
    names: Collection[str] | None = None, *, stored: bool = False
) -> Callable[[F], F]:
    """A decorator giving a typer command the column flags (all, or those in ``names``); the
    command receives them together as a :class:`ColumnFlags` in its ``column_flags`` parameter. With
    ``stored``, the help says that a flag not given keeps the trained model's setting."""
    return dataclass_options(ColumnFlags, PARAMETER, names=names, help_of=_help(stored))


def column_map(
    stored: ColumnMap | None = None,
    *,
    question_col: str | None = None,
    label_col: str | None = None,
    rationale_col: str | None = None,
    id_col: str | None = None,
    question_template: str | None = None,
    choices_cols: str | None = None,
    choices_col: str | None = None,
    choices_sep: str | None = None,
    answer_format: str | None = None,
) -> ColumnMap:
    """The column mapping the flags give, each flag not given taken from ``stored`` (the mapping
    a trained model was read with) or else the default. Any of the options flags replaces the
    stored options setting; ``--question-col`` without ``--question-template`` drops a stored
    template."""
    from reason2decide.data.choices import ChoiceColumns

    base = stored or ColumnMap()
    if any(v is not None for v in (choices_cols, choices_col, choices_sep, answer_format)):
        choices = ChoiceColumns.from_flags(choices_cols, choices_col, choices_sep, answer_format)
    else:
        choices = base.choices
    if question_template is not None:
        template: str | None = question_template
    else:
        template = None if question_col is not None else base.template
    return ColumnMap(
        question=question_col or base.question,
        label=label_col or base.label,
        rationale=rationale_col or base.rationale,
        id=id_col or base.id,
        template=template,
        choices=choices,
    )


def input_columns(stored: ColumnMap | None) -> ColumnMap | None:
    """The part of a stored mapping that new, unlabelled rows share: the question (or template)
    and the options; the label, rationale and id columns go back to their optional defaults."""
    if stored is None:
        return None
    from dataclasses import replace

    defaults = ColumnMap()
    return replace(stored, label=defaults.label, rationale=defaults.rationale, id=defaults.id)
