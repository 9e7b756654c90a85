"""search.json on disk: where it is, read (checked, migrated), written (atomic), and the paths a
record holds, kept relative to its own folder.

    state = read_state("search-run")       # the plain dict, checked and migrated (raises ConfigError)
    write_state("search-run", state)       # atomic; every non-finite number becomes null

One process writes a save folder at a time (`disk.WriterLock` on `<save>/lock`, taken by Search).
Readers need no lock: search.json is replaced atomically (`disk.write_json_atomic`), so a reader
sees either the old or the new record.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..cell import Cell
from ..disk import read_json, write_json_atomic
from ..errors import ConfigError
from .layout import FORMAT, KEYS, STRATEGY_FILE
from .migrate import migrate


def record_path(save) -> Path:
    p = Path(save)
    return p / "search.json" if p.is_dir() or p.suffix != ".json" else p


def holds_strategy_run(save) -> bool:
    """Whether folder `save` holds another strategy's run (strategy.json) and no search.json."""
    return (Path(save) / STRATEGY_FILE).is_file() and not record_path(save).is_file()


def is_search_record(d) -> bool:
    return isinstance(d, dict) and "steps" in d and "config" in d


def read_state(save) -> dict:
    """The search record in `save`/search.json (or the file `save`), checked enough to resume from,
    migrated to today's layout (migrate.py); its paths (data, emb_path, save) made usable from here
    (paths_from_record)."""
    path = record_path(save)
    if not path.is_file():
        raise ConfigError(f"no search to resume at {path}; give the --save folder of an earlier search")
    state = read_json(path, "restore it or start a new search with another --save")
    if not isinstance(state, dict) or any(k not in state for k in KEYS):
        raise ConfigError(f"{path} is not an autoshrink search record ({FORMAT}); give a search's --save folder")
    state = migrate(state, path)
    Cell.from_dict(state["cell"])
    return {**state, "config": paths_from_record(state["config"], path.parent)}


# --- paths a record holds: written relative to the record's folder, read back relative to here
PATHS = ("data", "emb_path", "save")


def paths_to_record(config: dict, folder) -> dict:
    """`config` with its relative paths (given relative to the working folder) made relative to
    `folder`, where the record is written; absolute paths stay as they are."""
    out = dict(config)
    for key in PATHS:
        value = out.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            out[key] = os.path.relpath(os.path.abspath(value), os.path.abspath(folder))
    return out


def paths_from_record(config: dict, folder) -> dict:
    """The inverse of paths_to_record: each relative path taken relative to `folder` (the record's),
    given back relative to the working folder. A path that exists as written but not relative to
    the record (a record written before paths were relative to it) is kept."""
    out = dict(config)
    for key in PATHS:
        value = out.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            here = os.path.normpath(os.path.join(folder, value))
            out[key] = value if os.path.exists(value) and not os.path.exists(here) else here
    return out


def write_state(save, state: dict) -> None:
    """Write the search record; its paths relative to its own folder (paths_to_record)."""
    path = record_path(save)
    write_json_atomic(path, {**state, "config": paths_to_record(state["config"], path.parent)})
