"""Decoder-only backbones: prompt and target in one sequence, loss on the target tokens only.

One file on purpose (a little over 400 lines): the prompt layout (plain or chat frame, the
repeated task instruction, the token budget), the loss, the scoring passes and generation all
depend on where the prompt ends in the one sequence, which this class alone knows.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from transformers import (
    LogitsProcessor,
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
)

from reason2decide.backbones.base import (
    Backbone,
    cache_argument,
    gather_logprobs,
    output_cache,
)
from reason2decide.backbones.candidates import (
    Forest,
    build_forest,
    build_tree,
    forest_scores,
    mask_for,
    takes_custom_masks,
    tree_scores,
)
from reason2decide.backbones.seq2seq import unwrap
from reason2decide.distributed import generation_in_step
from reason2decide.errors import R2DError
from reason2decide.generation import GenerationSettings
from reason2decide.prompts import task_instruction

#: Text between the prompt and the target; the model learns to answer after it.
SEPARATOR = "\n"
#: Stands for the prompt's text while the chat template is rendered once, to find its frame.
_CONTENT_MARK = "\u2063R2D-PROMPT\u2063"


class CausalBackbone(Backbone):
    """Sequences are ``prompt + SEPARATOR + target + eos``, left-padded, with explicit positions.

    With ``prompt_format="chat"`` the prompt is the user turn of the tokenizer's chat template
    and the target the assistant's answer: ``frame_start + prompt + frame_end + target + eos``
    (the template's default system text included, if it has one).
    """

    kind = "causal"

    def __init__(self, model: nn.Module, tokenizer, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(model, tokenizer, **kwargs)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if self.tokenizer.eos_token_id is None:
            raise ValueError(f"tokenizer of {self.name} has no end-of-sequence token")
        self._sep_ids: list[int] = self.tokenizer(SEPARATOR, add_special_tokens=False)["input_ids"]
        self._chat_frame: tuple[list[int], list[int]] | None = None
        params = inspect.signature(unwrap(model).forward).parameters
        self._keeps_logits = "logits_to_keep" in params

    # ------------------------------------------------------------------ tokens
    def check_prompt_format(self, value: str) -> None:
        if not getattr(self.tokenizer, "chat_template", None):
            raise R2DError(
                f"prompt format '{value}' needs a tokenizer with a chat template; "
                f"{self.name}'s has none",
                field="prompt_format",
                hint="use --prompt-format plain",
            )

    def frame(self) -> tuple[list[int], list[int]]:
        """Token ids that come before and after every prompt's own tokens."""
        if self.prompt_format == "plain":
            return [], self._sep_ids
        if self._chat_frame is None:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": _CONTENT_MARK}],
                tokenize=False,
                add_generation_prompt=True,
            )
            before, _, after = text.partition(_CONTENT_MARK)
            self._chat_frame = (
                self.tokenizer(before, add_special_tokens=False)["input_ids"],
                self.tokenizer(after, add_special_tokens=False)["input_ids"],
            )
        return self._chat_frame

    def task_ids(self, prompt: str) -> list[int]:
        """The tokens repeated after ``prompt`` when :attr:`repeat_task` is on: a newline and
        the prompt's task instruction (none for a prompt without one)."""
        instruction = task_instruction(prompt) if self.repeat_task else ""
        if not instruction:
            return []
        return self.tokenizer(SEPARATOR + instruction, add_special_tokens=False)["input_ids"]

    def prompt_ids(self, prompts: Sequence[str]) -> list[list[int]]:
        """Token ids of each prompt, truncated to the input budget, framed (see the class)."""
        before, after = self.frame()
        limit = self.max_input_length - len(before) - len(after)
        plain = self.prompt_format == "plain"
        rows = self.tokenizer(list(prompts), add_special_tokens=plain)["input_ids"]
        out = []
        for prompt, ids in zip(prompts, rows, strict=True):
            task = self.task_ids(prompt)
            out.append([*before, *self.cut_prompt(ids, max(1, limit - len(task))), *task, *after])
        return out

    def target_ids(self, targets: Sequence[str]) -> list[list[int]]:
        """Token ids of each target, truncated to the target budget, end-of-sequence appended."""
        eos = self.tokenizer.eos_token_id
        rows = self.tokenizer(list(targets), add_special_tokens=False)["input_ids"]
        return [[*ids[: self.max_target_length - 1], eos] for ids in rows]

    def prompt_lengths(self, prompts: Sequence[str]) -> list[int]:
        before, after = self.frame()
        if self.prompt_format == "plain":
            lengths = [n + len(after) for n in super().prompt_lengths(prompts)]
        else:
            rows = self.tokenizer(list(prompts), add_special_tokens=False, verbose=False)
            lengths = [len(before) + len(ids) + len(after) for ids in rows["input_ids"]]
        return [n + len(self.task_ids(p)) for n, p in zip(lengths, prompts, strict=True)]

    def target_lengths(self, targets: Sequence[str]) -> list[int]:
        rows = self.tokenizer(list(targets), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) + 1 for ids in rows]

    def _left_pad(
        self, sequences: list[list[int]], label_rows: list[list[int]] | None = None
    ) -> dict[str, torch.Tensor]:
        width = max(len(s) for s in sequences)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        labels = torch.full((len(sequences), width), -100, dtype=torch.long)
        for i, seq in enumerate(sequences):
            n = len(seq)
            input_ids[i, width - n :] = torch.tensor(seq)
            mask[i, width - n :] = 1
            if label_rows is not None:
                target = label_rows[i]
                labels[i, width - len(target) :] = torch.tensor(target)
        batch = {
            "input_ids": input_ids,
            "attention_mask": mask,
            "position_ids": (mask.cumsum(-1) - 1).clamp(min=0),
        }
        if label_rows is not None:
            batch["labels"] = labels
        return batch

    def encode_pairs(
        self, prompts: Sequence[str], targets: Sequence[str]
    ) -> dict[str, torch.Tensor]:
        if len(prompts) != len(targets):
            raise ValueError("prompts and targets differ in length")
        p_rows, t_rows = self.prompt_ids(prompts), self.target_ids(targets)
        return self._left_pad([p + t for p, t in zip(p_rows, t_rows, strict=True)], t_rows)

    def forward_logits(
        self, model: nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        device = next(unwrap(model).parameters()).device
        batch = {k: v.to(device) for k, v in batch.items()}
        labels = batch.pop("labels")
        # Targets sit at the right end of every (left-padded) row: only the last T+1 positions'
        # logits are needed, which saves the vocabulary projection over the prompt.
        span = int((labels != -100).sum(-1).max())
        extra = {"logits_to_keep": span + 1} if self._keeps_logits else {}
        logits = model(**batch, use_cache=False, **extra).logits
        logits = logits[:, -(span + 1) : -1]
        return logits, labels[:, -span:]

    def score_candidates(
        self, model: nn.Module, prompts: Sequence[str], candidates: Sequence[str]
    ) -> torch.Tensor:
        bare = unwrap(model)
        device = next(bare.parameters()).device
        # The prompt runs once and its cache is shared by every candidate; its last position
        # predicts every candidate's first token, so those logits are computed once too.
        prompt = {k: v.to(device) for k, v in self._left_pad(self.prompt_ids(prompts)).items()}
        extra = {"logits_to_keep": 1} if self._keeps_logits else {}
        first = bare(**prompt, use_cache=True, **extra)
        cache = output_cache(first)
        if cache is None:  # a model that keeps no cache (e.g. gradient checkpointing in training)
            return self.score_candidates_unshared(model, prompts, candidates)
        rows = self.target_ids(candidates)
        if takes_custom_masks(bare):
            return self._score_tree(bare, prompt, first.logits[:, -1], cache, rows)
        return self._score_with_repeated_cache(bare, prompt, first.logits[:, -1], cache, rows)

    def _score_tree(
        self,
        bare: nn.Module,
        prompt: dict[str, torch.Tensor],
        last_logits: torch.Tensor,
        cache: object,
        rows: list[list[int]],
    ) -> torch.Tensor:
        """The candidates' prefix tree (see ``candidates``) in one pass after the cached
        prompt: each node sees the prompt and its own ancestors, at the position it would have
        right after the prompt. No cache is copied, no position computed twice."""
        tree = build_tree(rows)
        device = last_logits.device
        n_prompts, nodes = prompt["input_ids"].size(0), len(tree) - 1  # node 0: the prompt end
        prompt_mask = prompt["attention_mask"].bool()
        visible = torch.cat(
            [
                prompt_mask[:, None, :].expand(n_prompts, nodes, -1),
                tree.visible()[1:, 1:].to(device).expand(n_prompts, -1, -1),
            ],
            dim=-1,
        )
        depth = torch.tensor(tree.depth[1:], device=device)
        out = bare(
            input_ids=torch.tensor([tree.tokens[1:]], device=device).expand(n_prompts, -1),
            attention_mask=mask_for(bare, visible[:, None]),
            position_ids=prompt_mask.sum(-1, keepdim=True) - 1 + depth,
            use_cache=True,
            **{cache_argument(bare): cache},
        )
        logits = torch.cat([last_logits[:, None], out.logits], dim=1)
        return tree_scores(logits, tree, len(rows))

    def _score_lists(
        self, model: nn.Module, prompts: list[str], candidate_lists: list[list[str]]
    ) -> torch.Tensor:
        bare = unwrap(model)
        if not takes_custom_masks(bare):
            return self.score_candidate_lists_unshared(model, prompts, candidate_lists)
        device = next(bare.parameters()).device
        prompt = {k: v.to(device) for k, v in self._left_pad(self.prompt_ids(prompts)).items()}
        extra = {"logits_to_keep": 1} if self._keeps_logits else {}
        first = bare(**prompt, use_cache=True, **extra)
        cache = output_cache(first)
        if cache is None:
            return self.score_candidate_lists_unshared(model, prompts, candidate_lists)
        forest = build_forest([self.target_ids(c) for c in candidate_lists])
        return self._score_forest(bare, prompt, first.logits[:, -1], cache, forest)

    def _score_forest(
        self,
        bare: nn.Module,
        prompt: dict[str, torch.Tensor],
        last_logits: torch.Tensor,
        cache: object,
        forest: Forest,
    ) -> torch.Tensor:
        """:meth:`_score_tree` with one tree per prompt (its own candidates), padded alike."""
        if forest.width == 1:  # every candidate is one token: the prompt's end predicts all
            return forest_scores(last_logits[:, None], forest)
        device = last_logits.device
        n_prompts, nodes = prompt["input_ids"].size(0), forest.width - 1
        prompt_mask = prompt["attention_mask"].bool()
        visible = torch.cat(
            [
                prompt_mask[:, None, :].expand(n_prompts, nodes, -1),
                forest.visible()[:, 1:, 1:].to(device),
            ],
            dim=-1,
        )
        out = bare(
            input_ids=forest.tokens(self.tokenizer.pad_token_id)[:, 1:].to(device),
            attention_mask=mask_for(bare, visible[:, None]),
            position_ids=prompt_mask.sum(-1, keepdim=True) - 1 + forest.depth()[:, 1:].to(device),
            use_cache=True,
            **{cache_argument(bare): cache},
        )
        logits = torch.cat([last_logits[:, None], out.logits], dim=1)
        return forest_scores(logits, forest)

    def _score_with_repeated_cache(
        self,
        bare: nn.Module,
        prompt: dict[str, torch.Tensor],
        last_logits: torch.Tensor,
        cache: object,
        rows: list[list[int]],
    ) -> torch.Tensor:
        """Candidates continue a copy of the prompt's cache per candidate (for attention
        kernels that take no custom mask, such as flash attention)."""
        device = last_logits.device
        n_prompts, n_cands = prompt["input_ids"].size(0), len(rows)
        first_logprobs = torch.log_softmax(last_logits, dim=-1, dtype=torch.float32)
        scores = first_logprobs[:, [c[0] for c in rows]]  # [B, C]
        width = max(len(c) for c in rows) - 1
        if width == 0:
            return scores
        # [pad.. prompt][candidate pad..]
        pad = self.tokenizer.pad_token_id
        inputs = torch.full((n_cands, width), pad, dtype=torch.long)
        mask = torch.zeros((n_cands, width), dtype=torch.long)
        labels = torch.full((n_cands, width), -100, dtype=torch.long)
        for i, ids in enumerate(rows):
            n = len(ids) - 1
            inputs[i, :n] = torch.tensor(ids[:-1])
            mask[i, :n] = 1
            labels[i, :n] = torch.tensor(ids[1:])
        cache.batch_repeat_interleave(n_cands)  # type: ignore[attr-defined]
        prompt_mask = prompt["attention_mask"].repeat_interleave(n_cands, 0)
        lengths = prompt_mask.sum(-1, keepdim=True)
        rest = bare(
            input_ids=inputs.repeat(n_prompts, 1).to(device),
            attention_mask=torch.cat([prompt_mask, mask.repeat(n_prompts, 1).to(device)], -1),
            position_ids=lengths + torch.arange(width, device=device),
            use_cache=True,
            **{cache_argument(bare): cache},
        )
        logprobs, _ = gather_logprobs(rest.logits, labels.repeat(n_prompts, 1).to(device))
        return scores + logprobs.sum(-1).view(n_prompts, n_cands)

    def score_candidates_unshared(
        self, model: nn.Module, prompts: Sequence[str], candidates: Sequence[str]
    ) -> torch.Tensor:
        """:meth:`score_candidates` without the shared prompt cache: one sequence per
        (prompt, candidate). Same scores; kept as the fallback and as the benchmarks' baseline."""
        p_rows, c_rows = self.prompt_ids(prompts), self.target_ids(candidates)
        seqs = [p + c for p in p_rows for c in c_rows]
        labels = [c for _ in p_rows for c in c_rows]
        logits, target = self.forward_logits(model, self._left_pad(seqs, labels))
        logprobs, _ = gather_logprobs(logits, target)
        return logprobs.sum(-1).view(len(prompts), len(candidates))

    def soft_prompt_loss(
        self,
        model: nn.Module,
        prefix: str,
        soft_tokens: torch.Tensor,
        soft_mask: torch.Tensor,
        targets: Sequence[str],
    ) -> torch.Tensor:
        bare = unwrap(model)
        embeddings = bare.get_input_embeddings()
        device = embeddings.weight.device
        before, after = self.frame()
        if self.prompt_format == "plain":
            lead, core, _ = self.split_special_tokens(prefix)
        else:
            lead, core = before, self.tokenizer(prefix, add_special_tokens=False)["input_ids"]
        after = [*self.task_ids(prefix), *after]
        batch = soft_tokens.size(0)
        t_rows = self.target_ids(targets)
        width = max(len(t) for t in t_rows)
        pad = self.tokenizer.pad_token_id
        # [frame start + prefix][soft rationale][frame end][target, right-padded]; padding
        # inside the soft part is masked out and skipped by the position ids.
        tail_ids = torch.full((batch, len(after) + width), pad, dtype=torch.long)
        tail_mask = torch.zeros_like(tail_ids)
        labels = torch.full_like(tail_ids, -100)
        for i, target in enumerate(t_rows):
            row = [*after, *target]
            tail_ids[i, : len(row)] = torch.tensor(row)
            tail_mask[i, : len(row)] = 1
            labels[i, len(after) : len(row)] = torch.tensor(target)
        with torch.no_grad():
            head = embeddings(torch.tensor([lead + core], dtype=torch.long, device=device)).expand(
                batch, -1, -1
            )
        soft = soft_tokens.to(embeddings.weight.dtype) @ embeddings.weight
        inputs = torch.cat([head, soft, embeddings(tail_ids.to(device))], dim=1)
        mask = torch.cat(
            [
                torch.ones((batch, head.size(1)), dtype=torch.long, device=device),
                soft_mask.long().to(device),
                tail_mask.to(device),
            ],
            dim=1,
        )
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(
            inputs_embeds=inputs, attention_mask=mask, position_ids=positions, use_cache=False
        ).logits
        span = tail_ids.size(1)
        # logits at position t predict token t+1: take those that predict the tail.
        logits = logits[:, -span - 1 : -1]
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(),
            labels.to(device).reshape(-1),
            ignore_index=-100,
        )

    def generate(
        self,
        model: nn.Module,
        prompts: Sequence[str],
        *,
        max_new_tokens: int | None = None,
        settings: GenerationSettings | None = None,
    ) -> list[str]:
        bare = unwrap(model)
        device = next(bare.parameters()).device
        batch = self._left_pad(self.prompt_ids(prompts))
        batch.pop("position_ids")
        batch = {k: v.to(device) for k, v in batch.items()}
        kwargs = self.generate_kwargs(max_new_tokens, settings)
        processors = rationale_only(kwargs, prompt_length=batch["input_ids"].shape[1])
        out = bare.generate(
            **batch,
            **kwargs,
            logits_processor=processors,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            synced_gpus=generation_in_step(),
        )
        new_tokens = out[:, batch["input_ids"].shape[1] :]
        return [
            t.strip() for t in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        ]


class _NewTokensOnly(LogitsProcessor):
    """A logits processor that sees the generated tokens only, not the prompt before them."""

    def __init__(self, inner: LogitsProcessor, prompt_length: int) -> None:
        self.inner = inner
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return self.inner(input_ids[:, self.prompt_length :], scores)


def rationale_only(kwargs: dict[str, Any], prompt_length: int) -> LogitsProcessorList:
    """Take the repetition controls out of ``generate`` ``kwargs`` (in place) and return them as
    processors over the generated tokens only. ``transformers`` counts a decoder-only model's
    prompt as output, so ``no_repeat_ngram_size`` would forbid a rationale to quote the case;
    the settings mean *within the rationale*, as they do for encoder-decoder models."""
    processors = LogitsProcessorList()
    penalty = kwargs.pop("repetition_penalty", 1.0)
    size = kwargs.pop("no_repeat_ngram_size", 0)
    # Explicitly off, whatever the model's own generation config says.
    kwargs.update(repetition_penalty=1.0, no_repeat_ngram_size=0)
    if penalty != 1.0:
        processors.append(_NewTokensOnly(RepetitionPenaltyLogitsProcessor(penalty), prompt_length))
    if size:
        processors.append(_NewTokensOnly(NoRepeatNGramLogitsProcessor(size), prompt_length))
    return processors
