"""The model card ``OUT/model/README.md``, in the Hugging Face format (YAML metadata between
``---`` lines, then Markdown): written by ``r2d train``, updated with the test metrics by
``r2d evaluate``, shown by ``r2d serve``.

The facts the card is made from are kept in its metadata (key ``reason2decide``), so that an
update re-renders the whole card from them and the card never drifts from its metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reason2decide.io import atomic_open
from reason2decide.metric_names import HEADLINE_METRICS

CARD_FILE = "README.md"
NOTE = (
    "This is a research model, not a medical device. It has not been validated for clinical "
    "use and must not be used to make or replace clinical decisions."
)
#: Test metrics a card reports, with their names in words.
CARD_METRICS = HEADLINE_METRICS


def card_facts(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a card says about a run, from its ``run.json`` manifest."""
    config = manifest.get("config", {}) or {}
    data = manifest.get("data", {}) or {}
    fingerprints = {
        name: {k: value[k] for k in ("path", "sha256", "rows") if k in value}
        for name, value in data.items()
        if isinstance(value, dict) and "sha256" in value
    }
    stages = {
        name: {
            k: stage[k]
            for k in ("max_steps", "steps_done", "learning_rate", "wall_time_s", "best_metric")
            if k in stage
        }
        for name, stage in (manifest.get("stages", {}) or {}).items()
    }
    return {
        "method": manifest.get("method"),
        "backbone": config.get("model"),
        "labels": list(manifest.get("labels", [])),
        "rationale_prompt": manifest.get("rationale_prompt"),
        "label_decoding": config.get("label_decoding"),
        "data": fingerprints,
        "sizes": {k: data[k] for k in ("n_train", "n_val") if k in data},
        "budget": {
            "stages": stages,
            "global_batch_size": (manifest.get("distributed") or {}).get("global_batch_size"),
            "wall_time_s": manifest.get("wall_time_s"),
            "max_input_length": config.get("max_input_length"),
            "max_target_length": config.get("max_target_length"),
        },
        "seed": manifest.get("seed"),
        "evaluation": None,
    }


def evaluation_facts(metrics: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
    """The part of an ``r2d evaluate`` result a card reports (``test``: the test file's
    fingerprint)."""
    return {
        "test_set": {k: test[k] for k in ("path", "sha256", "rows") if k in test},
        "n_evaluated": metrics.get("n"),
        "metrics": {
            k: round(float(metrics[k]), 4)
            for k in CARD_METRICS
            if isinstance(metrics.get(k), int | float)
        },
    }


def _metadata(facts: dict[str, Any]) -> dict[str, Any]:
    tags = ["reason2decide", "clinical-decision-support", "rationale-generation"]
    if facts.get("method"):
        tags.append(str(facts["method"]))
    meta: dict[str, Any] = {"library_name": "transformers", "tags": tags}
    evaluation = facts.get("evaluation")
    if evaluation and evaluation.get("metrics"):
        test = evaluation.get("test_set", {})
        name = Path(test.get("path", "test")).name
        meta["model-index"] = [
            {
                "name": f"reason2decide-{facts.get('method')}",
                "results": [
                    {
                        "task": {"type": "text-classification", "name": "clinical decision"},
                        "dataset": {"name": name, "type": "local", "revision": test.get("sha256")},
                        "metrics": [
                            {"type": key, "name": CARD_METRICS[key], "value": value}
                            for key, value in evaluation["metrics"].items()
                        ],
                    }
                ],
            }
        ]
    meta["reason2decide"] = facts
    return meta


def render_card(facts: dict[str, Any]) -> str:
    """The card's full text."""
    labels = facts.get("labels") or []
    lines = [
        "---",
        yaml.safe_dump(_metadata(facts), sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        f"# reason2decide model: {facts.get('method')} on {facts.get('backbone')}",
        "",
        f"> **{NOTE}**",
        "",
        "Trained with reason2decide to choose one of a fixed set of labels for a case and to "
        "explain the choice in a rationale written for the chosen label.",
        "",
        "## Model",
        "",
        f"- method: `{facts.get('method')}`",
        f"- backbone: `{facts.get('backbone')}`",
        f"- labels ({len(labels)}): " + ", ".join(f"`{label}`" for label in labels),
        f"- rationale prompt: `{facts.get('rationale_prompt')}`; "
        f"label decoding: `{facts.get('label_decoding')}`",
        f"- seed: {facts.get('seed')}",
        "",
        "## Training data",
        "",
    ]
    sizes = facts.get("sizes") or {}
    for name, value in (facts.get("data") or {}).items():
        rows = f", {value['rows']} rows" if "rows" in value else ""
        lines.append(f"- {name}: `{value.get('path')}` (sha256 `{value.get('sha256')}`{rows})")
    if sizes:
        lines.append(
            "- examples used: " + ", ".join(f"{k.removeprefix('n_')} {v}" for k, v in sizes.items())
        )
    budget = facts.get("budget") or {}
    lines += ["", "## Budget", ""]
    for name, stage in (budget.get("stages") or {}).items():
        lines.append(
            f"- {name}: {stage.get('steps_done', stage.get('max_steps'))} steps, "
            f"learning rate {stage.get('learning_rate')}, {stage.get('wall_time_s')} s"
        )
    lines.append(
        f"- global batch size {budget.get('global_batch_size')}, inputs up to "
        f"{budget.get('max_input_length')} tokens, rationales up to "
        f"{budget.get('max_target_length')} tokens, {budget.get('wall_time_s')} s in all"
    )
    lines += ["", "## Evaluation", ""]
    evaluation = facts.get("evaluation")
    if evaluation and evaluation.get("metrics"):
        test = evaluation.get("test_set", {})
        rows = f", {test['rows']} rows" if "rows" in test else ""
        used = evaluation.get("n_evaluated")
        used_text = f"; {used} cases evaluated" if used is not None else ""
        lines += [
            f"Test set: `{test.get('path')}` (sha256 `{test.get('sha256')}`{rows}{used_text}).",
            "",
            "| metric | value |",
            "| --- | --- |",
        ]
        for key, value in evaluation["metrics"].items():
            lines.append(f"| {CARD_METRICS[key]} | {value} |")
    else:
        lines.append("Not evaluated yet: `r2d evaluate OUT --test FILE --output DIR` adds it.")
    lines += [
        "",
        "## Intended use",
        "",
        "Research on decision-plus-rationale models: reproducing and comparing methods, studying "
        "how rationales relate to decisions. Not for patient care, triage of real patients or "
        "any decision about a person.",
        "",
        "## Limitations",
        "",
        "- Trained on the data above only; its metrics hold for data like its test set, not for "
        "other populations, settings or wording.",
        "- A rationale is generated text conditioned on the predicted label: it can be fluent and "
        "wrong, and it is not evidence that the label is right.",
        "- Probabilities are the model's scores over its fixed label set; they are not calibrated "
        "clinical risks, and a case outside the label set still gets one of its labels.",
        f"- {NOTE}",
        "",
    ]
    return "\n".join(lines)


def read_card_facts(model_dir: str | Path) -> dict[str, Any] | None:
    """The facts kept in a card's metadata, or None when the folder has no card of ours."""
    path = Path(model_dir) / CARD_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return None
    head, sep, _ = text[4:].partition("\n---\n")
    if not sep:
        return None
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError:
        return None
    facts = meta.get("reason2decide") if isinstance(meta, dict) else None
    return facts if isinstance(facts, dict) else None


def write_model_card(model_dir: str | Path, facts: dict[str, Any]) -> Path:
    """Write (or overwrite) ``model_dir/README.md`` from ``facts``."""
    path = Path(model_dir) / CARD_FILE
    with atomic_open(path) as handle:
        handle.write(render_card(facts))
    return path


def add_evaluation(root: str | Path, metrics: dict[str, Any], test: dict[str, Any]) -> Path | None:
    """Put an evaluation's test metrics into the card of the run folder (or model folder)
    ``root``; a run folder without a card (trained before cards existed) gets one from its
    ``run.json``. Returns the card's path, or None for a bare model folder without a card."""
    from reason2decide.io import read_json

    root = Path(root)
    model_dir = root / "model" if (root / "model").is_dir() else root
    facts = read_card_facts(model_dir)
    if facts is None:
        if not (root / "run.json").is_file():
            return None
        facts = card_facts(read_json(root / "run.json"))
    facts["evaluation"] = evaluation_facts(metrics, test)
    return write_model_card(model_dir, facts)
