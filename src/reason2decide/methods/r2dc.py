"""Reason2Decide-C (Hasan et al., Computers 15(5):279, 2026): Reason2Decide Stage 2 with
confidence-adaptive scheduled sampling and a rationale→label cycle loss.

- A predicted label is used in the explain prompt with probability ``p(step)·σ(k·(c − τ))``,
  where ``c`` is the model's confidence in it and ``τ`` a running mean of recent confidences.
- Cycle loss: the explain task's teacher-forced logits pass through a Gumbel-softmax (temperature
  1.0 decaying to 0.5) and, as soft tokens, are fed back behind ``predict: ``; the model must
  recover the label the rationale was conditioned on. ``L = α·L_pred + (1−α)·L_expl + λ·L_cycle``,
  the cycle term from the step after W on (0-based ``step > W``), as in the reference code.

Confidence ``c``: the geometric-mean token probability of the predicted label,
``exp(mean token log-probability)`` over its tokens (end-of-sequence included), as published and
in the reference code. With closed-set scoring it is read off the winning candidate's score;
with free generation the generated label is scored teacher-forced. ``confidence="set-probability"``
uses the predicted label's probability over the label set instead (closed-set scoring only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from reason2decide.data.example import Example
from reason2decide.distributed import gather_objects
from reason2decide.methods.base import StepOutput, draw_generator
from reason2decide.methods.label_decoding import (
    case_choices,
    predict_labels,
    predict_labels_eval,
)
from reason2decide.methods.r2d import Stage2Config, Stage2Objective
from reason2decide.methods.schedules import RunningThreshold, confidence_gate, gumbel_temperature
from reason2decide.prompts import PREDICT_PREFIX, conditioned_explain_prompt, predict_prompt


@dataclass
class R2DCConfig(Stage2Config):
    """Reason2Decide-C constants (published values by default) on top of Stage 2's."""

    cycle_weight: float = 0.1
    gumbel_start: float = 1.0
    gumbel_min: float = 0.5
    confidence_sharpness: float = 10.0
    tau_window_steps: int = 1000
    #: ``c``: "token-geomean" (published) or "set-probability" (closed-set scoring only).
    confidence: Literal["token-geomean", "set-probability"] = "token-geomean"


class R2DCObjective(Stage2Objective):
    """Stage 2 of Reason2Decide-C."""

    stage = "stage2"

    def __init__(  # type: ignore[no-untyped-def]
        self, *args, max_steps: int, config: R2DCConfig | None = None, **kwargs
    ) -> None:
        config = config or R2DCConfig()
        super().__init__(*args, max_steps=max_steps, config=config, **kwargs)
        self.config: R2DCConfig = config
        self.max_steps = max_steps
        self.threshold = RunningThreshold(self.schedule.warmup_steps, config.tau_window_steps)
        if config.confidence not in ("token-geomean", "set-probability"):
            raise ValueError(f"unknown R2D-C confidence '{config.confidence}'")
        if config.confidence == "set-probability" and self.label_decoding != "score":
            raise ValueError("set-probability confidence needs closed-set scoring")
        # Tokens of every label as scored (end-of-sequence included), for per-token means.
        lengths = [len(ids) for ids in self.backbone.target_ids(self.labels)] if self.labels else []
        self.label_lengths = torch.tensor(lengths, dtype=torch.float)

    def _predict_with_confidence(
        self, model: nn.Module, examples: Sequence[Example]
    ) -> tuple[list[str], list[float]]:
        questions = [e.question for e in examples]
        options = {
            "decoding": self.label_decoding,
            "max_new_tokens": self.config.sampling_max_new_tokens,
            "choices": case_choices(examples),
        }
        predict = predict_labels if self.config.sampling_dropout else predict_labels_eval
        out = predict(self.backbone, model, questions, self.labels, **options)
        if out.probabilities is not None and self.config.confidence == "set-probability":
            return out.labels, out.probabilities.max(-1).values.tolist()
        if out.scores is not None:
            # The winning candidate's summed token log-probability over its token count (the
            # winner as ranked: by mean per token when the backbone ranks options so).
            ranked = out.probabilities if self.backbone.option_scoring == "mean" else out.scores
            winner = ranked.argmax(-1)
            best = out.scores.gather(-1, winner[:, None]).squeeze(-1)
            if out.candidates is None:
                lengths = self.label_lengths[winner]
            else:  # each case's own options: the winner's own token count
                counted = self.backbone.target_ids(out.labels)
                lengths = torch.tensor([len(ids) for ids in counted], dtype=torch.float)
            return out.labels, torch.exp(best / lengths).tolist()
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                prompts = [predict_prompt(q) for q in questions]
                logprobs, mask = self.backbone.token_logprobs(model, prompts, out.labels)
        finally:
            model.train(was_training)
        mean = logprobs.sum(-1) / mask.sum(-1).clamp(min=1)
        return out.labels, torch.exp(mean).tolist()

    def compute_loss(
        self, model: nn.Module, examples: Sequence[Example], step: int, micro_batch: int = 0
    ) -> StepOutput:
        alpha, p = self.schedule.alpha(step), self.schedule.p_pred(step)
        questions = [e.question for e in examples]
        gold = [e.label for e in examples]
        # Confidences are tracked from step 0 so that τ can be calibrated at W.
        predicted, confidences = self._predict_with_confidence(model, examples)
        # τ follows every process's confidences, so that all processes share one τ (and the
        # one rank 0 saves in checkpoints is the one they all used).
        everywhere = [c for part in gather_objects(confidences) for c in part]
        tau = self.threshold.update(everywhere, step)
        gates = [confidence_gate(c, tau, self.config.confidence_sharpness) for c in confidences]
        draws = torch.rand(len(examples), generator=draw_generator(self.seed, step, micro_batch))
        use = [bool(d < p * g) for d, g in zip(draws.tolist(), gates, strict=True)]
        cond = [pr if u else g for pr, g, u in zip(predicted, gold, use, strict=True)]

        loss_pred = self.backbone.loss(model, [predict_prompt(q) for q in questions], gold)
        batch = self.backbone.encode_pairs(
            [conditioned_explain_prompt(y, q) for y, q in zip(cond, questions, strict=True)],
            [e.rationale for e in examples],
        )
        logits, labels = self.backbone.forward_logits(model, batch)
        loss_expl = nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), ignore_index=-100
        )
        loss = alpha * loss_pred + (1.0 - alpha) * loss_expl
        logs: dict[str, float] = {
            "alpha": alpha,
            "p_pred": p,
            "tau": tau,
            "confidence": sum(confidences) / len(confidences),
            "frac_predicted": sum(use) / len(use),
            "train_pred_accuracy": sum(a == b for a, b in zip(predicted, gold, strict=True))
            / len(gold),
            "loss_pred": float(loss_pred.detach()),
            "loss_expl": float(loss_expl.detach()),
        }
        if step > self.schedule.warmup_steps and self.config.cycle_weight > 0:
            temperature = gumbel_temperature(
                step, self.max_steps, self.config.gumbel_start, self.config.gumbel_min
            )
            loss_cycle = self.cycle_loss(model, logits, labels, cond, temperature)
            loss = loss + self.config.cycle_weight * loss_cycle
            logs.update(loss_cycle=float(loss_cycle.detach()), gumbel_temperature=temperature)
        return StepOutput(loss, logs)

    def cycle_loss(
        self,
        model: nn.Module,
        logits: torch.Tensor,
        labels: torch.Tensor,
        targets: Sequence[str],
        temperature: float,
    ) -> torch.Tensor:
        """CE of ``targets`` from ``predict: `` + the Gumbel-softmax of the rationale logits."""
        soft = nn.functional.gumbel_softmax(logits.float(), tau=temperature, hard=False, dim=-1)
        return self.backbone.soft_prompt_loss(model, PREDICT_PREFIX, soft, labels != -100, targets)

    def schedule_logs(self, step: int) -> dict[str, float]:
        logs = super().schedule_logs(step)
        logs["gumbel_temperature"] = gumbel_temperature(
            step, self.max_steps, self.config.gumbel_start, self.config.gumbel_min
        )
        return logs

    def state_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "threshold" in state:
            self.threshold.load_state_dict(state["threshold"])


__all__ = ["R2DCConfig", "R2DCObjective"]
