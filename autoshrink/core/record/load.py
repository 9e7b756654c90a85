"""A cell from whatever names one: a cell JSON file, a search's save folder or search.json (its
best cell, or another by `which`), a strategy run's folder (its pick), the seed's graph pickle, or
the names of the published cells.

    cell = load_cell("search-run", "step:2")
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from ..cell import REFERENCE_CELLS, Cell
from ..errors import ConfigError
from .files import holds_strategy_run, is_search_record, record_path
from .layout import STRATEGY_FILE, STRATEGY_FORMAT
from .plain import cell_of


def load_cell(path, which="best") -> Cell:
    """A cell from a JSON cell file, a seed graph pickle, or a search's save folder or search.json:
    there its best cell, or `which` ("final", "step:N"; see record.cell_of). The names shrinkrnn and
    darts (where no such file exists) give the published cells."""
    if str(path).lower() in REFERENCE_CELLS and not Path(path).exists():
        return REFERENCE_CELLS[str(path).lower()]
    path = Path(path)
    if path.is_dir():
        path = path / STRATEGY_FILE if holds_strategy_run(path) else record_path(path)
    if not path.is_file():
        raise ConfigError(f"cell file {path} not found; give a cell JSON, a search.json or a save folder")
    raw = path.read_bytes()
    if raw[:1] == b"\x80":
        return _from_graph_pickle(path, raw)
    try:
        d = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path} is not valid JSON ({e.__class__.__name__}); give a cell JSON file") from None
    if is_search_record(d):
        return cell_of(d, which)
    if isinstance(d, dict) and d.get("format") == STRATEGY_FORMAT:
        return strategy_pick(d, path, which)
    if isinstance(d, dict) and "cell" in d and "mask" not in d:
        d = d["cell"]
    try:
        return Cell.from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    except (TypeError, ValueError):
        raise ConfigError(f'{path}: "mask" must be N x N numbers 0/1 and "ops" N op names') from None


def _from_graph_pickle(path: Path, raw: bytes) -> Cell:
    try:
        g = pickle.loads(raw)  # the seed's format; only load pickles you made yourself
        return Cell(np.asarray(g.mask).tolist(), list(g.ops_def), getattr(g, "outputs", None))
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"{path} is not a readable graph pickle ({e.__class__.__name__})") from None


def strategy_pick(d: dict, path, which="best") -> Cell:
    """The pick of a strategy run's record (strategy.json): its best cell, the only one it names."""
    if which != "best":
        raise ConfigError(f"{path} is a strategy run: it names one cell, its pick; drop --which {which}")
    if not d.get("pick_cell"):
        raise ConfigError(f"{path} has no pick yet (no training finished); continue it with `autoshrink search "
                          "--resume`")
    return Cell.from_dict(d["pick_cell"])
