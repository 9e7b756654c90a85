"""The event records: frozen, picklable (Ray tasks send them), and what a search step sends, in order."""
import dataclasses
import inspect
import pickle

import pytest

from autoshrink.core import events
from autoshrink.core.events import CandidateDone, CandidateEpoch, CandidateStarted, StepDone
from autoshrink.search import Search
from records import tiny

RECORDS = [c for _, c in inspect.getmembers(events, inspect.isclass) if dataclasses.is_dataclass(c)]


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_records_are_frozen_and_picklable(cls):
    event = cls(*range(len(dataclasses.fields(cls))))
    assert pickle.loads(pickle.dumps(event)) == event
    if dataclasses.fields(cls):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, dataclasses.fields(cls)[0].name, None)


@pytest.mark.slow
def test_a_step_sends_each_candidates_start_epochs_and_result_then_the_step(tiny_data, tmp_path):
    seen = []
    s = Search(tiny(tiny_data, tmp_path / "run", parallel=1, epochs=2), on_event=seen.append)
    record = s.step()
    expected = []
    for i, c in enumerate(record["candidates"]):      # one at a time: started, its epochs, done
        edge = tuple(c["edge"])
        expected += [CandidateStarted(0, edge, i, 3)]
        expected += [CandidateEpoch(0, edge, e, 2, None, c["curve"][e]["val_loss"]) for e in range(2)]
        expected += [CandidateDone(0, edge, i + 1, 3, c)]
    assert [type(e) for e in seen] == [type(e) for e in expected] + [StepDone]
    for got, want in zip(seen, expected):
        assert (got.step, got.edge) == (want.step, want.edge)
        if isinstance(want, CandidateEpoch):
            assert (got.epoch, got.epochs, got.val_loss) == (want.epoch, want.epochs, want.val_loss)
        elif isinstance(want, CandidateStarted):
            assert (got.position, got.count) == (want.position, want.count)
        else:
            assert (got.done, got.count) == (want.done, want.count)
    assert seen[-1] == StepDone(0, record)
