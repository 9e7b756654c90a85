"""Golden records: tiny searches whose search.json is committed (tests/golden/) and must come out
the same again: every key, every decision, every number to 1e-6 (relative; the last digits of a
CPU's float sums may differ between machines), wall times and the machine's paths left out. A
change to the loop, the record or the training that moves a record shows here.

    AUTOSHRINK_WRITE_GOLDEN=1 pytest tests/test_golden.py    # rewrite them after a deliberate change
"""
import json
import math
import os
from pathlib import Path

import pytest

from autoshrink.core.config import SearchConfig
from autoshrink.search import Search

GOLDEN = Path(__file__).parent / "golden"
BASE = dict(nodes=4, emsize=8, epochs=2, batch_size=16, eval_batch_size=16, bptt=10, keep_fraction=0.34,
            max_steps_to_action=3, device="cpu", parallel=1, seed=1)
SEARCHES = {   # name -> the settings that differ from BASE
    "plain": {},
    "halving": {"halving": 1},
    "retest": {"retest": 1, "retest_margin": 1e9},
    "candidate-seeds": {"seed_rule": "candidate"},
}
UNSTABLE = ("seconds",)           # wall times
PATHS = ("data", "save")          # where this machine keeps things


def stable(value):
    """The record without wall times and paths."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in UNSTABLE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def same(a, b, where="record") -> None:
    """Assert `a` equals `b` key for key, floats to 1e-6 relative; the message names the place."""
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, f"{where}: {a!r} against {b!r}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} against {list(b)}"
        for k in a:
            same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{where}: {len(a)} items against {len(b)}"
        for n, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{n}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-6), f"{where}: {a!r} against {b!r}"
    else:
        assert a == b, f"{where}: {a!r} against {b!r}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SEARCHES))
def test_a_tiny_search_gives_its_golden_record(name, tiny_data, tmp_path, one_thread):
    cfg = SearchConfig(data=str(tiny_data), save=str(tmp_path / name), **BASE, **SEARCHES[name])
    with Search(cfg) as s:
        s.run()
    record = json.loads((tmp_path / name / "search.json").read_text())
    record["config"] = {k: v for k, v in record["config"].items() if k not in PATHS}
    record = stable(record)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("AUTOSHRINK_WRITE_GOLDEN"):
        path.write_text(json.dumps(record, indent=1) + "\n")
    same(record, json.loads(path.read_text()))


def test_the_comparison_catches_a_moved_number_a_key_and_a_decision():
    golden = {"steps": [{"removed": [[0, 1]], "best_score": -41.25}]}
    same(golden, {"steps": [{"removed": [[0, 1]], "best_score": -41.25 * (1 + 1e-8)}]})
    for changed in ({"steps": [{"removed": [[0, 2]], "best_score": -41.25}]},
                    {"steps": [{"removed": [[0, 1]], "best_score": -41.26}]},
                    {"steps": [{"removed": [[0, 1]], "best_score": -41.25, "new": 1}]}):
        with pytest.raises(AssertionError):
            same(golden, changed)
