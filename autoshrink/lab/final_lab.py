"""The final training in JupyterLab: a preset and every recipe setting in widgets, Start / Pause /
Stop, live train and valid curves with the SGD/ASGD phase, and the test perplexity at the end
next to the baselines' figures (the published ones and any finished runs given).

    lab = FinalLab("runs/final", cell=SHRINK_RNN, preset="small")   # reopens the run if it exists
    lab                 # the panel; Start trains in the background, Pause keeps the last epoch
    lab.run()           # ... or train in this thread to the end (the tests do this)

The run lives in its folder (autoshrink.final.run), so after a kernel restart the same line reopens it
with its curves, and Start continues from its last finished epoch.
"""
from __future__ import annotations

import dataclasses
import html
import math
import typing
from pathlib import Path

import ipywidgets as W

from ..core import formats
from ..core.cell import SHRINK_RNN, Cell
from ..core.config import FUSES, PRECISIONS, help_texts
from ..core.errors import ConfigError
from ..core.events import FinalDone, FinalEpoch, PhaseSwitched
from ..core.record import load_cell, record_path
from ..final.config import FINAL_PRESETS, RENAMED, FinalConfig
from ..final.run import FinalRun
from ..plot.quality import final_figure, update_final
from . import views
from .figure_widget import FigureWidget
from .worker import Worker

CHOICES = {"precision": PRECISIONS, "fuse": FUSES}   # settings shown as a Dropdown of their values
PUBLISHED = (  # docs/algorithm.md: the papers' final training on full PTB
    ("ShrinkRNN (paper)", 58.5, 56.5),
    ("DARTS (paper)", 58.1, 55.7),
)
PAPER_TRAINING = "full PTB, the papers' recipe"
COLUMNS = [("name", "model"), ("valid_ppl", "valid ppl"), ("test_ppl", "test ppl"), ("training", "trained on")]
NOTE = ("The papers' figures come from full PTB and hundreds of epochs; a run on the proxy (penn_proxy, "
        "4,000 lines) ends near several hundred and compares only with other proxy runs.")


TIPS = {"Start": "train in the background; continues a paused run from its last finished epoch",
        "Pause": "stop after the batch in training; Start continues from the last finished epoch",
        "Stop": "end the run now and test the best weights so far: final, Start cannot continue it "
                "(Pause keeps it open)"}


def training_of(cfg: FinalConfig, trained: int | None = None) -> str:
    """What a final run trained on, e.g. "penn_proxy, 30 epochs, emsize 200", or with `trained`
    epochs short of cfg.epochs (a stopped run) "penn_proxy, 1 epoch of 30, emsize 200"."""
    where = Path(cfg.data).name or str(cfg.data)
    if trained is None or trained == cfg.epochs:
        return formats.recipe(cfg, where=where)
    return f"{where}, {trained} epoch{'s' * (trained != 1)} of {cfg.epochs}, emsize {cfg.emsize}"


def run_row(name: str, run: FinalRun) -> dict:
    return {"name": name, "valid_ppl": run.result["valid_ppl"], "test_ppl": run.result["test_ppl"],
            "training": training_of(run.cfg, run.result.get("epochs"))}


def finished_text(run: FinalRun) -> str:
    """The status of a run with a result: finished, or stopped short of its epochs (final)."""
    r = run.result
    best = r["best_epoch"] + 1 if r["best_epoch"] is not None else "n/a"
    numbers = f"valid ppl {formats.ppl(r['valid_ppl'])}, test ppl {formats.ppl(r['test_ppl'])} (best epoch {best})"
    trained = r.get("epochs", run.cfg.epochs)
    if trained < run.cfg.epochs:
        return (f"stopped after epoch {trained} of {run.cfg.epochs} (Stop is final: Start cannot continue it; "
                f"train again into another folder): {numbers}")
    return f"finished: {numbers}"


def result_rows(runs: dict) -> list[dict]:
    """Rows {name, valid_ppl, test_ppl, training} of the published results and of each finished run folder given."""
    rows = [{"name": name, "valid_ppl": v, "test_ppl": t, "training": PAPER_TRAINING} for name, v, t in PUBLISHED]
    for name, folder in runs.items():
        path = Path(folder)
        if (path / "run.json").is_file() and FinalRun.open(path).result:
            rows.append(run_row(name, FinalRun.open(path)))
    return rows


def results_html(rows: list[dict]) -> str:
    return views.html_table(rows, COLUMNS) + f"<p style='color:#555;font-size:12px'>{html.escape(NOTE)}</p>"


def choose_cell(source, which: str = "best") -> tuple[Cell, str]:
    """The cell record.load_cell reads from `source` (a search's save folder: its cell `which`, by
    default the discovered one; a cell file; shrinkrnn; darts) and what it is; the published
    ShrinkRNN cell when `source` names a folder (a path without a suffix) that holds no search yet."""
    path = Path(str(source))
    folder = path.is_dir() or not (path.suffix or str(source).lower() in ("shrinkrnn", "darts"))
    if folder and not record_path(path).is_file():
        return SHRINK_RNN, f"ShrinkRNN (no search in {source} yet)"
    where = f"the {which} cell of the search in {source}" if path.is_dir() else str(source)
    return load_cell(source, which), where


class FinalLab:
    def __init__(self, out, cell: Cell | None = None, model: str = "cell", preset: str = "small",
                 baselines: dict | None = None, **settings):
        self.out, self.cell, self.model = Path(out), cell, model
        self.baselines = dict(baselines or {})
        self.run_obj: FinalRun | None = FinalRun.open(self.out) if (self.out / "run.json").is_file() else None
        self.worker = Worker("a training started with Start is running; wait for it (wait()) or pause it first",
                             on_end=self._ended)
        self.error: BaseException | None = None
        self._build(preset, settings)
        self._draw()

    # --- widgets
    def _build(self, preset: str, settings: dict) -> None:
        cfg = self.run_obj.cfg if self.run_obj else FinalConfig.preset(preset, **settings)
        self.preset = W.Dropdown(options=list(FINAL_PRESETS), value=RENAMED.get(preset, preset), description="preset")
        self.preset.observe(self._on_preset, names="value")
        hints, helps = typing.get_type_hints(FinalConfig), help_texts(FinalConfig)
        self.inputs = {}
        for f in dataclasses.fields(FinalConfig):
            kind, look = hints[f.name], dict(style={"description_width": "110px"}, layout=W.Layout(width="260px"))
            if f.name in CHOICES:
                box = W.Dropdown(options=CHOICES[f.name], value=getattr(cfg, f.name), description=f.name, **look)
            else:
                box = {int: W.IntText, float: W.FloatText}.get(kind, W.Text)(value=getattr(cfg, f.name),
                                                                          description=f.name, **look)
            box.tooltip = f"{helps[f.name]} (--{f.name})"     # the names are the command line's flags
            self.inputs[f.name] = box
        self.buttons = {n: W.Button(description=n, tooltip=TIPS[n]) for n in ("Start", "Pause", "Stop")}
        self.buttons["Start"].on_click(lambda b: self.start())
        self.buttons["Pause"].on_click(lambda b: self.pause())
        self.buttons["Stop"].on_click(lambda b: self.stop())
        self.status = W.HTML()
        self.results = W.HTML()
        self.figure = FigureWidget(final_figure())
        grid = W.GridBox(list(self.inputs.values()), layout=W.Layout(grid_template_columns="repeat(3, 270px)"))
        self.panel = W.VBox([W.HBox([self.preset, *self.buttons.values()]), grid, self.status, self.figure,
                             self.results])

    def _repr_mimebundle_(self, **kwargs):
        return self.panel._repr_mimebundle_(**kwargs)

    def _on_preset(self, change) -> None:
        if self.run_obj is not None:
            return
        cfg = FinalConfig.preset(change["new"], data=self.inputs["data"].value, device=self.inputs["device"].value)
        for name, box in self.inputs.items():
            box.value = getattr(cfg, name)

    def config(self) -> FinalConfig:
        """The settings in the panel (the run's own once it exists)."""
        if self.run_obj is not None:
            return self.run_obj.cfg
        return FinalConfig(**{n: box.value for n, box in self.inputs.items()}).check()

    # --- drawing
    @property
    def history(self) -> list[dict]:
        return self.run_obj.history if self.run_obj else []

    def _draw(self, note: str | None = None) -> None:
        run = self.run_obj
        hist = self.history
        phase = hist[-1]["phase"] if hist else "SGD"
        if run is None:
            text = "not started: choose a preset and settings, then Start"
        elif run.finished:
            text = finished_text(run)
        else:
            text = f"epoch {len(hist)}/{run.cfg.epochs}, phase {phase}"
        self.status.value = f"<b>{html.escape(note or text)}</b>"
        with self.figure.edit() as fig:
            update_final(fig, hist, title=f"Final training ({phase})" if hist else "Final training")
            self._epoch_ticks(fig, len(hist))
        rows = result_rows(self.baselines)
        if run is not None and run.finished:
            rows.append(run_row("this run", run))
        self.results.value = results_html(rows)
        for name in self.inputs:
            self.inputs[name].disabled = run is not None
        self.preset.disabled = run is not None
        busy = self.busy
        self.buttons["Start"].disabled = busy or bool(run and run.finished)
        self.buttons["Pause"].disabled = self.buttons["Stop"].disabled = not busy

    @staticmethod
    def _epoch_ticks(fig, epochs: int) -> None:
        """Whole epochs on the x axis (plotly ticks a short run at 1.2, 1.4, ...)."""
        fig.update_xaxes(tick0=1, dtick=max(1, math.ceil(epochs / 10)))

    @property
    def busy(self) -> bool:
        return self.worker.busy

    # --- training
    def _on_event(self, event) -> None:
        if isinstance(event, (FinalEpoch, PhaseSwitched, FinalDone)):
            self._draw()

    def _training_note(self) -> str:
        """What the status says while an epoch trains (its point is drawn only when it ends)."""
        hist, run = self.history, self.run_obj
        per = f", about {formats.seconds(hist[-1]['seconds'])} s an epoch" if hist and hist[-1].get("seconds") else ""
        return f"training epoch {len(hist) + 1} of {run.cfg.epochs}{per}: its point appears when it ends"

    def _ensure_run(self) -> FinalRun:
        if self.run_obj is None:
            self.run_obj = FinalRun.create(self.out, self.config(), cell=self.cell, model=self.model)
        return self.run_obj

    def _work(self) -> dict | None:
        """The training (in the worker): to the end, or until Pause or Stop (then the best weights are tested)."""
        w = self.worker
        try:
            run = self._ensure_run()
            self._draw(self._training_note())
            out = run.run(on_event=self._on_event, should_stop=lambda: w.pausing or w.stopping)
            if out is None and w.stopping and (run.folder / "best.pt").is_file():
                out = run.finish(self._on_event)
            return out
        except (ConfigError, RuntimeError) as e:
            self.error = e
            self._draw(f"error: {e}")
            return None

    def _ended(self) -> None:
        if self.error is None:
            self._draw("paused: Start continues from the last finished epoch"
                       if self.worker.pausing and not (self.run_obj and self.run_obj.finished) else None)

    def start(self) -> None:
        """Train in the background (continuing a paused or interrupted run)."""
        if self.busy:
            return
        self.error = None
        self.worker.start(self._work)
        self._draw("starting the training")

    def run(self) -> dict | None:
        """Train in this thread to the end (or until Pause/Stop); returns the result. Refused while
        a Start is training (two trainers would write one folder)."""
        if self.busy:
            raise RuntimeError(self.worker.busy_message)
        self.error = None
        out = self.worker.run(self._work)
        if self.error is not None:
            raise self.error
        return out

    def pause(self) -> None:
        """Stop after the batch in training; the last finished epoch is kept and Start continues."""
        self.worker.pause()

    def stop(self) -> None:
        """End the training now and test the best weights so far: final, Start cannot continue it."""
        self.worker.stop()

    def wait(self, timeout: float | None = None) -> None:
        self.worker.wait(timeout)
