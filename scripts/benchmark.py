"""Benchmark: proxy training of the published ShrinkRNN cell in the plain fp32 path
(--precision fp32 --fuse off) against the fast path (--precision auto --fuse auto by default),
measured side by side in one run, rounds interleaved A/B/A/B so the machine's load hits both.

    python scripts/benchmark.py --data data/penn_proxy [--epochs 1] [--rounds 2] [--threads 2] [--parts] [--final]
    python scripts/benchmark.py --data data/penn_proxy --step tiny|published [--rounds 2] [--fp32] [--plain] [--ray]

Prints seconds per candidate-epoch of each path (and of K = 10 candidates in one batched model
on a GPU, and each fast path with CUDA graphs, --graphs on), their ratio, the resolved precision and
the proxy perplexity of ShrinkRNN after
--epochs in each path (10 epochs is the published proxy; fewer is a quick check). --parts
times training steps with each fast part alone (fused loss, fused cell, bf16) against the
plain path. --final times final-training steps at the small preset's
sizes (ShrinkRNN, DARTS, LSTM) in both paths. --step PRESET times a whole first Step of a search
at that preset, start-up included (each run a new Python process), with `--parallel 1` (one
candidate at a time: the CPU default before) against `--parallel 0` (auto), with --fp32 first
`--precision fp32 --parallel 1` (the default before bf16 came back for wide cells), with --plain the
plain path, with --ray also two single-thread candidates at once as Ray tasks on this machine (Ray's
start included); it prints each one's wall time, their ratio, the edge each removed and Kendall's tau of
their candidates' scores. Absolute times vary with the machine's load; the ratios are the result.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from autoshrink.core.cell import DARTS, OPS, SHRINK_RNN, Cell
from autoshrink.core.config import SearchConfig, preset
from autoshrink.core.data import batchify, initial_embedding, load_corpus
from autoshrink.core.runtime import resolve_device
from autoshrink.core.stats import kendall_tau
from autoshrink.final.config import FinalConfig
from autoshrink.final.model import LanguageModel, detach
from autoshrink.proxy.graphs import clip_step
from autoshrink.proxy.model import BatchedRNNModel
from autoshrink.proxy.precision import resolve_fuse, resolve_precision
from autoshrink.proxy.train import train_cells
from autoshrink.search import Search


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_cell(nodes: int) -> Cell:
    """ShrinkRNN at 6 nodes, else the full cell of `nodes` nodes (the lab's demo uses 4)."""
    return SHRINK_RNN if nodes == 6 else Cell.full([OPS[(2 + i) % len(OPS)] for i in range(nodes)])


def timed_training(k, corpus, emb, cfg, device) -> tuple[float, float]:
    """Seconds per candidate-epoch and the first candidate's perplexity."""
    sync(device)
    t = time.perf_counter()
    results = train_cells([bench_cell(cfg.nodes)] * k, list(range(1, k + 1)), corpus, emb, cfg, device)
    sync(device)
    return (time.perf_counter() - t) / (k * cfg.epochs), results[0].ppl


def paths(a, device) -> dict:
    """name -> (precision, fuse, K, graphs): the plain path and the fast one; on a GPU also K = a.k
    candidates in one batched model, and each fast path with CUDA graphs."""
    out = {"fp32, fuse off": ("fp32", "off", 1, "off"),
           f"{a.precision}, fuse {a.fuse}": (a.precision, a.fuse, 1, "off")}
    if device.type == "cuda":
        out.update({f"{p}, fuse {f}, K={a.k}": (p, f, a.k, "off") for p, f, _, _ in list(out.values())})
        out.update({f"{n}, graphs": (p, f, k, "on") for n, (p, f, k, _) in list(out.items()) if n != "fp32, fuse off"})
    return out


def compare_training(a, cfg, corpus, emb, device) -> None:
    runs = paths(a, device)
    secs, ppl = {n: [] for n in runs}, {}
    for p, f, k, g in runs.values():                 # warm-up: one short run each, not counted
        timed_training(k, corpus, emb, cfg.replace(epochs=1, precision=p, fuse=f, graphs=g), device)
    for _ in range(a.rounds):
        for name, (p, f, k, g) in runs.items():
            s, ppl[name] = timed_training(k, corpus, emb, cfg.replace(precision=p, fuse=f, graphs=g), device)
            secs[name].append(s)
    base = sum(secs["fp32, fuse off"])
    print(f"{'ShrinkRNN' if cfg.nodes == 6 else 'full cell'}, {cfg.nodes} nodes, emsize {cfg.emsize}, "
          f"batch {cfg.batch_size}, {cfg.epochs} epoch(s), "
          f"{a.rounds} interleaved round(s); auto precision here: {resolve_precision('auto', device, cfg.nhid)}")
    for name, s in secs.items():
        print(f"  {name:32s} {sum(s) / len(s):7.2f} s per candidate-epoch   x{base / sum(s):.2f}   "
              f"proxy ppl {ppl[name]:.2f}")


def compare_parts(a, cfg, corpus, emb, device) -> None:
    """Training steps (a.steps of them) with each fast part alone, interleaved with the plain path."""
    data = batchify(corpus.train, cfg.batch_size).to(device)
    parts = {"plain fp32": ("fp32", False, False), "fused loss": ("fp32", True, False),
             "fused cell": ("fp32", False, True), "bf16": ("bf16", False, False),
             "bf16 decoder": ("bf16-decoder", False, False), "all, bf16": ("bf16", True, True),
             "all, bf16 dec.": ("bf16-decoder", True, True)}
    models = {}
    for name, (p, loss, cell) in parts.items():
        m = BatchedRNNModel([bench_cell(cfg.nodes)], emb, [1], cfg.nhid, p, True).to(device)
        m.fuse_loss, m.fuse_cell = loss, cell
        models[name] = m

    def steps(m):
        h = m.init_hidden(cfg.batch_size)
        for s in range(a.steps):
            i = (s * cfg.bptt) % (data.shape[0] - cfg.bptt - 1)
            loss, h = m.loss(data[i:i + cfg.bptt], data[i + 1:i + 1 + cfg.bptt], h.detach())
            m.zero_grad(set_to_none=True)
            loss.sum().backward()
            clip_step(m, 1.0, cfg.clip)
        sync(device)

    tot = dict.fromkeys(parts, 0.0)
    for m in models.values():
        steps(m)
    for _ in range(a.rounds):
        for name, m in models.items():
            t = time.perf_counter()
            steps(m)
            tot[name] += time.perf_counter() - t
    print(f"training steps, each part alone ({a.steps} steps x {a.rounds} interleaved rounds):")
    for name, s in tot.items():
        print(f"  {name:14s} {1000 * s / (a.rounds * a.steps):8.1f} ms per step   x{tot['plain fp32'] / s:.2f}")


def compare_final(a, corpus, device) -> None:
    """Final-training steps (the `small` preset's sizes, its dropouts) of ShrinkRNN, DARTS and the
    LSTM: the plain path against a.precision / a.fuse, interleaved."""
    cfg = FinalConfig.preset("small")
    data = batchify(corpus.train, cfg.batch_size).to(device)
    paths = {"fp32, fuse off": ("fp32", "off"), f"{a.precision}, fuse {a.fuse}": (a.precision, a.fuse)}
    print(f"final training, small preset ({cfg.emsize} units, batch {cfg.batch_size}), {a.steps} steps x "
          f"{a.rounds} interleaved rounds; auto precision here: {resolve_precision('auto', device, cfg.emsize)}")
    for name, cell in (("ShrinkRNN", SHRINK_RNN), ("DARTS", DARTS), ("LSTM", None)):
        models = {p: LanguageModel("lstm" if cell is None else "cell", cell, corpus.ntokens, cfg.emsize, 1,
                                   resolve_precision(prec, device, cfg.emsize), resolve_fuse(fuse)).to(device)
                  for p, (prec, fuse) in paths.items()}
        secs = dict.fromkeys(models, 0.0)
        for r in range(a.rounds + 1):                   # round 0 warms up, not counted
            for p, m in models.items():
                t = time.perf_counter()
                final_steps(m, data, cfg, a.steps)
                sync(device)
                secs[p] += (time.perf_counter() - t) if r else 0.0
        base = secs["fp32, fuse off"]
        print(f"  {name:10s} " + "   ".join(f"{p}: {1000 * t / (a.rounds * a.steps):6.1f} ms per step x{base / t:.2f}"
                                           for p, t in secs.items()))


def final_steps(m, data, cfg, steps: int) -> None:
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    h, gen = m.init_hidden(cfg.batch_size), torch.Generator().manual_seed(0)
    for s in range(steps):
        i = s * cfg.bptt
        masks = m.draw_masks(gen, cfg.batch_size, cfg)
        loss, h, _ = m.loss(data[i:i + cfg.bptt], data[i + 1:i + 1 + cfg.bptt], detach(h), masks)
        opt.zero_grad()
        loss.backward()
        opt.step()


STEP_VARIANTS = {"--parallel 1": {"parallel": 1}, "--parallel 0 (auto)": {"parallel": 0}}
PLAIN = {"--parallel 1, fp32, fuse off": {"parallel": 1, "precision": "fp32", "fuse": "off"}}
FP32 = {"--precision fp32 --parallel 1": {"parallel": 1, "precision": "fp32"}}
RAY = {"--backend ray, 1 thread a task": {"parallel": 1, "backend": "ray"}}


def one_step(settings: str) -> None:
    """Run the first Step of a new search with these settings (JSON); print its candidates' scores."""
    with Search(SearchConfig(**json.loads(settings))) as s:
        step = s.step()
    print(json.dumps({"removed": step["removed"], "scores": {str(c["edge"]): c["score"] for c in step["candidates"]}}))


def timed_step(settings: dict) -> tuple[float, dict]:
    """Wall seconds of a whole new process running one Step, and what it printed."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--one_step", json.dumps(settings)], check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - t, json.loads(out.splitlines()[-1])


def compare_steps(a) -> None:
    """A whole first Step at preset a.step under each variant, rounds interleaved, in new processes."""
    base = {**preset(a.step), "data": a.data, "device": a.device,
            **({"epochs": a.epochs_step} if a.epochs_step else {})}
    variants = {**(FP32 if a.fp32 else {}), **STEP_VARIANTS, **(PLAIN if a.plain else {}), **(RAY if a.ray else {})}
    secs, outs = {n: [] for n in variants}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            for i, (name, v) in enumerate(variants.items()):
                s, outs[name] = timed_step({**base, **v, "save": str(Path(tmp) / f"{r}-{i}")})
                secs[name].append(s)
    first, cfg = next(iter(variants)), SearchConfig(**base)
    print(f"whole first Step, preset {a.step} ({cfg.nodes} nodes, emsize {cfg.emsize}, {cfg.epochs} epochs, "
          f"{min(cfg.max_steps_to_action, cfg.full_edges)} candidates), {a.rounds} interleaved round(s), "
          "start-up included:")
    ref = outs[first]["scores"]
    for name, s in secs.items():
        mine = [outs[name]["scores"][e] for e in ref]
        tau = kendall_tau(list(ref.values()), mine)
        gap = max(abs(x - y) for x, y in zip(ref.values(), mine))
        print(f"  {name:32s} {sum(s) / len(s):7.1f} s   x{sum(secs[first]) / sum(s):.2f}   "
              f"removed {outs[name]['removed']}"
              f"   vs {first}: tau of scores {tau:.2f}, largest score gap {gap:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/penn_proxy")
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=1, help="epochs per timed training (10 = the published proxy)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds of each path")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    p.add_argument("--nodes", type=int, default=6, help="6 = ShrinkRNN; other sizes train the full cell (demo: 4)")
    p.add_argument("--emsize", type=int, default=100)
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--precision", default="auto", help="the fast path's --precision")
    p.add_argument("--fuse", default="auto", help="the fast path's --fuse")
    p.add_argument("--k", type=int, default=10, help="candidates in the batched GPU path")
    p.add_argument("--parts", action="store_true", help="also time each fast part alone")
    p.add_argument("--steps", type=int, default=5, help="training steps per round in --parts")
    p.add_argument("--no_training", action="store_true", help="skip the whole-training comparison")
    p.add_argument("--final", action="store_true", help="also time final-training steps (small preset)")
    p.add_argument("--step", choices=("tiny", "published"), help="time a whole first Step at this preset instead")
    p.add_argument("--epochs_step", type=int, default=0, help="with --step: epochs per candidate (0: the preset's)")
    p.add_argument("--fp32", action="store_true", help="with --step: first fp32 one at a time (the reference)")
    p.add_argument("--plain", action="store_true", help="with --step: also the plain path (fp32, fuse off)")
    p.add_argument("--ray", action="store_true", help="with --step: also Ray tasks on this machine, one thread each")
    p.add_argument("--one_step", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one_step:
        return one_step(a.one_step)
    if a.step:
        return compare_steps(a)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = SearchConfig(data=a.data, epochs=a.epochs, device=a.device, emsize=a.emsize, nodes=a.nodes,
                       batch_size=a.batch_size).check()
    device = resolve_device(cfg.device)
    corpus = load_corpus(cfg.data)
    emb = initial_embedding(corpus.words, cfg.emsize, 0)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}, {torch.get_num_threads()} torch threads")
    if not a.no_training:
        compare_training(a, cfg, corpus, emb, device)
    if a.parts:
        compare_parts(a, cfg, corpus, emb, device)
    if a.final:
        compare_final(a, corpus, device)


if __name__ == "__main__":
    main()
