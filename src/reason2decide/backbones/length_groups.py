"""Rows of a batch in groups of similar target length, for a decoder run in several passes.

A batch's targets are padded to its longest; a decoder pass computes every padded position
(on the PubMedQA rationales, 40 % of a batch of 8). The rows of an encoder-decoder's decoder
are independent of each other, so the decoder can run once per group of rows, each group
padded to its own longest target. :func:`length_groups` picks the groups that minimise the
decoder positions computed plus a fixed cost per extra pass.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Most passes one batch's decoder is split into.
MAX_GROUPS = 4
#: What one more pass costs, in positions, in fp32: its fixed work (every layer's operators
#: dispatched forward and backward) against a position's share of the matrix products.
#: Measured on a t5-small-shaped decoder on a 2-core CPU, about 50 ms a pass against 1.1-1.4 ms
#: a position; in-process A/B over 16 Stage-1 batches, 48 was 1.6 % faster than 96.
PASS_COST = 48


def length_groups(
    lengths: Sequence[int], *, max_groups: int = MAX_GROUPS, pass_cost: int = PASS_COST
) -> list[list[int]]:
    """Row indices in groups (longest first) with the least ``Σ rows × longest`` plus
    ``pass_cost`` per pass.

    Groups are runs of the rows sorted by length, so each group is padded as little as its
    neighbours allow. One group holding every row (in input order) when splitting saves
    nothing."""
    if max_groups < 1:
        raise ValueError("max_groups must be at least 1")
    n = len(lengths)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: (-lengths[i], i))
    longest = [lengths[i] for i in order]  # descending: a run's first row is its longest
    infinity = float("inf")
    # cost[g][j]: least cost of the first j sorted rows in g groups; cut[g][j]: where the last
    # of those groups starts.
    cost = [[infinity] * (n + 1) for _ in range(max_groups + 1)]
    cut = [[0] * (n + 1) for _ in range(max_groups + 1)]
    cost[0][0] = 0.0
    for g in range(1, max_groups + 1):
        for j in range(1, n + 1):
            for i in range(j):
                if cost[g - 1][i] == infinity:
                    continue
                c = cost[g - 1][i] + (j - i) * longest[i] + pass_cost
                if c < cost[g][j]:
                    cost[g][j], cut[g][j] = c, i
    best = min(range(1, max_groups + 1), key=lambda g: (cost[g][n], g))
    if best == 1:
        return [list(range(n))]
    groups, j = [], n
    for g in range(best, 0, -1):
        i = cut[g][j]
        groups.append(order[i:j])
        j = i
    return groups[::-1]
