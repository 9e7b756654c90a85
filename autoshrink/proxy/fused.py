"""The tied decoder and its cross-entropy in one pass over row chunks, without a full logits tensor.

`linear_cross_entropy(h, weight, bias, target)` is the mean over rows of
    F.cross_entropy(h[k] @ weight[k].T + bias[k], target)
for each of the K candidates, returned as (K,). The rows are taken `chunk` at a time: the
chunk's logits are made (in the compute dtype: bf16 GEMMs on fp32 master weights when asked),
turned into softmax probabilities and NLL in fp32, and, when a gradient is wanted, the gradient
of the logits (softmax - one-hot, cast once to the compute dtype) is used at once for the chunk's share of dh, dW
and db, so no logits tensor outlives its chunk and the backward only scales what the forward made by the
incoming gradient (the loss is linear in that scale). Without autograd it only computes losses.
"""
from __future__ import annotations

import torch

CHUNK_ROWS = 256    # rows of logits per chunk: 256 x 7,002 fp32 is 7 MB


def _target_index(K: int, t: torch.Tensor, V: int) -> torch.Tensor:
    """Flat positions (K, c) of the target logits in a contiguous (K, c, V) chunk (faster than gather)."""
    rows = torch.arange(K * t.numel(), device=t.device).view(K, -1)
    return rows * V + t


def _chunk_exp(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor, t: torch.Tensor):
    """One chunk of rows: exp(logits - row max) (K, c, V) fp32, its row sums (K, c, 1), the NLL
    summed per candidate (K,) and the flat target positions. The logits are made in the dtype of
    x and w (bias included)."""
    logits = torch.baddbmm(bias[:, None], x, w.transpose(1, 2))
    at = _target_index(x.shape[0], t, w.shape[1])
    picked = logits.view(-1)[at].float()                                                   # (K, c)
    top = logits.amax(2, keepdim=True).float()
    e = logits.float().sub_(top).exp_()                                                    # fp32
    total = e.sum(2, keepdim=True)
    nll = (total.log() + top).squeeze(2) - picked                                          # lse - target logit
    return e, total, nll.sum(1), at


def chunked_loss(h, weight, bias, target, dtype=torch.float32, chunk=CHUNK_ROWS) -> torch.Tensor:
    """Mean NLL per candidate (K,) without gradients (validation)."""
    w, b, x = weight.to(dtype), bias.to(dtype), h.to(dtype)
    n = h.shape[1]
    total = h.new_zeros(h.shape[0], dtype=torch.float32)
    for r in range(0, n, chunk):
        total += _chunk_exp(x[:, r:r + chunk], w, b, target[r:r + chunk])[2]
    return total / n


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, weight, bias, target, dtype, chunk):
        K, n, _ = h.shape
        w, b, x = weight.to(dtype), bias.to(dtype), h.to(dtype)
        total = h.new_zeros(K, dtype=torch.float32)
        dh = torch.empty(h.shape, dtype=torch.float32, device=h.device)
        dw = torch.zeros(weight.shape, dtype=torch.float32, device=h.device)
        ones = torch.ones(target.shape, dtype=torch.float32, device=h.device)   # the one-hots, by index_add_:
        db = -torch.zeros(bias.shape[1], device=h.device).index_add_(0, target, ones).expand(K, -1)   # (bincount
        # waits on the device for its output size, which a CUDA graph cannot record)
        for r in range(0, n, chunk):
            xc, t = x[:, r:r + chunk], target[r:r + chunk]
            e, sums, nll, at = _chunk_exp(xc, w, b, t)
            total += nll
            inv = sums.reciprocal_()                                                         # (K, c, 1)
            db = db + torch.bmm(inv.transpose(1, 2), e).squeeze(1)                          # sum of softmax rows
            g = e.mul_(inv).to(dtype)                                                        # softmax, cast once
            flat = g.view(-1)
            flat[at] = flat[at] - 1                                                          # minus the one-hots
            dh[:, r:r + chunk] = torch.bmm(g, w)
            dw += torch.bmm(g.transpose(1, 2), xc)
        ctx.save_for_backward(dh, dw, db)
        ctx.n = n
        ctx.dtypes = (h.dtype, weight.dtype, bias.dtype)
        return total / n

    @staticmethod
    def backward(ctx, grad):
        dh, dw, db = ctx.saved_tensors
        s = grad.float() / ctx.n                                                          # (K,)
        return ((dh * s[:, None, None]).to(ctx.dtypes[0]), (dw * s[:, None, None]).to(ctx.dtypes[1]),
                (db * s[:, None]).to(ctx.dtypes[2]), None, None, None)


def linear_cross_entropy(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, target: torch.Tensor,
                         dtype: torch.dtype = torch.float32, chunk: int = CHUNK_ROWS) -> torch.Tensor:
    """Mean cross-entropy of logits h @ weight^T + bias per candidate. h: (K, n, H); weight: (K, V, H);
    bias: (K, V); target: (n,) class ids shared by the K candidates. Returns (K,) fp32."""
    if torch.is_grad_enabled() and (h.requires_grad or weight.requires_grad or bias.requires_grad):
        return _LinearCrossEntropy.apply(h, weight, bias, target, dtype, chunk)
    return chunked_loss(h, weight, bias, target, dtype, chunk)
