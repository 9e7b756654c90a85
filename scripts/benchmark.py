"""Benchmark: proxy training of the full 6-node cell, batched (K = 10 candidates in one model)
against one candidate at a time (K = 1), measured side by side in one run.

    python scripts/benchmark.py --data data/penn_proxy [--device auto] [--epochs 1]

Prints seconds per candidate-epoch of each path and their ratio (K=1 time / K=10 time per
candidate: above 1 means batching is faster). Absolute times vary with the machine's load.
"""
import argparse
import time

import numpy as np
import torch

from autoshrink.cell import Cell, random_ops
from autoshrink.config import SearchConfig
from autoshrink.data import initial_embedding, load_corpus
from autoshrink.train import resolve_device, train_cells


def timed(cells, seeds, corpus, emb, cfg, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    train_cells(cells, seeds, corpus, emb, cfg, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/penn_proxy")
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=1, help="epochs per timing (early ends are off at this count)")
    p.add_argument("--k", type=int, default=10, help="candidates in the batched path")
    a = p.parse_args()
    cfg = SearchConfig(data=a.data, epochs=a.epochs, device=a.device).check()
    device = resolve_device(cfg.device)
    corpus = load_corpus(cfg.data)
    emb = initial_embedding(corpus.words, cfg.emsize, 0)
    full = Cell.full(random_ops(6, np.random.default_rng(0)))
    timed([full], [0], corpus, emb, cfg.replace(epochs=1), device)  # warm-up
    one = timed([full], [1], corpus, emb, cfg, device) / cfg.epochs
    many = timed([full] * a.k, list(range(a.k)), corpus, emb, cfg, device) / (a.k * cfg.epochs)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {name}")
    print(f"K=1 : {one:.3f} s per candidate-epoch")
    print(f"K={a.k}: {many:.3f} s per candidate-epoch")
    print(f"ratio (K=1 / K={a.k}): {one / many:.2f}x")


if __name__ == "__main__":
    main()
