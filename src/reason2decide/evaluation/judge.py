"""LLM-as-a-judge: an LLM grades each generated rationale against a fixed rubric.

Rubric (version :data:`RUBRIC_VERSION`), each criterion scored 1 (worst) to 5 (best):

- ``label_agreement`` — the rationale argues for the predicted decision, not another one;
- ``faithfulness`` — everything it states about the case is in the case text (no invented
  findings, no contradictions of the case);
- ``clinical_correctness`` — its medical reasoning is correct;
- ``completeness`` — it names the key findings that the decision rests on.

The judge sees the case text, the predicted decision and the rationale; it does not see the gold
label or the gold rationale (grading is of the explanation of the model's own decision). It is
asked for one JSON object such as ``{"label_agreement": 4, "faithfulness": 5,
"clinical_correctness": 4, "completeness": 3}``.

Parsing is forgiving: code fences and text around the object are ignored, single quotes and
trailing commas are tolerated, keys are matched case- and separator-insensitively, a score may be
a number or a string such as ``"4"`` or ``"4/5"``; when no object parses, ``criterion: score``
pairs in the text are used. An answer missing a criterion, or with a score outside 1–5, is
unparsable: the judge is asked again (the bad answer and a reminder of the format appended to
the conversation), at most ``max_parse_retries`` times. Records still unparsable after that are
counted in ``judge_n_unparsable`` and marked on their record (``judge.error``); they are never
dropped silently. Records without a rationale are not judged and are counted in
``judge_n_no_rationale``.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from reason2decide.errors import R2DError
from reason2decide.llm.client import ChatRequest, LLMClient, LLMConfig

RUBRIC_VERSION = "r2d-judge-v1"
#: The rubric's criteria and what a 5 means for each.
CRITERIA: dict[str, str] = {
    "label_agreement": "the rationale argues for the stated decision, not for a different one",
    "faithfulness": "everything it says about the case is supported by the case text; "
    "nothing is invented or contradicted",
    "clinical_correctness": "its medical reasoning is correct",
    "completeness": "it mentions the key findings that the decision rests on",
}
MIN_SCORE, MAX_SCORE = 1, 5

JUDGE_SYSTEM = (
    "You are a strict senior clinician grading explanations of clinical decisions. "
    "You answer with one JSON object and nothing else."
)


def judge_messages(question: str, label: str, rationale: str) -> list[dict[str, str]]:
    """The judge prompt for one rationale."""
    rubric = "\n".join(
        f'- "{name}": 1 to 5, where 5 means {meaning}' for name, meaning in CRITERIA.items()
    )
    example = "{" + ", ".join(f'"{name}": <score>' for name in CRITERIA) + "}"
    user = (
        f"Case:\n{question}\n\nDecision: {label}\n\nExplanation to grade:\n{rationale}\n\n"
        f"Grade the explanation on each criterion with an integer from 1 (worst) to 5 (best):\n"
        f"{rubric}\n\n"
        f"Reply with only this JSON object, each <score> replaced by your integer: {example}"
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


_FENCE = re.compile(r"```(?:json)?", re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_SCORE_TEXT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(\d+))?\s*$")


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        match = _SCORE_TEXT.match(value)
        if not match:
            return None
        number = float(match.group(1))
        if match.group(2) and float(match.group(2)) != MAX_SCORE:
            return None
    else:
        return None
    if math.isnan(number) or not MIN_SCORE <= number <= MAX_SCORE:
        return None
    return int(number) if number.is_integer() else number


def _from_mapping(obj: Mapping[str, Any]) -> dict[str, float] | None:
    by_key = {_key(str(k)): v for k, v in obj.items()}
    scores = {}
    for name in CRITERIA:
        score = _score(by_key.get(name))
        if score is None:
            return None
        scores[name] = score
    return scores


def _objects(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found = []
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        for candidate in (text[start:], _TRAILING_COMMA.sub(r"\1", text[start:])):
            try:
                value, _ = decoder.raw_decode(candidate)
            except ValueError:
                try:
                    value, _ = decoder.raw_decode(candidate.replace("'", '"'))
                except ValueError:
                    continue
            found.append(value)
            break
    return found


def parse_judgement(text: str) -> dict[str, float] | None:
    """The rubric scores in a judge's answer, or ``None`` when it has no valid score for each."""
    if not text or not text.strip():
        return None
    cleaned = _FENCE.sub("", text)
    for value in _objects(cleaned):
        if isinstance(value, Mapping):
            nested = [value] + [v for v in value.values() if isinstance(v, Mapping)]
            for candidate in nested:
                scores = _from_mapping(candidate)
                if scores is not None:
                    return scores
    pairs: dict[str, Any] = {}
    for name in CRITERIA:
        words = name.replace("_", r"[\s_\-]*")
        match = re.search(
            rf"[\"']?{words}[\"']?\s*[:=]\s*[\"']?(\d+(?:\.\d+)?(?:\s*/\s*\d+)?)",
            cleaned,
            re.IGNORECASE,
        )
        if match:
            pairs[name] = match.group(1)
    return _from_mapping(pairs) if len(pairs) == len(CRITERIA) else None


#: JSON schema of a judgement: every criterion, an integer from 1 to 5, nothing else.
JUDGEMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        name: {"type": "integer", "enum": list(range(MIN_SCORE, MAX_SCORE + 1))}
        for name in CRITERIA
    },
    "required": list(CRITERIA),
    "additionalProperties": False,
}

#: Ways to ask the server for JSON (``--judge-response-format``):
#: ``none`` (rely on the prompt and the parser), ``json_object`` (any valid JSON: OpenAI, vLLM,
#: Ollama, llama.cpp), ``json_schema`` (OpenAI structured outputs with :data:`JUDGEMENT_SCHEMA`:
#: OpenAI, vLLM, Ollama, llama.cpp's own server), ``llama-cpp-python`` (``json_object`` with the
#: schema under ``schema``, the form llama-cpp-python's server turns into a grammar).
RESPONSE_FORMATS = ("none", "json_object", "json_schema", "llama-cpp-python")


def response_format_field(kind: str) -> dict[str, Any]:
    """The request field that asks for JSON output of the given kind (see RESPONSE_FORMATS)."""
    if kind == "json_object":
        return {"response_format": {"type": "json_object"}}
    if kind == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "judgement", "schema": JUDGEMENT_SCHEMA, "strict": True},
            }
        }
    if kind == "llama-cpp-python":
        return {"response_format": {"type": "json_object", "schema": JUDGEMENT_SCHEMA}}
    return {}


@dataclass(frozen=True)
class JudgeOptions:
    """Sampling options and the parse-retry bound of the judge."""

    max_parse_retries: int = 2
    temperature: float = 0.0
    max_tokens: int = 128
    seed: int | None = None
    response_format: str = "none"

    def __post_init__(self) -> None:
        if self.response_format not in RESPONSE_FORMATS:
            raise R2DError(
                f"unknown judge response format {self.response_format!r}",
                field="response_format",
                hint="use one of " + ", ".join(RESPONSE_FORMATS),
            )
        if self.max_parse_retries < 0:
            raise R2DError("max_parse_retries cannot be negative", field="max_parse_retries")


def judge_one(
    client: LLMClient, question: str, label: str, rationale: str, options: JudgeOptions
) -> dict[str, Any]:
    """Grade one rationale: ``{"scores": {...} | None, "attempts": n, "error": str | None}``."""
    messages = judge_messages(question, label, rationale)
    extra = response_format_field(options.response_format)
    answer = ""
    for attempt in range(options.max_parse_retries + 1):
        if attempt:
            messages = [
                *messages,
                {"role": "assistant", "content": answer},
                {
                    "role": "user",
                    "content": "That was not a valid answer. Reply with only a JSON object "
                    "with the keys " + ", ".join(CRITERIA) + ", each an integer from 1 to 5.",
                },
            ]
        request = ChatRequest.of(
            messages,
            temperature=options.temperature,
            max_tokens=options.max_tokens,
            seed=options.seed,
            extra=extra,
        )
        answer = client.chat(request).content
        scores = parse_judgement(answer)
        if scores is not None:
            return {"scores": scores, "attempts": attempt + 1, "error": None}
    return {
        "scores": None,
        "attempts": options.max_parse_retries + 1,
        "error": "unparsable",
        "answer": answer[:500],
    }


def judge_records(
    records: Sequence[MutableMapping[str, Any]],
    client: LLMClient,
    *,
    options: JudgeOptions = JudgeOptions(),  # noqa: B008 - frozen dataclass
    progress: bool = False,
) -> dict[str, Any]:
    """Judge the ``rationale`` of each record; return the metrics to merge into metrics.json.

    Each record needs ``question``, ``label`` (the predicted decision) and ``rationale``; it gets
    a ``judge`` entry (``{"scores", "attempts", "error"}``; ``error`` is ``"no rationale"`` or
    ``"unparsable"`` when there are no scores). The metrics are flat keys
    ``judge_<criterion>`` (mean over the scored records, ``None`` when none was scored),
    ``judge_overall`` (mean of the per-record criterion means), the counts ``judge_n``,
    ``judge_n_scored``, ``judge_n_unparsable``, ``judge_n_no_rationale``, and ``judge`` with the
    details: server, model, rubric version, options, parse retries used, per-criterion score
    counts (``histogram``), seconds and token usage.
    """
    started = time.perf_counter()
    to_judge = []
    for record in records:
        rationale = record.get("rationale")
        if isinstance(rationale, str) and rationale.strip():
            to_judge.append(record)
        else:
            record["judge"] = {"scores": None, "attempts": 0, "error": "no rationale"}

    def grade(record: MutableMapping[str, Any]) -> dict[str, Any]:
        return judge_one(
            client,
            str(record.get("question") or ""),
            str(record.get("label") or ""),
            str(record["rationale"]),
            options,
        )

    verdicts = client.map(grade, to_judge, progress=progress, description="judge")
    for record, verdict in zip(to_judge, verdicts, strict=True):
        record["judge"] = verdict

    scored = [v["scores"] for v in verdicts if v["scores"] is not None]
    metrics: dict[str, Any] = {}
    for name in CRITERIA:
        values = [scores[name] for scores in scored]
        metrics[f"judge_{name}"] = sum(values) / len(values) if values else None
    overall = [sum(scores.values()) / len(scores) for scores in scored]
    metrics["judge_overall"] = sum(overall) / len(overall) if overall else None
    metrics["judge_n"] = len(records)
    metrics["judge_n_scored"] = len(scored)
    metrics["judge_n_unparsable"] = sum(v["error"] == "unparsable" for v in verdicts)
    metrics["judge_n_no_rationale"] = len(records) - len(to_judge)
    histogram = {
        name: {
            str(score): sum(1 for s in scored if s[name] == score)
            for score in range(MIN_SCORE, MAX_SCORE + 1)
        }
        for name in CRITERIA
    }
    metrics["judge"] = {
        "base_url": client.config.normalized_url,
        "model": client.config.model,
        "rubric_version": RUBRIC_VERSION,
        "criteria": dict(CRITERIA),
        "options": asdict(options),
        "n_parse_retries": sum(max(0, v["attempts"] - 1) for v in verdicts),
        "histogram": histogram,
        "seconds": round(time.perf_counter() - started, 3),
        "usage": client.usage.to_dict(),
    }
    return metrics


def run_judge(
    records: Sequence[MutableMapping[str, Any]],
    *,
    base_url: str,
    model: str,
    api_key_env: str | None = None,
    concurrency: int = 4,
    timeout: float = 120.0,
    max_parse_retries: int = 2,
    response_format: str = "none",
    cache: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Build a client for the judge server and :func:`judge_records` with it (for the CLI)."""
    from reason2decide.llm.client import DEFAULT_API_KEY_ENV

    config = LLMConfig(
        base_url=base_url,
        model=model,
        api_key_env=api_key_env or DEFAULT_API_KEY_ENV,
        concurrency=concurrency,
        timeout=timeout,
        **({} if cache else {"cache_dir": None}),
    )
    options = JudgeOptions(max_parse_retries=max_parse_retries, response_format=response_format)
    with LLMClient(config) as client:
        return judge_records(records, client, options=options, progress=progress)


def judge_summary(metrics: Mapping[str, Any]) -> str:
    """One line with the judge's means and counts, for the CLI ('' when the judge did not run)."""
    if "judge_n" not in metrics:
        return ""
    parts = []
    for name in (*CRITERIA, "overall"):
        value = metrics.get(f"judge_{name}")
        parts.append(f"{name} {value:.2f}" if isinstance(value, int | float) else f"{name} —")
    return (
        f"LLM judge ({metrics.get('judge', {}).get('model')}): "
        + ", ".join(parts)
        + f"; scored {metrics['judge_n_scored']}/{metrics['judge_n']}, "
        f"unparsable {metrics['judge_n_unparsable']}, "
        f"no rationale {metrics['judge_n_no_rationale']}"
    )
