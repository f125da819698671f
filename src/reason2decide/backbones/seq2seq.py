"""Encoder-decoder backbones: T5 family, BART, BERT-to-BERT (``EncoderDecoderModel``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutput

from reason2decide.backbones.base import (
    Backbone,
    cache_argument,
    gather_logprobs,
    output_cache,
)
from reason2decide.backbones.candidates import (
    accepts,
    build_forest,
    build_tree,
    forest_scores,
    mask_for,
    pad_pair_scores,
    takes_custom_masks,
    tree_scores,
)
from reason2decide.backbones.length_groups import length_groups
from reason2decide.distributed import generation_in_step
from reason2decide.generation import GenerationSettings


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside a DistributedDataParallel (or similar) wrapper."""
    return getattr(model, "module", model)


class Seq2SeqBackbone(Backbone):
    """The prompt goes to the encoder; the target is decoded with teacher forcing."""

    kind = "seq2seq"

    @property
    def _decoder_start(self) -> int:
        config = unwrap(self.model).config
        start = getattr(config, "decoder_start_token_id", None)
        if start is None:
            start = getattr(unwrap(self.model).generation_config, "decoder_start_token_id", None)
        if start is None:
            raise ValueError(f"model {self.name} has no decoder_start_token_id")
        return int(start)

    def _encode_prompts(self, prompts: Sequence[str]) -> dict[str, torch.Tensor]:
        if self.input_truncation != "end":
            rows = self.tokenizer(list(prompts), add_special_tokens=True, verbose=False)
            cut = [self.cut_prompt(ids, self.max_input_length) for ids in rows["input_ids"]]
            enc = self.tokenizer.pad({"input_ids": cut}, padding=True, return_tensors="pt")
            return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        enc = self.tokenizer(
            list(prompts),
            truncation=True,
            max_length=self.max_input_length,
            padding=True,
            return_tensors="pt",
            return_token_type_ids=False,
        )
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    @property
    def _eos(self) -> int:
        eos = self.tokenizer.eos_token_id
        return self.tokenizer.sep_token_id if eos is None else eos

    def _full_target_ids(self, targets: Sequence[str]) -> list[list[int]]:
        eos, start = self._eos, self._decoder_start
        pad = self.tokenizer.pad_token_id
        rows = self.tokenizer(list(targets), add_special_tokens=True, verbose=False)["input_ids"]
        out = []
        for ids in rows:
            # BERT-style tokenizers prepend [CLS], which is already the decoder's start token.
            if ids and ids[0] == start and start != pad:
                ids = ids[1:]
            if not ids or ids[-1] != eos:
                ids = [*ids, eos]
            out.append(ids)
        return out

    def target_ids(self, targets: Sequence[str]) -> list[list[int]]:
        """Token ids the decoder must produce for each target, ending with end-of-sequence."""
        limit, eos = self.max_target_length, self._eos
        return [
            ids if len(ids) <= limit else [*ids[: limit - 1], eos]
            for ids in self._full_target_ids(targets)
        ]

    def target_lengths(self, targets: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self._full_target_ids(targets)]

    def _decoder_tensors(self, rows: list[list[int]]) -> dict[str, torch.Tensor]:
        start, pad = self._decoder_start, self.tokenizer.pad_token_id
        width = max(len(r) for r in rows)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        dec_in = torch.full((len(rows), width), pad, dtype=torch.long)
        dec_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, ids in enumerate(rows):
            n = len(ids)
            labels[i, :n] = torch.tensor(ids)
            dec_in[i, :n] = torch.tensor([start, *ids[:-1]])
            dec_mask[i, :n] = 1
        return {"labels": labels, "decoder_input_ids": dec_in, "decoder_attention_mask": dec_mask}

    def encode_pairs(
        self, prompts: Sequence[str], targets: Sequence[str]
    ) -> dict[str, torch.Tensor]:
        if len(prompts) != len(targets):
            raise ValueError("prompts and targets differ in length")
        return {**self._encode_prompts(prompts), **self._decoder_tensors(self.target_ids(targets))}

    def forward_logits(
        self, model: nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        device = next(unwrap(model).parameters()).device
        batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        labels = batch.pop("labels")
        out = model(**batch, use_cache=False)
        return out.logits, labels

    def target_logits(
        self, model: nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[N, V]`` and labels ``[N]`` of the N decoder positions inside a target.

        The vocabulary projection runs only on those positions: a forward pre-hook on the
        model's output embeddings hands it the decoder states at those positions alone (a
        batch's targets are padded to its longest; on the PubMedQA rationales 39 % of the
        decoder positions of a batch of 8 are padding). Where the head is not reached that
        way, the full logits are selected afterwards. Dropout before the head draws the same
        masks either way."""
        keep = batch["labels"] != -100
        head = unwrap(model).get_output_embeddings()

        def at_targets(module: nn.Module, args: tuple) -> tuple:
            hidden = args[0]
            if hidden.dim() != 3 or hidden.shape[:2] != keep.shape:
                return args
            return (hidden[keep.to(hidden.device)], *args[1:])

        handle = head.register_forward_pre_hook(at_targets) if head is not None else None
        try:
            logits, labels = self.forward_logits(model, batch)
        finally:
            if handle is not None:
                handle.remove()
        if logits.dim() == 3:
            logits = logits[keep.to(logits.device)]
        return logits, labels[keep.to(labels.device)]

    def loss(
        self, model: nn.Module, prompts: Sequence[str], targets: Sequence[str]
    ) -> torch.Tensor:
        if self.vocab_projection == "all":
            return super().loss(model, prompts, targets)
        batch = self.encode_pairs(prompts, targets)
        if self._passes_by_length(model):
            prompt_lengths = batch["attention_mask"].sum(1).tolist()
            target_lengths = batch["decoder_attention_mask"].sum(1).tolist()
            inputs, outputs = length_groups(prompt_lengths), length_groups(target_lengths)
            if len(inputs) > 1 or len(outputs) > 1:
                logits, labels = self._grouped_target_logits(
                    model, batch, (inputs, prompt_lengths), (outputs, target_lengths)
                )
                return nn.functional.cross_entropy(logits.float(), labels)
        logits, labels = self.target_logits(model, batch)
        return nn.functional.cross_entropy(logits.float(), labels)

    def _passes_by_length(self, model: nn.Module) -> bool:
        """Whether the loss may run the encoder and the decoder in passes over groups of rows
        of similar length: where ``length_passes`` allows it (``auto``: on a CPU in fp32), the
        model is not inside a data-parallel wrapper (which expects one forward per backward)
        and the tokenizer pads on the right (a group is cut at its longest row).

        Not under bf16/fp16 autocast, where a position's products cost about half as much
        and a pass's fixed work the same: on the demo's minilm-bert2bert in bf16 the passes
        were 1.7-4.7 % slower (t5-small's Stage 2 in bf16: 7.4 % faster; a pass cost that
        fits each model and precision is not worked out)."""
        if self.length_passes == "one" or unwrap(model) is not model:
            return False
        if torch.is_autocast_enabled("cpu"):
            return False
        if getattr(self.tokenizer, "padding_side", "right") != "right":
            return False
        return next(model.parameters()).device.type == "cpu"

    def _grouped_target_logits(
        self,
        model: nn.Module,
        batch: dict[str, torch.Tensor],
        inputs: tuple[list[list[int]], list[int]],
        outputs: tuple[list[list[int]], list[int]],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`target_logits` of an :meth:`encode_pairs` batch, the encoder run once per
        group of rows in ``inputs`` and the decoder once per group in ``outputs`` (each with
        the rows' prompt or target lengths), each group cut to its own longest row: every
        target position's logits are those of one pass, computed without the other rows'
        padding."""
        (encoder_groups, prompt_lengths), (decoder_groups, target_lengths) = inputs, outputs
        device = next(model.parameters()).device
        mask = batch["attention_mask"].to(device)
        states = self._encoder_states(
            model, batch["input_ids"].to(device), mask, encoder_groups, prompt_lengths
        )
        logits, labels = [], []
        for group in decoder_groups:
            source = max(prompt_lengths[i] for i in group)
            width = max(target_lengths[i] for i in group)
            rows = torch.tensor(group)
            on_device = rows.to(device)
            part = {
                "attention_mask": mask[on_device, :source],
                "encoder_outputs": BaseModelOutput(last_hidden_state=states[on_device, :source]),
                **{
                    k: batch[k][rows, :width]
                    for k in ("labels", "decoder_input_ids", "decoder_attention_mask")
                },
            }
            part_logits, part_labels = self.target_logits(model, part)
            logits.append(part_logits)
            labels.append(part_labels)
        return torch.cat(logits), torch.cat(labels)

    @staticmethod
    def _encoder_states(
        model: nn.Module,
        ids: torch.Tensor,
        mask: torch.Tensor,
        groups: list[list[int]],
        lengths: list[int],
    ) -> torch.Tensor:
        """The encoder's last states ``[B, L, d]`` of the whole batch, computed once per group
        of rows cut to the group's longest prompt; zeros past a row's group's end (positions
        that the attention mask hides)."""
        encoder = model.get_encoder()
        if len(groups) == 1:
            return encoder(input_ids=ids, attention_mask=mask, return_dict=True).last_hidden_state
        full, parts = ids.size(1), []
        for group in groups:
            rows, width = torch.tensor(group, device=ids.device), max(lengths[i] for i in group)
            out = encoder(
                input_ids=ids[rows, :width], attention_mask=mask[rows, :width], return_dict=True
            ).last_hidden_state
            parts.append(nn.functional.pad(out, (0, 0, 0, full - width)))
        order = torch.tensor([i for group in groups for i in group], device=ids.device)
        return torch.cat(parts)[torch.argsort(order)]

    def score_candidates(
        self, model: nn.Module, prompts: Sequence[str], candidates: Sequence[str]
    ) -> torch.Tensor:
        bare = unwrap(model)
        device = next(bare.parameters()).device
        enc = {k: v.to(device) for k, v in self._encode_prompts(prompts).items()}
        rows = self.target_ids(candidates)
        # The encoder runs once per prompt, inside the model's own forward pass (so that
        # wrappers which gather sharded parameters there see it); its states are shared by all
        # candidates.
        if self._decodes_trees(bare):
            return self._score_tree(bare, enc, rows)
        return self._score_with_shared_cache(bare, enc, rows)

    def _decodes_trees(self, bare: nn.Module) -> bool:
        """Whether the decoder takes position ids and a custom 4-D mask (BERT-style decoders
        of ``EncoderDecoderModel``; T5 and BART derive positions themselves)."""
        from transformers import EncoderDecoderModel

        base = bare.get_base_model() if hasattr(bare, "get_base_model") else bare
        return (
            isinstance(base, EncoderDecoderModel)
            and accepts(base.decoder.forward, "position_ids")
            and takes_custom_masks(base.decoder)
        )

    def _score_tree(
        self, bare: nn.Module, enc: dict[str, torch.Tensor], rows: list[list[int]]
    ) -> torch.Tensor:
        """One decoder pass over the candidates' prefix tree (see ``candidates``): no position
        is computed twice, and no encoder state is repeated per candidate."""
        tree = build_tree(rows, root_token=self._decoder_start)
        device, n_prompts, n_nodes = enc["input_ids"].device, enc["input_ids"].size(0), len(tree)
        base = bare.get_base_model() if hasattr(bare, "get_base_model") else bare
        mask = mask_for(base.decoder, tree.visible().to(device))
        out = bare(
            **enc,
            decoder_input_ids=torch.tensor([tree.tokens], device=device).expand(n_prompts, -1),
            decoder_attention_mask=mask[None, None].expand(n_prompts, 1, n_nodes, n_nodes),
            decoder_position_ids=torch.tensor([tree.depth], device=device).expand(n_prompts, -1),
            use_cache=False,
        )
        return tree_scores(out.logits, tree, len(rows))

    def _score_with_shared_cache(
        self, bare: nn.Module, enc: dict[str, torch.Tensor], rows: list[list[int]]
    ) -> torch.Tensor:
        """The decoder's first position once per prompt, then its cache (self- and
        cross-attention keys/values) repeated for the candidates' remaining tokens."""
        attention_mask = enc["attention_mask"]
        device = attention_mask.device
        n_prompts, n_cands = attention_mask.size(0), len(rows)
        dec = {k: v.to(device) for k, v in self._decoder_tensors(rows).items()}
        labels = dec["labels"]  # [C, T]; every row starts after the same decoder start token
        first = bare(
            **enc,
            decoder_input_ids=dec["decoder_input_ids"][:1, :1].expand(n_prompts, 1),
            use_cache=True,
        )
        hidden = first.encoder_last_hidden_state
        first_logprobs = torch.log_softmax(first.logits[:, 0], dim=-1, dtype=torch.float32)
        scores = first_logprobs[:, labels[:, 0]]  # [B, C]
        cache = output_cache(first)
        if labels.size(1) == 1:
            return scores
        if cache is None:  # a model that keeps no cache (e.g. gradient checkpointing in training)
            return self._score_every_row(bare, attention_mask, hidden, rows)
        cache.batch_repeat_interleave(n_cands)
        # Right padding needs no decoder mask: causal attention keeps real tokens from seeing
        # the pads after them, and the pads' own outputs carry label -100.
        rest = bare(
            encoder_outputs=BaseModelOutput(last_hidden_state=hidden.repeat_interleave(n_cands, 0)),
            attention_mask=attention_mask.repeat_interleave(n_cands, 0),
            decoder_input_ids=dec["decoder_input_ids"][:, 1:].repeat(n_prompts, 1),
            use_cache=True,
            **{cache_argument(bare): cache},
        )
        logprobs, _ = gather_logprobs(rest.logits, labels[:, 1:].repeat(n_prompts, 1))
        return scores + logprobs.sum(-1).view(n_prompts, n_cands)

    def _score_lists(
        self, model: nn.Module, prompts: list[str], candidate_lists: list[list[str]]
    ) -> torch.Tensor:
        bare = unwrap(model)
        device = next(bare.parameters()).device
        enc = {k: v.to(device) for k, v in self._encode_prompts(prompts).items()}
        row_lists = [self.target_ids(candidates) for candidates in candidate_lists]
        if self._decodes_trees(bare):
            forest = build_forest(row_lists, root_token=self._decoder_start)
            base = bare.get_base_model() if hasattr(bare, "get_base_model") else bare
            mask = mask_for(base.decoder, forest.visible().to(device))
            out = bare(
                **enc,
                decoder_input_ids=forest.tokens(self.tokenizer.pad_token_id).to(device),
                decoder_attention_mask=mask[:, None],
                decoder_position_ids=forest.depth().to(device),
                use_cache=False,
            )
            return forest_scores(out.logits, forest)
        return self._score_lists_with_shared_cache(bare, enc, row_lists)

    def _score_lists_with_shared_cache(
        self, bare: nn.Module, enc: dict[str, torch.Tensor], row_lists: list[list[list[int]]]
    ) -> torch.Tensor:
        """:meth:`_score_with_shared_cache` with each prompt's own candidates: the decoder's
        first position once per prompt, its cache then selected once per (prompt, candidate)."""
        attention_mask = enc["attention_mask"]
        device = attention_mask.device
        counts = [len(rows) for rows in row_lists]
        owner = torch.repeat_interleave(
            torch.arange(len(counts), device=device), torch.tensor(counts, device=device)
        )
        dec = {
            k: v.to(device)
            for k, v in self._decoder_tensors([r for rows in row_lists for r in rows]).items()
        }
        labels = dec["labels"]  # [P, T], one row per (prompt, candidate) pair
        first = bare(
            **enc,
            decoder_input_ids=dec["decoder_input_ids"][:1, :1].expand(len(counts), 1),
            use_cache=True,
        )
        hidden = first.encoder_last_hidden_state[owner]
        first_logprobs = torch.log_softmax(first.logits[:, 0], dim=-1, dtype=torch.float32)
        scores = first_logprobs[owner, labels[:, 0]]  # [P]
        if labels.size(1) == 1:
            return pad_pair_scores(scores, counts)
        cache = output_cache(first)
        if cache is None:
            out = bare(
                encoder_outputs=BaseModelOutput(last_hidden_state=hidden),
                attention_mask=attention_mask[owner],
                decoder_input_ids=dec["decoder_input_ids"],
                decoder_attention_mask=dec["decoder_attention_mask"],
                use_cache=False,
            )
            logprobs, _ = gather_logprobs(out.logits, labels)
            return pad_pair_scores(logprobs.sum(-1), counts)
        cache.batch_select_indices(owner)
        rest = bare(
            encoder_outputs=BaseModelOutput(last_hidden_state=hidden),
            attention_mask=attention_mask[owner],
            decoder_input_ids=dec["decoder_input_ids"][:, 1:],
            use_cache=True,
            **{cache_argument(bare): cache},
        )
        logprobs, _ = gather_logprobs(rest.logits, labels[:, 1:])
        return pad_pair_scores(scores + logprobs.sum(-1), counts)

    def score_candidates_unshared(
        self, model: nn.Module, prompts: Sequence[str], candidates: Sequence[str]
    ) -> torch.Tensor:
        bare = unwrap(model)
        device = next(bare.parameters()).device
        enc = {k: v.to(device) for k, v in self._encode_prompts(prompts).items()}
        hidden = bare.get_encoder()(**enc).last_hidden_state
        return self._score_every_row(
            bare, enc["attention_mask"], hidden, self.target_ids(candidates)
        )

    def _score_every_row(
        self,
        bare: nn.Module,
        attention_mask: torch.Tensor,
        hidden: torch.Tensor,
        rows: list[list[int]],
    ) -> torch.Tensor:
        """The whole decoder once per (prompt, candidate) row."""
        device = hidden.device
        n_prompts, n_cands = hidden.size(0), len(rows)
        dec = {k: v.to(device) for k, v in self._decoder_tensors(rows).items()}
        labels = dec.pop("labels").repeat(n_prompts, 1)
        out = bare(
            encoder_outputs=BaseModelOutput(last_hidden_state=hidden.repeat_interleave(n_cands, 0)),
            attention_mask=attention_mask.repeat_interleave(n_cands, 0),
            decoder_input_ids=dec["decoder_input_ids"].repeat(n_prompts, 1),
            decoder_attention_mask=dec["decoder_attention_mask"].repeat(n_prompts, 1),
            use_cache=False,
        )
        logprobs, _ = gather_logprobs(out.logits, labels)
        return logprobs.sum(-1).view(n_prompts, n_cands)

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
        lead, core, trail = self.split_special_tokens(prefix)
        batch = soft_tokens.size(0)
        with torch.no_grad():  # the fixed prompt words are not what this loss should move
            head = embeddings(torch.tensor([lead + core], dtype=torch.long, device=device)).expand(
                batch, -1, -1
            )
            tail = embeddings(torch.tensor([trail], dtype=torch.long, device=device)).expand(
                batch, -1, -1
            )
        soft = soft_tokens.to(embeddings.weight.dtype) @ embeddings.weight
        inputs = torch.cat([head, soft, tail], dim=1)
        ones = torch.ones((batch, 1), dtype=torch.long, device=device)
        mask = torch.cat(
            [
                ones.expand(batch, head.size(1)),
                soft_mask.long().to(device),
                ones.expand(batch, tail.size(1)),
            ],
            dim=1,
        )
        dec = {k: v.to(device) for k, v in self._decoder_tensors(self.target_ids(targets)).items()}
        labels = dec.pop("labels")
        logits = model(inputs_embeds=inputs, attention_mask=mask, **dec, use_cache=False).logits
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), ignore_index=-100
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
        enc = {k: v.to(device) for k, v in self._encode_prompts(prompts).items()}
        out = bare.generate(
            **enc,
            **self.generate_kwargs(max_new_tokens, settings),
            synced_gpus=generation_in_step(),
        )
        return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]
