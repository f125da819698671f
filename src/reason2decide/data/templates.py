"""Question templates: build a case's input text from several columns of its row.

A template is a Python format string whose fields name columns:
``"{complaint}. Vitals: {vitals}. History: {history}"``. Rules:

- the text between the braces is the column name, taken literally after stripping spaces (dots,
  brackets and inner spaces included: ``{vitals.hr}`` is the column ``vitals.hr``);
- ``{{`` and ``}}`` are literal braces;
- every field is required (a missing column or an empty value is an error naming the file, line
  and column) unless marked ``{history:optional}``, which renders an empty value as nothing;
- ``{options}``, when the reader is given choices, is the case's lettered options
  (:func:`reason2decide.data.choices.render_options`); without choices it is a column like any
  other;
- positional fields (``{}``, ``{0}``), conversions (``{x!r}``) and any format spec other than
  ``optional`` are rejected, as are unbalanced braces and templates that name no column.

Values are used as text, stripped; numbers as written by ``str``, lists and objects as JSON.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reason2decide.errors import R2DError

#: The field that inserts a case's rendered options.
OPTIONS_FIELD = "options"
#: The one format spec a field may carry.
OPTIONAL_SPEC = "optional"


@dataclass(frozen=True)
class TemplateField:
    """One ``{column}`` of a template."""

    column: str
    optional: bool = False


@dataclass(frozen=True)
class QuestionTemplate:
    """A parsed template: literal text and fields, alternating (see :func:`parse_template`)."""

    text: str
    parts: tuple[str | TemplateField, ...]

    @property
    def fields(self) -> tuple[TemplateField, ...]:
        """The fields in order of first use (a column used twice is listed once, required if any
        use is)."""
        seen: dict[str, TemplateField] = {}
        for part in self.parts:
            if isinstance(part, TemplateField):
                known = seen.get(part.column)
                if known is None or (known.optional and not part.optional):
                    seen[part.column] = part
        return tuple(seen.values())

    @property
    def columns(self) -> tuple[str, ...]:
        """The names of the fields, in order of first use."""
        return tuple(field.column for field in self.fields)

    def render(self, values: Mapping[str, str]) -> str:
        """The text with each field replaced by ``values[column]`` (already text), stripped."""
        return "".join(
            values[part.column] if isinstance(part, TemplateField) else part for part in self.parts
        ).strip()


def parse_template(text: str) -> QuestionTemplate:
    """Parse and check a question template; raise :class:`R2DError` naming it if malformed."""

    def bad(problem: str, hint: str | None = None) -> R2DError:
        return R2DError(
            f"question template {text!r}: {problem}",
            field="question_template",
            hint=hint or 'name columns in braces, e.g. "{complaint}. Vitals: {vitals}"',
        )

    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise bad(f"{exc} (unbalanced braces)", 'write a literal brace as "{{" or "}}"') from None
    parts: list[str | TemplateField] = []
    for literal, name, spec, conversion in pieces:
        if literal:
            parts.append(literal)
        if name is None:
            continue
        column = name.strip()
        if not column or column.isdigit():
            raise bad(f"positional field '{{{name}}}': fields must name a column")
        if conversion is not None:
            raise bad(f"conversion '!{conversion}' in field '{column}' is not supported")
        if spec and spec.strip() != OPTIONAL_SPEC:
            raise bad(
                f"format spec {spec!r} in field '{column}' is not supported",
                f"the only spec is ':{OPTIONAL_SPEC}', e.g. {{{column}:{OPTIONAL_SPEC}}}",
            )
        parts.append(TemplateField(column, optional=bool(spec)))
    template = QuestionTemplate(text, tuple(parts))
    if not template.fields:
        raise bad("names no column")
    return template


def field_text(value: Any) -> str:
    """A cell's value as template text: stripped; missing (``None``/NaN) is empty; lists and
    objects as JSON."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()
