"""The lab never makes training wait for a figure: the training thread hands its changes over, a
drawing thread applies and draws them, and a lab that falls behind draws only the latest change
of each kind (and candidate), the progress it reads holding every one."""
import threading
import time

from autoshrink.core.config import SearchConfig
from autoshrink.core.events import CandidateDone, CandidateEpoch, CandidateStarted
from autoshrink.lab.runner import BusyChanged, Runner
from records import LAB_TINY


def test_a_lab_behind_draws_the_latest_change_of_each_candidate_with_every_epoch_applied():
    told = []
    runner = Runner(lambda: None, on_change=lambda c: told.append(c))
    epochs = [CandidateEpoch(0, (0, 1), k, 3, 6.0 - k, 6.1 - k) for k in range(3)]
    other = CandidateEpoch(0, (0, 2), 0, 3, 5.0, 5.1)
    runner._draw([epochs[0], other, epochs[1], epochs[2]])
    assert told == [other, epochs[2]]                                   # the order of their last occurrence
    assert [e["epoch"] for e in runner.progress.curves[(0, 1)]] == [0, 1, 2]
    assert len(runner.progress.curves[(0, 2)]) == 1


def test_training_goes_on_while_the_lab_is_stuck_drawing(tiny_data, tmp_path):
    gate, told, trained = threading.Event(), [], []
    trainer = []

    def on_change(change):        # a figure that takes until the test says so
        told.append((change, threading.current_thread()))
        if isinstance(change, CandidateStarted):
            gate.wait(120)

    cfg = SearchConfig(**LAB_TINY, data=str(tiny_data), save=str(tmp_path / "run"))
    runner = Runner(lambda: cfg, on_change=on_change,
                    on_event=lambda e: (trainer.append(threading.current_thread()), trained.append(e)))
    runner.start_step()
    deadline = time.monotonic() + 300
    while runner.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not runner.busy and not gate.is_set()                      # the whole step trained behind a stuck lab
    assert sum(isinstance(e, CandidateDone) for e in trained) == 3
    gate.set()
    runner.wait(60)
    assert all(thread is not trainer[0] for _, thread in told)           # never drawn in the training thread
    assert isinstance(told[-1][0], BusyChanged) and runner.progress.done == 3 and runner.progress.training == []
    assert runner.history and runner.progress.phase.startswith("step 0 done")


def test_a_panel_redrawing_as_fast_as_it_can_while_a_search_steps_draws_only_states_the_record_held(
        tiny_data, tmp_path):
    """The stress test of the rule: the loop publishes copies, the views read only those. A thread
    redraws the whole panel in a loop while the search takes two steps; no thread may raise, and
    every record drawn must be one the search held: its steps and candidates only ever grow, and
    each drawn record is complete (a finished step has its cell and its candidates all)."""
    from autoshrink.lab.widgets import SearchLab
    lab = SearchLab(SearchConfig(**LAB_TINY, data=str(tiny_data), save=str(tmp_path / "run")))
    errors, seen, done = [], [], threading.Event()
    hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)

    def redraw():
        while not done.is_set():
            try:
                record = lab.runner.record
                lab._draw_all(to=None)
            except Exception as e:                  # noqa: BLE001 (any error fails the test below)
                errors.append(e)
                return
            if record is not None:
                seen.append((len([s for s in record.steps if s.done]),
                             sum(len(s.candidates) for s in record.steps), record))
            time.sleep(0.002)   # hands the GIL over: a drawer spinning on it starves training (each torch op waits)
    drawer = threading.Thread(target=redraw)
    drawer.start()
    try:
        lab.runner.step()
        lab.runner.step()
    finally:
        done.set()
        drawer.join(60)
        threading.excepthook = hook
    lab.runner.wait(60)
    assert not errors and not lab.runner.trace
    assert len(seen) > 3
    counts = [(steps, cands) for steps, cands, _ in seen]
    assert counts == sorted(counts)                                  # never a step or candidate undone
    for _, _, record in seen:
        for step in record.steps:
            if step.done:
                assert step.cell is not None and len(step.candidates) == len(step.order)
            else:
                assert len(step.candidates) <= len(step.order)
    assert seen[-1][0] == len(lab.runner.history) >= 1
    assert lab.runner.record is not lab.runner.search.record                      # the views hold a copy
    assert lab.runner.record.to_dict() == lab.runner.search.record.to_dict()      # of the record as it ended
