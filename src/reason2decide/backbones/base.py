"""The interface every model family implements: loss on (prompt, target) pairs, candidate
scoring, generation, save and load.

A backbone owns the tokenizer and knows how its model family turns text pairs into tensors.
It never knows which training method uses it. Functions that run the network take the model
as an argument, so that a trainer can pass its (possibly distributed-wrapped) module.
"""

from __future__ import annotations

import contextlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reason2decide.backbones.candidates import pad_pair_scores
from reason2decide.errors import R2DError
from reason2decide.generation import GREEDY, GenerationSettings
from reason2decide.io import read_json, write_json

BACKBONE_FILE = "backbone.json"
#: Which tokens of an over-long prompt are kept: "end" cuts its end (the usual), "middle" keeps
#: its first quarter and its last three quarters (the task prefix and question at the start,
#: and e.g. an abstract's results at the end).
INPUT_TRUNCATIONS = ("end", "middle")
#: How a prompt is framed: as plain text, or as a user turn of the tokenizer's chat template.
PROMPT_FORMATS = ("plain", "chat")


#: How a multiple-choice case's own options are ranked: ``sum`` of their tokens'
#: log-probabilities (as a label set is scored; favours short options), or ``mean`` per token
#: (end-of-sequence included), which does not.
OPTION_SCORINGS = ("sum", "mean")


class Backbone(ABC):
    """A tokenizer + model pair behind one interface, whatever the model family."""

    #: "seq2seq" or "causal".
    kind: str = ""

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        *,
        name: str,
        max_input_length: int = 1024,
        max_target_length: int = 256,
        fresh_parameters: tuple[str, ...] = (),
        fresh_lr_scale: float = 1.0,
        input_truncation: str = "end",
        prompt_format: str = "plain",
        repeat_task: bool = False,
        option_scoring: str = "sum",
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        #: Name fragments of parameters that did not come from pretraining (e.g. the cross-
        #: attention of a warm-started encoder-decoder), and the learning-rate factor the
        #: backbone recommends for them.
        self.fresh_parameters = tuple(fresh_parameters)
        self.fresh_lr_scale = fresh_lr_scale
        limit = model_position_limit(model)
        #: The longest sequence the model's positions allow (None: no hard limit); the token
        #: limits asked for are clamped to it.
        self.position_limit = limit
        self.max_input_length = min(max_input_length, limit) if limit else max_input_length
        self.max_target_length = min(max_target_length, limit) if limit else max_target_length
        self.input_truncation = input_truncation
        self.prompt_format = prompt_format
        self.repeat_task = repeat_task
        self.option_scoring = option_scoring
        #: Where a training loss projects decoder states onto the vocabulary: "targets" (only
        #: positions inside a target, where the backbone can) or "all" (every padded position).
        self.vocab_projection = "targets"
        #: How an encoder-decoder's training loss runs a batch: "auto" (in fp32 on a CPU,
        #: encoder and decoder once per group of rows of similar length) or "one" (one pass).
        self.length_passes = "auto"

    @property
    def option_scoring(self) -> str:
        """How a case's own options are ranked: see :data:`OPTION_SCORINGS`."""
        return self._option_scoring

    @option_scoring.setter
    def option_scoring(self, value: str) -> None:
        if value not in OPTION_SCORINGS:
            raise R2DError(
                f"unknown option scoring '{value}'",
                field="option_scoring",
                hint=f"choose from {', '.join(OPTION_SCORINGS)}",
            )
        self._option_scoring = value

    @property
    def prompt_format(self) -> str:
        """How prompts are framed: see :data:`PROMPT_FORMATS`; only decoder-only backbones
        whose tokenizer has a chat template take "chat"."""
        return self._prompt_format

    @prompt_format.setter
    def prompt_format(self, value: str) -> None:
        if value not in PROMPT_FORMATS:
            raise ValueError(f"prompt format must be one of {PROMPT_FORMATS}, not {value!r}")
        if value != "plain":
            self.check_prompt_format(value)
        self._prompt_format = value

    def check_prompt_format(self, value: str) -> None:
        """Raise ``R2DError`` when this backbone cannot frame prompts as ``value``."""
        raise R2DError(
            f"prompt format '{value}' needs a decoder-only model with a chat template; "
            f"{self.name} is {self.kind}",
            field="prompt_format",
            hint="use --prompt-format plain",
        )

    @property
    def repeat_task(self) -> bool:
        """Whether a prompt's task instruction (``predict:``, ``explain:``, ...) is repeated
        after its (possibly truncated) text, next to where the answer starts; decoder-only
        backbones only."""
        return self._repeat_task

    @repeat_task.setter
    def repeat_task(self, value: bool) -> None:
        if value and self.kind != "causal":
            raise R2DError(
                f"repeating the task after the prompt needs a decoder-only model; "
                f"{self.name} is {self.kind}",
                field="repeat_task",
                hint="leave --repeat-task off for encoder-decoder models",
            )
        self._repeat_task = bool(value)

    @property
    def input_truncation(self) -> str:
        """Which part of an over-long prompt is kept: see :data:`INPUT_TRUNCATIONS`."""
        return self._input_truncation

    @input_truncation.setter
    def input_truncation(self, value: str) -> None:
        if value not in INPUT_TRUNCATIONS:
            raise ValueError(f"input truncation must be one of {INPUT_TRUNCATIONS}, not {value!r}")
        self._input_truncation = value

    def cut_prompt(self, ids: list[int], limit: int) -> list[int]:
        """``ids`` cut to ``limit`` tokens the way :attr:`input_truncation` says."""
        if len(ids) <= limit:
            return ids
        if self.input_truncation == "end":
            return ids[:limit]
        head = limit // 4
        return [*ids[:head], *ids[len(ids) - (limit - head) :]]

    # ------------------------------------------------------------------ tensors
    @abstractmethod
    def encode_pairs(
        self, prompts: Sequence[str], targets: Sequence[str]
    ) -> dict[str, torch.Tensor]:
        """Model inputs for teacher-forced training on ``prompts -> targets``.

        The result holds ``labels`` with -100 wherever no loss is taken.
        """

    def prompt_lengths(self, prompts: Sequence[str]) -> list[int]:
        """Tokens each prompt takes as this backbone encodes it, before truncation: a prompt is
        cut when its length exceeds :attr:`max_input_length`."""
        rows = self.tokenizer(list(prompts), add_special_tokens=True, verbose=False)["input_ids"]
        return [len(ids) for ids in rows]

    @abstractmethod
    def target_lengths(self, targets: Sequence[str]) -> list[int]:
        """Tokens each target takes as this backbone encodes it (end-of-sequence included),
        before truncation: a target is cut when its length exceeds :attr:`max_target_length`."""

    @abstractmethod
    def forward_logits(
        self, model: nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run ``model`` on an :meth:`encode_pairs` batch.

        Returns ``(logits, labels)`` aligned so that ``logits[:, t]`` predicts ``labels[:, t]``.
        """

    def token_logprobs(
        self, model: nn.Module, prompts: Sequence[str], targets: Sequence[str]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token log-probabilities of ``targets`` and their mask, shape ``[B, T]`` each."""
        batch = self.encode_pairs(prompts, targets)
        logits, labels = self.forward_logits(model, batch)
        return gather_logprobs(logits, labels)

    def loss(
        self, model: nn.Module, prompts: Sequence[str], targets: Sequence[str]
    ) -> torch.Tensor:
        """Mean token cross-entropy of ``targets`` given ``prompts`` (differentiable)."""
        batch = self.encode_pairs(prompts, targets)
        logits, labels = self.forward_logits(model, batch)
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), ignore_index=-100
        )

    def loss_sum_and_count(
        self, model: nn.Module, prompts: Sequence[str], targets: Sequence[str]
    ) -> tuple[float, int]:
        """Summed token cross-entropy and the number of target tokens (for exact averages)."""
        batch = self.encode_pairs(prompts, targets)
        logits, labels = self.forward_logits(model, batch)
        total = nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(),
            labels.reshape(-1),
            ignore_index=-100,
            reduction="sum",
        )
        return float(total), int((labels != -100).sum())

    @abstractmethod
    def score_candidates(
        self, model: nn.Module, prompts: Sequence[str], candidates: Sequence[str]
    ) -> torch.Tensor:
        """Log-likelihood of every candidate target after every prompt, shape ``[B, C]``.

        Each score is the sum of the candidate's token log-probabilities, end-of-sequence
        included, so that the scores of a closed label set normalise to a distribution.
        """

    @abstractmethod
    def score_candidates_unshared(
        self, model: nn.Module, prompts: Sequence[str], candidates: Sequence[str]
    ) -> torch.Tensor:
        """:meth:`score_candidates` computed the plain way, one full pass per (prompt,
        candidate) pair; the reference the shared-cache version must equal."""

    def score_candidate_lists(
        self,
        model: nn.Module,
        prompts: Sequence[str],
        candidate_lists: Sequence[Sequence[str]],
    ) -> torch.Tensor:
        """:meth:`score_candidates` with each prompt's own candidates (e.g. a multiple-choice
        case's options), shape ``[B, C]`` where ``C`` is the most candidates any prompt has;
        position ``j`` of row ``i`` scores ``candidate_lists[i][j]``, and positions past a
        prompt's own candidates hold ``-inf``. All prompts are scored in one batched pass; when
        every prompt has the same list this is exactly :meth:`score_candidates`."""
        if len(prompts) != len(candidate_lists):
            raise ValueError("one candidate list per prompt is needed")
        if any(not candidates for candidates in candidate_lists):
            raise ValueError("every prompt needs at least one candidate")
        if len({tuple(candidates) for candidates in candidate_lists}) == 1:
            return self.score_candidates(model, prompts, list(candidate_lists[0]))
        return self._score_lists(model, list(prompts), [list(c) for c in candidate_lists])

    def _score_lists(
        self, model: nn.Module, prompts: list[str], candidate_lists: list[list[str]]
    ) -> torch.Tensor:
        """Per-prompt candidate scoring; backbones override it with a shared-prefix version."""
        return self.score_candidate_lists_unshared(model, prompts, candidate_lists)

    def score_candidate_lists_unshared(
        self,
        model: nn.Module,
        prompts: Sequence[str],
        candidate_lists: Sequence[Sequence[str]],
    ) -> torch.Tensor:
        """:meth:`score_candidate_lists` the plain way: every (prompt, candidate) pair as one
        teacher-forced row of one pass; the reference the shared versions must equal."""
        counts = [len(candidates) for candidates in candidate_lists]
        pair_prompts = [
            prompt
            for prompt, candidates in zip(prompts, candidate_lists, strict=True)
            for _ in candidates
        ]
        pair_targets = [candidate for candidates in candidate_lists for candidate in candidates]
        logprobs, _ = self.token_logprobs(model, pair_prompts, pair_targets)
        return pad_pair_scores(logprobs.sum(-1), counts)

    @abstractmethod
    def soft_prompt_loss(
        self,
        model: nn.Module,
        prefix: str,
        soft_tokens: torch.Tensor,
        soft_mask: torch.Tensor,
        targets: Sequence[str],
    ) -> torch.Tensor:
        """Cross-entropy of ``targets`` after ``prefix`` followed by a *soft* token sequence.

        ``soft_tokens`` ``[B, T, V]`` are distributions over the vocabulary (e.g. a Gumbel-softmax
        of rationale logits); they enter the model as ``soft_tokens @ input_embeddings`` so that
        the loss is differentiable with respect to them. ``soft_mask`` ``[B, T]`` marks the real
        positions. Used by Reason2Decide-C's cycle loss.
        """

    def split_special_tokens(self, text: str) -> tuple[list[int], list[int], list[int]]:
        """``text``'s tokens with the tokenizer's own special tokens: (leading, core, trailing)."""
        full = self.tokenizer(text, add_special_tokens=True)["input_ids"]
        core = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        for lead in range(len(full) - len(core) + 1):
            if full[lead : lead + len(core)] == core:
                return full[:lead], core, full[lead + len(core) :]
        return [], core, []

    @abstractmethod
    def generate(
        self,
        model: nn.Module,
        prompts: Sequence[str],
        *,
        max_new_tokens: int | None = None,
        settings: GenerationSettings | None = None,
    ) -> list[str]:
        """One deterministic continuation per prompt, decoded with ``settings`` (plain greedy
        when None). ``max_new_tokens`` wins over ``settings.max_new_tokens``; without either,
        up to :attr:`max_target_length` tokens."""

    # ------------------------------------------------------------------ persistence
    def save(
        self, directory: str | Path, model: nn.Module | None = None, *, trained: bool = False
    ) -> None:
        """Write model, tokenizer and ``backbone.json``; :func:`load_backbone` reloads them.

        ``trained``: the weights have been trained, so no parameter is "fresh" any more; the
        saved model lists none, and later fine-tunes treat every parameter alike.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (model or self.model).save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        fresh = () if trained else self.fresh_parameters
        write_json(
            directory / BACKBONE_FILE,
            {
                "kind": self.kind,
                "name": self.name,
                "max_input_length": self.max_input_length,
                "max_target_length": self.max_target_length,
                "fresh_parameters": list(fresh),
                "fresh_lr_scale": self.fresh_lr_scale if fresh else 1.0,
                "input_truncation": self.input_truncation,
                "prompt_format": self.prompt_format,
                "repeat_task": self.repeat_task,
                "option_scoring": self.option_scoring,
            },
        )

    def generate_kwargs(
        self, max_new_tokens: int | None, settings: GenerationSettings | None
    ) -> dict[str, Any]:
        """The decoding keyword arguments of :meth:`generate` for ``transformers``."""
        kwargs = (settings or GREEDY).generate_kwargs(self.max_target_length)
        if max_new_tokens is not None:
            kwargs["max_new_tokens"] = max_new_tokens
        return kwargs

    def is_fresh(self, parameter_name: str) -> bool:
        """Whether ``parameter_name`` names a parameter that was not pretrained."""
        return any(fragment in parameter_name for fragment in self.fresh_parameters)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def gather_logprobs(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of ``labels`` under ``logits``; -100 positions get 0 and mask False."""
    mask = labels != -100
    safe = labels.masked_fill(~mask, 0)
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    picked = logprobs.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return picked * mask, mask


def cache_argument(model: nn.Module) -> str:
    """The keyword under which ``model.forward`` takes a KV cache: ``cache`` in recent
    transformers, ``past_key_values`` before (and behind wrappers that only pass ``**kwargs``)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(base.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def output_cache(output: Any) -> Any:
    """The KV cache a forward pass with ``use_cache=True`` returned, whatever its field name;
    None when the model kept none."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)


def model_position_limit(model: nn.Module) -> int | None:
    """The longest sequence the model's position embeddings allow, when it has such a limit."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    if getattr(config, "is_encoder_decoder", False) and hasattr(config, "encoder"):
        config = config.encoder
    limit = getattr(config, "max_position_embeddings", None)
    # T5-style relative positions have no hard limit.
    return int(limit) if isinstance(limit, int) and limit > 0 else None


def read_backbone_file(directory: str | Path) -> dict[str, Any] | None:
    """The ``backbone.json`` saved beside a model, or None when the folder has none."""
    path = Path(directory) / BACKBONE_FILE
    if not path.is_file():
        return None
    return read_json(path)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports (expected missing cross-attention weights etc.)."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)
        hf_logging.enable_progress_bar()
