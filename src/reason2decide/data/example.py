"""The ``Example`` record every part of the project passes around."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Keys of the project's standard JSONL schema.
STANDARD_FIELDS = ("id", "question", "label", "rationale")


@dataclass(frozen=True)
class Example:
    """One case: an input text, its gold label and (optionally) a rationale.

    ``extra`` keeps any further columns of the source row (e.g. a second rationale column,
    metadata); it is written back out by :meth:`to_dict`.
    """

    id: str
    question: str
    label: str
    rationale: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The row in the standard schema, extra columns after the standard ones."""
        row: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "label": self.label,
            "rationale": self.rationale,
        }
        for key, value in self.extra.items():
            if key not in row:
                row[key] = value
        return row
