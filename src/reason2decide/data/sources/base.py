"""What every built-in source shares: its description, where raw files are found, splitting.

A source module defines ``INFO`` (a :class:`SourceInfo`), ``OPTIONS`` (its own options with
their choices and defaults) and ``build(data_dir, *, seed, options) -> BuiltSplits``, which reads
the raw files (or, for a generated source with no ``raw_files``, makes the examples; its
``data_dir`` is None) and returns the train/val/test examples. Writing them out is the job of
:func:`reason2decide.data.sources.prepare`.

Splits are deterministic: records are put in a fixed order (sorted by id) before any shuffling,
and all randomness comes from one ``random.Random(seed)``.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from reason2decide.data.example import Example
from reason2decide.data.stats import normalize_text
from reason2decide.errors import R2DError

#: Environment variable naming the directory that holds the raw data (``shared/data`` here).
DATA_DIR_ENV = "R2D_DATA_DIR"

#: Default seed for the splits.
DEFAULT_SEED = 42

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SourceInfo:
    """What ``r2d data list`` says about a source. No field needs the raw files to be present."""

    name: str
    title: str
    task: str
    labels: str
    size: str
    licence: str
    citation: str
    homepage: str
    raw_files: tuple[str, ...]
    splits: str
    question: str
    rationale: str
    rationale_origin: str
    notes: tuple[str, ...] = ()
    open_labels: bool = False


#: The value of a source option: a text choice, or a number for a numeric option.
OptionValue = str | int | float


@dataclass(frozen=True)
class SourceOption:
    """A source-specific option: its CLI flag, allowed values, default and meaning.

    A choice option lists its ``choices``; a numeric option has none and a ``kind`` (``int`` or
    ``float``) that given values are converted to; the source's builder checks their range.
    """

    flag: str
    choices: tuple[str, ...]
    default: OptionValue
    help: str
    kind: type = str


@dataclass
class BuiltSplits:
    """The examples of each split plus what ``dataset.json`` records about how they were made."""

    train: list[Example]
    val: list[Example]
    test: list[Example]
    raw_files: list[Path]
    notes: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)

    def by_name(self) -> dict[str, list[Example]]:
        """The splits as ``{"train": ..., "val": ..., "test": ...}``."""
        return {"train": self.train, "val": self.val, "test": self.test}


# --- where the raw data is ----------------------------------------------------------------------


def _repository_roots() -> list[Path]:
    """Checkout roots above this file (directories holding ``pyproject.toml``), nearest first."""
    roots = []
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            roots.append(parent)
    return roots


def data_dir_candidates() -> list[tuple[Path, str]]:
    """The fallback places looked at when neither ``--data-dir`` nor ``R2D_DATA_DIR`` is given."""
    candidates = [
        (Path.cwd().parent / "shared" / "data", "../shared/data from the current directory")
    ]
    for root in _repository_roots():
        candidates.append((root.parent / "shared" / "data", "../shared/data beside the checkout"))
    unique: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path, why in candidates:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique.append((resolved, why))
    return unique


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The raw-data directory: ``data_dir`` if given, else ``$R2D_DATA_DIR``, else a fallback.

    The fallbacks are ``../shared/data`` relative to the current directory and relative to the
    repository checkout this package runs from. Raises :class:`R2DError` naming every place
    looked at when none exists.
    """
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise R2DError("the data directory does not exist", path=path, field="--data-dir")
        return path
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise R2DError(
                f"the data directory named by {DATA_DIR_ENV} does not exist",
                path=path,
                hint=f"fix or unset {DATA_DIR_ENV}, or pass --data-dir",
            )
        return path
    candidates = data_dir_candidates()
    for path, _why in candidates:
        if path.is_dir():
            return path
    looked = "; ".join(f"{path} ({why})" for path, why in candidates)
    raise R2DError(
        f"no raw-data directory found: --data-dir not given, {DATA_DIR_ENV} not set, "
        f"and none of these exists: {looked}",
        hint=f"pass --data-dir DIR or set {DATA_DIR_ENV} to the folder holding the raw files",
    )


def raw_file(data_dir: Path, relative: str, source: str) -> Path:
    """The path of one raw file of ``source``; raises :class:`R2DError` if it is missing."""
    path = data_dir / relative
    if not path.is_file():
        raise R2DError(
            f"missing raw file '{relative}' of source '{source}'",
            path=path,
            hint=f"point --data-dir or {DATA_DIR_ENV} at the folder that holds '{relative}'; "
            "`r2d data list` names the files each source needs",
        )
    return path


@contextmanager
def raw_text(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """``path`` opened as UTF-8 text (a byte-order mark skipped); bytes that are not UTF-8,
    met anywhere while the block reads it, become an :class:`R2DError` naming the file."""
    try:
        with open(path, encoding="utf-8-sig", newline=newline) as handle:
            yield handle
    except UnicodeDecodeError as exc:
        raise R2DError(f"not valid UTF-8 text ({exc.reason})", path=path) from None


def load_json(path: Path) -> Any:
    """Parse a JSON file; a parse error becomes an :class:`R2DError` naming the file and line."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise R2DError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise R2DError(f"not valid UTF-8 text ({exc.reason})", path=path) from None
    except OSError as exc:
        raise R2DError(f"cannot read file: {exc.strerror or exc}", path=path) from None


def bad_record(path: Path, record_id: str, problem: str, line: int | None = None) -> R2DError:
    """The error for a raw record that does not parse: names the file and the record's id."""
    return R2DError(
        f"record '{record_id}': {problem}",
        path=path,
        line=line,
        hint="the raw file looks damaged or is not the expected release; re-fetch it",
    )


def clean(text: Any) -> str:
    """A raw text value as a stripped string (``None`` becomes ``""``)."""
    if text is None:
        return ""
    return str(text).strip()


# --- splitting ----------------------------------------------------------------------------------


def split_examples(
    examples: Sequence[Example],
    fractions: Mapping[str, float],
    seed: int,
    *,
    stratify: Callable[[Example], str] | None = None,
) -> dict[str, list[Example]]:
    """Split ``examples`` into ``"train"`` plus the named held-out parts, deterministically.

    Examples whose questions are equal after :func:`normalize_text` form one unit and stay
    together, so a question never lands in two parts. ``fractions`` gives each held-out part's
    share (e.g. ``{"val": 0.1}``): it gets ``round(share * units)`` units. With ``stratify``
    (applied to a unit's first example), every stratum is spread over the parts in proportion
    (largest remainders) and always keeps at least one unit in train. Each part comes back
    sorted by id.
    """
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in sorted(examples, key=lambda e: e.id):
        groups[normalize_text(example.question)].append(example)
    units = sorted(groups.values(), key=lambda members: members[0].id)

    strata: dict[str, list[list[Example]]] = defaultdict(list)
    for unit in units:
        strata[stratify(unit[0]) if stratify else ""].append(unit)
    rng = random.Random(seed)
    ordered = {key: strata[key] for key in sorted(strata)}
    for key in ordered:
        rng.shuffle(ordered[key])

    total = len(units)
    parts = list(fractions)
    quota = _allocate(
        {key: len(value) for key, value in ordered.items()},
        {part: round(fractions[part] * total) for part in parts},
    )
    result: dict[str, list[Example]] = {"train": [], **{part: [] for part in parts}}
    for key, key_units in ordered.items():
        start = 0
        for part in parts:
            take = quota[key][part]
            for unit in key_units[start : start + take]:
                result[part].extend(unit)
            start += take
        for unit in key_units[start:]:
            result["train"].extend(unit)
    return {name: sorted(items, key=lambda e: e.id) for name, items in result.items()}


def _allocate(sizes: Mapping[str, int], targets: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Per-stratum counts for each held-out part: proportional, exact totals, ≥1 left in train."""
    total = sum(sizes.values())
    counts = {key: {part: 0 for part in targets} for key in sizes}
    if total == 0:
        return counts
    for part, target in targets.items():
        share = target / total
        wanted = {key: share * size for key, size in sizes.items()}
        for key in sizes:
            counts[key][part] = min(math.floor(wanted[key]), _room(sizes, counts, key))
        missing = target - sum(counts[key][part] for key in sizes)
        order = sorted(sizes, key=lambda k: (-(wanted[k] - math.floor(wanted[k])), k))
        while missing > 0:
            progressed = False
            for key in order:
                if missing == 0:
                    break
                if _room(sizes, counts, key) > 0:
                    counts[key][part] += 1
                    missing -= 1
                    progressed = True
            if not progressed:
                break
    return counts


def _room(sizes: Mapping[str, int], counts: Mapping[str, Mapping[str, int]], key: str) -> int:
    """How many more units stratum ``key`` can give away while keeping one for train."""
    return max(sizes[key] - 1 - sum(counts[key].values()), 0)
