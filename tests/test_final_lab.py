"""The final-training panel: settings from the preset, Start/Pause in the background, reopening
after a restart (a new FinalLab on the same folder) continues to the straight run's numbers."""
import pytest

from autoshrink.core.cell import Cell
from autoshrink.core.events import FinalEpoch
from autoshrink.final.config import FinalConfig
from autoshrink.final.run import FinalRun
from autoshrink.lab.final_lab import PUBLISHED, FinalLab, result_rows

CELL3 = Cell.from_edges([(0, 1), (1, 2), (0, 2)], ("tanh", "sigmoid", "relu"))


pytestmark = pytest.mark.usefixtures("one_thread")   # tiny models: thread start-up costs more than it saves


def test_panel_follows_the_preset(tmp_path, tiny_data):
    lab = FinalLab(tmp_path / "run", CELL3, preset="test", data=str(tiny_data), device="cpu")
    assert lab.config() == FinalConfig.preset("test", data=str(tiny_data), device="cpu")
    lab.preset.value = "small"
    assert lab.inputs["emsize"].value == FinalConfig.preset("small").emsize
    assert lab.inputs["data"].value == str(tiny_data)
    assert "not started" in lab.status.value and lab.buttons["Pause"].disabled
    lab._ensure_run()
    assert lab._training_note() == f"training epoch 1 of {lab.config().epochs}: its point appears when it ends"


def test_pause_then_reopen_continues_to_the_same_numbers(tmp_path, tiny_data):
    settings = dict(data=str(tiny_data), device="cpu", epochs=3)
    straight = FinalRun.create(tmp_path / "straight", FinalConfig.preset("test", **settings), CELL3).run()
    lab = FinalLab(tmp_path / "run", CELL3, preset="test", **settings)
    paused = []
    lab._on_event = lambda e: (paused.append(e.epoch), lab.pause()) if isinstance(e, FinalEpoch) else None
    lab.start()
    lab.wait(120)
    assert not lab.busy and paused == [0] and not lab.run_obj.finished
    assert "paused" in lab.status.value
    reopened = FinalLab(tmp_path / "run", preset="paper")           # after a kernel restart
    assert len(reopened.history) == 1 and reopened.inputs["emsize"].disabled
    assert reopened.config().emsize == FinalConfig.preset("test").emsize
    result = reopened.run()
    assert result["test_ppl"] == straight["test_ppl"]
    assert len(reopened.figure.figure.data[1].x) == 3 and "finished" in reopened.status.value
    table = reopened.results.value
    assert all(name in table for name, _, _ in PUBLISHED) and "this run" in table and "full PTB" in table


def test_stop_tests_the_best_weights_so_far(tmp_path, tiny_data):
    lab = FinalLab(tmp_path / "run", CELL3, preset="test", data=str(tiny_data), device="cpu", epochs=3)
    lab._on_event = lambda e: lab.stop() if isinstance(e, FinalEpoch) else None
    lab.start()
    lab.wait(120)
    run = FinalRun.open(tmp_path / "run")
    assert run.finished and run.result["epochs"] == 1 and len(run.history) == 1
    assert run.result["valid_loss"] == pytest.approx(run.history[0]["val_loss"])
    assert "stopped after epoch 1 of 3" in lab.status.value and lab.buttons["Start"].disabled


def test_stop_says_it_is_final_and_the_row_counts_the_epochs_trained(tmp_path, tiny_data):
    """Issue 32 item 6: after Stop at epoch 1 of 3 the status read "finished", nothing said Stop is
    final, and the result row said "3 epochs" where run.json records 1."""
    lab = FinalLab(tmp_path / "run", CELL3, preset="test", data=str(tiny_data), device="cpu", epochs=3)
    assert "final" in lab.buttons["Stop"].tooltip and "continue" in lab.buttons["Pause"].tooltip
    lab._on_event = lambda e: lab.stop() if isinstance(e, FinalEpoch) else None
    lab.start()
    lab.wait(120)
    run = FinalRun.open(tmp_path / "run")
    assert run.result["epochs"] == 1
    assert "stopped after epoch 1 of 3" in lab.status.value and "Start" in lab.status.value
    [row] = [r for r in result_rows({"this run": tmp_path / "run"}) if r["name"] == "this run"]
    assert row["training"].startswith(tiny_data.name + ", 1 epoch of 3,"), row["training"]
    assert "1 epoch of 3" in lab.results.value


def test_run_during_a_start_is_refused(tmp_path, tiny_data):
    lab = FinalLab(tmp_path / "run", CELL3, preset="test", data=str(tiny_data), device="cpu", epochs=50)
    lab.start()
    try:
        with pytest.raises(RuntimeError, match="Start is running"):
            lab.run()
    finally:
        lab.stop()
        lab.wait(120)
    assert not lab.busy
