"""The lab's overhead per epoch: one search run by the command line (`autoshrink.cli.main`, its
progress lines and PNG curves) against the same search run by the lab's panel (`SearchLab.run`,
its live figures redrawn from the training's events), side by side in one process, rounds
interleaved A/B/A/B so the machine's load hits both.

    python scripts/lab_overhead.py --data data/penn_proxy [--preset tiny] [--rounds 2] [--steps 1] [--candidates 2]

Each run is a new search with the preset's settings on the CPU, `--steps` shrink steps (the whole
search, the final cell included, with --steps 0). Prints each run's wall time, the epochs it
trained, its seconds per epoch, and the lab's over the command line's (the ratio); the ratio is the
result, absolute times vary with the machine's load. Both runs train the same numbers: the script
checks that their records agree.
"""
import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

import torch

from autoshrink import cli
from autoshrink.core.config import SearchConfig, preset
from autoshrink.core.events import StepDone
from autoshrink.lab.widgets import SearchLab
from autoshrink.plot import save_curves
from autoshrink.search import Search


def epochs_of(save: Path) -> int:
    """Candidate and final epochs trained, from the record."""
    state = json.loads((save / "search.json").read_text())
    final = state["final"]["epochs"] if state["final"] else 0
    return sum(c["epochs"] for s in state["steps"] for c in s["candidates"]) + final


def numbers(save: Path) -> list:
    state = json.loads((save / "search.json").read_text())
    return [(c["edge"], c["val_loss"]) for s in state["steps"] for c in s["candidates"]]


def by_cli(cfg: SearchConfig, steps: int) -> None:
    """As `python -m autoshrink search` runs it: its progress lines (here to nowhere) and, after
    every step, the seed's PNG curves; with `steps`, stopped after that many steps, as the lab is."""
    if not steps:
        flags = [f"--{k}={v}" for k, v in cfg.to_dict().items() if v is not None]
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli.main(["search", *flags]) == 0
        return
    sink = io.StringIO()

    def events(event) -> None:
        cli._printer(event, out=sink)
        if isinstance(event, StepDone):
            save_curves(search.record, search.save_dir)

    with Search(cfg, on_event=events) as search:
        for _ in range(steps):
            search.step()


def by_lab(cfg: SearchConfig, steps: int) -> None:
    lab = SearchLab(cfg)
    if steps:
        for _ in range(steps):
            lab.step()
    else:
        lab.run()
    lab.wait()
    lab.runner.search.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=0, help="shrink steps per run (0: the whole search)")
    ap.add_argument("--candidates", type=int, default=None, help="candidates per step (default: the preset's)")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="lab-overhead-"))
    per = {"command line": [], "lab": []}
    for r in range(args.rounds):
        for name, run in (("command line", by_cli), ("lab", by_lab)) if r % 2 == 0 else (("lab", by_lab),
                                                                                      ("command line", by_cli)):
            save = out / f"{name.replace(' ', '-')}-{r}"
            fewer = {"max_steps_to_action": args.candidates} if args.candidates else {}
            cfg = SearchConfig(**{**preset(args.preset), **fewer, "data": args.data, "save": str(save),
                                  "device": "cpu"})
            tick = time.perf_counter()
            run(cfg, args.steps)
            seconds = time.perf_counter() - tick
            epochs = epochs_of(save)
            per[name].append(seconds / epochs)
            print(f"round {r + 1} {name:12s}: {seconds:7.1f} s, {epochs} epochs, {seconds / epochs:.3f} s/epoch",
                  flush=True)
    first = {name: numbers(out / f"{name.replace(' ', '-')}-0") for name in per}
    assert first["command line"] == first["lab"], "the lab and the command line trained different numbers"
    mean = {name: sum(v) / len(v) for name, v in per.items()}
    print(f"seconds per epoch: command line {mean['command line']:.3f}, lab {mean['lab']:.3f}; "
          f"lab / command line = {mean['lab'] / mean['command line']:.3f}")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "unknown CPU")
    print(f"CPU: {cpu}, torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
