"""The space tables that ship with the project: `data/tables/<name>.json.gz` (a table's space.json,
gzipped) and `data/tables/manifest.json`, which names each with its space, ops, proxy settings,
seeds, cell count, the date and machine it was trained on, its size and its sha256.

    open_table("tiny-s1")                 # a shipped table by name (checked against its checksum)
    open_table("runs/space-tiny-s1")      # or a folder a build wrote (`autoshrink space --save ...`)
    ship("runs/space-tiny-s1", "tiny-s1") # gzip a built table into data/tables and list it

A shipped table may be incomplete (a build that outlasts a session ships as it grows and the next
continues it): the manifest gives its trained count, and judging it is refused until it is complete.
`unship(name, save)` writes a shipped table back into a folder, where `autoshrink space` continues it.
"""
from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import platform
from pathlib import Path

from ..core.disk import read_json, write_json_atomic
from ..core.errors import ConfigError
from .table import FILE, PROXY_SETTINGS, SpaceTable

TABLES = Path(__file__).resolve().parents[2] / "data" / "tables"
MANIFEST = "manifest.json"


def manifest(folder: Path = TABLES) -> dict:
    path = folder / MANIFEST
    return read_json(path, "restore data/tables from git") if path.is_file() else {}


def shipped(folder: Path = TABLES) -> list[str]:
    return sorted(manifest(folder))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(name: str, folder: Path = TABLES) -> SpaceTable:
    """The shipped table `name`; ConfigError (one line) when unknown or when its file fails its checksum."""
    entry = manifest(folder).get(name)
    if entry is None:
        raise ConfigError(f"no table named {name!r}: give a folder with space.json or one of the shipped tables "
                          f"({', '.join(shipped(folder)) or 'none'})")
    path = folder / entry["file"]
    if not path.is_file() or _sha256(path) != entry["sha256"]:
        raise ConfigError(f"{path.name} is missing or fails its checksum; restore it with `git checkout data/tables`")
    d = json.loads(gzip.decompress(path.read_bytes()))
    return SpaceTable(config=d["config"], ops=d["ops"], seeds=d["seeds"], cells=d["cells"])


def open_table(name_or_folder, folder: Path = TABLES) -> SpaceTable:
    """A table from a folder holding space.json, else a shipped table of that name."""
    if isinstance(name_or_folder, SpaceTable):
        return name_or_folder
    if (Path(name_or_folder) / FILE).is_file():
        return SpaceTable.read(name_or_folder)
    return load(str(name_or_folder), folder)


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), None)
    return f"{cpu or platform.processor() or platform.machine()}, CPU only"


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def ship(save, name: str, folder: Path = TABLES, machine: str | None = None) -> dict:
    """gzip the table built in `save` into `folder`/name.json.gz and list it in the manifest."""
    table = SpaceTable.read(save)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json.gz"
    body = json.dumps({"format": table.format, "config": table.config, "ops": table.ops, "seeds": table.seeds,
                       "cells": table.cells}, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(body, mtime=0))
    runs = [r for c in table.cells for r in c["runs"]]
    entry = {"file": path.name, "nodes": table.config["nodes"], "ops": table.ops, "seed": table.config["seed"],
             "seeds": len(table.seeds), "cells": len(table.cells), "trained": sum(r is not None for r in runs),
             "complete": table.complete, "proxy": {k: table.config[k] for k in PROXY_SETTINGS},
             "date": datetime.date.today().isoformat(), "machine": machine or _machine(),
             "bytes": path.stat().st_size, "sha256": _sha256(path)}
    entries = {**manifest(folder), name: entry}
    write_json_atomic(folder / MANIFEST, dict(sorted(entries.items())))
    return entry


def unship(name: str, save, folder: Path = TABLES) -> Path:
    """Write shipped table `name` into folder `save` (space.json), where a build continues it."""
    if (Path(save) / FILE).exists():
        raise ConfigError(f"{save} already holds a table; choose another folder")
    load(name, folder).write(save)
    return Path(save) / FILE
