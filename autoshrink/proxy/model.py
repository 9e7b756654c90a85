"""The language model: K independent ShrinkCell RNN language models stacked on a leading axis.

Each of the K candidates has its own cell (mask and ops), its own weights (tied embedding and
decoder, the init projection W0, one H x 2H matrix per edge) and is computed in the same pass, so
a whole shrink step can run as one batched model on a GPU. K = 1 is a plain single model.

The cell, for one time step with input x_t and previous hidden h (docs/algorithm.md):
    [c0, g0] = [x_t, h] @ W0;  s0 = h + sigmoid(c0) * (tanh(g0) - h)
    edge i -> j: [c, g] = s_i @ W_ij;  message = s_i + sigmoid(c) * (op_j(g) - s_i)
    s_j = mean of the messages entering j;  output = next hidden = mean of the output nodes' states.
The model knows nothing of the search: it only reads the cells it is given.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.cell import OPS, Cell
from ..core.cell_module import INIT_RANGE  # cell weights ~ U(-0.04, 0.04)
from ..core.ops import OP_FN
from .fused import linear_cross_entropy
from .fused_cell import cell_loop
from .precision import compute_dtypes


def init_cell_weights(seed: int, nodes: int, E: int, H: int) -> tuple[torch.Tensor, dict]:
    """One candidate's cell weights from its own seed: W0 ((E+H) x 2H) and W_ij (H x 2H) for every
    possible edge, drawn in a fixed order, so an edge's weights do not depend on the other edges."""
    g = torch.Generator().manual_seed(int(seed))
    u = lambda *shape: torch.empty(*shape).uniform_(-INIT_RANGE, INIT_RANGE, generator=g)
    w0 = u(E + H, 2 * H)
    edges = {(i, j): u(H, 2 * H) for i in range(nodes) for j in range(i + 1, nodes)}
    return w0, edges


def _apply_ops(groups: list, g: torch.Tensor) -> torch.Tensor:
    """Each target's op on its slice of g (K, B, M, H): one call per op in use, masked when shared."""
    (op, sel), rest = groups[0], groups[1:]
    out = OP_FN[op](g) if sel is None else sel * OP_FN[op](g)
    for op, sel in rest:
        out = out + sel * OP_FN[op](g)
    return out


class BatchedRNNModel(nn.Module):
    def __init__(self, cells: list[Cell], embedding: torch.Tensor, seeds: list[int], nhid: int,
                 precision: str = "fp32", fuse: bool = False):
        """precision "fp32", "bf16" (bf16 arithmetic on these fp32 weights) or "bf16-decoder" (bf16 in
        the tied decoder and its loss only); fuse: the chunked fused
        decoder + cross-entropy (fused.py) and the cell's time loop with a hand-written backward
        (fused_cell.py), each also switchable alone through fuse_loss / fuse_cell. The defaults are
        the plain fp32 reference path."""
        super().__init__()
        (self.dtype, self.dec_dtype), self.fuse_loss, self.fuse_cell = compute_dtypes(precision), fuse, fuse
        K, N = len(cells), cells[0].nodes
        V, E = embedding.shape
        H = nhid
        assert E == H, "the decoder is tied to the embedding: emsize must equal nhid"
        assert all(c.nodes == N for c in cells) and len(seeds) == K
        self.N, self.H = N, H
        weights = [init_cell_weights(s, N, E, H) for s in seeds]
        self.encoder = nn.Parameter(embedding.detach().float().repeat(K, 1, 1).clone())    # (K, V, E), tied decoder
        self.dec_bias = nn.Parameter(torch.zeros(K, V))                                    # (K, V)
        self.w0 = nn.Parameter(torch.stack([w for w, _ in weights]))                       # (K, E+H, 2H)
        # outgoing edges of source i side by side: columns [2H*(j-i-1), 2H*(j-i)) belong to edge i -> j
        self.w_src = nn.ParameterList([
            nn.Parameter(torch.stack([torch.cat([e[(i, j)] for j in range(i + 1, N)], 1) for _, e in weights]))
            for i in range(N - 1)])                                                        # (K, H, 2H*(N-1-i))
        masks = np.zeros((K, N, N), dtype=np.float32)
        leaves = np.zeros((K, N), dtype=np.float32)
        for k, c in enumerate(cells):
            masks[k] = np.array(c.prune().mask)
            leaves[k, c.output_nodes()] = 1.0
        self.register_buffer("mask", torch.from_numpy(masks))                             # (K, N, N)
        self.register_buffer("leaf", torch.from_numpy(leaves))                            # (K, N)
        self.register_buffer("op_idx", torch.tensor([[OPS.index(o) for o in c.ops] for c in cells]))  # (K, N)
        self._plan()

    def _plan(self) -> None:
        """Python-side facts read every time step, kept here so the step never waits on the device."""
        mask, ops = self.mask.cpu().numpy(), self.op_idx.cpu().numpy()
        self._has_out = [bool(mask[:, i].any()) for i in range(self.N)]   # does any candidate use node i's edges
        self._ops_np = ops

    @property
    def K(self) -> int:
        return self.w0.shape[0]

    def keep(self, idx: torch.Tensor) -> None:
        """Keep only candidates `idx` (a 1-D index tensor), dropping the others' weights in place."""
        for p in self.parameters():
            p.grad = None
            p.data = p.data[idx]
        for name, b in list(self.named_buffers()):
            setattr(self, name, b[idx])
        self._plan()

    def init_hidden(self, batch: int) -> torch.Tensor:
        return self.w0.new_zeros(self.K, batch, self.H)

    def step_plan(self, dtype: torch.dtype = torch.float32) -> tuple:
        """What every time step reads, made once per forward pass: 1 / incoming edges of each node
        (K, 1, N, 1), the output weights (K, N, 1, 1) that average the output nodes, and per source
        node i the 0/1 mask of its edges i -> i+1..N-1, (K, 1, M, 1), with the op groups of their
        targets: (op, selection), selection None when that op serves every target of every candidate.
        Everything in `dtype`, the dtype the cell computes in, but the output weights: fp32, since
        the mean over output nodes is taken in fp32 (1/3 in bf16 is 0.33398)."""
        inv_count = (1.0 / self.mask.sum(1).clamp(min=1)[:, None, :, None]).to(dtype)
        leaf = self.leaf / self.leaf.sum(1, keepdim=True)
        sources = []
        for i in range(self.N - 1):
            if not self._has_out[i]:
                sources.append(None)
                continue
            ops = self.op_idx[:, i + 1:]                                       # (K, M)
            used = sorted({int(o) for o in self._ops_np[:, i + 1:].ravel()})
            groups = ([(OPS[used[0]], None)] if len(used) == 1 else
                      [(OPS[o], (ops == o).to(dtype)[:, None, :, None]) for o in used])
            sources.append((self.mask[:, i, i + 1:][:, None, :, None].to(dtype), groups))
        return inv_count, leaf[:, :, None, None], sources

    def weights(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """W0 and the per-source edge weights in the compute dtype, cast once per forward pass
        (in fp32 they are the parameters themselves)."""
        return self.w0.to(self.dtype), [w.to(self.dtype) for w in self.w_src]

    def cell(self, xw: torch.Tensor, h: torch.Tensor, plan: tuple | None = None,
             weights: tuple | None = None) -> torch.Tensor:
        """One time step. xw: (K, B, 2H) = x_t @ W0[:E]; h: (K, B, H). Returns the next hidden (K, B, H).
        The messages leaving one node are computed together, one op for all its edges."""
        inv_count, leaf, sources = self.step_plan() if plan is None else plan
        w0, w_src = (self.w0, self.w_src) if weights is None else weights
        K, B, H = h.shape
        N = self.N
        c0, g0 = (xw + torch.bmm(h, w0[:, -H:])).chunk(2, -1)
        s = h + torch.sigmoid(c0) * (torch.tanh(g0) - h)                   # node 0
        incoming = None                                                    # (K, B, N, H): sums of messages
        states = [s]
        for i in range(N):
            if i > 0:
                s = incoming[:, :, i] * inv_count[:, :, i] if incoming is not None else torch.zeros_like(h)
                states.append(s)
            if i == N - 1 or sources[i] is None:
                continue
            edge_mask, groups = sources[i]
            out = torch.bmm(s, w_src[i]).view(K, B, N - 1 - i, 2, H)     # targets i+1..N-1
            c, g = torch.sigmoid(out[:, :, :, 0]), out[:, :, :, 1]
            g = _apply_ops(groups, g)
            si = s[:, :, None]
            msgs = edge_mask * (si + c * (g - si))                         # (K, B, M, H)
            msgs = F.pad(msgs, (0, 0, i + 1, 0))                          # (K, B, N, H)
            incoming = msgs if incoming is None else incoming + msgs
        return (torch.stack(states, 1).float() * leaf).sum(1).to(h.dtype)   # mean of the output nodes, in fp32

    def hidden_states(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (T, B) token ids; h: (K, B, H). Returns the cell outputs (K, T*B, H) in the compute
        dtype and the last hidden (K, B, H) in fp32."""
        T, B = x.shape
        E = self.encoder.shape[2]
        w0, w_src = weights = self.weights()
        emb = self.embed(x.reshape(-1)).to(self.dtype)                         # (K, T*B, E)
        xw = torch.bmm(emb, w0[:, :E]).view(self.K, T, B, -1)                  # (K, T, B, 2H)
        plan = self.step_plan(self.dtype)
        h = h.to(self.dtype)
        if self.fuse_cell:
            out = cell_loop(xw, h, w0[:, E:], w_src, plan)                     # (K, T, B, H)
            return out.view(self.K, T * B, -1), out[:, -1].float()
        outs = []
        for t in range(T):
            h = self.cell(xw[:, t], h, plan, weights)
            outs.append(h)
        return torch.stack(outs, 1).view(self.K, T * B, -1), h.float()         # (K, T*B, H)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (T, B) token ids; h: (K, B, H). Returns logits (K, T, B, V) and the last hidden (K, B, H)."""
        T, B = x.shape
        out, h = self.hidden_states(x, h)
        d = self.dec_dtype
        logits = torch.baddbmm(self.dec_bias.to(d)[:, None, :], out.to(d), self.encoder.to(d).transpose(1, 2))
        return logits.view(self.K, T, B, -1), h

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Each candidate's embedding rows of `ids` (n,), as (K, n, E). One F.embedding over the
        stacked tables, whose backward sums repeated ids in a fixed order (index gathers may not)."""
        K, V, E = self.encoder.shape
        offsets = torch.arange(K, device=ids.device)[:, None] * V
        return F.embedding(ids[None] + offsets, self.encoder.reshape(K * V, E))

    def loss(self, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean next-word NLL of every candidate, (K,) fp32, and the last hidden state."""
        if self.fuse_loss:
            out, h = self.hidden_states(x, h)
            return linear_cross_entropy(out, self.encoder, self.dec_bias, y.reshape(-1), self.dec_dtype), h
        logits, h = self(x, h)
        K, V = self.K, logits.shape[-1]
        nll = F.cross_entropy(logits.reshape(-1, V).float(), y.reshape(-1).repeat(K), reduction="none")
        return nll.view(K, -1).mean(1), h

    def clip_factors(self, clip: float) -> tuple[list, torch.Tensor]:
        """The parameters that have gradients, and each candidate's factor (K,) that clips its
        gradient norm to `clip` (as torch's clip_grad_norm_)."""
        params = [p for p in self.parameters() if p.grad is not None]
        sq = sum(p.grad.pow(2).flatten(1).sum(1) for p in params)          # (K,)
        return params, (clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)

    def edge_weight(self, k: int, i: int, j: int) -> torch.Tensor:
        """W_ij of candidate k, (H, 2H), a view into the stacked parameters."""
        H = self.H
        return self.w_src[i][k][:, 2 * H * (j - i - 1): 2 * H * (j - i)]

    def n_params(self, k: int = 0) -> int:
        """Trainable numbers of candidate k's model, counting only the edges its cell has."""
        _, V, E = self.encoder.shape
        return count_params(int(self.mask[k].sum()), V, E, self.H)


def count_params(edges: int, V: int, E: int, H: int) -> int:
    """Trainable numbers of one candidate's model with `edges` live edges: embedding (tied decoder),
    decoder bias, W0 and one H x 2H matrix per edge."""
    return V * E + V + (E + H) * 2 * H + edges * H * 2 * H
