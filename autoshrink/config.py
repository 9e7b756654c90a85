"""The search configuration: one dataclass shared by the CLI, the widgets and the notebooks.

Field names are the seed's command-line flag names (`--nodes`, `--emsize`, `--keep_fraction`, ...),
so one name means one concept everywhere. `SearchConfig.check()` turns bad values into a
`ConfigError` whose message is one line naming the problem and the fix.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional


class ConfigError(ValueError):
    """A setting or an input file is unusable; the message says which and how to fix it."""


@dataclass
class SearchConfig:
    # --- search space
    nodes: int = 6                    # N, nodes of the ShrinkCell (the published search uses 6)
    # --- data
    data: str = "data/penn_proxy"     # folder with train.txt, valid.txt, test.txt (the PTB proxy)
    emb_path: Optional[str] = None    # pretrained word vectors: pickled dict word -> vector, or GloVe text
    # --- model sizes (the decoder is tied to the embedding, so all three must be equal)
    emsize: int = 100                 # word embedding size E
    nhid: Optional[int] = None        # hidden size H of the cell; None means emsize
    nhidlast: Optional[int] = None    # size of the last layer (seed flag); None means nhid
    # --- proxy training of each candidate
    lr: float = 20.0                  # initial SGD learning rate
    clip: float = 0.25                # gradient-norm clip, per candidate
    epochs: int = 10                  # proxy training epochs per candidate
    batch_size: int = 128             # training batch (columns of the token stream)
    eval_batch_size: int = 256        # validation batch
    bptt: int = 35                    # training sequence length (17 with probability 0.05)
    # --- the shrink loop
    keep_fraction: float = 0.25       # stop once edges <= round(full edges * keep_fraction)
    max_steps_to_action: int = 10     # candidates (edges tried) per shrink step
    drop_k: int = 1                   # edges removed for good per shrink step
    # --- running
    seed: int = 1                     # run seed: ops, edge order and every candidate's weights follow from it
    device: str = "auto"              # "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...
    parallel: int = 0                 # candidates trained together in one batched model; 0 = auto (whole step on GPU, 1 on CPU)
    save: str = "search-run"          # folder for search.json, graph pickles, curves and log.txt
    precision: str = "auto"           # "auto" (bf16 where the device runs it fast and nhid >= 64, else fp32), "fp32" or "bf16" (fp32 master weights)
    fuse: str = "auto"                # fused kernels (chunked decoder + cross-entropy): "auto", "on" or "off"

    def __post_init__(self) -> None:
        if self.nhid is None:
            self.nhid = self.emsize
        if self.nhidlast is None:
            self.nhidlast = self.nhid

    @property
    def full_edges(self) -> int:
        return self.nodes * (self.nodes - 1) // 2

    @property
    def threshold(self) -> int:
        return round(self.full_edges * self.keep_fraction)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown setting(s) {unknown}; known settings are {sorted(names)}")
        return cls(**d)

    def replace(self, **changes) -> "SearchConfig":
        return dataclasses.replace(self, **changes)

    def check(self) -> "SearchConfig":
        """Raise ConfigError (one line, naming the fix) for the first unusable value; return self."""
        for problem in _problems(self):
            raise ConfigError(problem)
        return self


def _problems(c: SearchConfig):
    ints = ("nodes", "emsize", "nhid", "nhidlast", "epochs", "batch_size", "eval_batch_size",
            "bptt", "max_steps_to_action", "drop_k", "seed", "parallel")
    for name in ints:
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, int):
            yield f"--{name} must be a whole number, got {v!r}"
    if c.nodes < 2:
        yield f"--nodes must be at least 2 (a cell needs an edge), got {c.nodes}"
    for name in ("emsize", "nhid", "epochs", "batch_size", "eval_batch_size", "bptt"):
        if getattr(c, name) < 1:
            yield f"--{name} must be at least 1, got {getattr(c, name)}"
    if c.nhid != c.emsize:
        yield f"--emsize ({c.emsize}) must equal --nhid ({c.nhid}): the decoder is tied to the embedding"
    if c.nhidlast != c.nhid:
        yield f"--nhidlast ({c.nhidlast}) must equal --nhid ({c.nhid}): the cell output feeds the tied decoder"
    if not 0 < c.keep_fraction <= 1:
        yield f"--keep_fraction must be in (0, 1], got {c.keep_fraction}"
    if c.max_steps_to_action < 1:
        yield f"--max_steps_to_action must be at least 1, got {c.max_steps_to_action}"
    if c.drop_k < 1:
        yield f"--drop_k must be at least 1, got {c.drop_k}"
    if c.parallel < 0:
        yield f"--parallel must be 0 (whole step) or a positive number, got {c.parallel}"
    if not c.lr > 0:
        yield f"--lr must be positive, got {c.lr}"
    if not c.clip > 0:
        yield f"--clip must be positive, got {c.clip}"
    if c.precision not in ("auto", "fp32", "bf16"):
        yield f"--precision must be auto, fp32 or bf16, got {c.precision!r}"
    if c.fuse not in ("auto", "on", "off"):
        yield f"--fuse must be auto, on or off, got {c.fuse!r}"
