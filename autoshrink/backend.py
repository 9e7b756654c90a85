"""Where candidates train: `local` (in this process) or `ray` (as Ray tasks, on this machine or a cluster).

    backend = make_backend(cfg)              # connects to Ray when cfg.backend == "ray"
    results = backend.train(cells, seeds, corpus, embedding, cfg, device, group=2, on_event=..., should_stop=...)

Both backends train `cells` in groups of `group` (one batched model per group, as `train.train_cells`)
and report through the same `on_event(kind, index=k, **info)` calls, k being the cell's place in
`cells`: "start" when a group begins, then train_cells' "epoch" and "candidate_done". A candidate's
result depends only on (cell, seed, settings, data), so both give the same numbers.

With Ray, each group is one task asking for one CPU and `cfg.gpus_per_task` GPUs; the corpus and
the start embedding go to the object store once per backend (one search). A task whose worker dies
is run again from scratch (up to RETRIES times); its events then start over with "start" and the
events of candidates already done are dropped. Events travel through a small actor that the driver
polls (one actor per backend, reset for each train call), and `should_stop` is passed to the tasks
through the same actor.
"""
from __future__ import annotations

import os
import signal
import socket

import torch

from .config import ConfigError, SearchConfig
from .runtime import resolve_device
from .train import train_cells

RETRIES = 3          # runs of a Ray task after its worker dies (a Python error is not retried)
POLL_SECONDS = 0.1   # how often the driver relays events and asks should_stop while Ray tasks run
CONNECT_SECONDS = 5  # wait for a --ray_address to answer before saying it does not
TASK_THREADS = 1     # torch threads in a Ray task: the task asks Ray for one CPU
# A marker file's path; a Ray task that finds the file deletes it and kills its own worker process
# after its first epoch. This is how the tests kill a worker in the middle of a candidate.
KILL_MARKER_ENV = "AUTOSHRINK_KILL_WORKER_MARKER"


def make_backend(cfg: SearchConfig):
    """The backend `cfg.backend` names, connected and ready; ConfigError (one line) when it cannot be."""
    return RayBackend(cfg.ray_address) if cfg.backend == "ray" else LocalBackend()


def _shifted(on_event, offset: int):
    return lambda kind, index, **info: on_event(kind, index=index + offset, **info)


class LocalBackend:
    """Groups trained one after another in this process."""

    def train(self, cells, seeds, corpus, embedding, cfg: SearchConfig, device, group: int = 1,
              on_event=None, should_stop=None, checkpoint=None) -> list:
        emit = on_event or (lambda kind, **info: None)
        results = [None] * len(cells)
        for start in range(0, len(cells), group):
            part = slice(start, start + group)
            for k in range(start, min(start + group, len(cells))):
                emit("start", index=k)
            results[part] = train_cells(cells[part], seeds[part], corpus, embedding, cfg, device,
                                        on_event=_shifted(emit, start), should_stop=should_stop, checkpoint=checkpoint)
            if any(r is None for r in results[part]):
                break
        return results


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray, which is not installed: pip install 'autoshrink[ray]' "
                          "(or use --backend local)") from None
    return ray


def connect(address: str | None):
    """Join the Ray cluster at `address` ("auto": the one running here), or start Ray on this machine
    (None); reuse a connection this process already has. Returns the ray module."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    if address not in (None, "auto"):
        _check_reachable(address)
    try:
        if address is None:
            ray.init(include_dashboard=False)
        else:
            ray.init(address=address)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = "no Ray is running on this machine" if address == "auto" else f"Ray did not connect to {address}"
        raise ConfigError(f"--ray_address {address}: {where} ({type(e).__name__}); start one with "
                          "`ray start --head`, or leave --ray_address out to start Ray here") from None
    return ray


def _check_reachable(address: str) -> None:
    """ConfigError unless something listens at HOST:PORT (Ray itself would retry for minutes)."""
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray_address {address} is not HOST:PORT; give the address `ray start --head` "
                          "printed, or auto")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as e:
        raise ConfigError(f"--ray_address {address}: no Ray cluster answers there ({e.strerror or e}); "
                          "check the address `ray start --head` printed, or use auto on a cluster node") from None


class RayBackend:
    """Each group is a Ray task; the driver waits for them all, relaying their events as they come."""

    def __init__(self, address: str | None):
        self.ray = connect(address)
        self._stored = {}   # id(object) -> (object, its ref): what is in the object store already
        self._task = self.ray.remote(_train_task)
        self._relay = None   # the events actor, made at the first train() and kept (it is a process)

    def _put(self, obj):
        """A ref to `obj` in the object store, put there once for this backend."""
        if id(obj) not in self._stored:
            self._stored[id(obj)] = (obj, self.ray.put(obj))
        return self._stored[id(obj)][1]

    def train(self, cells, seeds, corpus, embedding, cfg: SearchConfig, device, group: int = 1,
              on_event=None, should_stop=None, checkpoint=None) -> list:
        """As LocalBackend.train; `checkpoint` is not used: a task that dies is retried from scratch."""
        emit = on_event or (lambda kind, **info: None)
        if not cells:
            return []
        ray = self.ray
        if self._relay is None:
            self._relay = ray.remote(_Relay).options(num_cpus=0).remote()
        relay = self._relay
        ray.get(relay.reset.remote())
        task = self._task.options(num_cpus=1, num_gpus=cfg.gpus_per_task, max_retries=RETRIES)
        data = (self._put(corpus), self._put(embedding))
        refs = {task.remote(cells[s:s + group], seeds[s:s + group], *data, cfg, s, relay): s
                for s in range(0, len(cells), group)}
        results, done, pending = [None] * len(cells), set(), list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_SECONDS)
                _forward(ray.get(relay.drain.remote()), emit, done)
                if should_stop and should_stop():
                    relay.stop.remote()
                for ref in ready:
                    part = _task_result(ray, ref)
                    results[refs[ref]:refs[ref] + len(part)] = part
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
        return results


def _task_result(ray, ref) -> list:
    """The results of a finished task; a ConfigError raised in the task is raised here as itself."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        if isinstance(e.cause, ConfigError):
            raise e.cause from None
        raise


def _forward(events, emit, done: set) -> None:
    """Re-emit the tasks' events on the driver, dropping those of candidates already done (a
    retried task replays them)."""
    for kind, index, info in events:
        if index in done:
            continue
        if kind == "candidate_done":
            done.add(index)
        emit(kind, index=index, **info)


class _Relay:
    """A Ray actor: events from the tasks, waiting for the driver; and the driver's stop request."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.events, self.stopped = [], False

    def put(self, event) -> None:
        self.events.append(event)

    def drain(self) -> list:
        out, self.events = self.events, []
        return out

    def stop(self) -> None:
        self.stopped = True

    def should_stop(self) -> bool:
        return self.stopped


def _train_task(cells, seeds, corpus, embedding, cfg: SearchConfig, offset: int, relay) -> list:
    """One group, in a Ray worker: train_cells with its events sent to the relay as they happen.
    Sends are not waited for (an actor runs one caller's calls in order); the last one is, so that
    every event is with the relay before the results reach the driver."""
    import ray
    torch.set_num_threads(TASK_THREADS)
    marker = os.environ.get(KILL_MARKER_ENV)
    sent = []

    def send(kind, index, **info):
        sent[:] = [relay.put.remote((kind, index + offset, info))]
        if kind == "epoch" and marker and _take(marker):
            ray.get(sent[0])
            os.kill(os.getpid(), signal.SIGKILL)

    for k in range(len(cells)):
        send("start", k)
    results = train_cells(cells, seeds, corpus, embedding, cfg, resolve_device(cfg.device), on_event=send,
                          should_stop=lambda: ray.get(relay.should_stop.remote()))
    ray.get(sent[0])
    return results


def _take(path: str) -> bool:
    """Delete the file at `path`; True if this call deleted it (of tasks racing for it, one wins)."""
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    return True
