"""The cell's whole time loop as one autograd node, with a hand-written backward (BPTT).

`cell_loop(xw, h, w0h, w_src, plan)` gives the same outputs as calling BatchedRNNModel.cell for
t = 0..T-1 (up to float rounding), but autograd sees one node instead of a hundred-odd small ones
per time step: the forward runs without recording, keeping each step's node states, gates and op
outputs; the backward walks the steps in reverse, source node by source node, and the weight
gradients are made at the end as one large GEMM per weight over all T x B rows.

For source i and its targets j > i (docs/algorithm.md): [c, g] = s_i @ W_i, c = sigmoid, f = op_j(g),
m_ij = s_i + c * (f - s_i), and s_j = sum_i a_ij * m_ij with a_ij = mask_ij / (incoming edges of j).
Each op's derivative is read from its output f (ops.py).
"""
from __future__ import annotations

import torch

from ..core.ops import OP_FN, OP_GRAD


def _ops(groups: list, g: torch.Tensor) -> torch.Tensor:
    out = None
    for op, sel in groups:
        y = OP_FN[op](g) if sel is None else sel * OP_FN[op](g)
        out = y if out is None else out + y
    return out


def _ops_grad(groups: list, f: torch.Tensor) -> torch.Tensor | None:
    """d op / d g from the op outputs f; None when it is 1 everywhere (identity only)."""
    if len(groups) == 1 and groups[0][0] == "identity" and groups[0][1] is None:
        return None
    out = None
    for op, sel in groups:
        d = OP_GRAD[op](f) if sel is None else sel * OP_GRAD[op](f)
        out = d if out is None else out + d
    return out


def _edges(plan: tuple) -> list:
    """Per source node: None, or (a (K, 1, M, 1), op groups of its M targets)."""
    inv_count, _, sources = plan
    return [None if src is None else (src[0] * inv_count[:, :, i + 1:], src[1]) for i, src in enumerate(sources)]


class _CellLoop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h, w0h, edges, leaf, *w_src):
        K, T, B, _ = xw.shape
        H = h.shape[-1]
        N = leaf.shape[2]
        steps, outs = [], []
        for t in range(T):
            z0 = torch.baddbmm(xw[:, t], h, w0h)
            c0, g0 = torch.sigmoid(z0[..., :H]), torch.tanh(z0[..., H:])
            states = h.new_zeros(K, B, N, H)
            states[:, :, 0] = h + c0 * (g0 - h)
            gates = []
            for i, edge in enumerate(edges):
                if edge is None:
                    gates.append(None)
                    continue
                a, groups = edge
                si = states[:, :, i:i + 1]
                out = torch.bmm(states[:, :, i], w_src[i]).view(K, B, -1, 2, H)
                c, f = torch.sigmoid(out[:, :, :, 0]), _ops(groups, out[:, :, :, 1])
                states[:, :, i + 1:] += a * (si + c * (f - si))
                gates.append((c, f))
            steps.append((h, c0, g0, states, gates))
            h = (states.float() * leaf).sum(2).to(states.dtype)        # the mean over output nodes in fp32
            outs.append(h)
        ctx.steps, ctx.edges, ctx.leaf = steps, edges, leaf
        ctx.save_for_backward(w0h, *w_src)
        return torch.stack(outs, 1)

    @staticmethod
    def backward(ctx, dout):
        w0h, *w_src = ctx.saved_tensors
        edges, leaf, steps = ctx.edges, ctx.leaf, ctx.steps
        K, T, B, H = dout.shape
        dxw = dout.new_empty(K, T, B, 2 * H)
        dsrc = [[None] * T if e is not None else None for e in edges]
        dh = torch.zeros_like(dout[:, 0])
        for t in reversed(range(T)):
            h, c0, g0, states, gates = steps[t]
            ds = (leaf * (dout[:, t] + dh)[:, :, None]).to(dout.dtype)               # (K, B, N, H)
            for i in reversed(range(len(edges))):
                if edges[i] is None:
                    continue
                (a, groups), (c, f) = edges[i], gates[i]
                si = states[:, :, i:i + 1]
                dm = a * ds[:, :, i + 1:]                                             # (K, B, M, H)
                dc = dm * (f - si) * c * (1 - c)
                dg = dm * c
                fg = _ops_grad(groups, f)
                dg = dg if fg is None else dg * fg
                d = torch.stack((dc, dg), 3).view(K, B, -1)                           # (K, B, M*2H)
                dsrc[i][t] = d
                ds[:, :, i] += (dm * (1 - c)).sum(2) + torch.bmm(d, w_src[i].transpose(1, 2))
            ds0 = ds[:, :, 0]
            dz0 = torch.cat((ds0 * (g0 - h) * c0 * (1 - c0), ds0 * c0 * (1 - g0 * g0)), -1)
            dxw[:, t] = dz0
            dh = ds0 * (1 - c0) + torch.bmm(dz0, w0h.transpose(1, 2))
        rows = lambda xs: torch.stack(xs, 1).view(K, T * B, -1)
        dw0h = torch.bmm(rows([s[0] for s in steps]).transpose(1, 2), dxw.view(K, T * B, -1))
        dws = [None if dsrc[i] is None else
               torch.bmm(rows([s[3][:, :, i] for s in steps]).transpose(1, 2), rows(dsrc[i]))
               for i in range(len(edges))]
        ctx.steps = None
        return (dxw, dh, dw0h, None, None, *dws)


def cell_loop(xw: torch.Tensor, h: torch.Tensor, w0h: torch.Tensor, w_src: list, plan: tuple) -> torch.Tensor:
    """Run the cell over xw (K, T, B, 2H) from h (K, B, H), with W0's hidden rows w0h (K, H, 2H),
    the per-source edge weights w_src and the model's step_plan. Returns the outputs (K, T, B, H)."""
    inv_count, leaf, _ = plan
    K, N = leaf.shape[:2]
    return _CellLoop.apply(xw, h, w0h, _edges(plan), leaf.view(K, 1, N, 1), *w_src)
