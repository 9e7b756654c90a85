"""Rank study: does a Step's decision survive another seed or another precision?

Trains every candidate of one step (the full cell's first step, every edge tried) under each design
(seed rule x precision) and run seed, the way a search on this machine trains them (one at a
time), and reports per design: Kendall's tau of the candidates' score order between run seeds,
top-1 agreement (same edge removed) between run seeds, the noise of a comparison (the sd over
seeds of two candidates' score difference, median over pairs), tau and top-1 against fp32 (fuse
off) at the same seed and seed rule, and the seconds a step took (wall and this process's CPU time).

    python scripts/rank_study.py --preset tiny --seeds 1 2 3 --out runs/rank-tiny.json
    python scripts/rank_study.py --preset published --seeds 1 2 --rules step candidate \
        --precisions fp32 fused --out runs/rank-published.json

Every finished step is written to --out at once; a rerun with the same --out trains only what is
missing (a killed study continues), then prints the table. The node ops are fixed across run seeds
(--ops, else the ones seed 1 draws), so only the weights, the embedding and the step lengths move.
"""
import argparse
import itertools
import json
import os
import statistics
import time
from pathlib import Path

import torch

from autoshrink.core.config import PRESETS, SearchConfig
from autoshrink.core.data import load_corpus
from autoshrink.core.rules import candidate_seed, cfg_score, initial_cell
from autoshrink.core.runtime import resolve_device
from autoshrink.core.stats import argbest, kendall_tau, mean_sd
from autoshrink.one_cell import start_embedding
from autoshrink.proxy.train import train_cells

PRECISIONS = {"fp32": ("fp32", "off"), "fused": ("fp32", "on"), "bf16": ("bf16", "on"),
              "bf16-decoder": ("bf16-decoder", "on")}   # design name -> (--precision, --fuse)


def run_step(cfg: SearchConfig, corpus, device) -> dict:
    """Train every candidate of the full cell's first step under `cfg`; their edges, scores, ppl, time."""
    full = initial_cell(cfg)
    emb = start_embedding(cfg, corpus.words)
    wall, cpu = time.perf_counter(), time.process_time()
    out = {"edges": [], "ppl": [], "score": [], "val_loss": []}
    for edge in full.edges:
        cell = full.remove(edge)[0]
        [r] = train_cells([cell], [candidate_seed(cfg, 0, edge)], corpus, emb, cfg, device)
        out["edges"].append(list(edge))
        out["ppl"].append(r.ppl if r.ppl != float("inf") else None)
        out["score"].append(cfg_score(cfg, r.ppl, r.flops))
        out["val_loss"].append([c["val_loss"] for c in r.curve])     # per epoch: for successive halving's study
    out.update(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
    return out


def key(rule: str, precision: str, seed: int) -> str:
    return f"{rule} / {precision} / seed {seed}"


def _pairs_stats(runs: list[dict], others: list[dict]) -> tuple:
    """Mean tau and top-1 agreement over pairs (run, other) of score orders."""
    taus, tops = [], []
    for a, b in zip(runs, others) if others is not runs else itertools.combinations(runs, 2):
        s_a = [-1e9 if v is None else v for v in a["score"]]
        s_b = [-1e9 if v is None else v for v in b["score"]]
        taus.append(kendall_tau(s_a, s_b))
        tops.append(argbest(s_a) == argbest(s_b))
    if not taus:
        return None, None, None, 0
    t_mean, t_sd = mean_sd(taus)
    return t_mean, t_sd, sum(tops) / len(tops), len(taus)


def pair_noise(runs: list[dict]) -> float:
    """The noise of a comparison: for every two candidates, the sd over run seeds of their score
    difference; the median over the pairs (score points; what a step's decision has to beat)."""
    n = len(runs[0]["score"])
    fill = lambda v: -1e9 if v is None else v
    sds = [statistics.stdev([fill(r["score"][i]) - fill(r["score"][j]) for r in runs])
           for i, j in itertools.combinations(range(n), 2)]
    return statistics.median(sds)


def table(results: dict, rules, precisions, seeds, reference: str = "fp32") -> list[str]:
    lines = [f"| seed rule | precision | seed-to-seed tau (pairs) | top-1 same edge, seeds | noise of a comparison |"
             f" tau vs {reference}, same seed | top-1 vs {reference} | s per step (wall / CPU) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for rule, prec in itertools.product(rules, precisions):
        runs = [results[key(rule, prec, s)] for s in seeds if key(rule, prec, s) in results]
        refs = [results.get(key(rule, reference, s)) for s in seeds if key(rule, prec, s) in results]
        if not runs:
            continue
        t, t_sd, top, n = _pairs_stats(runs, runs)
        seed_part = "n/a" if t is None else f"{t:.2f} ± {t_sd:.2f} ({n})"
        top_part = "n/a" if top is None else f"{top:.0%}"
        if prec == reference or None in refs:
            ref_part = ref_top = "(reference)" if prec == reference else "n/a"
        else:
            rt, rt_sd, rtop, rn = _pairs_stats(runs, refs)
            ref_part, ref_top = f"{rt:.2f} ± {rt_sd:.2f} ({rn})", f"{rtop:.0%}"
        wall = mean_sd([r["seconds"] for r in runs])[0]
        cpu = mean_sd([r["cpu_seconds"] for r in runs])[0]
        noise = "n/a" if len(runs) < 2 else f"{pair_noise(runs):.2f}"
        lines.append(f"| {rule} | {prec} | {seed_part} | {top_part} | {noise} | {ref_part} | {ref_top} | "
                     f"{wall:.0f} / {cpu:.0f} |")
    return lines


def halving_table(results: dict, keep: float = 0.5) -> list[str]:
    """Successive halving simulated on the finished steps' per-epoch validation losses (exact: a
    survivor's training is the full schedule's): per rung E, Kendall's tau of the candidates' order
    at epoch E (best validation loss so far) against their order at the end, how often the halved
    step removes the full step's edge, and the candidate-epochs it trains."""
    runs = [r for r in results.values() if r.get("val_loss")]
    if not runs:
        return ["(no per-epoch losses recorded)"]
    epochs = max(len(c) for r in runs for c in r["val_loss"])
    lines = ["| rung (epochs) | tau, validation order at the rung vs at the end | same edge as the full step "
             "| candidate-epochs |",
             "| --- | --- | --- | --- |"]
    for rung in range(1, epochs):
        taus, same, cost = [], [], []
        for r in runs:
            at = [min(c[:rung]) if c else float("inf") for c in r["val_loss"]]
            score = [-1e9 if v is None else v for v in r["score"]]
            taus.append(kendall_tau(at, [min(c) if c else float("inf") for c in r["val_loss"]]))
            n_keep = max(1, -(-len(at) * keep // 1))
            survivors = sorted(range(len(at)), key=lambda i: at[i])[:int(n_keep)]
            same.append(max(survivors, key=lambda i: score[i]) == argbest(score))
            cost.append((len(at) * rung + n_keep * (epochs - rung)) / (len(at) * epochs))
        t, t_sd = mean_sd(taus)
        lines.append(f"| {rung} | {t:.2f} ± {t_sd:.2f} ({len(taus)} steps) | {sum(same)}/{len(same)} | "
                     f"{mean_sd(cost)[0]:.0%} of the full step's |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=list(PRESETS), default="tiny")
    ap.add_argument("--data", default="data/penn_proxy")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rules", nargs="+", default=["step", "candidate"], choices=["step", "candidate"])
    ap.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS))
    ap.add_argument("--nodes", type=int)
    ap.add_argument("--emsize", type=int)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--ops", help="node ops (default: those the preset draws with seed 1)")
    ap.add_argument("--reference", default="fp32", choices=list(PRECISIONS),
                    help="the precision the others are compared with (default fp32: fp32, fuse off)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", required=True, help="JSON file of finished steps (continued when it exists)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    sizes = {k: v for k, v in (("nodes", a.nodes), ("emsize", a.emsize), ("epochs", a.epochs)) if v}
    base = SearchConfig.preset(a.preset, **sizes, data=a.data, device=a.device, seed=1)
    base = base.replace(ops=a.ops or ",".join(initial_cell(base).ops))
    out = Path(a.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    corpus, device = load_corpus(a.data), resolve_device(a.device)
    n = len(initial_cell(base).edges)
    print(f"rank study: {a.preset} {sizes or ''} ops {base.ops}, {n} candidates", flush=True)
    for rule, prec, seed in itertools.product(a.rules, a.precisions, a.seeds):
        k = key(rule, prec, seed)
        if k in results:
            continue
        precision, fuse = PRECISIONS[prec]
        cfg = base.replace(seed=seed, seed_rule=rule, precision=precision, fuse=fuse)
        results[k] = run_step(cfg, corpus, device)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".tmp").write_text(json.dumps(results, indent=1))
        os.replace(out.with_suffix(".tmp"), out)
        best = argbest(results[k]["score"])
        print(f"{k}: removes {results[k]['edges'][best]} ({results[k]['seconds']:.0f} s)", flush=True)
    print("\n".join(table(results, a.rules, a.precisions, a.seeds, a.reference)))
    print("\nsuccessive halving, simulated on these steps' curves:")
    print("\n".join(halving_table({k: v for k, v in results.items() if k.split(" / ")[1] in a.precisions})))


if __name__ == "__main__":
    main()
