"""Where candidates and final trainings run: `local` (this process) or `ray` (Ray tasks, here or on a cluster).

    backend = make_backend(cfg)              # connects to Ray when cfg.backend == "ray"
    results = backend.train(cells, seeds, corpus, embedding, cfg, device, group=2, on_event=..., should_stop=...)

Both backends train `cells` in groups of `group` (one batched model per group, as `train.train_cells`;
`group` a list of sizes gives each group its own)
and report through the same `on_event(event)` calls (autoshrink.core.events), the event's index being
the cell's place in `cells`: TrainingStarted when a group begins, then train_cells' EpochDone and
TrainingDone. A candidate's result depends only on (cell, seed, settings, data) and the arithmetic:
a Ray task trains with one torch thread, which moves the last digits against a local run with
another thread count (docs/guide/reproducibility.md).

With Ray, each group is one task asking for one CPU and `cfg.gpus_per_task` GPUs; the corpus and
the start embedding go to the object store once per backend (one search). A task whose worker dies
is run again from scratch (up to RETRIES times); its events then start over with "start" and the
events of candidates already done are dropped. Events travel through a small actor that the driver
polls (one actor per backend, reset for each train call), and `should_stop` is passed to the tasks
through the same actor.

A final training (autoshrink.final.run) runs here or as one Ray task in its run folder, its events
relayed the same way, resuming from its last checkpoint when its worker dies:

    run_final(FinalRun.open("runs/shrink"), backend="ray", on_event=...)
"""
from __future__ import annotations

import dataclasses
import os
import signal
import socket
from pathlib import Path

import torch

from .core.config import SearchConfig
from .core.errors import ConfigError
from .core.events import EpochDone, FinalEpoch, PhaseSwitched, TrainingDone, TrainingStarted, ignore
from .core.runtime import resolve_device
from .final.run import FinalRun
from .proxy.train import train_cells

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


def spans(n: int, group) -> list[slice]:
    """The places in n cells of each group: `group` at a time (an int), or groups of the sizes listed."""
    sizes = group if isinstance(group, (list, tuple)) else [group] * -(-n // group)
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    return [slice(a, min(a + size, n)) for a, size in zip(starts, sizes) if a < n]


def _shifted(on_event, offset: int):
    """on_event, told each event with its index moved `offset` on (a group's place in the whole call)."""
    return lambda event: on_event(dataclasses.replace(event, index=event.index + offset))


class LocalBackend:
    """Groups trained one after another in this process."""

    def train(self, cells, seeds, corpus, embedding, cfg: SearchConfig, device, group=1,
              on_event=None, should_stop=None, checkpoint=None, stop_after=None, test: bool = False) -> list:
        emit = on_event or ignore
        results = [None] * len(cells)
        for part in spans(len(cells), group):
            for k in range(part.start, part.stop):
                emit(TrainingStarted(k))
            results[part] = train_cells(cells[part], seeds[part], corpus, embedding, cfg, device,
                                        on_event=_shifted(emit, part.start), should_stop=should_stop,
                                        checkpoint=checkpoint, stop_after=stop_after, test=test)
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

    def train(self, cells, seeds, corpus, embedding, cfg: SearchConfig, device, group=1,
              on_event=None, should_stop=None, checkpoint=None, test: bool = False) -> list:
        """As LocalBackend.train; `checkpoint` is not used: a task that dies is retried from scratch."""
        emit = on_event or ignore
        if not cells:
            return []
        ray = self.ray
        if self._relay is None:
            self._relay = ray.remote(_Relay).options(num_cpus=0).remote()
        relay = self._relay
        ray.get(relay.reset.remote())
        task = self._task.options(num_cpus=1, num_gpus=cfg.gpus_per_task, max_retries=RETRIES)
        data = (self._put(corpus), self._put(embedding))
        refs = {task.remote(cells[s], seeds[s], *data, cfg, s.start, relay, test): s.start
                for s in spans(len(cells), group)}
        results, done = [None] * len(cells), set()

        def collect(ref):
            part = _task_result(ray, ref)
            results[refs[ref]:refs[ref] + len(part)] = part

        _drive(ray, relay, list(refs), lambda events: _forward(events, emit, done), should_stop, collect)
        return results


def _drive(ray, relay, refs: list, forward, should_stop, collect) -> None:
    """Wait for the tasks `refs`, handing the relay's events to `forward` every POLL_SECONDS and each
    finished task's ref to `collect`; a true should_stop() goes to the tasks through the relay. Tasks
    still running when this ends otherwise (an error, Ctrl-C) are cancelled."""
    pending = refs
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_SECONDS)
            forward(ray.get(relay.drain.remote()))
            if should_stop and should_stop():
                relay.stop.remote()
            for ref in ready:
                collect(ref)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


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
    for event in events:
        if event.index in done:
            continue
        if isinstance(event, TrainingDone):
            done.add(event.index)
        emit(event)


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


class _Sender:
    """A task's events, sent to the relay as they happen. Sends are not waited for (an actor runs one
    caller's calls in order); `flush` waits for the last, so that every event is with the relay before
    the task's result reaches the driver. The kill-marker hook: at an event `may_kill` accepts, a task
    that takes the marker file kills its own worker process."""

    def __init__(self, relay, may_kill):
        self.relay, self.may_kill, self.last = relay, may_kill, None
        self.marker = os.environ.get(KILL_MARKER_ENV)

    def __call__(self, event) -> None:
        self.last = self.relay.put.remote(event)
        if self.marker and self.may_kill(event) and _take(self.marker):
            self.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def flush(self) -> None:
        import ray
        if self.last is not None:
            ray.get(self.last)


def _train_task(cells, seeds, corpus, embedding, cfg: SearchConfig, offset: int, relay, test: bool = False) -> list:
    """One group, in a Ray worker: train_cells with its events sent to the relay as they happen."""
    import ray
    torch.set_num_threads(TASK_THREADS)
    send = _Sender(relay, lambda event: isinstance(event, EpochDone))
    emit = _shifted(send, offset)
    for k in range(len(cells)):
        emit(TrainingStarted(k))
    results = train_cells(cells, seeds, corpus, embedding, cfg, resolve_device(cfg.device), on_event=emit,
                          should_stop=lambda: ray.get(relay.should_stop.remote()), test=test)
    send.flush()
    return results


def _take(path: str) -> bool:
    """Delete the file at `path`; True if this call deleted it (of tasks racing for it, one wins)."""
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    return True


# ----------------------------------------------------------------------------- final training

def run_final(run: FinalRun, backend: str = "local", ray_address: str | None = None, gpus_per_task: float = 0.0,
              device: str | None = None, on_event=None, should_stop=None) -> dict | None:
    """`run.run(on_event, should_stop)` here (local), or as one Ray task (ray) asking for one CPU and
    `gpus_per_task` GPUs, that runs the training in the run's folder (so the worker must reach that
    folder and the run's data: on a cluster, storage every node shares). `device` replaces the run's
    device setting on the worker (None: the setting, resolved there). A task whose worker dies is
    run again (up to RETRIES times) and resumes from the last checkpoint; the epochs it redoes are not
    emitted again. `run.record` becomes the task's. Returns the result, as FinalRun.run."""
    SearchConfig(backend=backend, ray_address=ray_address, gpus_per_task=gpus_per_task).check()
    if backend == "local":
        return run.run(on_event=on_event, should_stop=should_stop)
    emit = on_event or ignore
    ray = connect(ray_address)
    relay = ray.remote(_Relay).options(num_cpus=0).remote()
    task = ray.remote(_final_task).options(num_cpus=1, num_gpus=gpus_per_task, max_retries=RETRIES)
    ref = task.remote(str(run.folder.resolve()), run.record, device, relay, should_stop is not None)
    seen, records = set(), []
    try:
        _drive(ray, relay, [ref], lambda events: _forward_final(events, emit, seen), should_stop,
               lambda done: records.append(_task_result(ray, done)))
    finally:
        ray.kill(relay)
    run.record = records[0]
    return run.result


def _forward_final(events, emit, seen: set) -> None:
    """Re-emit a final training's events on the driver, dropping the epochs (and switches) that a
    retried task, resumed from its last checkpoint, redoes."""
    for event in events:
        if isinstance(event, (FinalEpoch, PhaseSwitched)):
            key = (type(event), event.epoch)
            if key in seen:
                continue
            seen.add(key)
        emit(event)


def _final_task(folder: str, record: dict, device: str | None, relay, ask_stop: bool) -> dict:
    """The final training, in a Ray worker, in its folder; returns the run's record. The kill-marker
    hook fires after an epoch that has a checkpoint before it, so that the retry resumes from one."""
    import ray
    torch.set_num_threads(TASK_THREADS)
    if not (Path(folder) / "run.json").is_file():
        raise ConfigError(f"--out {folder} is not reachable from the Ray worker on {socket.gethostname()}; "
                          "put --out on storage every node shares")
    run = FinalRun(folder, record, device)
    send = _Sender(relay, lambda event: isinstance(event, FinalEpoch) and event.epoch >= 1)
    stop = (lambda: ray.get(relay.should_stop.remote())) if ask_stop else None
    run.run(on_event=send, should_stop=stop)
    send.flush()
    return run.record
