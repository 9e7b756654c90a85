"""The proxy's training step, eager or recorded as a CUDA graph (`--graphs`): the forward pass, the
backward pass and the clipped SGD update of all K candidates. Recorded once and then replayed, a
step is one graph launch instead of thousands of small kernels (on a GPU the cell's time loop is
bound by kernel launches, not arithmetic).

`StepRunner(model, batch, clip, bptt, capture)` owns the hidden state carried from step to step;
`step(x, y, lr)` trains one step of length L = x.shape[0] and returns the K losses. With
capture=False (the default everywhere until a GPU measurement says otherwise) every step runs
eagerly. With capture=True steps of length bptt replay one graph, recorded at the first such step
after WARMUP eager steps on a side stream (the weights and hidden state they change are put back),
reading the learning rate from a 0-d tensor; other lengths (bptt // 2, the last step of an epoch)
run eagerly on the same buffers. If recording fails the
runner says so in one warning (RuntimeWarning) and goes on eagerly. A replay writes the weights, gradients
and hidden state it recorded in place, so a model that changes shape (BatchedRNNModel.keep)
needs a new StepRunner.
"""
from __future__ import annotations

import warnings

import torch

from ..core.errors import ConfigError

WARMUP = 3          # eager steps on a side stream before recording (as torch's docs ask)


def resolve_graphs(name: str, device: torch.device) -> bool:
    """Whether training records CUDA graphs. "auto" is off until a GPU measurement shows the gain
    (scripts/gpu_check.sh); "on" needs a CUDA device."""
    if name == "on" and device.type != "cuda":
        raise ConfigError(f"--graphs on needs a CUDA device, not {device}; use --graphs off")
    return name == "on"


def clip_step(model, lr, clip: float) -> None:
    """SGD step with each candidate's gradient norm clipped to `clip` (as torch's clip_grad_norm_).
    `lr` is a number, or a 0-d tensor that a recorded graph reads at replay."""
    params, coef = model.clip_factors(clip)                                    # coef: (K,)
    for p in params:
        step = p.grad * coef.view(-1, *[1] * (p.dim() - 1))
        if isinstance(lr, torch.Tensor):
            p.data.sub_(step * lr)
        else:
            p.data.add_(step, alpha=-lr)


class StepRunner:
    def __init__(self, model, batch: int, clip: float, bptt: int, capture: bool):
        self.model, self.clip, self.bptt, self.capture = model, clip, bptt, capture
        self.h = model.init_hidden(batch)                                      # (K, B, H), carried step to step
        self.lr = torch.zeros((), device=self.h.device)
        self.graph = None                                                      # (graph, x, y, loss) once recorded

    def reset(self) -> None:
        """A new epoch: the hidden state starts from zeros."""
        self.h.zero_()

    def step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> torch.Tensor:
        """Train one step on tokens x (L, B) with targets y (L, B) at learning rate lr; the K losses."""
        self.lr.fill_(lr)
        if self.capture and x.shape[0] == self.bptt and self.graph is None:
            self.graph = self._record(x, y)
        if self.graph is None or x.shape[0] != self.bptt:
            return self._body(x, y, lr)
        graph, gx, gy, loss = self.graph
        gx.copy_(x)
        gy.copy_(y)
        graph.replay()
        return loss.clone()

    def _body(self, x: torch.Tensor, y: torch.Tensor, lr, recording: bool = False) -> torch.Tensor:
        """The step itself, at learning rate `lr` (a number; self.lr in a graph). Eagerly the gradients
        are dropped first; while recording they are already None, so the backward allocates them in
        the graph's memory and a replay overwrites them."""
        if not recording:
            self.model.zero_grad(set_to_none=True)
        loss, h = self.model.loss(x, y, self.h)
        loss.sum().backward()
        clip_step(self.model, lr, self.clip)
        self.h.copy_(h.detach())
        return loss.detach()

    def _record(self, x: torch.Tensor, y: torch.Tensor):
        """(graph, static x, static y, static loss), or None (and eager from now on) if recording failed."""
        params = list(self.model.parameters())
        saved = [p.detach().clone() for p in params], self.h.clone()
        gx, gy = x.clone(), y.clone()
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(WARMUP):
                    self._body(gx, gy, self.lr)
            torch.cuda.current_stream().wait_stream(side)
            self._put_back(params, saved)
            self.model.zero_grad(set_to_none=True)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=side):         # the stream the warm-up ran on
                loss = self._body(gx, gy, self.lr, recording=True)
        except RuntimeError as e:
            self._put_back(params, saved)
            self.capture = False
            warnings.warn(f"CUDA graphs: recording failed ({str(e).splitlines()[0]}); training on without them",
                          RuntimeWarning, stacklevel=2)
            return None
        return graph, gx, gy, loss

    def _put_back(self, params: list, saved: tuple) -> None:
        with torch.no_grad():
            for p, s in zip(params, saved[0]):
                p.copy_(s)
            self.h.copy_(saved[1])
