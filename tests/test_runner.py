"""The lab's runner without any widget: a search stepped and run through it, its events collected
into `progress`, and a search followed read-only while another writer rewrites search.json."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

import records
from autoshrink import SearchConfig  # noqa: E402
from autoshrink.core.disk import write_json_atomic  # noqa: E402
from autoshrink.lab.runner import LabError, Runner  # noqa: E402

TINY = dict(nodes=3, emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10, keep_fraction=0.34,
            max_steps_to_action=3, device="cpu", parallel=1)


def test_the_runner_imports_no_widgets():
    code = ("import sys, autoshrink.lab.runner, autoshrink.lab.views; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'anywidget')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_runner_steps_runs_and_exports(tiny_data, tmp_path):
    cfg = SearchConfig(**TINY, data=str(tiny_data), save=str(tmp_path / "run"))
    told = []
    runner = Runner(lambda: cfg, on_change=lambda c: told.append((type(c).__name__, runner.progress.phase)))
    assert runner.state is None and not (tmp_path / "run").exists()      # nothing read before a step
    record = runner.step()
    assert record["done"] and runner.history == [record]
    kinds = [k for k, _ in told]
    assert kinds[0] == "BusyChanged" and kinds[-1] == "BusyChanged"
    assert kinds.count("CandidateStarted") == kinds.count("CandidateDone") == 3 and "StepDone" in kinds
    assert ("CandidateStarted", "step 0: training candidate 1 of 3 (edge "
            f"{record['order'][0][0]}→{record['order'][0][1]})") in told
    assert runner.progress.training == [] and runner.progress.done == 3
    assert (tmp_path / "run" / "best_perf_log.png").is_file()             # the seed's curves, as the CLI writes them
    runner.start_run()
    runner.wait(60)
    assert runner.error is None and runner.finished and not runner.busy
    assert runner.progress.phase.startswith("finished: final cell ppl")
    best = runner.state["best"]
    assert f"best cell after step {best['step']}" in runner.progress.phase
    files, cell, name = runner.export()
    assert name == "cell-best" and files["json"].name == "cell-best.json" and cell.to_dict() == best["cell"]


def test_following_rereads_search_json_and_never_writes(tmp_path):
    save = tmp_path / "run"
    write_json_atomic(save / "search.json", records.best_first(tmp_path, save, steps=1, final=False))
    told = []
    runner = Runner(lambda: None, on_change=lambda c: told.append(type(c).__name__))
    runner.follow(save, interval=0.05)
    try:
        assert runner.following and runner.progress.phase == "following (read-only)"
        assert len(runner.history) == 1 and not runner.finished
        with pytest.raises(LabError, match="read-only"):
            runner.step()
        with pytest.raises(LabError, match="read-only"):
            runner.export()
        before = (save / "search.json").read_bytes()
        write_json_atomic(save / "search.json", records.best_first(tmp_path, save, steps=2, final=True))
        deadline = time.monotonic() + 10
        while len(runner.history) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        with runner.lock:   # the refresh is complete
            pass
        assert len(runner.history) == 2 and runner.finished and "Refreshed" in told
        assert runner.progress.phase == "following (read-only): the search has finished"
        assert runner.update() is False                       # nothing new since
        assert before != (save / "search.json").read_bytes()
    finally:
        runner.unfollow()
    assert not runner.following and runner._watcher is None
