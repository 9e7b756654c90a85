"""Training one cell under the proxy: the one way the final cell of a search, the compare lab and
`python -m autoshrink proxy` train a cell, so that their figures agree.

    result = train_cell(cell, cfg)      # a train.Result: ppl, val_loss, flops, curve, ...

The seed rule: the cell's weights come from derive_seed(cfg.seed, SALT_FINAL) and the starting
embedding from derive_seed(cfg.seed, SALT_EMB) (or --emb_path), so the final cell of a search and
`proxy --cell SAVE_DIR --which final` train the same model with the same numbers.
"""
from __future__ import annotations

import torch

from .backend import make_backend
from .core.cell import Cell
from .core.config import SearchConfig
from .core.data import initial_embedding, load_corpus, load_vectors
from .core.runtime import SALT_EMB, SALT_FINAL, derive_seed, resolve_device
from .proxy.train import Result


def start_embedding(cfg: SearchConfig, words: list[str]) -> torch.Tensor:
    """The embedding every model of a run starts from: --emb_path vectors, else U(-0.5, 0.5)."""
    vectors = load_vectors(cfg.emb_path) if cfg.emb_path else None
    return initial_embedding(words, cfg.emsize, derive_seed(cfg.seed, SALT_EMB), vectors)


def cell_seed(cfg: SearchConfig) -> int:
    """The weight seed of a cell trained on its own (the final cell, proxy, the compare lab)."""
    return derive_seed(cfg.seed, SALT_FINAL)


def train_cell(cell: Cell, cfg: SearchConfig, seed: int | None = None, corpus=None, embedding=None, device=None,
               on_event=None, should_stop=None, checkpoint=None, backend=None) -> Result | None:
    """Train `cell` from scratch under the proxy with `cfg`'s settings and validate it. `seed` (default
    cell_seed(cfg)) sets the weights; `corpus` and `embedding` default to cfg.data and
    start_embedding; `backend` to make_backend(cfg) (here, or a Ray task). Events: on_event(event)
    with train_cells' records (events.EpochDone, ...), index 0. None if stopped."""
    cfg.check()
    corpus = corpus if corpus is not None else load_corpus(cfg.data)
    embedding = embedding if embedding is not None else start_embedding(cfg, corpus.words)
    device = device if device is not None else resolve_device(cfg.device)
    backend = backend if backend is not None else make_backend(cfg)
    [r] = backend.train([cell], [cell_seed(cfg) if seed is None else seed], corpus, embedding, cfg, device,
                        on_event=on_event, should_stop=should_stop, checkpoint=checkpoint)
    return r
