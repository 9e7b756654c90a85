"""Every run under a folder: the searches (search.json), their quality reports (quality.json) and
the final trainings (run.json), one row each, read without importing torch.

    rows = list_runs("runs")      # [{"kind", "folder", "status", "owner", "note", "parent", "settings", ...}]
    print(runs_table(rows))       # `python -m autoshrink runs [FOLDER]`
    write_note("runs/search", "baseline, seed 1")    # a tag or annotation, the list's note column
    delete_run("runs/search-2", rows)                 # refused while open in a process

Status: "finished" (a search with its final cell, a final training with its result, a quality
report with nothing missing), "finished (open here)" or "finished (open in process N)" while a lab
still holds it open; an unfinished one is "running" while another live process holds its writer
lock and trains (the table adds when it last wrote), "idle (open in process N)" while a lab there
merely holds it between Steps (its lock file says so), "open here" while this process holds it (a
lab in this kernel), else "stopped" (it can be resumed).
`owner` is the pid of the process holding it. A record that cannot be read is "unreadable".
Paths are as `folder` was given: a branch's parent is written the same way as its folder.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .core import formats
from .core.cell import Cell
from .core.config import settings
from .core.disk import WriterLock, read_json
from .core.errors import ConfigError
from .core.record import StrategyRecord, best_of, best_ppl, done_steps, read_state

KEY_SETTINGS = settings(listed=True)   # the settings column: those config.py marks listed


def _status(folder: Path, lock: str, finished: bool) -> tuple[str, int | None]:
    """The run's status and the pid of the live process that holds it open (None when none does)."""
    writer = WriterLock(folder, lock)
    owner = writer.live_owner()
    if owner is None:
        return ("finished" if finished else "stopped"), None
    where = "here" if owner == os.getpid() else f"in process {owner}"
    if finished:
        return f"finished (open {where})", owner
    if owner == os.getpid():
        return "open here", owner
    return (f"idle (open in process {owner})" if writer.activity() == "idle" else "running"), owner


NOTE = "note.txt"   # a run's note (tag, annotation), in its folder


def read_note(folder) -> str:
    """The note written beside a run (one line), "" without one."""
    try:
        return (Path(folder) / NOTE).read_text().strip()
    except OSError:
        return ""


def write_note(folder, text: str) -> None:
    """Tag or annotate the run in `folder` (an empty text removes its note)."""
    path = Path(folder) / NOTE
    if not path.parent.is_dir():
        raise ConfigError(f"no run folder {folder}; give a folder the runs list shows")
    text = " ".join(text.split())
    if text:
        path.write_text(text + "\n")
    else:
        path.unlink(missing_ok=True)


def delete_run(folder, rows: list[dict]) -> None:
    """Delete the run in `folder` (one of `rows`, as list_runs gives them) with everything in it;
    refused while a process holds it open, or while it holds other runs (a search's quality report)."""
    folder = Path(folder)
    mine = [r for r in rows if Path(r["folder"]) == folder]
    if not mine:
        raise ConfigError(f"{folder} is not in the runs list; refresh it and choose a run it shows")
    holders = [r["owner"] for r in mine if r["owner"] is not None]
    if holders:
        raise ConfigError(f"{folder} is open in process {holders[0]}: {_how_to_close(holders[0])}, then delete it")
    inside = [r["folder"] for r in rows if folder in Path(r["folder"]).parents]
    if inside:
        raise ConfigError(f"{folder} holds other runs ({', '.join(inside)}); delete those first")
    shutil.rmtree(folder)


def _how_to_close(pid: int) -> str:
    """How a user lets go of a run another process (or this one) holds open."""
    if pid == os.getpid():
        return "this kernel's lab holds it; call close() on that lab (it lets go of its search when idle)"
    return ("stop that run, or, for a notebook's lab, call close() on the lab there or shut down that "
            "notebook's kernel (Kernel > Shut Down Kernel)")


def _written(folder: Path, names) -> float | None:
    """When any of the files `names` in `folder` was last written (a Unix time), None when none is there."""
    times = [(folder / n).stat().st_mtime for n in names if (folder / n).is_file()]
    return max(times, default=None)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.0f} h"


def status_text(r: dict) -> str:
    """A row's status; a running search's says when it last wrote."""
    if r["status"] != "running" or not r.get("written"):
        return r["status"]
    return f"running (process {r['owner']}, last write {_age(max(0.0, time.time() - r['written']))} ago)"


def _parent(folder: Path, parent: dict | None) -> str:
    """A branch's parent folder written as `folder` is (the record keeps it relative to the branch)."""
    if not parent:
        return ""
    return f"{os.path.normpath(folder / parent['save'])} @ step {parent['step']}"


def _search_row(folder: Path) -> dict:
    state = read_state(folder)
    cfg, best = state["config"], best_of(state)
    status, owner = _status(folder, "lock", state["final"] is not None)
    own = [s for s in state["steps"] if not s.get("from_parent")]    # a branch's copied steps took no time here
    return {"kind": "search", "folder": str(folder), "status": status, "owner": owner, "note": read_note(folder),
            "written": _written(folder, ("search.json", "inflight.pt")),
            "parent": _parent(folder, state.get("parent")),
            "settings": {k: cfg.get(k) for k in KEY_SETTINGS}, "best_ppl": best_ppl(state),
            "edges": Cell.from_dict(best["cell"]).n_edges if best else None,
            "steps": len(done_steps(state)),
            "seconds": sum(c.get("seconds") or 0.0 for s in own for c in s["candidates"])}


def _final_row(folder: Path) -> dict:
    rec = read_json(folder / "run.json", "delete that run folder to retrain it")
    cfg, result = rec.get("config", {}), rec.get("result")
    edges = Cell.from_dict(rec["cell"]).n_edges if rec.get("cell") else None
    status, owner = _status(folder, "lock", result is not None)
    return {"kind": "final", "folder": str(folder), "status": status, "owner": owner, "note": read_note(folder),
            "parent": "", "settings": {k: cfg.get(k) for k in ("emsize", "epochs", "seed", "precision")},
            "best_ppl": (result or {}).get("valid_ppl"), "edges": edges, "steps": len(rec.get("history", [])),
            "seconds": sum(h.get("seconds") or 0.0 for h in rec.get("history", []))}


def _quality_row(folder: Path) -> dict:
    cache = read_json(folder / "quality.json", "delete it to retrain the report")
    runs = [r for key in cache.get("runs", {}).values() for r in key.values()]
    status, owner = _status(folder, "quality.lock", True)
    return {"kind": "quality", "folder": str(folder), "status": status, "owner": owner, "note": read_note(folder),
            "parent": str(folder), "settings": {}, "best_ppl": None, "edges": None, "steps": len(runs),
            "seconds": sum(r.get("seconds") or 0.0 for r in runs)}


def _strategy_row(folder: Path) -> dict:
    rec = StrategyRecord.read(folder)
    cfg, pick, trainings = rec.config, rec.pick, rec.trainings
    status, owner = _status(folder, "lock", rec.finished)
    return {"kind": "strategy", "folder": str(folder), "status": status, "owner": owner, "note": read_note(folder),
            "written": _written(folder, ("strategy.json", "inflight.pt")), "parent": "",
            "settings": {"strategy": rec.strategy, **{k: cfg.get(k) for k in KEY_SETTINGS}},
            "best_ppl": rec.best_ppl(),
            "edges": None if pick is None else (0 if pick == "none" else len(pick.split())),
            "steps": len(trainings), "seconds": sum(t.get("seconds") or 0.0 for t in trainings)}


READERS = (("search.json", _search_row), ("quality.json", _quality_row), ("run.json", _final_row),
           ("strategy.json", _strategy_row))


def list_runs(folder="runs") -> list[dict]:
    """One row per search, quality report and final training in `folder` and its subfolders."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"no folder {root} (looked for {root.resolve()}); give the folder your runs are in")
    rows = []
    for name, reader in READERS:
        for path in sorted(root.rglob(name)):
            try:
                rows.append(reader(path.parent))
            except (ConfigError, KeyError, TypeError, ValueError):
                rows.append({"kind": name.split(".")[0], "folder": str(path.parent), "status": "unreadable",
                             "owner": None, "note": "", "parent": "", "settings": {}, "best_ppl": None, "edges": None,
                             "steps": 0,
                             "seconds": 0.0})
    return sorted(rows, key=lambda r: (r["folder"], r["kind"]))


COLUMNS = ("kind", "folder", "status", "parent", "settings", "best ppl", "edges", "steps / epochs / runs", "time used",
           "note")


def row_cells(r: dict) -> list[str]:
    """One run's row as the texts of COLUMNS."""
    settings = ", ".join(f"{k} {v}" for k, v in r["settings"].items() if v is not None)
    return [r["kind"], r["folder"], status_text(r), r["parent"], settings, formats.ppl(r["best_ppl"]),
            formats.value("edges", r["edges"]), str(r["steps"]), f"{formats.seconds(r['seconds'])} s", r["note"]]


def runs_table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    return "\n".join(lines + ["| " + " | ".join(row_cells(r)) + " |" for r in rows])
