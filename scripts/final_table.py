"""The final-training table: a search's discovered cell, ShrinkRNN, DARTS, torch's LSTM and random
cells with the discovered cell's number of live edges, each trained to the end with one preset of
the final recipe, then one Markdown table of their valid / test perplexity and time.

    python scripts/final_table.py --search runs/demo6 --preset small --random 3 --out runs/final

Each model trains in its own folder under --out (autoshrink.final.run.FinalRun), so running the same
line again after a stop continues where it stopped and reuses what is finished. The random cells
are those of the search's quality report (autoshrink.quality.report.random_cells, from the search's seed
and node count). Flags other than these go to the preset (e.g. --epochs 10 --precision fp32).
"""
import argparse
import statistics
from pathlib import Path

from autoshrink.core.cell import DARTS, SHRINK_RNN
from autoshrink.core.events import FinalEpoch
from autoshrink.core.record import load_cell, read_state
from autoshrink.final.config import FinalConfig
from autoshrink.final.run import FinalRun
from autoshrink.quality.report import random_cells


def models(search: Path, which: str, n_random: int) -> dict:
    """name -> cell (None for the LSTM), in the table's order."""
    cell = load_cell(search, which)
    cfg = read_state(search)["config"]
    found = {"discovered": cell, "ShrinkRNN": SHRINK_RNN, "DARTS": DARTS, "LSTM": None}
    randoms = random_cells(cfg["nodes"], cell.prune().n_edges, n_random, cfg["seed"])
    return {**found, **{f"random {k + 1}": c for k, c in enumerate(randoms)}}


def train(folder: Path, cfg: FinalConfig, cell) -> FinalRun:
    """The finished run in `folder`: created, continued or reused."""
    run = FinalRun.open(folder) if (folder / "run.json").is_file() else (
        FinalRun.create(folder, cfg, cell=cell, model="cell" if cell is not None else "lstm"))
    if not run.finished:
        print(f"training {folder.name} ...", flush=True)
        run.run(on_event=lambda e: isinstance(e, FinalEpoch) and print(
            f"  epoch {e.epoch + 1}/{e.epochs} {e.phase} valid ppl {e.val_ppl} ({e.seconds:.1f}s)", flush=True))
    return run


def row(name: str, run: FinalRun, edges: str) -> str:
    r, h = run.result, run.history
    asgd = next((x["epoch"] + 1 for x in h if x["phase"] == "ASGD"), None)
    phase = f"ASGD from epoch {asgd}" if asgd else "SGD"
    secs = statistics.median(x["seconds"] for x in h)
    return (f"| {name} | {edges} | {len(h)} ({phase}) | {r['best_epoch'] + 1} | {r['valid_ppl']:.2f} | "
            f"{r['test_ppl']:.2f} | {secs:.1f} | {r['params']:,} |")


def spread(name: str, runs: list[FinalRun]) -> str:
    v = [r.result["valid_ppl"] for r in runs]
    t = [r.result["test_ppl"] for r in runs]
    sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
    return (f"| {name}: mean ± sd of {len(runs)} | | | | {statistics.mean(v):.2f} ± {sd(v):.2f} | "
            f"{statistics.mean(t):.2f} ± {sd(t):.2f} | | |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--search", required=True, help="a search's save folder")
    p.add_argument("--which", default="best", help="which cell of the search: best, final or step:N")
    p.add_argument("--preset", default="small")
    p.add_argument("--random", type=int, default=3, help="random cells with the discovered cell's edge count")
    p.add_argument("--out", required=True, help="folder of the run folders")
    p.add_argument("--data", default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--precision", default=None)
    p.add_argument("--seed", type=int, default=None)
    a = p.parse_args()
    changes = {k: v for k, v in (("data", a.data), ("epochs", a.epochs), ("precision", a.precision),
                                 ("seed", a.seed)) if v is not None}
    cfg = FinalConfig.preset(a.preset, **changes).check()
    out = Path(a.out)
    runs = {name: train(out / name.replace(" ", "-"), cfg, cell)
            for name, cell in models(Path(a.search), a.which, a.random).items()}
    print("| model | live edges | epochs run | best epoch | valid ppl | test ppl | s per epoch (median) | parameters |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, run in runs.items():
        print(row(name, run, "" if run.cell is None else str(run.cell.prune().n_edges)))
    randoms = [r for n, r in runs.items() if n.startswith("random")]
    if randoms:
        print(spread("random cells", randoms))
    print(f"settings: {cfg.to_dict()}; precision {next(iter(runs.values())).precision}")


if __name__ == "__main__":
    main()
