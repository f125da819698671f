"""Evaluate a trained model on labelled examples: predictions, then every metric."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reason2decide.backbones.truncation import token_limits, truncation_counts
from reason2decide.data.example import Example
from reason2decide.data.leakage import DEFAULT_PLACEHOLDER, contains_label, mask_label
from reason2decide.evaluation.faithfulness import faithfulness_metrics, rationale_length_stats
from reason2decide.evaluation.report import evaluate_records
from reason2decide.inference.predictor import Predictor
from reason2decide.methods.label_decoding import case_choices
from reason2decide.prompts import conditioned_explain_prompt, explain_prompt, predict_prompt

if TYPE_CHECKING:
    from reason2decide.llm.client import LLMClient
    from reason2decide.llm.zero_shot import ZeroShotOptions, ZeroShotResult


def evaluate_model(
    predictor: Predictor,
    examples: Sequence[Example],
    *,
    with_rationale: bool = True,
    faithfulness: bool = True,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    with_bertscore: bool = True,
    progress: bool = True,
    mask_label_in_rationale: bool = True,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Predict ``examples`` and score them; return ``(metrics, records)``.

    Records hold the case, gold label and rationale, the prediction (label, probabilities,
    rationale) and, with ``faithfulness``, the labels predicted from the generated and from the
    gold rationale alone. With ``mask_label_in_rationale`` those rationale→label passes read the
    generated rationale with the predicted label masked and the gold rationale with the gold
    label masked, so that copying the label out of the rationale earns no consistency or
    sufficiency. ``label_in_generated_rationale`` is the share of generated rationales that
    contain the predicted label verbatim. Metrics a model cannot have (rationale metrics of a
    label-only model) are None, never 0.
    """
    started = time.perf_counter()
    predictions = predictor.predict(
        [e.question for e in examples],
        with_rationale=with_rationale,
        progress=progress,
        **_options(case_choices(examples)),
    )
    seconds = time.perf_counter() - started
    records: list[dict[str, Any]] = [
        {
            "id": e.id,
            "question": e.question,
            "gold_label": e.label,
            "gold_rationale": e.rationale,
            **({} if e.choices is None else {"choices": list(e.choices)}),
            **p.to_dict(),
        }
        for e, p in zip(examples, predictions, strict=True)
    ]
    labels = predictor.labels or sorted({e.label for e in examples})
    metrics = evaluate_records(
        records,
        labels,
        bertscore_model=bertscore_model,
        bertscore_layers=bertscore_layers,
        with_bertscore=with_bertscore,
    )
    metrics.update(dict.fromkeys(("consistency", "sufficiency", "gold_robustness")))
    explains = with_rationale and predictor.explains
    metrics.update(label_leakage(records, explains=explains))
    if faithfulness:
        _add_faithfulness(
            predictor,
            records,
            metrics,
            explains=explains,
            progress=progress,
            mask_label_in_rationale=mask_label_in_rationale,
        )
    metrics["rationale_length"] = rationale_length_stats(
        [r["rationale"] for r in records], [r["gold_rationale"] for r in records]
    )
    metrics["truncation"] = evaluation_truncation(predictor, records, explains=explains)
    metrics["label_decoding"] = predictor.label_decoding
    metrics["option_scoring"] = predictor.backbone.option_scoring
    metrics["rationale_prompt"] = predictor.rationale_prompt
    # Recorded whatever the model: a label-only model's evaluation says what it would have used.
    metrics["generation"] = predictor.generation.to_dict()
    metrics["prior_tau"] = predictor.prior_tau
    metrics["inference"] = {
        "seconds": round(seconds, 3),
        "examples_per_second": round(len(records) / max(seconds, 1e-9), 3),
        "batch_size": predictor.batch_size,
        "device": str(predictor.backbone.device),
        "precision": predictor.precision,
        "with_rationale": explains,
    }
    return metrics, records


def _add_faithfulness(
    predictor: Predictor,
    records: list[dict[str, Any]],
    metrics: dict[str, Any],
    *,
    explains: bool,
    progress: bool,
    mask_label_in_rationale: bool = True,
) -> None:
    """Labels from rationales alone (``predict: {rationale}``) and the three agreement rates;
    each rationale with its own label masked first unless ``mask_label_in_rationale`` is off.
    A case with options is scored over the same options as its question."""

    def shown(rationale: str, label: str) -> str:
        return mask_label(rationale, label) if mask_label_in_rationale else rationale

    from_generated: list[str | None] = [None] * len(records)
    if explains:
        texts = [shown(r["rationale"] or "", r["label"]) for r in records]
        predicted = predictor.predict(
            texts, with_rationale=False, progress=progress, **_options(_choices(records))
        )
        for i, p in enumerate(predicted):
            from_generated[i] = p.label
    from_gold: list[str | None] = [None] * len(records)
    with_gold = [i for i, r in enumerate(records) if r.get("gold_rationale")]
    if with_gold:
        texts = [shown(records[i]["gold_rationale"], records[i]["gold_label"]) for i in with_gold]
        for i, p in zip(
            with_gold,
            predictor.predict(
                texts,
                with_rationale=False,
                progress=progress,
                **_options(_choices([records[i] for i in with_gold])),
            ),
            strict=True,
        ):
            from_gold[i] = p.label
    for record, a, b in zip(records, from_generated, from_gold, strict=True):
        record["label_from_rationale"] = a
        record["label_from_gold_rationale"] = b
    metrics.update(
        faithfulness_metrics(
            [r["gold_label"] for r in records],
            [r["label"] for r in records],
            from_generated,
            from_gold,
        )
    )
    metrics["faithfulness_label_masking"] = (
        {"placeholder": DEFAULT_PLACEHOLDER} if mask_label_in_rationale else None
    )


def _choices(records: Sequence[dict[str, Any]]) -> list[tuple[str, ...] | None] | None:
    """Each record's options, or ``None`` when no record has any."""
    found = [None if r.get("choices") is None else tuple(r["choices"]) for r in records]
    return found if any(c is not None for c in found) else None


def _options(choices: list[tuple[str, ...] | None] | None) -> dict[str, Any]:
    """The ``choices`` argument of ``Predictor.predict``, left out when no case has options."""
    return {} if choices is None else {"choices": choices}


def evaluation_truncation(
    predictor: Predictor, records: Sequence[dict[str, Any]], *, explains: bool
) -> dict[str, Any]:
    """The token limits in force and how many test cases had a prompt cut (``predict: x`` and
    the rationale prompt with the predicted label) or a gold target longer than the target
    limit (the label, and the rationale when the model explains: generation stops there)."""
    prompts: list[list[str]] = []
    targets: list[list[str]] = []
    for r in records:
        p, t = [predict_prompt(r["question"])], [r["gold_label"]]
        if explains:
            if predictor.rationale_prompt == "conditioned":
                p.append(conditioned_explain_prompt(r["label"], r["question"]))
            else:
                p.append(explain_prompt(r["question"]))
            if r.get("gold_rationale"):
                t.append(r["gold_rationale"])
        prompts.append(p)
        targets.append(t)
    backbone = predictor.backbone
    return {
        "limits": token_limits(backbone),
        "test": truncation_counts(backbone, prompts, targets),
    }


def label_leakage(records: Sequence[dict[str, Any]], *, explains: bool) -> dict[str, Any]:
    """Shares of generated rationales containing the predicted label and of gold rationales
    containing the gold label, verbatim (None where there is nothing to count)."""
    generated = [contains_label(r["rationale"], r["label"]) for r in records] if explains else []
    gold = [
        contains_label(r["gold_rationale"], r["gold_label"])
        for r in records
        if r.get("gold_rationale")
    ]
    return {
        "label_in_generated_rationale": sum(generated) / len(generated) if generated else None,
        "label_in_gold_rationale": sum(gold) / len(gold) if gold else None,
    }


def evaluate_llm_zero_shot(
    examples: Sequence[Example],
    labels: Sequence[str],
    client: LLMClient,
    options: ZeroShotOptions,
    *,
    model_name: str,
    bertscore_model: str | None = None,
    bertscore_layers: int | None = None,
    with_bertscore: bool = True,
    progress: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]], ZeroShotResult]:
    """Ask an LLM server for every example's label (and rationale) and score its answers like
    :func:`evaluate_model`: ``(metrics, records, result)``. The faithfulness metrics, which need
    a model that reads rationales, are present as ``None``."""
    from reason2decide.llm.zero_shot import zero_shot_predict

    started = time.perf_counter()
    result = zero_shot_predict(examples, labels, client, options=options, progress=progress)
    seconds = time.perf_counter() - started
    records = result.records
    metrics = evaluate_records(
        records,
        labels,
        bertscore_model=bertscore_model,
        bertscore_layers=bertscore_layers,
        with_bertscore=with_bertscore and options.with_rationale,
    )
    metrics.update(dict.fromkeys(("consistency", "sufficiency", "gold_robustness")))
    metrics.update(label_leakage(records, explains=options.with_rationale))
    if options.with_rationale:
        metrics["rationale_length"] = rationale_length_stats(
            [r["rationale"] for r in records], [r["gold_rationale"] for r in records]
        )
    metrics["model"] = model_name
    metrics["label_decoding"] = "llm-chat"
    metrics["zero_shot"] = result.stats
    metrics["inference"] = {
        "seconds": round(seconds, 3),
        "examples_per_second": round(len(records) / max(seconds, 1e-9), 3),
        "device": "server",
        "with_rationale": options.with_rationale,
        "cache_hits": result.stats["usage"].get("cache_hits"),
    }
    return metrics, records, result
