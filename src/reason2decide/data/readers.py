"""Read user data (JSONL, CSV/TSV, Parquet) into :class:`Example` records, and write them back.

The records come from :mod:`reason2decide.data.rows` (one reader per format); this module is
the column mapping and the row checks every format shares, in one place so that an error reads
the same whatever the file type (about 700 lines: the mapping, the checks of a record, and the
answer-format resolution of per-case options, which needs the whole file's answers).

Every problem a user can cause is reported as one :class:`~reason2decide.errors.R2DError` naming
the file, the place in it and the field: for JSONL the 1-based line number, for CSV/TSV the line
number where the row starts (the header is line 1), for Parquet the 0-based row index (as pandas
shows it), for a ``.json`` file holding one JSON list the 1-based item number. The first problem
found is reported.

Besides one question column, the input text can be built from several columns with a question
template (:mod:`reason2decide.data.templates`), and each case can carry its own answer options
(:mod:`reason2decide.data.choices`); both are part of the :class:`ColumnMap`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from reason2decide.data.choices import (
    CONCRETE_FORMATS,
    LETTERS,
    PREPARED_CHOICES,
    ChoiceColumns,
    answer_position,
    append_options,
    normalise,
    render_options,
)
from reason2decide.data.example import STANDARD_FIELDS, Example
from reason2decide.data.rows import Row, csv_rows, json_rows, json_type, parquet_rows
from reason2decide.data.templates import (
    OPTIONS_FIELD,
    QuestionTemplate,
    field_text,
    parse_template,
)
from reason2decide.errors import R2DError
from reason2decide.io import write_jsonl

#: File extensions :func:`read_examples` understands, by format.
JSONL_SUFFIXES = (".jsonl", ".json")
CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet",)


@dataclass(frozen=True)
class ColumnMap:
    """Which source column holds each standard field.

    ``rationale`` and ``id`` may be ``None`` (the file has no such column). With the default
    names, a file that lacks the ``rationale`` or ``id`` column is fine: rationales are then
    ``None`` and ids are generated as ``"{file_stem}-{row_number}"``. A column named explicitly
    (not the default) must exist.

    ``template`` (a question template, see :mod:`reason2decide.data.templates`) builds the input
    text from other columns instead of reading ``question``. ``choices`` says where each case's
    own options are and how the label column names the right one (see
    :class:`~reason2decide.data.choices.ChoiceColumns`); the default reads the ``choices`` list of
    the project's prepared files where a row has one, and ``None`` never reads options. With
    options, the label becomes the text of the correct option and, unless the template places
    them with ``{options}``, the lettered options are appended to the input text.
    """

    question: str = "question"
    label: str = "label"
    rationale: str | None = "rationale"
    id: str | None = "id"
    template: str | None = None
    choices: ChoiceColumns | None = PREPARED_CHOICES

    def __post_init__(self) -> None:
        if self.template is not None:
            parse_template(self.template)
        if self.choices is not None and self.choices != PREPARED_CHOICES:
            clash = [
                name
                for name in (self.label, self.rationale, self.id)
                if name in self.choices.source_columns
            ]
            if clash:
                raise R2DError(
                    f"column '{clash[0]}' is named both as an option column and as another field",
                    field=clash[0],
                    hint="the label column holds the answer; list only the option columns",
                )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record of the mapping (e.g. to store with a model)."""
        return {
            "question": self.question,
            "label": self.label,
            "rationale": self.rationale,
            "id": self.id,
            "template": self.template,
            "choices": None if self.choices is None else self.choices.to_dict(),
        }

    @classmethod
    def from_flags(
        cls,
        *,
        question_col: str | None = None,
        label_col: str | None = None,
        rationale_col: str | None = None,
        id_col: str | None = "id",
        question_template: str | None = None,
        choices_cols: str | Sequence[str] | None = None,
        choices_col: str | None = None,
        choices_sep: str | None = None,
        answer_format: str | None = None,
    ) -> ColumnMap:
        """The mapping the ``--question-col ... --answer-format`` flags (or the training options
        of the same names) describe; ``None`` keeps a field's default (``rationale_col`` and
        ``id_col`` are taken as given: ``None`` reads no such column)."""
        defaults = cls()
        return cls(
            question=question_col or defaults.question,
            label=label_col or defaults.label,
            rationale=rationale_col,
            id=id_col,
            template=question_template,
            choices=ChoiceColumns.from_flags(choices_cols, choices_col, choices_sep, answer_format),
        )

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ColumnMap:
        """The mapping :meth:`to_dict` recorded; keys it lacks keep their defaults."""
        defaults = cls()
        choices = record.get("choices", defaults.choices)
        return cls(
            question=record.get("question", defaults.question),
            label=record.get("label", defaults.label),
            rationale=record.get("rationale", defaults.rationale),
            id=record.get("id", defaults.id),
            template=record.get("template"),
            choices=ChoiceColumns.from_dict(choices) if isinstance(choices, dict) else choices,
        )


_DEFAULT_COLUMNS = ColumnMap()


def read_examples(
    path: str | os.PathLike[str],
    columns: ColumnMap = _DEFAULT_COLUMNS,
    *,
    require_rationale: bool = False,
    require_label: bool = True,
) -> list[Example]:
    """Read the examples of a JSONL, CSV/TSV or Parquet file (format chosen by extension).

    Columns not mapped to a standard field are kept in ``Example.extra``; an unmapped column whose
    name is itself a standard field (e.g. ``rationale`` when ``--rationale-col llm_rationale`` is
    used) is kept as ``original_<name>`` so that writing the examples back does not drop it.
    Question, label and rationale are converted to stripped strings, ids to strings.
    Without ``require_label``, a missing or empty label becomes ``""``. Columns the template and
    the options are read from are not kept in ``extra``.

    Raises :class:`R2DError` for the first problem found: unreadable file, unknown extension,
    malformed line, missing column, empty question/label/rationale/template field, bad options
    (fewer than two, a duplicate), an answer that names no option, duplicate id, no examples.
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES:
        known = ", ".join(JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES)
        raise R2DError(
            f"unknown file type '{source.suffix or '(none)'}'",
            path=source,
            hint=f"use one of {known}",
        )
    if not source.exists():
        raise R2DError("file not found", path=source)
    if not source.is_file():
        raise R2DError("not a file", path=source)

    if columns.rationale is None and require_rationale:
        raise R2DError(
            "rationales are required but no rationale column is mapped",
            path=source,
            field="rationale",
            hint="pass --rationale-col",
        )

    header: list[str] | None = None
    if suffix in JSONL_SUFFIXES:
        unit, rows = json_rows(source)
    elif suffix in CSV_SUFFIXES:
        header, rows = csv_rows(source, delimiter="\t" if suffix == ".tsv" else ",")
        unit = "line"
    else:
        header, rows = parquet_rows(source)
        unit = "row index"

    layout = _Layout.of(columns, require_label, require_rationale)
    if header is not None:
        _check_header(source, header, layout, unit)

    examples: list[Example] = []
    answers: list[_Answer] = []
    seen_ids: dict[str, int] = {}
    for row in rows:
        example, options = _to_example(source, row, layout, unit)
        if options is not None and example.label:
            answers.append(_Answer(len(examples), row.line, row.values[columns.label], options))
        first = seen_ids.get(example.id)
        if first is not None:
            raise _row_error(
                source,
                unit,
                row.line,
                f"duplicate id '{example.id}' (first seen at {unit} {first})",
                field=columns.id or "id",
                hint="ids must be unique within a file",
            )
        seen_ids[example.id] = row.line
        examples.append(example)

    if not examples:
        raise R2DError("the file holds no examples", path=source)
    if answers:
        _resolve_answers(source, unit, layout, examples, answers)
    return examples


def write_examples(path: str | os.PathLike[str], examples: Iterable[Example]) -> int:
    """Write examples as standard-schema JSONL, atomically; return the number written."""
    return write_jsonl(path, (_jsonable_row(example.to_dict()) for example in examples))


# --- validation and conversion ----------------------------------------------------------------


class _Need(NamedTuple):
    """A column every record must have, and how to talk about it when it is missing."""

    what: str  # e.g. "question column", "option column"
    column: str
    hint: str


@dataclass(frozen=True)
class _Layout:
    """What a file's records must hold under a column mapping, worked out once per file."""

    columns: ColumnMap
    template: QuestionTemplate | None
    require_label: bool
    require_rationale: bool

    @classmethod
    def of(cls, columns: ColumnMap, require_label: bool, require_rationale: bool) -> _Layout:
        template = parse_template(columns.template) if columns.template is not None else None
        return cls(columns, template, require_label, require_rationale)

    @property
    def choices(self) -> ChoiceColumns | None:
        return self.columns.choices

    @property
    def explicit_choices(self) -> bool:
        """Options were asked for (not just the prepared files' optional ``choices`` list)."""
        return self.choices is not None and self.choices != PREPARED_CHOICES

    @property
    def options_in_template(self) -> bool:
        """The template places the rendered options with ``{options}``."""
        return (
            self.template is not None
            and self.explicit_choices
            and OPTIONS_FIELD in self.template.columns
        )

    @property
    def template_columns(self) -> tuple[str, ...]:
        """The columns the template reads (not ``{options}`` where it means the options)."""
        if self.template is None:
            return ()
        skip = OPTIONS_FIELD if self.options_in_template else None
        return tuple(column for column in self.template.columns if column != skip)

    @cached_property
    def needed(self) -> list[_Need]:
        """The columns that must exist in every record."""
        columns = self.columns

        def standard(field: str, column: str) -> _Need:
            return _Need(
                f"{field} column",
                column,
                f"pass --{field}-col NAME to read the {field} from another column",
            )

        needed: list[_Need] = []
        if self.template is None:
            needed.append(standard("question", columns.question))
        else:
            needed.extend(
                _Need(
                    "column named in the question template",
                    column,
                    f"fix the template {self.template.text!r} or the file",
                )
                for column in self.template_columns
            )
        if self.require_label or columns.label != _DEFAULT_COLUMNS.label:
            needed.append(standard("label", columns.label))
        if columns.rationale is not None and (
            self.require_rationale or columns.rationale != _DEFAULT_COLUMNS.rationale
        ):
            needed.append(standard("rationale", columns.rationale))
        if columns.id is not None and columns.id != _DEFAULT_COLUMNS.id:
            needed.append(standard("id", columns.id))
        if self.explicit_choices:
            assert self.choices is not None
            if self.choices.columns:
                needed.extend(
                    _Need("option column", column, "check --choices-cols")
                    for column in self.choices.columns
                )
            else:
                needed.append(
                    _Need("options column", self.choices.column or "", "check --choices-col")
                )
        return needed

    @cached_property
    def used(self) -> set[str]:
        """The columns whose values go into the Example's own fields (not ``extra``)."""
        columns = self.columns
        used = {columns.label}
        used.update(name for name in (columns.rationale, columns.id) if name is not None)
        if self.template is None:
            used.add(columns.question)
        else:
            used.update(self.template_columns)
        if self.choices is not None:
            used.update(self.choices.source_columns)
        return used


#: Makes the error about one record: (message, field, hint) → error.
_Fail = Callable[..., R2DError]


class _Answer(NamedTuple):
    """A labelled case with options, whose answer is resolved once the file's format is known."""

    index: int  # position in the list of examples
    line: int
    raw: Any  # the label cell as read
    options: list[str]  # as the source lists them; "" for an empty option


def _check_header(source: Path, header: list[str], layout: _Layout, unit: str) -> None:
    """Raise if a column the mapping needs is not among the file's columns."""
    for need in layout.needed:
        if need.column not in header:
            line = 1 if unit == "line" else None
            raise _missing_column(source, need, header, unit=unit, line=line)


def _missing_column(
    source: Path, need: _Need, present: Iterable[str], *, unit: str, line: int | None
) -> R2DError:
    """The error for a needed column that is absent; it lists the columns that exist."""
    names = ", ".join(repr(name) for name in present) or "(none)"
    message = f"no {need.what} '{need.column}'; the columns present are {names}"
    if line is not None and unit != "line":
        message += f" ({unit} {line})"
    return R2DError(message, path=source, line=line, field=need.column, hint=need.hint)


def _to_example(
    source: Path, row: Row, layout: _Layout, unit: str
) -> tuple[Example, list[str] | None]:
    """Turn one raw record into an Example, raising for the first bad field; also return the
    case's options as the source lists them (``None`` without options). The label of a case with
    options is still the raw answer: :func:`_resolve_answers` replaces it."""
    values = row.values
    columns = layout.columns

    def fail(message: str, field: str, hint: str | None = None) -> R2DError:
        return _row_error(source, unit, row.line, message, field=field, hint=hint)

    for need in layout.needed:
        if need.column not in values:
            raise _missing_column(source, need, values.keys(), unit=unit, line=row.line)

    options = _read_options(source, row, layout, unit)
    choices = None if options is None else tuple(text for text in options if text)

    if layout.template is None:
        question = _text(values.get(columns.question))
        if not question:
            raise fail("empty question", columns.question)
    else:
        question = _render_template(layout, values, choices, fail)
    if choices is not None and layout.explicit_choices and not layout.options_in_template:
        assert layout.choices is not None
        if layout.choices.show_options:
            question = append_options(question, choices)

    label = _text(values.get(columns.label))
    if not label and layout.require_label:
        raise fail("empty label", columns.label, hint="every training example needs a label")

    rationale = _text(values.get(columns.rationale)) if columns.rationale is not None else ""
    if not rationale and layout.require_rationale:
        raise fail(
            "missing or empty rationale",
            columns.rationale or "rationale",
            hint="this method needs a rationale for every example: leave out the rows without "
            "one (for a built-in source, `r2d data prepare SOURCE --only-with-rationale`)",
        )

    raw_id = values.get(columns.id) if columns.id is not None else None
    example_id = "" if _is_missing(raw_id) else str(raw_id).strip()
    if not example_id:
        example_id = f"{source.stem}-{row.number}"

    used = layout.used
    extra: dict[str, Any] = {}
    for key, value in values.items():
        if key in used:
            continue
        name = key
        if name in STANDARD_FIELDS:
            name = f"original_{key}"
            while name in values or name in extra:
                name = f"original_{name}"
        extra[name] = value

    example = Example(
        id=example_id,
        question=question,
        label=label,
        rationale=rationale or None,
        extra=extra,
        choices=choices,
    )
    return example, options


def _render_template(
    layout: _Layout,
    values: dict[str, Any],
    choices: tuple[str, ...] | None,
    fail: _Fail,
) -> str:
    """The input text the template builds from a record."""
    template = layout.template
    assert template is not None
    texts: dict[str, str] = {}
    for field in template.fields:
        if field.column == OPTIONS_FIELD and layout.options_in_template:
            # A row without options (prepared default only) renders the field as nothing.
            texts[field.column] = render_options(choices) if choices else ""
            continue
        text = field_text(values.get(field.column))
        if not text and not field.optional:
            raise fail(
                f"empty '{field.column}', which the question template {template.text!r} needs",
                field.column,
                hint=f"fill it in, or mark the field optional: {{{field.column}:optional}}",
            )
        texts[field.column] = text
    question = template.render(texts)
    if not question:
        raise fail(f"the question template {template.text!r} gives an empty question", "question")
    return question


def _read_options(source: Path, row: Row, layout: _Layout, unit: str) -> list[str] | None:
    """A record's options as the source lists them (``""`` for an empty one), checked: at least
    two non-empty, at most 26, no two the same up to case and whitespace. ``None`` for a record
    without options (no choice setting, or the prepared default and no ``choices`` value)."""
    spec = layout.choices
    if spec is None:
        return None
    values = row.values

    def fail(message: str, field: str, hint: str | None = None) -> R2DError:
        return _row_error(source, unit, row.line, message, field=field, hint=hint)

    if spec.columns:
        options = [field_text(values.get(column)) for column in spec.columns]
        names = [f"option column '{column}'" for column in spec.columns]
        field = None
    else:
        column = spec.column or ""
        field = column
        value = values.get(column)
        if _is_missing(value) or (isinstance(value, str) and not value.strip()):
            if not layout.explicit_choices:
                return None
            raise fail("no options", column, hint="every case needs its options")
        options = _option_list(value, spec, fail, column, layout.explicit_choices)
        names = [f"option {i + 1}" for i in range(len(options))]

    present = [text for text in options if text]
    where = field or ", ".join(spec.columns)
    if len(present) < 2:
        raise fail(
            f"{len(present)} non-empty option(s): a case needs at least two",
            where,
        )
    if len(present) > len(LETTERS):
        raise fail(f"{len(present)} options: at most {len(LETTERS)} (A-Z)", where)
    first: dict[str, int] = {}
    for position, text in enumerate(options):
        if not text:
            continue
        key = normalise(text)
        if key in first:
            earlier = first[key]
            raise fail(
                f"{names[earlier]} and {names[position]} are the same option ({text!r})",
                field or spec.columns[position],
                hint="the options of a case must differ",
            )
        first[key] = position
    return options


def _option_list(
    value: Any, spec: ChoiceColumns, fail: _Fail, column: str, explicit: bool
) -> list[str]:
    """The options held in one cell: a list, an ``{"A": ..., "B": ...}`` object, or a string
    (split on ``spec.sep``, else read as a JSON list)."""
    how = (
        "pass --choices-sep to split it"
        if explicit
        else "a 'choices' column is read as the options; to split it pass --choices-col choices "
        "--choices-sep SEP, or rename the column"
    )
    if isinstance(value, str):
        if spec.sep is not None:
            return [part.strip() for part in value.split(spec.sep)]
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise fail(f"the options {text[:40]!r} are not a JSON list", column, how) from None
        else:
            raise fail(
                f"the options column holds text ({text[:40]!r}), not a list",
                column,
                hint=how,
            )
    if isinstance(value, dict):
        keys = [str(key).strip().upper() for key in value]
        if keys != list(LETTERS[: len(keys)]):
            raise fail(
                f"the options object's keys {list(value)} are not the letters A, B, ... in order",
                column,
                hint="give the options as a list, or keyed A, B, C, ...",
            )
        value = list(value.values())
    if not isinstance(value, (list, tuple)):
        raise fail(f"the options are {json_type(value)}, not a list", column)
    return [field_text(item) for item in value]


_FORMAT_WORDS = {
    "text": "option texts",
    "letter": "letters",
    "index0": "0-based indices",
    "index1": "1-based indices",
}


def _names_option(answer: _Answer, answer_format: str) -> bool:
    position = answer_position(answer.raw, answer_format, answer.options)
    return position is not None and bool(answer.options[position])


def _resolve_answers(
    source: Path, unit: str, layout: _Layout, examples: list[Example], answers: list[_Answer]
) -> None:
    """Replace each answer by the text of the option it names, under the file's answer format
    (detected once per file under ``auto``)."""
    spec = layout.choices
    assert spec is not None
    field = layout.columns.label
    answer_format = spec.answer_format
    if layout.explicit_choices:
        hint = f"check the answers or --answer-format, now {answer_format}"
    else:
        hint = (
            "the 'choices' column is read as each case's options, with the label as the option's "
            "text; for letters or indices pass --choices-col choices --answer-format"
        )
    note = ""
    if answer_format == "auto":
        answer_format, note = _detect_format(source, unit, field, answers)
        if note:
            hint = f"fix the answer, or set --answer-format ({', '.join(CONCRETE_FORMATS)})"
    for answer in answers:
        position = answer_position(answer.raw, answer_format, answer.options)
        if position is not None and not answer.options[position]:
            raise _row_error(
                source,
                unit,
                answer.line,
                f"answer {answer.raw!r} names option {LETTERS[position]}, which is empty",
                field=field,
                hint=hint,
            )
        if position is None:
            shown = "; ".join(
                f"{LETTERS[i]}. {_short(text)}" for i, text in enumerate(answer.options) if text
            )
            raise _row_error(
                source,
                unit,
                answer.line,
                f"answer {answer.raw!r} matches no option{note}; the options are: {shown}",
                field=field,
                hint=hint,
            )
        examples[answer.index] = replace(examples[answer.index], label=answer.options[position])


def _detect_format(source: Path, unit: str, field: str, answers: list[_Answer]) -> tuple[str, str]:
    """The one answer format under which every answer names an option, and ``""``; where several
    fit but read some answer differently, an error; where none fits, the format most answers
    follow and a note saying so (the caller then reports the first row that breaks it)."""
    fits = {name: sum(_names_option(a, name) for a in answers) for name in CONCRETE_FORMATS}
    everywhere = [name for name in CONCRETE_FORMATS if fits[name] == len(answers)]
    if everywhere:
        readings = {
            name: [answer_position(a.raw, name, a.options) for a in answers] for name in everywhere
        }
        first = readings[everywhere[0]]
        for name in everywhere[1:]:
            differ = next((i for i, p in enumerate(readings[name]) if p != first[i]), None)
            if differ is None:
                continue  # both formats read every answer as the same option
            sample = answers[differ]
            kinds = " or ".join(_FORMAT_WORDS[n] for n in (everywhere[0], name))
            raise R2DError(
                f"cannot tell whether the answers are {kinds}: every answer fits both, and they "
                f"disagree on {sample.raw!r} at {unit} {sample.line}",
                path=source,
                field=field,
                hint=f"set the answer format: --answer-format {everywhere[0]}|{name}",
            )
        return everywhere[0], ""
    best = max(CONCRETE_FORMATS, key=fits.__getitem__)
    if not fits[best]:
        return best, " (as text, letter or index)"
    return best, f" (read as {_FORMAT_WORDS[best]}, as in {fits[best]} of {len(answers)} rows)"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _row_error(
    source: Path, unit: str, line: int, message: str, *, field: str, hint: str | None = None
) -> R2DError:
    """An error about one record; where the number is not a line, the message says what it is."""
    if unit != "line":
        message += f" ({unit} {line})"
    return R2DError(message, path=source, line=line, field=field, hint=hint)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    """A field value as a stripped string; missing values become ``""``."""
    if _is_missing(value):
        return ""
    return str(value).strip()


def _jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    """Replace values JSON cannot hold (dates, bytes, NaN from Parquet) by strings or null."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, float) and math.isnan(value):
            out[key] = None
            continue
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            value = str(value)
        out[key] = value
    return out
