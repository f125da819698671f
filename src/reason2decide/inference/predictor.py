"""Predictor: label (closed-set scoring or free generation) with probabilities, then the
rationale generated from ``given label: ŷ, explain: x``."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from reason2decide.backbones import Backbone, GenerationSettings, load_backbone
from reason2decide.data.readers import ColumnMap
from reason2decide.errors import R2DError
from reason2decide.hardware import autocast, check_device, no_grad_context, resolve_precision
from reason2decide.io import read_json
from reason2decide.methods.label_decoding import predict_labels
from reason2decide.methods.prior_correction import correct_probabilities, label_log_prior
from reason2decide.prompts import conditioned_explain_prompt, explain_prompt

#: How a model writes its rationale: after ``given label: ŷ, explain: x`` (Reason2Decide),
#: after ``explain: x`` (distilling step-by-step), or not at all (label-only SFT).
RATIONALE_PROMPTS = ("conditioned", "unconditioned", None)


@dataclass
class Prediction:
    """A decision, its probability over the label set (when scored) and its explanation."""

    label: str
    probabilities: dict[str, float] | None = None
    rationale: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probabilities": self.probabilities,
            "rationale": self.rationale,
        }


class Predictor:
    """Batched inference with a trained model."""

    def __init__(
        self,
        backbone: Backbone,
        labels: Sequence[str] | None,
        *,
        label_decoding: str = "score",
        batch_size: int = 16,
        generation: GenerationSettings | None = None,
        precision: str = "auto",
        rationale_prompt: str | None = "conditioned",
        columns: ColumnMap | None = None,
        prior_tau: float = 0.0,
        label_counts: dict[str, int] | None = None,
    ) -> None:
        if rationale_prompt not in RATIONALE_PROMPTS:
            raise ValueError(f"rationale_prompt must be one of {RATIONALE_PROMPTS}")
        if label_decoding == "score" and not labels:
            raise R2DError(
                "closed-set label scoring needs a label set",
                hint="pass --labels, or --label-decoding generate",
            )
        self.backbone = backbone
        self.labels = list(labels) if labels else []
        self.label_decoding = label_decoding
        self.batch_size = batch_size
        #: How rationales are decoded (labels are scored, or generated greedily).
        self.generation = generation if generation is not None else GenerationSettings()
        self.precision = resolve_precision(precision, backbone.device)
        self.rationale_prompt = rationale_prompt
        #: How the model's training rows were read (question template, options), when known.
        self.columns = columns
        #: Decision prior correction: labels ranked by log p(y|x) − τ·log π(y) (0 = off), π
        #: from the training label counts (see :mod:`reason2decide.methods.prior_correction`).
        self.prior_tau = prior_tau
        self.log_prior: torch.Tensor | None = None
        if not (math.isfinite(prior_tau) and prior_tau >= 0):
            raise R2DError(
                f"the prior correction τ must be a finite number ≥ 0, not {prior_tau}",
                field="prior_tau (--prior-tau)",
            )
        if prior_tau > 0:
            if label_decoding != "score":
                raise R2DError(
                    "a prior correction needs closed-set label scoring",
                    field="prior_tau (--prior-tau)",
                    hint="drop --prior-tau, or use --label-decoding score",
                )
            if not label_counts:
                raise R2DError(
                    "this model records no training label counts to correct by",
                    field="prior_tau (--prior-tau)",
                    hint="a model that decides records them when trained by reason2decide "
                    "from 2026-12-01 on; retrain it, or drop --prior-tau",
                )
            self.log_prior = label_log_prior(self.labels, label_counts)
        self.backbone.model.eval()

    @classmethod
    def from_output(
        cls,
        path: str | Path,
        *,
        label_decoding: str | None = None,
        batch_size: int = 16,
        device: str | None = None,
        generation: GenerationSettings | None = None,
        precision: str = "auto",
        option_scoring: str | None = None,
        prior_tau: float | None = None,
    ) -> Predictor:
        """Load from a training output folder (``model/``, ``labels.json``, ``run.json``) or a
        bare model folder; ``option_scoring`` ("sum" or "mean") and ``prior_tau`` (the decision
        prior correction; 0 = off) replace the ones saved with the model.

        What inference needs (rationale prompt, label decoding, length limits, labels) is read
        from the model folder's own ``reason2decide.json`` and ``labels.json``; models saved
        before those existed fall back on the output folder's ``run.json`` and ``labels.json``.
        """
        # Imported here: the methods import label decoding from this package, and the training
        # package imports the methods, so a module-level import would be circular.
        from reason2decide.training.model_info import read_labels_file, read_model_info

        check_device(device)  # before the model loads (and could fail moving to it)
        root = Path(path)
        if not root.exists():
            raise R2DError("no such model or output folder", path=root)
        model_dir = root / "model" if (root / "model").is_dir() else root
        if (root / "run.json").is_file():
            check_run_finished(root)
        config: dict[str, Any] = {}
        rationale_prompt: str | None = "conditioned"
        info = read_model_info(model_dir)
        if info is not None:
            config = info
            rationale_prompt = info.get("rationale_prompt")
        elif (root / "run.json").is_file():
            run = read_json(root / "run.json")
            config = run.get("config", {})
            rationale_prompt = run.get("rationale_prompt", "conditioned")
        stored = config.get("columns")
        columns = ColumnMap.from_dict(stored) if isinstance(stored, dict) else None
        labels = None
        for candidate in (model_dir / "labels.json", root / "labels.json"):
            if candidate.is_file():
                labels = read_labels_file(candidate)
                trained = config.get("labels")
                if trained is not None and list(trained) != labels:
                    raise R2DError(
                        f"labels.json lists {len(labels)} label(s) that disagree with the "
                        f"{len(trained)} the model was trained on ({', '.join(trained[:5])}"
                        f"{', ...' if len(trained) > 5 else ''}; recorded in reason2decide.json)",
                        path=candidate,
                        hint="copy the labels.json saved with this model",
                    )
                break
        backbone = load_backbone(
            str(model_dir),
            max_input_length=config.get("max_input_length", 1024),
            max_target_length=config.get("max_target_length", 256),
            option_scoring=option_scoring,
        )
        if device:
            backbone.model.to(device)
        elif torch.cuda.is_available():
            backbone.model.to("cuda")
        decoding = label_decoding or config.get("label_decoding") or "score"
        if decoding == "score" and not labels:
            raise R2DError(
                "the model folder has no labels.json for closed-set scoring",
                path=root,
                hint="use --label-decoding generate",
            )
        # A model trained with --prior-correction val applies its τ when it scores labels.
        correction = config.get("prior_correction")
        if not isinstance(correction, dict):  # run.json's config holds the option's value
            correction = {}
        if prior_tau is None:
            prior_tau = float(correction.get("tau", 0.0)) if decoding == "score" else 0.0
        return cls(
            backbone,
            labels,
            prior_tau=prior_tau,
            label_counts=config.get("label_counts"),
            label_decoding=decoding,
            batch_size=batch_size,
            generation=generation,
            precision=precision,
            rationale_prompt=rationale_prompt,
            columns=columns,
        )

    @property
    def explains(self) -> bool:
        """Whether this model writes rationales (an SFT model does not)."""
        return self.rationale_prompt is not None

    def predict(
        self,
        questions: Sequence[str],
        *,
        with_rationale: bool = True,
        progress: bool = False,
        choices: Sequence[Sequence[str] | None] | None = None,
    ) -> list[Prediction]:
        """One prediction per question, in input order. ``choices`` gives each question's own
        options (``None`` for one scored over the label set); see
        :func:`~reason2decide.methods.label_decoding.predict_labels`."""
        if choices is not None and len(choices) != len(questions):
            raise ValueError(f"{len(questions)} questions but {len(choices)} option lists")
        self.backbone.model.eval()
        # Batches of similar length waste less compute on padding.
        order = sorted(range(len(questions)), key=lambda i: len(questions[i]))
        results: list[Prediction | None] = [None] * len(questions)
        bar = tqdm(total=len(questions), desc="predict", disable=not progress, dynamic_ncols=True)
        # One context for all batches: autocast casts each weight once per call, not per batch.
        with self.inference_context():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.predict_batch(
                    [questions[i] for i in idx],
                    with_rationale,
                    choices=None if choices is None else [choices[i] for i in idx],
                )
                for i, prediction in zip(idx, batch, strict=True):
                    results[i] = prediction
                bar.update(len(idx))
        bar.close()
        return results  # type: ignore[return-value]

    def inference_context(self) -> contextlib.ExitStack:
        """The gradient-free, autocast context the passes below run in (enter it once for many
        batches: autocast casts each weight once per context, not per batch)."""
        stack = contextlib.ExitStack()
        stack.enter_context(no_grad_context(self.precision))
        stack.enter_context(autocast(self.precision, self.backbone.device))
        return stack

    def predict_batch(
        self,
        questions: Sequence[str],
        with_rationale: bool = True,
        *,
        choices: Sequence[Sequence[str] | None] | None = None,
    ) -> list[Prediction]:
        """Predictions for one batch (no sorting, no progress bar, caller's autocast); the
        rationale is conditioned on the predicted label (a case's chosen option text)."""
        predictions = self.score_batch(questions, choices=choices)
        if with_rationale and self.explains:
            rationales = self.explain_batch(questions, [p.label for p in predictions])
            for prediction, rationale in zip(predictions, rationales, strict=True):
                prediction.rationale = rationale
        return predictions

    def score_batch(
        self,
        questions: Sequence[str],
        *,
        choices: Sequence[Sequence[str] | None] | None = None,
    ) -> list[Prediction]:
        """The label pass for one batch: labels and probabilities (over each case's options
        where it has them, else over the label set), no rationale (caller's context, see
        :meth:`inference_context`)."""
        out = predict_labels(
            self.backbone,
            self.backbone.model,
            questions,
            self.labels,
            decoding=self.label_decoding,
            choices=choices,
        )
        predictions = []
        for row, label in enumerate(out.labels):
            probs = None
            if out.probabilities is not None:
                distribution = out.distribution(row, self.labels)
                if self.log_prior is not None and (choices is None or choices[row] is None):
                    distribution, label = self._corrected(distribution)
                probs = {k: round(v, 6) for k, v in distribution.items()}
            predictions.append(Prediction(label, probs))
        return predictions

    def _corrected(self, distribution: dict[str, float]) -> tuple[dict[str, float], str]:
        """A label-set distribution after the prior correction, and its arg-max label."""
        assert self.log_prior is not None
        probs = torch.tensor([[distribution[label] for label in self.labels]])
        corrected = correct_probabilities(probs, self.log_prior, self.prior_tau)[0]
        values = dict(zip(self.labels, corrected.tolist(), strict=True))
        return values, self.labels[int(corrected.argmax())]

    def explain_batch(self, questions: Sequence[str], labels: Sequence[str]) -> list[str]:
        """The rationale pass for one batch: the rationale of each question for its predicted
        label (caller's context; only for models that explain, see :attr:`explains`)."""
        if not self.explains:
            raise ValueError("this model writes no rationales")
        if self.rationale_prompt == "conditioned":
            prompts = [
                conditioned_explain_prompt(y, q) for y, q in zip(labels, questions, strict=True)
            ]
        else:
            prompts = [explain_prompt(q) for q in questions]
        return list(self.backbone.generate(self.backbone.model, prompts, settings=self.generation))


def check_run_finished(root: Path) -> None:
    """Refuse the output folder of a run that has not finished: its ``model/`` may be missing
    or from an earlier attempt. A model folder given directly (a stage's ``model/``, a copy)
    is taken as it is."""
    from reason2decide.training.manifest import finished

    run = read_json(root / "run.json")
    if not isinstance(run, dict):
        raise R2DError("not a run manifest (a JSON object)", path=root / "run.json")
    if not finished(run):
        status = run.get("status", "unknown")
        raise R2DError(
            f"this run has not finished (run.json: status {status})",
            path=root,
            hint=f"finish it with r2d train --resume --output {root}, or give a model folder "
            "explicitly (e.g. its stage1/model)",
        )
