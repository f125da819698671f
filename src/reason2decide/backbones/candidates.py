"""Closed-set label scoring in one pass: candidates as a prefix tree ("tree attention").

Every candidate label is a path of tokens. Candidates that begin alike share their first
positions (at the least the position right after the prompt, which predicts every candidate's
first token), so the model only needs to run each distinct prefix once. The tree's nodes are
laid out as one sequence; a 4-D attention mask lets each node see the prompt and its own
ancestors only, and position ids give each node its depth, so every node's output equals what a
separate pass over that candidate would give at that position.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CandidateTree:
    """The distinct prefixes of a set of token sequences.

    Node 0 is the empty prefix (the root); node ``i > 0`` is a prefix that ends in
    ``tokens[i]``, at ``depth[i]`` (its length). Nodes come after their ancestors. Each scored
    token is a triple ``(node, token, candidate)``: the node whose output predicts ``token`` of
    ``candidate``.
    """

    tokens: tuple[int, ...]
    depth: tuple[int, ...]
    parent: tuple[int, ...]
    node_index: tuple[int, ...]
    token_index: tuple[int, ...]
    candidate_index: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.tokens)

    def visible(self) -> torch.Tensor:
        """``[N, N]`` bool: node ``i`` may attend to node ``j`` (``j`` is ``i`` or an ancestor)."""
        n = len(self.tokens)
        mask = torch.zeros((n, n), dtype=torch.bool)
        for i in range(n):
            j = i
            while j >= 0:
                mask[i, j] = True
                j = self.parent[j]
        return mask


def build_tree(rows: Sequence[Sequence[int]], root_token: int = -1) -> CandidateTree:
    """The prefix tree of ``rows`` (each a candidate's full target, end-of-sequence included).

    ``root_token`` is the token of the empty prefix (the decoder start token of an
    encoder-decoder; unused for decoder-only models, whose root is the prompt's last token).
    """
    tokens, depth, parent = [root_token], [0], [-1]
    children: dict[tuple[int, int], int] = {}
    node_index, token_index, candidate_index = [], [], []
    for c, row in enumerate(rows):
        node = 0
        for j, token in enumerate(row):
            node_index.append(node)
            token_index.append(int(token))
            candidate_index.append(c)
            if j == len(row) - 1:
                break  # the last token is only predicted, never fed in
            key = (node, int(token))
            if key not in children:
                children[key] = len(tokens)
                tokens.append(int(token))
                depth.append(depth[node] + 1)
                parent.append(node)
            node = children[key]
    return CandidateTree(
        tuple(tokens),
        tuple(depth),
        tuple(parent),
        tuple(node_index),
        tuple(token_index),
        tuple(candidate_index),
    )


def tree_scores(node_logits: torch.Tensor, tree: CandidateTree, n_candidates: int) -> torch.Tensor:
    """``[B, C]`` summed log-probabilities of each candidate from the logits of every tree node
    (``[B, N, V]``); the normalisation over the vocabulary runs in float32."""
    logprobs = torch.log_softmax(node_logits, dim=-1, dtype=torch.float32)
    device = logprobs.device
    nodes = torch.tensor(tree.node_index, device=device)
    tokens = torch.tensor(tree.token_index, device=device)
    picked = logprobs[:, nodes, tokens]  # [B, K]
    scores = torch.zeros((logprobs.size(0), n_candidates), dtype=picked.dtype, device=device)
    return scores.index_add_(1, torch.tensor(tree.candidate_index, device=device), picked)


def attention_implementation(model: nn.Module) -> str:
    """The attention kernel a transformers model was loaded with ("sdpa", "eager", ...)."""
    config = getattr(model, "config", None)
    return str(getattr(config, "_attn_implementation", None) or "eager")


def takes_custom_masks(model: nn.Module) -> bool:
    """Whether ``model``'s attention accepts an arbitrary 4-D mask (not flash attention)."""
    return attention_implementation(model) in ("sdpa", "eager")


def mask_for(model: nn.Module, visible: torch.Tensor) -> torch.Tensor:
    """A 4-D mask that transformers passes through unchanged: bool for SDPA, additive float
    for eager attention (which adds the mask to its scores)."""
    if attention_implementation(model) == "sdpa":
        return visible
    blocked = torch.finfo(torch.float32).min
    return torch.zeros(visible.shape, dtype=torch.float32, device=visible.device).masked_fill(
        ~visible, blocked
    )


def accepts(function: object, name: str) -> bool:
    """Whether ``function`` takes a keyword argument ``name`` by that name."""
    try:
        return name in inspect.signature(function).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
