"""Walking the token stream (rows of a batchified corpus), the same way in proxy and final training:
an epoch cut into training steps, and a loss over the whole stream in chunks.

    lengths = cut(n_rows, draw)                         # draw() proposes each step's length
    loss = chunked_loss(loss_fn, data, bptt, h)         # loss_fn(x, y, h) -> (loss, h)

The two trainings differ only in how a length is drawn (proxy: bptt, or bptt // 2 with
probability 0.05; final: N(bptt, 5) clipped; docs/algorithm.md) and in what their loss returns.
"""
from __future__ import annotations

import torch


def cut(n_rows: int, draw) -> list[int]:
    """One epoch's training step lengths over `n_rows` rows: each draw() (at least 1), the last
    cut to the rows left (a step of length L reads L + 1 rows: its inputs and the next words)."""
    lengths, i = [], 0
    while i < n_rows - 1:
        L = min(max(draw(), 1), n_rows - 1 - i)
        lengths.append(L)
        i += L
    return lengths


@torch.no_grad()
def chunked_loss(loss_fn, data: torch.Tensor, bptt: int, h):
    """Mean next-word loss over `data` (T, B) in chunks of `bptt` rows, the hidden state carried
    across chunks, each chunk weighted by its length. `loss_fn(x, y, h)` returns (mean loss, h): a
    float or a tensor (e.g. one loss per candidate), and the result is the same kind."""
    total, n = 0, data.shape[0] - 1
    for i in range(0, n, bptt):
        L = min(bptt, n - i)
        loss, h = loss_fn(data[i:i + L], data[i + 1:i + 1 + L], h)
        total = total + loss * L
    return total / n
