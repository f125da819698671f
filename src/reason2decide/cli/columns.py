"""The flags that say how a data file's rows become cases: the question template and each case's
own answer options. Every command that reads data files offers them with this help, and the CLI
builds its :class:`~reason2decide.data.readers.ColumnMap` with :func:`column_map` only.

See docs/data.md for every input shape with a worked example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from reason2decide.data.readers import ColumnMap

QUESTION_TEMPLATE = typer.Option(
    None,
    "--question-template",
    help="Build the input text from columns: '{complaint}. Vitals: {vitals}' (a field "
    "{col:optional} may be empty; {options} places the lettered options).",
)
CHOICES_COLS = typer.Option(
    None,
    "--choices-cols",
    help="Multiple choice: one column per option, comma-separated, e.g. opa,opb,opc,opd "
    "(empty options dropped); each case is scored over its own options.",
)
CHOICES_COL = typer.Option(
    None,
    "--choices-col",
    help="Multiple choice: one column holding each case's options (a list; in CSV/TSV a string "
    "split on --choices-sep, or a JSON list).",
)
CHOICES_SEP = typer.Option(
    None, "--choices-sep", help="Separator of the options in a --choices-col text cell."
)
ANSWER_FORMAT = typer.Option(
    None,
    "--answer-format",
    help="How the label column names the right option: auto, text, letter, index0 or index1. "
    "[auto: detected once per file]",
)


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
    from reason2decide.data.readers import ColumnMap

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

    from reason2decide.data.readers import ColumnMap

    defaults = ColumnMap()
    return replace(stored, label=defaults.label, rationale=defaults.rationale, id=defaults.id)
