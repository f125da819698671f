"""The ``zero-shot-llm`` bench method: an LLM on an OpenAI-compatible server, not trained.

Each test case is put to the server as ``r2d zero-shot`` does (the label prompt lists the label
set, the answer is mapped back to a label, then the rationale of that label is asked for; see
:mod:`reason2decide.llm.zero_shot`) and the records are scored with the same metrics as the
trained methods. Faithfulness metrics (consistency, sufficiency, gold robustness) need a model
that predicts a label from a rationale alone: they are absent (None), like ECE (a chat answer
has no probabilities).

Seeds: at temperature 0 (the default) the answers are greedy and do not depend on a seed, so
the method is evaluated **once**, in the folder of the bench's first seed, and no seed is sent.
At a temperature above 0 it is evaluated once per seed, with the bench seed sent as the
server's sampling seed, so that its spread over seeds means what it means for trained methods.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reason2decide.data.example import Example
from reason2decide.errors import R2DError

#: The method name in ``--methods``.
ZERO_SHOT_METHOD = "zero-shot-llm"


@dataclass
class ZeroShotSpec:
    """Which server and model answer for ``zero-shot-llm``, and how.

    ``cache_dir=None`` uses the LLM client's default cache (``$R2D_LLM_CACHE`` or
    ``~/.cache/reason2decide/llm``): every answer is kept, so evaluating again (after a change of
    the test limit or BERTScore settings, or in another bench) asks the server nothing.
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 256
    label_retries: int = 1
    concurrency: int = 4
    timeout: float = 120.0
    max_retries: int = 5
    cache_dir: Path | None = None

    def check(self) -> None:
        """Raise :class:`R2DError` unless a server and a model are given and values are sane."""
        missing = [
            flag
            for flag, value in (("--llm-base-url", self.base_url), ("--llm-model", self.model))
            if not (value or "").strip()
        ]
        if missing:
            raise R2DError(
                f"{ZERO_SHOT_METHOD} needs {' and '.join(missing)}",
                field="methods",
                hint="e.g. --llm-base-url http://127.0.0.1:8000/v1 --llm-model NAME "
                "(any OpenAI-compatible server), or leave zero-shot-llm out of --methods",
            )
        if self.temperature < 0:
            raise R2DError("--llm-temperature cannot be negative", field="llm_temperature")
        if self.max_tokens < 1:
            raise R2DError("--llm-max-tokens must be at least 1", field="llm_max_tokens")
        if self.label_retries < 0:
            raise R2DError("label retries cannot be negative", field="label_retries")

    def seeds(self, seeds: Sequence[int]) -> list[int]:
        """The bench seeds this method is evaluated for (the first only, at temperature 0)."""
        return list(seeds) if self.temperature > 0 else list(seeds[:1])

    def sampling_seed(self, seed: int) -> int | None:
        """The seed sent to the server for bench seed ``seed`` (none at temperature 0)."""
        return seed if self.temperature > 0 else None

    def settings(self, seed: int) -> dict[str, Any]:
        """What decides the answers besides the test cases; an existing run with other values
        is refused rather than overwritten (like a trained run with another configuration).
        The server URL is left out: the same model may move to another address."""
        from reason2decide.llm.templates import RATIONALE_TEMPLATE, ZERO_SHOT_LABEL_TEMPLATE

        return {
            "model": self.model,
            "temperature": self.temperature,
            "sampling_seed": self.sampling_seed(seed),
            "max_tokens": self.max_tokens,
            "label_retries": self.label_retries,
            "label_prompt_version": ZERO_SHOT_LABEL_TEMPLATE.version,
            "rationale_prompt_version": RATIONALE_TEMPLATE.version,
        }


def zero_shot_state(metrics_path: Path, settings: Mapping[str, Any], llm: Mapping[str, Any]) -> str:
    """``complete`` (evaluated with these settings), ``evaluate`` (to evaluate again: missing
    or made with other evaluation settings) or ``new`` (nothing there); an evaluation made with
    another model, temperature, seed or prompt is an :class:`R2DError`."""
    from reason2decide.io import read_json

    if not metrics_path.is_file():
        return "new"
    try:
        saved = read_json(metrics_path).get("bench_eval") or {}
    except (OSError, ValueError) as exc:
        raise R2DError(
            f"cannot read: {exc}", path=metrics_path, hint="delete it to evaluate again"
        ) from None
    before = saved.get("llm") or {}
    clashes = [
        f"{key}={before[key]!r} (now {llm[key]!r})"
        for key in llm
        if key in before and before[key] != llm[key]
    ]
    if clashes:
        raise R2DError(
            f"{ZERO_SHOT_METHOD} was evaluated with other LLM settings: " + "; ".join(clashes),
            path=metrics_path,
            hint="use the options of that bench, another --output, "
            "or delete the run's folder to evaluate it again",
        )
    return "complete" if saved.get("settings") == dict(settings) else "evaluate"


def evaluate_zero_shot(
    spec: ZeroShotSpec,
    seed: int,
    examples: Sequence[Example],
    labels: Sequence[str],
    *,
    metrics_path: Path,
    predictions_path: Path,
    test: Path,
    bench_eval: Mapping[str, Any],
    with_bertscore: bool = True,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Ask the server for every test case, score the answers, write ``predictions_path``
    and then ``metrics_path`` (its presence marks the run complete); return the metrics.

    The metrics are those of a trained method (same keys; faithfulness and ECE None), plus
    ``zero_shot`` (label-mapping counts, retries, token usage, prompt versions) and
    ``bench_eval`` (``bench_eval`` given, with the LLM settings and the wall time added).
    """
    from reason2decide.data.fingerprint import fingerprint
    from reason2decide.evaluation.pipeline import evaluate_llm_zero_shot
    from reason2decide.evaluation.report import write_metrics
    from reason2decide.io import write_jsonl
    from reason2decide.llm.client import LLMClient, LLMConfig, default_cache_dir
    from reason2decide.llm.rationales import RationaleOptions
    from reason2decide.llm.zero_shot import ZeroShotOptions

    spec.check()
    sampling_seed = spec.sampling_seed(seed)
    options = ZeroShotOptions(
        label_retries=spec.label_retries,
        temperature=spec.temperature,
        seed=sampling_seed,
        rationale=RationaleOptions(
            temperature=spec.temperature, max_tokens=spec.max_tokens, seed=sampling_seed
        ),
    )
    config = LLMConfig(
        base_url=spec.base_url or "",
        model=spec.model or "",
        api_key_env=spec.api_key_env or None,
        concurrency=spec.concurrency,
        timeout=spec.timeout,
        max_retries=spec.max_retries,
        cache_dir=spec.cache_dir or default_cache_dir(),
    )
    started = time.perf_counter()
    with LLMClient(config) as client:
        metrics, records, _ = evaluate_llm_zero_shot(
            examples,
            labels,
            client,
            options,
            model_name=f"{ZERO_SHOT_METHOD}:{spec.model}",
            bertscore_model=bertscore_model,
            bertscore_layers=bertscore_layers,
            with_bertscore=with_bertscore,
            progress=progress,
        )
    metrics["test"] = fingerprint(test)
    metrics["bench_eval"] = {
        **bench_eval,
        "llm": spec.settings(seed),
        "base_url": config.normalized_url,
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    write_jsonl(predictions_path, records)
    write_metrics(metrics_path, metrics)
    return metrics
