"""The ``Example`` record every part of the project passes around."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Keys of the project's standard JSONL schema (``choices`` only on rows of cases with their own
#: options).
STANDARD_FIELDS = ("id", "question", "label", "rationale", "choices")


@dataclass(frozen=True)
class Example:
    """One case: an input text, its gold label and (optionally) a rationale.

    ``choices`` are the case's own answer options (a multiple-choice case: the label is the text
    of one of them, and the question already shows them); ``None`` means the label is one of the
    dataset's closed label set (or open text). ``extra`` keeps any further columns of the source
    row (e.g. a second rationale column, metadata); it is written back out by :meth:`to_dict`.
    """

    id: str
    question: str
    label: str
    rationale: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    choices: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row in the standard schema, extra columns after the standard ones; ``choices``
        (a list) only when the case has its own options."""
        row: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "label": self.label,
            "rationale": self.rationale,
        }
        if self.choices is not None:
            row["choices"] = list(self.choices)
        for key, value in self.extra.items():
            if key not in row:
                row[key] = value
        return row
