"""Walking the token stream (proxy/stream.py), shared by proxy and final training: against hand
computations."""
import torch

from autoshrink.proxy.stream import chunked_loss, cut


def test_cut_fills_the_rows_and_cuts_the_last_step():
    assert cut(10, lambda: 4) == [4, 4, 1]              # 9 steps of prediction in 10 rows
    assert cut(10, lambda: 0) == [1] * 9                # a length is at least 1
    assert cut(1, lambda: 4) == []
    draws = iter([3, 7, 2, 9])
    assert cut(12, lambda: next(draws)) == [3, 7, 1]


def test_chunked_loss_weights_each_chunk_by_its_length_and_carries_the_hidden_state():
    data = torch.arange(8.0)[:, None]                   # 8 rows: 7 predictions, chunks of 3, 3, 1
    seen = []

    def loss_fn(x, y, h):
        seen.append((x[:, 0].tolist(), h))
        return y.mean(), h + 1
    loss = chunked_loss(loss_fn, data, 3, 0)
    assert [h for _, h in seen] == [0, 1, 2]
    assert [x for x, _ in seen] == [[0, 1, 2], [3, 4, 5], [6]]
    assert float(loss) == (2 * 3 + 5 * 3 + 7 * 1) / 7   # chunk means 2, 5, 7, weighted 3, 3, 1
