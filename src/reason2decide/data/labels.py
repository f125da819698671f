"""The label set: the closed list of decisions a model chooses from, stored with its checkpoint."""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reason2decide.data.example import Example
from reason2decide.errors import R2DError
from reason2decide.io import read_json, write_json

#: File name of the label set beside a checkpoint.
LABELS_FILE = "labels.json"

_PATH_SUFFIXES = (".txt", ".json", ".labels", ".lst")


class LabelOutsideSetWarning(UserWarning):
    """Some examples carry a label that is not in the label set."""


@dataclass(frozen=True, init=False)
class LabelSet:
    """An ordered, immutable tuple of distinct, non-empty label strings."""

    labels: tuple[str, ...]

    def __init__(self, labels: Iterable[str], *, source: str | os.PathLike[str] | None = None):
        """Build a label set; ``source`` (a file) is named in errors. Labels are stripped."""
        cleaned: list[str] = []
        seen: set[str] = set()
        for position, label in enumerate(labels, start=1):
            if not isinstance(label, str):
                raise R2DError(
                    f"label {position} is {type(label).__name__} {label!r}, not a string",
                    path=source,
                    field="labels",
                )
            text = label.strip()
            if not text:
                raise R2DError(f"label {position} is empty", path=source, field="labels")
            if text in seen:
                raise R2DError(f"duplicate label '{text}'", path=source, field="labels")
            seen.add(text)
            cleaned.append(text)
        if not cleaned:
            raise R2DError(
                "the label set is empty",
                path=source,
                field="labels",
                hint="give at least one label",
            )
        object.__setattr__(self, "labels", tuple(cleaned))

    @classmethod
    def from_examples(cls, examples: Iterable[Example]) -> LabelSet:
        """The sorted distinct labels of ``examples`` (the training split); empty labels ignored."""
        found = {example.label.strip() for example in examples if example.label.strip()}
        if not found:
            raise R2DError(
                "no labels found in the training examples",
                field="label",
                hint="check the label column, or give the labels with --labels",
            )
        return cls(sorted(found))

    @classmethod
    def parse(cls, option: str) -> LabelSet:
        """Parse a ``--labels`` value: a comma-separated list, or a file.

        A file holds one label per line, a JSON list, or a ``labels.json`` object
        ``{"labels": [...]}``. The order given is kept.
        """
        text = option.strip()
        if not text:
            raise R2DError("the label list is empty", field="labels")
        candidate = Path(text).expanduser()
        if candidate.is_file():
            return cls._from_file(candidate)
        looks_like_path = "," not in text and (
            text.lower().endswith(_PATH_SUFFIXES) or os.sep in text or "/" in text
        )
        if looks_like_path:
            raise R2DError(
                "label file not found",
                path=text,
                hint="give an existing file or a comma-separated list such as 'yes,no,maybe'",
            )
        return cls(text.split(","))

    @classmethod
    def _from_file(cls, path: Path) -> LabelSet:
        try:
            content = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise R2DError(f"cannot read label file: {exc}", path=path) from None
        stripped = content.strip()
        if stripped.startswith(("[", "{")):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise R2DError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
            return cls.from_json(value, source=path)
        return cls((line for line in content.splitlines() if line.strip()), source=path)

    def __contains__(self, label: object) -> bool:
        return label in self.labels

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self) -> Iterator[str]:
        return iter(self.labels)

    def index(self, label: str) -> int:
        """Position of ``label`` in the set."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise R2DError(
                f"label '{label}' is not in the label set ({', '.join(self.labels)})",
                field="label",
            ) from None

    def to_json(self) -> dict[str, Any]:
        """The ``labels.json`` object: ``{"labels": [...]}``."""
        return {"labels": list(self.labels)}

    @classmethod
    def from_json(cls, obj: Any, *, source: str | os.PathLike[str] | None = None) -> LabelSet:
        """Read the object :meth:`to_json` writes (a bare JSON list is accepted too)."""
        if isinstance(obj, dict):
            if "labels" not in obj:
                raise R2DError(
                    'expected an object with a "labels" list', path=source, field="labels"
                )
            obj = obj["labels"]
        if not isinstance(obj, list):
            raise R2DError("expected a JSON list of labels", path=source, field="labels")
        return cls(obj, source=source)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``labels.json`` atomically."""
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LabelSet:
        """Read a file written by :meth:`save`."""
        try:
            obj = read_json(path)
        except FileNotFoundError:
            raise R2DError("label file not found", path=path) from None
        except OSError as exc:
            raise R2DError(f"cannot read label file: {exc}", path=path) from None
        return cls.from_json(obj, source=path)


def run_label_set(option: str | None, train: Iterable[Example] | None) -> LabelSet:
    """The label set a run chooses from, by one rule for training, the bench and zero-shot
    baselines: ``--labels`` (``option``) when given, else the training examples' labels, sorted.

    Neither given is an R2DError: a test file's labels are never the label set, because a
    test split that lacks a label would shrink the set and change macro-F1.
    """
    if option:
        return LabelSet.parse(option)
    if train is None:
        raise R2DError(
            "the label set is unknown",
            field="labels",
            hint="give the training file (--train TRAIN_FILE: its labels, as r2d train and "
            "r2d bench use) or the labels (--labels yes,no,maybe or a file)",
        )
    return LabelSet.from_examples(train)


def check_labels(
    examples: Iterable[Example], label_set: LabelSet, path: str | os.PathLike[str]
) -> int:
    """Count the labelled examples whose label is outside ``label_set``; cases with their own
    options are left out (their label is one of their options, which the reader checked).

    When there are any, emits one :class:`LabelOutsideSetWarning` naming ``path``, the count and
    up to five of the offending labels (most frequent first). Unlabelled examples are ignored.
    """
    outside: Counter[str] = Counter(
        example.label
        for example in examples
        if example.label and example.choices is None and example.label not in label_set
    )
    count = sum(outside.values())
    if count:
        shown = [label for label, _ in outside.most_common(5)]
        more = f" and {len(outside) - len(shown)} more" if len(outside) > len(shown) else ""
        noun = "example has a label" if count == 1 else "examples have labels"
        warnings.warn(
            f"{path}: {count} {noun} outside the label set: "
            f"{', '.join(repr(label) for label in shown)}{more} "
            f"(label set: {', '.join(label_set)})",
            LabelOutsideSetWarning,
            stacklevel=2,
        )
    return count
