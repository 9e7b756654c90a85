"""The final-training language model: embedding -> recurrent core -> tied decoder, with the
recipe's five variational dropouts (docs/algorithm.md, "Final training").

The core is one cell run by the reference interpreter (core/cell_module.py's `ShrinkCell`, the
module export writes, so weights move between them), or torch's one-layer `nn.LSTM` (the baseline).
Unlike the proxy's BatchedRNNModel it holds one model and takes dropout masks. `precision` and
`fuse` mean what they mean in proxy training (precision.py): "bf16" runs the cell's matrix products
and the decoder in bf16 on fp32 weights, "bf16-decoder" only the decoder; fuse runs the decoder and
its cross-entropy in chunks (fused.py) instead of making the full logits tensor. The LSTM's core
stays fp32 (torch's own kernel). fp32 with fuse off is the plain path.

The LSTM has no place for masks inside its fused recurrence, so its hidden dropout is a
DropConnect mask on its hidden-to-hidden matrix, drawn per batch (as AWD-LSTM regularises an
LSTM); its input is the embedding output, already dropped by the embedding-output dropout, so the
cell-input dropout has no separate place in it.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from ..core.cell import Cell
from ..core.cell_module import ShrinkCell
from ..proxy.fused import linear_cross_entropy
from ..proxy.precision import compute_dtypes

EMB_RANGE = 0.1        # embedding (and tied decoder) init U(-0.1, 0.1)


def _mask(gen: torch.Generator, shape, p: float, device) -> torch.Tensor | None:
    """A dropout mask (kept entries 1 / (1 - p), dropped 0) drawn from `gen`; None when p is 0."""
    if p <= 0:
        return None
    return (torch.empty(shape).bernoulli_(1 - p, generator=gen) / (1 - p)).to(device)


def _times(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return x if mask is None else x * mask.to(x.dtype)


class LanguageModel(nn.Module):
    """Embedding -> recurrent core (a cell, or torch's nn.LSTM) -> tied decoder, with the recipe's
    dropouts. `loss` gives the mean next-word loss; `forward` the logits (T*B, V) for inference."""

    def __init__(self, kind: str, cell: Cell | None, ntokens: int, nhid: int, seed: int,
                 precision: str = "fp32", fuse: bool = False):
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        cell_dtype, self.dec_dtype = compute_dtypes(precision)
        self.kind, self.nhid, self.fuse = kind, nhid, fuse
        self.encoder = nn.Embedding(ntokens, nhid)
        with torch.no_grad():
            self.encoder.weight.uniform_(-EMB_RANGE, EMB_RANGE, generator=gen)
        self.decoder_bias = nn.Parameter(torch.zeros(ntokens))
        if kind == "cell":
            self.cell = ShrinkCell(nhid, nhid, cell.to_dict(), dtype=cell_dtype, generator=gen)
        else:
            self.lstm = nn.LSTM(nhid, nhid)
            with torch.no_grad():
                bound = 1 / math.sqrt(nhid)       # torch's own LSTM init, drawn from the run's generator
                for p in self.lstm.parameters():
                    p.uniform_(-bound, bound, generator=gen)

    def init_hidden(self, batch: int):
        z = self.decoder_bias.new_zeros(batch, self.nhid)
        return z if self.kind == "cell" else (z[None], z[None].clone())

    def hidden(self, x, h, masks: dict | None = None):
        """x (T, B) token ids -> the decoder's input (T, B, H) after output dropout, the last hidden
        state, and the core's raw outputs (T, B, H) for activation regularisation."""
        m = masks or {}
        weight = self.encoder.weight if m.get("e") is None else self.encoder.weight * m["e"]
        emb = _times(F.embedding(x, weight), m.get("i"))
        if self.kind == "cell":
            raw, h = self.cell(emb, h, m.get("x"), m.get("h"))
        elif m.get("w") is None:
            raw, h = self.lstm(emb, h)
        else:                                                    # hidden dropout as DropConnect
            raw, h = functional_call(self.lstm, {"weight_hh_l0": self.lstm.weight_hh_l0 * m["w"]}, (emb, h))
        return _times(raw, m.get("o")), h, raw

    def forward(self, x, h, masks: dict | None = None):
        """Logits (T*B, V) in the decoder's dtype, the last hidden state and the raw outputs."""
        out, h, raw = self.hidden(x, h, masks)
        d = self.dec_dtype
        logits = F.linear(out.reshape(-1, self.nhid).to(d), self.encoder.weight.to(d), self.decoder_bias.to(d))
        return logits, h, raw

    def loss(self, x, y, h, masks: dict | None = None):
        """Mean next-word cross-entropy (fp32 scalar) of targets y (T, B), the last hidden state and
        the raw outputs; fused: in row chunks, no full logits tensor."""
        if not self.fuse:
            logits, h, raw = self(x, h, masks)
            return F.cross_entropy(logits.float(), y.reshape(-1)), h, raw
        out, h, raw = self.hidden(x, h, masks)
        loss = linear_cross_entropy(out.reshape(1, -1, self.nhid), self.encoder.weight[None],
                                    self.decoder_bias[None], y.reshape(-1), self.dec_dtype)
        return loss[0], h, raw

    def draw_masks(self, gen: torch.Generator, batch: int, cfg) -> dict:
        """One batch's dropout masks from the five dropout settings of `cfg` (a FinalConfig); the
        same masks serve every time step of the batch."""
        V, H, dev = self.encoder.num_embeddings, self.nhid, self.decoder_bias.device
        masks = {"e": _mask(gen, (V, 1), cfg.dropoute, dev), "i": _mask(gen, (1, batch, H), cfg.dropouti, dev),
                 "o": _mask(gen, (1, batch, H), cfg.dropout, dev)}
        if self.kind == "cell":
            masks.update(x=_mask(gen, (1, batch, H), cfg.dropoutx, dev), h=_mask(gen, (batch, H), cfg.dropouth, dev))
        else:
            masks["w"] = _mask(gen, (4 * H, H), cfg.dropouth, dev)
        return masks


def detach(h):
    return tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
