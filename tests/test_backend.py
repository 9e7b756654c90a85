"""The Ray backend against the local one, on a local Ray of 2 CPUs at a tiny size: the same cell and
the same figures (CLI, Search, lab, compared cells, proxy), per-epoch events relayed while tasks run,
a worker killed mid-candidate retried, a killed driver resumed; `train` on Ray printing the local
epochs and figures, also with its worker killed mid-run; and the one-line errors (bad settings, Ray
missing, an address nobody answers)."""
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

from autoshrink import cli
from autoshrink.backend import KILL_MARKER_ENV, make_backend
from autoshrink.core.config import SearchConfig
from autoshrink.core.errors import ConfigError
from autoshrink.search import Search

_ray_installed = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                    reason="Ray is not installed: pip install -e '.[ray]' (make venv installs it)")


def needs_ray(test):
    """A test that starts Ray: marked `ray`, skipped when Ray is not installed."""
    return pytest.mark.ray(_ray_installed(test))
ROOT = Path(__file__).resolve().parents[1]
TINY = dict(nodes=3, emsize=8, epochs=2, batch_size=16, eval_batch_size=8, bptt=10, keep_fraction=0.5,
            max_steps_to_action=3, seed=7, parallel=1)


def tiny(tiny_data, save, **kw) -> SearchConfig:
    return SearchConfig(**{**TINY, "data": str(tiny_data), "save": str(save), **kw})


def flags(tiny_data, save) -> list[str]:
    return [f"--{k}={v}" for k, v in {**TINY, "data": tiny_data, "save": save}.items()]


def figures(state: dict, reference: bool = False) -> dict:
    """Everything a search found but wall times: candidates by edge (their completion order may
    differ), each step's choice, the best and the final cell. Step means are sums in completion
    order, so a reference's means are matched to rounding only."""
    def drop(d):
        return {k: v for k, v in d.items() if k != "seconds"}
    means = ("mean_score", "mean_ppl", "mean_flops")
    steps = [{**{k: v for k, v in s.items() if k not in ("candidates", *means)},
              "candidates": sorted((drop(c) for c in s["candidates"]), key=lambda c: c["edge"]),
              "means": [pytest.approx(s[k], rel=1e-12) if reference else s[k] for k in means]}
             for s in state["steps"]]
    return {"initial": state["initial"], "cell": state["cell"], "best": state["best"], "steps": steps,
            "final": drop(state["final"])}


def recorder(events: list):
    return lambda e: events.append((type(e).__name__, getattr(e, "edge", None), getattr(e, "epoch", None)))


@pytest.fixture(scope="module")
def local_run(tiny_data, tmp_path_factory):
    """The reference: the tiny search with the local backend, and its events, trained on one torch
    thread as a Ray task is (Ray starts its workers with one thread): on some CPUs (seen on an Intel
    Xeon) two threads and one sum a loss in another order, and the last digits differ."""
    events = []
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        search = Search(tiny(tiny_data, tmp_path_factory.mktemp("local") / "run"), on_event=recorder(events))
        search.run()
    finally:
        torch.set_num_threads(n)
    return search.state, events


def test_backend_settings_are_checked():
    for bad, flag in ((dict(backend="slurm"), "--backend"), (dict(gpus_per_task=-1.0), "--gpus_per_task"),
                      (dict(ray_address=" "), "--ray_address")):
        with pytest.raises(ConfigError, match=flag):
            SearchConfig(**bad).check()
    assert SearchConfig(backend="ray", ray_address="auto", gpus_per_task=0.5).check().backend == "ray"


def test_ray_not_installed_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)   # `import ray` now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'autoshrink\[ray\]'"):
        make_backend(SearchConfig(backend="ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_ray
def test_unreachable_address_is_one_line_from_the_cli(tiny_data, tmp_path, capsys):
    import ray
    assert not ray.is_initialized()   # else the backend would reuse that connection
    code = cli.main(["search", *flags(tiny_data, tmp_path / "run"), "--backend", "ray",
                     "--ray_address", f"127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no Ray cluster answers" in err, err


@needs_ray
def test_cli_search_on_a_ray_it_starts_gives_the_local_figures(tiny_data, tmp_path, local_run):
    """`--backend ray` without an address starts Ray on this machine for the run."""
    save = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "autoshrink", "search", *flags(tiny_data, save), "--backend", "ray"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    state = json.loads((save / "search.json").read_text())
    assert figures(state) == figures(local_run[0], reference=True)
    assert out.stdout.count("  epoch ") == 2 * (3 + 1)   # per-epoch lines of 3 candidates and the final cell


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray of 2 CPUs for the tests below; yields the marker file that makes a task kill its worker."""
    import ray
    marker = tmp_path_factory.mktemp("fault") / "kill-a-worker"
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {KILL_MARKER_ENV: str(marker)}})
    yield marker
    ray.shutdown()


@needs_ray
def test_ray_search_gives_the_local_cell_figures_and_events(tiny_data, tmp_path, local_run, ray_cluster):
    events = []
    search = Search(tiny(tiny_data, tmp_path / "run", backend="ray"), on_event=recorder(events))
    search.run()
    state, local_events = local_run
    assert figures(search.state) == figures(state, reference=True)
    assert Counter(events) == Counter(local_events)
    for edge in {e for _, e, _ in local_events if e is not None}:
        mine = [(kind, epoch) for kind, e, epoch in events if e == edge]
        assert mine == [("CandidateStarted", None), ("CandidateEpoch", 0), ("CandidateEpoch", 1),
                        ("CandidateDone", None)]


@needs_ray
def test_a_worker_killed_mid_candidate_is_retried_with_the_same_figures(tiny_data, tmp_path, local_run,
                                                                        ray_cluster):
    ray_cluster.touch()   # the first task to end an epoch deletes it and kills its own worker process
    events = []
    search = Search(tiny(tiny_data, tmp_path / "run", backend="ray"), on_event=recorder(events))
    search.run()
    assert not ray_cluster.exists()
    assert figures(search.state) == figures(local_run[0], reference=True)
    starts = Counter(e for kind, e, _ in events if kind == "CandidateStarted" and e is not None)
    [killed] = [e for e, n in starts.items() if n == 2]
    assert sorted(starts.values()) == [1, 1, 2]
    # The killed attempt's first epoch reached the driver before the worker died (events are live),
    # then the retry ran the candidate again from its start.
    assert [(kind, epoch) for kind, e, epoch in events if e == killed] == [
        ("CandidateStarted", None), ("CandidateEpoch", 0), ("CandidateStarted", None), ("CandidateEpoch", 0),
        ("CandidateEpoch", 1), ("CandidateDone", None)]


@needs_ray
def test_a_killed_driver_resumes_on_ray_keeping_finished_candidates(tiny_data, tmp_path, local_run, ray_cluster):
    """The CLI joins the running Ray (auto), is killed (SIGKILL) after its first finished candidate,
    and `--resume` on Ray trains only the candidates not saved yet."""
    save = tmp_path / "run"
    ray_flags = ["--backend", "ray", "--ray_address", "auto"]
    proc = subprocess.Popen([sys.executable, "-m", "autoshrink", "search", *flags(tiny_data, save), *ray_flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        for line in proc.stdout:
            if line.startswith("  edge ") and ": ppl " in line:   # a candidate is done (saved before this line)
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=60)
    saved = json.loads((save / "search.json").read_text())
    done = [tuple(c["edge"]) for c in saved["steps"][0]["candidates"]]
    assert saved["final"] is None and 1 <= len(done) < 3
    out = subprocess.run([sys.executable, "-m", "autoshrink", "search", "--resume", str(save), *ray_flags],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    for edge in done:
        assert f"removing edge {edge}" not in out.stdout
    assert out.stdout.count("removing edge") == 3 - len(done)
    assert figures(json.loads((save / "search.json").read_text())) == figures(local_run[0], reference=True)


@needs_ray
def test_the_lab_with_the_ray_backend_finishes_the_local_search(tiny_data, tmp_path, local_run, ray_cluster):
    from autoshrink.lab.widgets import SearchLab
    lab = SearchLab(tiny(tiny_data, tmp_path / "run"))
    lab.set(backend="ray")
    assert lab.config().backend == "ray" and lab.config().ray_address is None
    lab.run()
    assert lab.search.finished and "finished" in lab.status.value
    assert figures(lab.search.state) == figures(local_run[0], reference=True)


@needs_ray
def test_compared_cells_and_proxy_on_ray_equal_local(tiny_data, tmp_path, ray_cluster, capsys):
    from autoshrink.core.cell import Cell
    from autoshrink.lab.widgets import CellsLab
    cells = {"full": Cell.full(("tanh",) * 3), "chain": Cell.from_edges([(0, 1), (1, 2)], ("tanh", "relu", "tanh"))}
    cfg = tiny(tiny_data, tmp_path / "unused")
    labs = [CellsLab(cells, cfg.replace(backend=b)) for b in ("local", "ray")]
    local, remote = (lab.run() for lab in labs)
    assert [r["name"] for r in labs[1].rows()] == list(cells)   # the table keeps the cells' order
    for name in cells:
        assert {**remote[name].to_dict(), "seconds": 0} == {**local[name].to_dict(), "seconds": 0}
    (tmp_path / "chain.json").write_text(json.dumps(cells["chain"].to_dict()))
    proxy = ["proxy", "--cell", str(tmp_path / "chain.json"), "--data", str(tiny_data), "--emsize=8", "--epochs=2",
             "--batch_size=16", "--eval_batch_size=8", "--bptt=10", "--seed=7"]
    outs = []
    for backend in ("local", "ray"):
        assert cli.main([*proxy, "--backend", backend]) == 0
        outs.append({k: v for k, v in json.loads(capsys.readouterr().out).items() if k != "seconds"})
    assert outs[0] == outs[1]


def train_args(tiny_data, out, *more) -> list[str]:
    return ["train", "--cell", "darts", "--preset", "test", "--data", str(tiny_data), "--device", "cpu",
            "--epochs", "3", "--out", str(out), *more]


def train_lines(out: str) -> tuple[list[str], dict]:
    """The per-epoch (and switch) lines without their times, and the JSON line's perplexities."""
    lines = out.strip().splitlines()
    epochs = [line.rsplit("(", 1)[0] for line in lines if line.startswith("  ")]
    result = json.loads(lines[-1])
    return epochs, {k: result[k] for k in ("valid_ppl", "test_ppl", "best_epoch", "epochs")}


@pytest.fixture(scope="module")
def local_train(tiny_data, tmp_path_factory):
    """The reference: the tiny final training of 3 epochs with the local backend, as the CLI prints it."""
    args = train_args(tiny_data, tmp_path_factory.mktemp("lt") / "run")
    out = subprocess.run([sys.executable, "-m", "autoshrink", *args],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    return train_lines(out.stdout)


@needs_ray
def test_train_on_ray_prints_the_local_epochs_and_figures(tiny_data, tmp_path, local_train, ray_cluster, capsys):
    assert cli.main(train_args(tiny_data, tmp_path / "run", "--backend", "ray")) == 0
    out = capsys.readouterr().out
    assert "on Ray" in out and "resuming" not in out
    epochs, result = train_lines(out)
    assert sum(line.startswith("  epoch") for line in epochs) == 3 and (epochs, result) == local_train
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "done"


@needs_ray
def test_train_on_ray_with_its_worker_killed_resumes_to_the_local_figures(tiny_data, tmp_path, local_train,
                                                                          ray_cluster, capsys):
    ray_cluster.touch()   # the task kills its worker after epoch 2, before that epoch's checkpoint
    assert cli.main(train_args(tiny_data, tmp_path / "run", "--backend", "ray", "--ray_address", "auto")) == 0
    assert not ray_cluster.exists()
    out = capsys.readouterr().out
    assert "training from epoch 1 of 3" in out and "resuming after epoch 1 of 3" in out
    assert train_lines(out) == local_train   # the redone epoch 2 is printed once


def test_train_backend_settings_are_one_line(tiny_data, tmp_path, capsys):
    assert cli.main(train_args(tiny_data, tmp_path / "run", "--backend", "slurm")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--backend must be one of local, ray" in err, err


@needs_ray
def test_a_space_table_on_ray_equals_the_local_table(tiny_data, tmp_path, ray_cluster):
    from autoshrink.space.table import build_table
    cfg = tiny(tiny_data, tmp_path / "local", nodes=3)
    local = build_table(cfg, tmp_path / "local", seeds=1)
    remote = build_table(cfg.replace(backend="ray", ray_address="auto"), tmp_path / "ray", seeds=1)

    def runs(table):
        return {(row["key"], k): (r["ppl"], r["test_ppl"]) for row in table.cells for k, r in enumerate(row["runs"])}
    assert len(runs(remote)) == 6 and runs(remote) == runs(local)
