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
import math
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


# --- one candidate list per prompt ------------------------------------------------------------


@dataclass(frozen=True)
class Forest:
    """One :class:`CandidateTree` per prompt, padded to the same number of nodes.

    Node 0 of every tree is its root. Padding nodes see only themselves (so that no attention
    row is empty) and predict nothing.
    """

    trees: tuple[CandidateTree, ...]
    counts: tuple[int, ...]  # candidates per prompt

    @property
    def width(self) -> int:
        """Nodes per padded tree."""
        return max(len(tree) for tree in self.trees)

    def tokens(self, pad: int) -> torch.Tensor:
        """``[B, N]`` the token of every node (``pad`` for padding nodes)."""
        out = torch.full((len(self.trees), self.width), pad, dtype=torch.long)
        for b, tree in enumerate(self.trees):
            out[b, : len(tree)] = torch.tensor(tree.tokens)
        return out

    def depth(self) -> torch.Tensor:
        """``[B, N]`` every node's depth (1 for padding nodes)."""
        out = torch.ones((len(self.trees), self.width), dtype=torch.long)
        for b, tree in enumerate(self.trees):
            out[b, : len(tree)] = torch.tensor(tree.depth)
        return out

    def visible(self) -> torch.Tensor:
        """``[B, N, N]`` bool: what each node may attend to within its own tree."""
        n = self.width
        out = torch.eye(n, dtype=torch.bool).repeat(len(self.trees), 1, 1)
        for b, tree in enumerate(self.trees):
            out[b, : len(tree), : len(tree)] = tree.visible()
        return out


def build_forest(row_lists: Sequence[Sequence[Sequence[int]]], root_token: int = -1) -> Forest:
    """The prefix trees of each prompt's own candidates (token rows as for :func:`build_tree`)."""
    return Forest(
        tuple(build_tree(rows, root_token) for rows in row_lists),
        tuple(len(rows) for rows in row_lists),
    )


def forest_scores(node_logits: torch.Tensor, forest: Forest) -> torch.Tensor:
    """``[B, C]`` summed log-probabilities of each prompt's candidates (``C``: the most any
    prompt has; missing candidates score ``-inf``) from the logits of every node ``[B, N, V]``."""
    logprobs = torch.log_softmax(node_logits, dim=-1, dtype=torch.float32)
    device = logprobs.device
    rows, nodes, tokens, cands = [], [], [], []
    for b, tree in enumerate(forest.trees):
        rows.extend([b] * len(tree.node_index))
        nodes.extend(tree.node_index)
        tokens.extend(tree.token_index)
        cands.extend(b * max(forest.counts) + c for c in tree.candidate_index)
    picked = logprobs[
        torch.tensor(rows, device=device),
        torch.tensor(nodes, device=device),
        torch.tensor(tokens, device=device),
    ]
    return _scatter_scores(picked, cands, forest.counts)


def _scatter_scores(
    picked: torch.Tensor, flat_candidate: Sequence[int], counts: Sequence[int]
) -> torch.Tensor:
    """``[B, C]``: each picked log-probability added to its flat (prompt, candidate) slot;
    slots past a prompt's own candidates ``-inf``."""
    width = max(counts)
    scores = torch.zeros(len(counts) * width, dtype=picked.dtype, device=picked.device)
    scores.index_add_(0, torch.tensor(list(flat_candidate), device=picked.device), picked)
    return scores.view(len(counts), width).masked_fill(
        ~candidate_mask(counts, picked.device), -math.inf
    )


def candidate_mask(counts: Sequence[int], device: object = None) -> torch.Tensor:
    """``[B, C]`` bool: which positions of a padded per-prompt score matrix are real."""
    width = max(counts)
    return (
        torch.arange(width, device=device)[None, :]
        < torch.tensor(list(counts), device=device)[:, None]
    )


def pad_pair_scores(pair_scores: torch.Tensor, counts: Sequence[int]) -> torch.Tensor:
    """``[B, C]`` from the scores of every (prompt, candidate) pair in order (``[sum(counts)]``);
    missing candidates score ``-inf``."""
    width = max(counts)
    flat = [b * width + c for b, n in enumerate(counts) for c in range(n)]
    return _scatter_scores(pair_scores, flat, counts)
