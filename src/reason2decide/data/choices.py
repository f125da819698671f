"""Multiple-choice cases: where a case's options come from, how its answer names one, and how the
options are shown to the model.

A case with choices carries its own options (``Example.choices``) and its gold label is the text
of the correct option. The options are shown in the input text in one fixed format::

    <question>

    Options:
    A. <first option>
    B. <second option>

(:func:`append_options`); a question template places them elsewhere with the ``{options}`` field,
which inserts only the lettered lines (:func:`render_options`).

Answer formats (``answer_format``):

- ``text``: the answer is the option's text (compared after stripping; if no option is equal, a
  single option equal up to case and runs of whitespace is taken).
- ``letter``: ``A``, ``B``, ... (case-insensitive; ``"B."``, ``"B)"`` and ``"(B)"`` are accepted).
- ``index0`` / ``index1``: the option's position counted from 0 / from 1, as an integer or a
  string of digits (``2``, ``"2"``, ``2.0``).
- ``auto``: the reader decides once per file (never per row): the format under which every
  labelled row's answer names an option. A file where two formats fit every row but read some
  answer as different options (e.g. all answers are 1, 2 or 3 of four options: 0-based or
  1-based?) is an error asking for the explicit setting; formats that fit and agree on every row
  are no ambiguity. A file where no format fits every row is an error naming the first row that
  breaks the format most rows follow. With thousands of rows a 0- or 1-based file shows itself
  (some answer is 0, or some is the last position + 1); small files may need the setting.

Letters and indices count the options as the source lists them, empty ones included: with
``opa="X", opb="", opc="Y"`` the answer ``C`` (or ``index0`` 2) is ``"Y"``, which is shown to the
model as option ``B`` because the empty option is dropped.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reason2decide.errors import R2DError

#: Letters naming options, in order; a case has at most this many options.
LETTERS = string.ascii_uppercase
#: What :func:`append_options` puts between the question and the lettered options.
OPTIONS_HEADER = "\n\nOptions:\n"
#: Every ``answer_format`` the reader understands; ``auto`` decides per file among the others.
ANSWER_FORMATS = ("auto", "text", "letter", "index0", "index1")
#: The formats ``auto`` chooses among, in the order errors list them.
CONCRETE_FORMATS = ANSWER_FORMATS[1:]

_LETTER = re.compile(r"^\(?([A-Za-z])[.)]?$")
_INDEX = re.compile(r"^\d+(?:\.0*)?$")


@dataclass(frozen=True)
class ChoiceColumns:
    """Where each case's options are and how its answer (the label column) names the right one.

    Give either ``columns`` (one column per option, in order; empty options are dropped) or
    ``column`` (one column holding a list; in CSV/TSV a string split on ``sep``). A string cell of
    ``column`` without ``sep`` is read as a JSON list if it is one (``["a", "b"]``), else it is an
    error. ``show_options`` adds the options to the input text (see :func:`append_options`); it is
    off only for the project's own prepared files, whose questions already show them.
    """

    columns: tuple[str, ...] = ()
    column: str | None = None
    sep: str | None = None
    answer_format: str = "auto"
    show_options: bool = True

    def __post_init__(self) -> None:
        if bool(self.columns) == (self.column is not None):
            raise R2DError(
                "give the options either as one column per option or as one list column",
                field="choices",
                hint="pass exactly one of --choices-cols and --choices-col",
            )
        if self.column is not None:
            if not self.column.strip():
                raise R2DError("empty options column name", field="choices_col")
            object.__setattr__(self, "column", self.column.strip())
        if self.columns:
            names = [name.strip() for name in self.columns]
            if any(not name for name in names):
                raise R2DError(
                    f"empty column name in the option columns {','.join(self.columns)!r}",
                    field="choices_cols",
                    hint="list the option columns as --choices-cols opa,opb,opc,opd",
                )
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise R2DError(
                    f"the option columns repeat {', '.join(repr(name) for name in repeated)}",
                    field="choices_cols",
                )
            if len(names) < 2:
                raise R2DError(
                    "a case needs at least two option columns",
                    field="choices_cols",
                    hint="list them as --choices-cols opa,opb,opc,opd",
                )
            if len(names) > len(LETTERS):
                raise R2DError(
                    f"{len(names)} option columns: at most {len(LETTERS)} options (A-Z)",
                    field="choices_cols",
                )
            object.__setattr__(self, "columns", tuple(names))
        if self.sep is not None and (self.column is None or self.sep == ""):
            raise R2DError(
                "--choices-sep needs --choices-col and a non-empty separator",
                field="choices_sep",
            )
        if self.answer_format not in ANSWER_FORMATS:
            raise R2DError(
                f"unknown answer format {self.answer_format!r}",
                field="answer_format",
                hint=f"use one of {', '.join(ANSWER_FORMATS)}",
            )

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The columns the options are read from."""
        return self.columns or (self.column or "",)

    @classmethod
    def from_flags(
        cls,
        choices_cols: str | Sequence[str] | None = None,
        choices_col: str | None = None,
        choices_sep: str | None = None,
        answer_format: str | None = None,
    ) -> ChoiceColumns:
        """The setting of the ``--choices-cols/--choices-col/--choices-sep/--answer-format`` flags.

        ``choices_cols`` may be one comma-separated string. Without either choices flag the result
        is :data:`PREPARED_CHOICES` (read a ``choices`` list if the file has one); then
        ``choices_sep`` and ``answer_format`` must not be given.
        """
        if isinstance(choices_cols, str):
            choices_cols = choices_cols.split(",")
        if not choices_cols and choices_col is None:
            given = [
                flag
                for flag, value in (
                    ("--choices-sep", choices_sep),
                    ("--answer-format", answer_format),
                )
                if value is not None
            ]
            if given:
                raise R2DError(
                    f"{' and '.join(given)} without --choices-cols or --choices-col",
                    field="choices",
                    hint="name the option columns with --choices-cols or --choices-col",
                )
            return PREPARED_CHOICES
        return cls(
            columns=tuple(choices_cols or ()),
            column=choices_col,
            sep=choices_sep,
            answer_format=answer_format or "auto",
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record of the setting (e.g. to store with a model)."""
        return {
            "columns": list(self.columns),
            "column": self.column,
            "sep": self.sep,
            "answer_format": self.answer_format,
            "show_options": self.show_options,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ChoiceColumns:
        """The setting :meth:`to_dict` recorded."""
        return cls(
            columns=tuple(record.get("columns") or ()),
            column=record.get("column"),
            sep=record.get("sep"),
            answer_format=record.get("answer_format", "auto"),
            show_options=record.get("show_options", True),
        )


#: The project's own JSONL schema: an optional ``choices`` list per row, labels as option text,
#: questions that already show the options. The reader's default.
PREPARED_CHOICES = ChoiceColumns(column="choices", answer_format="text", show_options=False)


def letter(position: int) -> str:
    """The letter of the option at 0-based ``position`` (``0`` → ``"A"``)."""
    if not 0 <= position < len(LETTERS):
        raise ValueError(f"no letter for option position {position}")
    return LETTERS[position]


def render_options(choices: Sequence[str]) -> str:
    """The options as lettered lines: ``"A. first\\nB. second"``."""
    return "\n".join(f"{letter(i)}. {text}" for i, text in enumerate(choices))


def append_options(question: str, choices: Sequence[str]) -> str:
    """The input text of a case with choices: the question, a blank line, ``Options:`` and the
    lettered options (the format the reader uses when no template places them)."""
    return question + OPTIONS_HEADER + render_options(choices)


def normalise(text: str) -> str:
    """Text compared up to case and runs of whitespace."""
    return " ".join(text.split()).casefold()


def text_position(answer: str, choices: Sequence[str]) -> int | None:
    """The position of the option whose text is ``answer``: an exact match (after stripping),
    else the one option equal up to case and whitespace; ``None`` if none or several are."""
    answer = answer.strip()
    if not answer:
        return None
    for position, option in enumerate(choices):
        if option.strip() == answer:
            return position
    wanted = normalise(answer)
    matches = [i for i, option in enumerate(choices) if option and normalise(option) == wanted]
    return matches[0] if len(matches) == 1 else None


def answer_position(answer: Any, answer_format: str, choices: Sequence[str]) -> int | None:
    """The 0-based position ``answer`` names among ``choices`` under ``answer_format`` (one of
    :data:`CONCRETE_FORMATS`), or ``None`` if it names none.

    ``choices`` are the options as the source lists them, empty ones included (as ``""``); a
    letter or index pointing at an empty option still returns its position (the caller decides).
    """
    if answer is None or isinstance(answer, bool):
        return None
    if answer_format == "text":
        return text_position(str(answer), choices)
    if answer_format == "letter":
        if not isinstance(answer, str):
            return None
        match = _LETTER.match(answer.strip())
        if match is None:
            return None
        position = ord(match.group(1).upper()) - ord("A")
    elif answer_format in ("index0", "index1"):
        number = _as_index(answer)
        if number is None:
            return None
        position = number - (1 if answer_format == "index1" else 0)
    else:
        raise ValueError(f"not a concrete answer format: {answer_format!r}")
    return position if 0 <= position < len(choices) else None


def _as_index(answer: Any) -> int | None:
    if isinstance(answer, int):
        return answer
    if isinstance(answer, float):
        return int(answer) if answer.is_integer() else None
    if isinstance(answer, str) and _INDEX.match(answer.strip()):
        return int(float(answer.strip()))
    return None


def option_index(prediction: str, choices: Sequence[str]) -> int | None:
    """The position of the option a prediction names, or ``None``.

    Tried in order: the option's text (as :func:`text_position`); a rendered line ``"B. text"``
    whose letter and text agree; a lone letter (``"B"``, ``"b."``, ``"(B)"``).
    """
    position = text_position(prediction, choices)
    if position is not None:
        return position
    stripped = prediction.strip()
    rendered = re.match(r"^\(?([A-Za-z])[.)]\s+(.+)$", stripped, flags=re.DOTALL)
    if rendered is not None:
        position = ord(rendered.group(1).upper()) - ord("A")
        if 0 <= position < len(choices) and normalise(rendered.group(2)) == normalise(
            choices[position]
        ):
            return position
    return answer_position(stripped, "letter", choices)


def option_letter(prediction: str, choices: Sequence[str]) -> str | None:
    """The letter of the option a prediction names (see :func:`option_index`), or ``None``."""
    position = option_index(prediction, choices)
    return None if position is None else letter(position)
