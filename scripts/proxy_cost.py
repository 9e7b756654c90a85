"""What a longer proxy costs per training: the same cell trained under the cheap proxy and a longer
one, rounds interleaved (cheap, longer, cheap, longer, ...) so the machine's load hits both,
start-up and evaluation included. Prints the CPU, each training's wall time and the ratio.

    python scripts/proxy_cost.py --data data/penn_proxy --ops identity,identity,identity,sigmoid --epochs 2 6

The settings are the tiny preset's (docs/ground-truth.md, "Proxy fidelity"); absolute seconds vary
with the machine's load, the ratio is the result.
"""
import argparse
import statistics
import time

import torch

from autoshrink.core.cell import Cell
from autoshrink.core.config import SearchConfig, preset
from autoshrink.core.data import initial_embedding, load_corpus
from autoshrink.core.runtime import resolve_device
from autoshrink.proxy.train import train_cells


def cpu_name() -> str:
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown CPU")


def timed(cell: Cell, cfg: SearchConfig, corpus, emb, device) -> tuple[float, float]:
    t = time.perf_counter()
    [r] = train_cells([cell], [cfg.seed], corpus, emb, cfg, device)
    return time.perf_counter() - t, r.ppl


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/penn_proxy")
    p.add_argument("--ops", default="identity,identity,identity,sigmoid", help="the 4 node ops of the full cell")
    p.add_argument("--epochs", type=int, nargs=2, default=[2, 6], metavar=("CHEAP", "LONGER"))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cfg = SearchConfig(**preset("tiny"), data=a.data, ops=a.ops, device="cpu", seed=1)
    cell = Cell.full(a.ops.split(","))
    corpus, device = load_corpus(a.data), resolve_device("cpu")
    emb = initial_embedding(corpus.words, cfg.emsize, cfg.seed)
    secs = {e: [] for e in a.epochs}
    for _ in range(a.rounds):
        for e in a.epochs:
            s, ppl = timed(cell, cfg.replace(epochs=e), corpus, emb, device)
            secs[e].append(s)
            print(f"  {e} epochs: {s:.1f} s, valid ppl {ppl:.1f}", flush=True)
    cheap, longer = (statistics.fmean(secs[e]) for e in a.epochs)
    print(f"{cpu_name()}, {a.threads} torch thread(s), {a.rounds} interleaved round(s): {cheap:.1f} s cheap "
          f"({a.epochs[0]} epochs), {longer:.1f} s longer ({a.epochs[1]} epochs), x{longer / cheap:.2f} a training")


if __name__ == "__main__":
    main()
