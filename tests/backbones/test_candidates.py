"""The candidates' prefix tree used by closed-set label scoring."""

from __future__ import annotations

import torch

from reason2decide.backbones.candidates import build_tree, tree_scores


def test_tree_shares_prefixes_and_feeds_no_last_token():
    # three candidates: [1, 2, eos], [1, 3, eos], [4, eos] with eos = 9
    tree = build_tree([[1, 2, 9], [1, 3, 9], [4, 9]], root_token=0)
    assert tree.tokens == (0, 1, 2, 3, 4)  # root, "1" shared, then 2, 3 and 4
    assert tree.depth == (0, 1, 2, 2, 1)
    assert tree.parent == (-1, 0, 1, 1, 0)
    # every candidate token is predicted by the node of the prefix before it
    assert list(zip(tree.node_index, tree.token_index, tree.candidate_index, strict=True)) == [
        (0, 1, 0), (1, 2, 0), (2, 9, 0),
        (0, 1, 1), (1, 3, 1), (3, 9, 1),
        (0, 4, 2), (4, 9, 2),
    ]  # fmt: skip
    visible = tree.visible()
    assert visible.tolist() == [
        [True, False, False, False, False],
        [True, True, False, False, False],
        [True, True, True, False, False],
        [True, True, False, True, False],
        [True, False, False, False, True],
    ]


def test_tree_scores_sum_each_candidates_token_logprobs():
    tree = build_tree([[1, 2], [2]])
    logits = torch.randn(3, len(tree), 5)
    logprobs = torch.log_softmax(logits, -1)
    scores = tree_scores(logits, tree, 2)
    torch.testing.assert_close(scores[:, 0], logprobs[:, 0, 1] + logprobs[:, 1, 2])
    torch.testing.assert_close(scores[:, 1], logprobs[:, 0, 2])
