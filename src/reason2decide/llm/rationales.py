"""Teacher rationales: ask an LLM why each example's gold label is right, and save the answers.

The paper's practical finding is that rationales written by a large LLM are good enough for
Stage 1. :func:`generate_rationales` asks, for every example, for a rationale that justifies its
gold label (prompt: :data:`~reason2decide.llm.templates.RATIONALE_TEMPLATE` or your own),
optionally masks the label inside the answer (:func:`reason2decide.data.leakage.mask_label`),
and writes the input rows with the rationale column added plus its provenance.

Resuming: every answer is appended to ``<output>.partial`` (one JSON line, flushed and fsynced)
as soon as it arrives. A run that is killed and started again reads that file, keeps every row
whose request is unchanged, and asks the server only for the rest; the final output is written
atomically at the end and the partial file removed. A row whose question, label, prompt, model
or sampling options changed is asked again (its request key differs).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from reason2decide.data.example import Example
from reason2decide.data.leakage import DEFAULT_PLACEHOLDER, mask_label
from reason2decide.errors import R2DError
from reason2decide.io import atomic_open, write_json, write_jsonl
from reason2decide.llm.client import ChatRequest, ChatResult, LLMClient
from reason2decide.llm.templates import RATIONALE_TEMPLATE, PromptTemplate

OUTPUT_SUFFIXES = (".jsonl", ".json", ".csv")
_LEAD_IN = re.compile(
    r"^\s*(?:\*\*)?(?:rationale|explanation|reasoning)(?:\*\*)?\s*:(?:\*\*)?\s*", re.IGNORECASE
)


@dataclass(frozen=True)
class RationaleOptions:
    """How rationales are asked for and post-processed.

    ``output_col`` names the column written (``rationale``, or e.g. ``llm_rationale`` to keep
    human-written rationales beside the generated ones); ``{output_col}_model`` and
    ``{output_col}_prompt_version`` are written beside it.
    """

    template: PromptTemplate = RATIONALE_TEMPLATE
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int | None = None
    mask_label: bool = False
    placeholder: str = DEFAULT_PLACEHOLDER
    output_col: str = "rationale"


@dataclass
class GenerationSummary:
    """What a generation run did."""

    output: Path
    provenance: Path
    n: int = 0
    n_resumed: int = 0
    n_asked: int = 0
    n_cached: int = 0
    n_empty: int = 0
    n_truncated: int = 0
    n_masked: int = 0
    seconds: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        data = dict(vars(self))
        data["output"] = str(self.output)
        data["provenance"] = str(self.provenance)
        return data


def rationale_request(
    example: Example,
    options: RationaleOptions = RationaleOptions(),  # noqa: B008 - frozen dataclass
    labels: Sequence[str] | None = None,
) -> ChatRequest:
    """The request asking for a rationale that justifies ``example``'s gold label."""
    messages = options.template.render(example.question, example.label, list(labels or []))
    return ChatRequest.of(
        messages,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
        seed=options.seed,
    )


def clean_rationale(text: str) -> str | None:
    """The answer with whitespace, wrapping quotes and a 'Rationale:' lead-in removed.

    ``None`` for an answer with no text.
    """
    cleaned = _LEAD_IN.sub("", text.strip(), count=1).strip()
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] and cleaned[0] in "\"'":
        cleaned = cleaned[1:-1].strip()
    return cleaned or None


def partial_path(output: str | os.PathLike[str]) -> Path:
    """Where answers are kept while a run for ``output`` is unfinished."""
    target = Path(output)
    return target.with_name(target.name + ".partial")


def provenance_path(output: str | os.PathLike[str]) -> Path:
    """The JSON file written beside ``output`` that says how its rationales were made."""
    target = Path(output)
    return target.with_name(target.name + ".provenance.json")


def generate_rationales(
    examples: Sequence[Example],
    client: LLMClient,
    output: str | os.PathLike[str],
    *,
    options: RationaleOptions = RationaleOptions(),  # noqa: B008 - frozen dataclass
    labels: Sequence[str] | None = None,
    overwrite: bool = False,
    restart: bool = False,
    progress: bool = False,
    source: dict[str, Any] | None = None,
) -> GenerationSummary:
    """Generate a rationale for every example and write them to ``output`` (.jsonl or .csv).

    Each output row is the example's standard-schema row (extra columns kept) with
    ``options.output_col`` set to the rationale (``None`` when the server answered nothing),
    plus ``<col>_model`` and ``<col>_prompt_version``. A provenance file is written beside it.
    Resumes from ``<output>.partial`` unless ``restart``. ``overwrite`` allows replacing
    rationales the examples already have in ``output_col``. ``source`` (e.g. the input file's
    fingerprint) is recorded in the provenance file.

    Raises :class:`R2DError` for a bad output path, a column conflict, or a server that keeps
    failing (rows answered until then stay in the partial file).
    """
    started = time.perf_counter()
    target = Path(output)
    if target.suffix.lower() not in OUTPUT_SUFFIXES:
        raise R2DError(
            f"cannot write rationales as '{target.suffix or '(no extension)'}'",
            path=target,
            hint="name the output .jsonl or .csv",
        )
    _check_ids(examples)
    _check_output_column(examples, options.output_col, overwrite)
    options.template.require("question")

    requests = [rationale_request(example, options, labels) for example in examples]
    keys = [client.fingerprint(request) for request in requests]
    partial = partial_path(target)
    if restart:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    done = _load_partial(partial, {e.id: k for e, k in zip(examples, keys, strict=True)})
    summary = GenerationSummary(output=target, provenance=provenance_path(target), n=len(examples))
    summary.n_resumed = len(done)
    todo = [i for i, example in enumerate(examples) if example.id not in done]

    def ask(index: int) -> ChatResult:
        return client.chat(requests[index])

    target.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "a", encoding="utf-8") as handle:

        def save(position: int, result: ChatResult) -> None:
            example = examples[todo[position]]
            entry = {
                "id": example.id,
                "key": keys[todo[position]],
                "content": result.content,
                "finish_reason": result.finish_reason,
                "cached": result.cached,
            }
            _append_line(handle, entry)
            done[example.id] = entry

        client.map(ask, todo, on_result=save, progress=progress, description="rationales")

    summary.n_asked = sum(1 for i in todo if not done[examples[i].id].get("cached"))
    summary.n_cached = len(todo) - summary.n_asked
    rows = _final_rows(examples, done, client.config.model, options, summary)
    _write_rows(target, rows)
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.usage = client.usage.to_dict()
    write_json(summary.provenance, _provenance(client, options, labels, summary, source))
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    return summary


def _check_ids(examples: Sequence[Example]) -> None:
    seen: set[str] = set()
    for example in examples:
        if example.id in seen:
            raise R2DError(
                f"duplicate id '{example.id}'", field="id", hint="ids must be unique to resume"
            )
        seen.add(example.id)


def _check_output_column(examples: Sequence[Example], column: str, overwrite: bool) -> None:
    if not column.strip():
        raise R2DError("the output column name is empty", field="output_col")
    if overwrite:
        return
    for example in examples:
        existing = example.rationale if column == "rationale" else example.extra.get(column)
        if isinstance(existing, str) and existing.strip():
            raise R2DError(
                f"example '{example.id}' already has a '{column}'",
                field=column,
                hint="write the generated ones to another column (e.g. --output-col "
                "llm_rationale) or pass --overwrite",
            )


def _load_partial(path: Path, wanted: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Answers in ``path`` whose id and request key match ``wanted``; rewrites it clean.

    A last line cut short by a kill is dropped; so are answers to requests that changed.
    """
    if not path.exists():
        return {}
    done: dict[str, dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise R2DError(f"cannot read the unfinished run's answers: {exc}", path=path) from None
    for line in text.split("\n"):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("content"), str)
            and wanted.get(str(entry.get("id"))) == entry.get("key")
        ):
            done[str(entry["id"])] = entry
    write_jsonl(path, done.values())
    return done


def _append_line(handle: IO[str], entry: dict[str, Any]) -> None:
    handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _final_rows(
    examples: Sequence[Example],
    done: dict[str, dict[str, Any]],
    model: str,
    options: RationaleOptions,
    summary: GenerationSummary,
) -> list[dict[str, Any]]:
    column = options.output_col
    rows = []
    for example in examples:
        entry = done[example.id]
        rationale = clean_rationale(entry["content"])
        if rationale is None:
            summary.n_empty += 1
        elif options.mask_label:
            masked = mask_label(rationale, example.label, options.placeholder)
            summary.n_masked += masked != rationale
            rationale = masked
        if entry.get("finish_reason") == "length":
            summary.n_truncated += 1
        row = example.to_dict()
        row[column] = rationale
        row[f"{column}_model"] = model
        row[f"{column}_prompt_version"] = options.template.version
        rows.append(row)
    return rows


def _write_rows(target: Path, rows: list[dict[str, Any]]) -> None:
    if target.suffix.lower() != ".csv":
        write_jsonl(target, rows)
        return
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    with atomic_open(target) as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _csv_cell(row.get(key)) for key in columns})


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _provenance(
    client: LLMClient,
    options: RationaleOptions,
    labels: Sequence[str] | None,
    summary: GenerationSummary,
    source: dict[str, Any] | None,
) -> dict[str, Any]:
    from reason2decide import __version__

    return {
        "kind": "reason2decide.rationales",
        "reason2decide_version": __version__,
        "source": source,
        "server": {"base_url": client.config.normalized_url, "model": client.config.model},
        "prompt": {
            "version": options.template.version,
            "system": options.template.system,
            "user": options.template.user,
        },
        "labels": list(labels) if labels else None,
        "sampling": {
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
            "seed": options.seed,
        },
        "output_col": options.output_col,
        "mask_label": options.mask_label,
        "placeholder": options.placeholder if options.mask_label else None,
        "summary": {
            k: v for k, v in summary.to_dict().items() if k not in ("output", "provenance", "usage")
        },
        "usage": summary.usage,
    }
