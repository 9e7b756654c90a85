"""The lab's worker: one job at a time, here or in a thread, with pause and stop flags."""
import threading

import pytest

from autoshrink.lab.worker import Worker


def test_one_job_at_a_time_and_on_end_sees_it_finished():
    seen, gate = [], threading.Event()
    w = Worker("busy: wait", on_end=lambda: seen.append(w.busy))
    assert w.run(lambda: 7) == 7 and seen == [False]
    assert w.start(gate.wait) and w.busy
    assert not w.start(lambda: None)                      # a second job is not started
    with pytest.raises(RuntimeError, match="busy: wait"):
        w.run(lambda: None)
    w.pause()
    assert w.pausing and not w.stopping
    gate.set()
    w.wait(10)
    assert not w.busy and seen == [False, False]
    w.run(lambda: None)
    assert not w.pausing                                   # each job starts with the flags down


def test_a_failing_job_leaves_the_worker_free():
    w = Worker("busy")
    with pytest.raises(ZeroDivisionError):
        w.run(lambda: 1 / 0)
    assert not w.busy and w.run(lambda: "again") == "again"
