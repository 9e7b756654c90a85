"""Benchmark: one shrink step of 10 tiny candidates, local backend against Ray with 2 workers on
this machine, measured side by side in one run.

    python scripts/ray_benchmark.py --data data/penn_proxy [--workers 2] [--lines 300] [--emsize 8]

Prints the wall time of the step with each backend (one torch thread per candidate in both, Ray's
workers warmed up by a first step) and their ratio (local / Ray: above 1 means Ray is faster), the
time Ray takes to start, and Ray's overhead per task: the worker time a task spends beyond what the
local step spends on its candidate, (workers x Ray step - local step) / candidates; and, apart, the
dispatch alone (the step with zero epochs: cells shipped, corpus read from the object store, model
built, results back). Ray pays once a candidate trains for longer than about
overhead / (workers - 1) seconds. Absolute times vary with the machine's load.
"""
import argparse
import tempfile
import time
from pathlib import Path

import ray
import torch

from autoshrink.backend import TASK_THREADS, LocalBackend, RayBackend
from autoshrink.core.config import SearchConfig
from autoshrink.core.data import load_corpus
from autoshrink.core.rules import initial_cell
from autoshrink.core.runtime import derive_seed, resolve_device
from autoshrink.one_cell import start_embedding


def timed(backend, cells, seeds, corpus, emb, cfg) -> float:
    t = time.perf_counter()
    backend.train(cells, seeds, corpus, emb, cfg, resolve_device(cfg.device))
    return time.perf_counter() - t


def head(data: str, lines: int, out: Path) -> str:
    """The first `lines` lines of the training text (a tenth as many of the others) in `out`."""
    for split, n in (("train", lines), ("valid", max(lines // 10, 1)), ("test", max(lines // 10, 1))):
        text = (Path(data) / f"{split}.txt").read_text().splitlines(keepends=True)[:n]
        (out / f"{split}.txt").write_text("".join(text))
    return str(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/penn_proxy")
    p.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray, one task each")
    p.add_argument("--candidates", type=int, default=10)
    p.add_argument("--lines", type=int, default=300, help="training lines of --data used (candidate size)")
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--emsize", type=int, default=8)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch_size", type=int, default=16)
    a = p.parse_args()
    data = head(a.data, a.lines, Path(tempfile.mkdtemp()))
    cfg = SearchConfig(data=data, nodes=a.nodes, emsize=a.emsize, epochs=a.epochs, batch_size=a.batch_size,
                       eval_batch_size=16, device="cpu", backend="ray").check()
    corpus = load_corpus(cfg.data)
    emb = start_embedding(cfg, corpus.words)
    full = initial_cell(cfg)
    edges = full.edges[: a.candidates]
    cells = [full.remove(e)[0] for e in edges]
    seeds = [derive_seed(cfg.seed, 0, i, j) for i, j in edges]
    n = len(cells)

    t = time.perf_counter()
    ray.init(num_cpus=a.workers, include_dashboard=False)
    remote = RayBackend(None)
    started = time.perf_counter() - t
    first = timed(remote, cells, seeds, corpus, emb, cfg)      # workers start, import torch, train once
    torch.set_num_threads(TASK_THREADS)   # as in each Ray task: the ratio is then Ray's parallelism and overhead
    local = timed(LocalBackend(), cells, seeds, corpus, emb, cfg)
    on_ray = timed(remote, cells, seeds, corpus, emb, cfg)
    empty = timed(remote, cells, seeds, corpus, emb, cfg.replace(epochs=0))
    ray.shutdown()
    overhead = (a.workers * on_ray - local) / n
    print(f"step: {n} candidates of {a.nodes} nodes, emsize {a.emsize}, {a.epochs} epoch(s), batch {a.batch_size}, "
          f"{corpus.train.numel()} training tokens, cpu, {TASK_THREADS} torch thread(s) per candidate")
    print(f"Ray start: {started:.1f} s; first step on Ray (workers starting): {first:.1f} s")
    print(f"local : {local:.2f} s per step, {local / n:.3f} s per candidate")
    print(f"Ray, {a.workers} workers: {on_ray:.2f} s per step")
    print(f"ratio (local / Ray): {local / on_ray:.2f}x")
    print(f"Ray overhead per task: {overhead:.3f} s of a worker ({a.workers} x Ray step - local step, per candidate); "
          f"dispatch alone (zero-epoch tasks): {empty * a.workers / n:.3f} s")
    if a.workers > 1:
        print(f"Ray pays for candidates training longer than about {max(overhead, 0) / (a.workers - 1):.2f} s each")

if __name__ == "__main__":
    main()
