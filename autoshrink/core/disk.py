"""Files a reader (or a crash) never sees half of, and one writer per folder.

    write_atomic(path, lambda tmp: torch.save(obj, tmp))   # any writer: a temporary file, fsync, rename
    write_json_atomic(path, obj)                           # JSON; every non-finite number becomes null
    read_json(path, fix)                                   # a one-line ConfigError naming `fix` when corrupt
    with WriterLock(folder): ...                           # one writer process per folder (an OS lock)

search.json, run.json, quality.json, the checkpoints and the data files are all written here.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
from pathlib import Path

from .errors import ConfigError


def write_atomic(path, write) -> Path:
    """`write(tmp)` writes a temporary file beside `path`; it is flushed to disk and renamed onto
    `path`, so a reader sees the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def clean(obj):
    """`obj` with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    return obj


def read_json(path, fix: str):
    """The JSON held in `path`; a ConfigError "<path> is corrupt (not JSON); <fix>" when it is not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigError(f"{path} is corrupt (not JSON); {fix}") from None


def read_record(save, name: str, fmt: str, what: str, make: str, fix: str) -> dict:
    """The record `save`/`name` of format `fmt` (a `what`, e.g. "space table"); a one-line
    ConfigError when it is missing (`make` says how to make one), not JSON or of another format
    (`fix` says how to make it again)."""
    path = Path(save) / name
    if not path.is_file():
        raise ConfigError(f"{save} holds no {what} ({name}); {make}")
    d = read_json(path, fix)
    if d.get("format") != fmt:
        raise ConfigError(f"{path} is not a {what} of format {fmt}; {fix}")
    return d


def write_json_atomic(path, obj) -> None:
    """Write `obj` (non-finite numbers as null) to `path` atomically (write_atomic)."""
    text = json.dumps(clean(obj), indent=1, allow_nan=False)
    write_atomic(path, lambda tmp: Path(tmp).write_text(text))


class HoldsLock:
    """A folder's writer that holds `self.lock` (a WriterLock) until close(); a context manager."""

    def close(self) -> None:
        self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class WriterLock:
    """`<folder>/<name>` locked by its writer: one writer per search folder ("lock"), final training
    folder ("lock") or quality report ("quality.lock" in its search folder). The lock is the OS's
    (flock on the file, held while the file is open), so the OS drops it when its process dies,
    however it dies: a lock is never stale. The file also holds the writer's pid, for the one-line
    refusal a second writer gets (ending with `hint`) and for the runs list. Taking it again in
    the process that holds it is allowed (a lab reopening its own run). POSIX systems."""
    _held: dict = {}    # the locks this process holds: resolved path -> [open file, times taken]

    def __init__(self, save, name: str = "lock",
                 hint: str = "or open it read-only (Search.open_readonly), or choose another --save"):
        self.path = Path(save) / name
        self.hint = hint
        self.held = False

    def __enter__(self) -> "WriterLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def owner(self) -> int | None:
        """The pid the file names (its writer's, or a dead writer's), None without one."""
        try:
            return int((self.path.read_text().split() or ["0"])[0]) or None
        except (OSError, ValueError):
            return None

    def set_activity(self, activity: str) -> None:
        """Say in the lock file what its holder does now ("training", "idle"), for the runs list:
        a lab holds its search's lock while it waits for the next Step. Only while held here."""
        entry = self._held.get(self.path.resolve())
        if entry is None:
            return
        f = entry[0]
        f.truncate(0)
        f.write(f"{os.getpid()}\n{activity}\n")
        f.flush()

    def activity(self) -> str:
        """What the holder last said it does ("" when it never said: a command line run trains)."""
        try:
            lines = self.path.read_text().splitlines()
        except OSError:
            return ""
        return lines[1].strip() if len(lines) > 1 else ""

    def live_owner(self) -> int | None:
        """The pid of the live process holding the lock, None when none does."""
        if self.path.resolve() in self._held:
            return os.getpid()
        try:
            f = open(self.path)
        except OSError:
            return None
        with f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return self.owner()
        return None

    def acquire(self) -> "WriterLock":
        key = self.path.resolve()
        if key in self._held:
            self._held[key][1] += 1
        else:
            self._held[key] = [self._take(), 1]
        self.held = True
        return self

    def _take(self):
        """The lock file, open and locked, naming this process; a ConfigError while another holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            f = open(self.path, "a+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                raise ConfigError(f"{self.path.parent} is being written by process {self.owner()}; wait for it to "
                                  f"end, {self.hint}") from None
            if self.path.exists() and os.stat(self.path).st_ino == os.fstat(f.fileno()).st_ino:
                f.truncate(0)
                f.write(f"{os.getpid()}\n")
                f.flush()
                return f
            f.close()                       # its writer removed the file as we opened it: take the new one
        raise ConfigError(f"could not take {self.path}; remove it if nothing is running there")

    def release(self) -> None:
        key = self.path.resolve()
        if not self.held or key not in self._held:
            return
        self.held = False
        self._held[key][1] -= 1
        if self._held[key][1] == 0:
            f = self._held.pop(key)[0]
            self.path.unlink(missing_ok=True)
            f.close()                       # closing the file drops the OS lock
