"""The space table, the truth and the replay (autoshrink.space), against hand computations, a
straightforward count of the space, and the search itself."""
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from autoshrink.core.cell import Cell
from autoshrink.core.cells import key, space_cells
from autoshrink.core.config import SearchConfig
from autoshrink.core.errors import ConfigError
from autoshrink.core.record import typed
from autoshrink.core.stats import cell_pvalue, smallest_pvalue
from autoshrink.space.replay import RandomDraw, TableEvaluator, distributions, replay, replay_search, wilson
from autoshrink.space.table import SpaceTable, TableBuilder, build_table, table_seed
from autoshrink.space.truth import cell_truth, search_truth, standing
from autoshrink.strategies import Space, make
from autoshrink.strategies.loop import run
from space_tables import hand_score, hand_search, hand_table


def _reachable_edge_sets(nodes: int) -> set:
    """The distinct pruned edge sets, counted the plain way: keep the edges whose source node is
    reachable from node 0."""
    pairs = [(i, j) for i in range(nodes) for j in range(i + 1, nodes)]
    found = set()
    for bits in itertools.product((0, 1), repeat=len(pairs)):
        edges = [p for p, b in zip(pairs, bits) if b]
        live = {0}
        for i, j in edges:              # sorted by source, so one pass reaches every node
            if i in live:
                live.add(j)
        found.add(frozenset((i, j) for i, j in edges if i in live))
    return found


@pytest.mark.parametrize("nodes, count", [(3, 6), (4, 34), (5, 422)])
def test_space_holds_every_distinct_pruned_cell(nodes, count):
    cells = space_cells(("tanh",) * nodes)
    assert len(cells) == len(_reachable_edge_sets(nodes)) == count
    assert {frozenset(c.edges) for c in cells} == _reachable_edge_sets(nodes)
    assert key(Cell.from_edges([(0, 1), (2, 3)], ("tanh",) * 4)) == "0-1"     # 2->3 leaves an unreachable node


def test_truth_of_a_hand_made_table():
    table = hand_table()
    truth = cell_truth(table, table.cfg)
    assert truth["0-1 0-2"]["score"] == pytest.approx(hand_score(380, 2))
    assert truth["0-1 0-2 1-2"]["score"] == pytest.approx((hand_score(400, 3) + hand_score(420, 3)) / 2)
    assert truth["0-1 0-2 1-2"]["score_sd"] == pytest.approx(5 / math.sqrt(2))   # 20 ppl apart: 5 points
    assert truth["none"]["score"] == pytest.approx(hand_score(700, 1))
    # true scores: 0-1 0-2 (-45.30), 0-2 (-50), 0-1 0-2 1-2 (-52.98), 0-1 1-2 (-77.80), 0-1 (-100), none (-125)
    s = standing(truth, "0-2")
    assert (s["all"]["rank_score"], s["all"]["of"], s["all"]["percentile_score"]) == (2, 6, 80.0)
    assert (s["same_edges"]["rank_score"], s["same_edges"]["of"]) == (1, 2)      # 0-2 against 0-1
    assert s["all"]["rank_test"] == 2 and s["test_ppl"] == 410.0                 # mean of 400 and 420


def test_a_step_is_graded_against_the_truth():
    table = hand_table()
    state = hand_search((1, 2), table)
    step = state["steps"][0]
    [g] = search_truth(typed(state), table)["steps"]
    # removing 0-1 leaves 0-2 (-50), 0-2 leaves 0-1 1-2 (-77.80), 1-2 leaves 0-1 0-2 (-45.30): the best
    assert (g["rank"], g["of"], g["regret"]) == (1, 3, 0.0)
    step["removed"] = [[0, 2]]
    [g] = search_truth(typed(state), table)["steps"]
    assert g["rank"] == 3 and g["regret"] == pytest.approx(hand_score(380, 2) - hand_score(500, 2) / 2
                                                           - hand_score(520, 2) / 2)
    other = SearchConfig.from_dict({**table.config, "epochs": 3})
    with pytest.raises(ConfigError, match="--epochs"):
        search_truth(typed(state), table, cfg=other)


def test_replay_follows_the_shrink_rule_by_hand():
    table = hand_table()
    cfg = table.cfg.replace(keep_fraction=0.34)           # 3 edges: shrink to round(1.02) = 1
    r = replay(table, cfg, RandomDraw(np.random.default_rng(0), [0, 1], "step"))
    # step 0 removes 1-2 (best candidate 0-1 0-2); step 1 from 0-1 0-2: removing 0-2 leaves 0-1
    # (-100 / -100), removing 0-1 leaves 0-2 (-47.5 or -52.5): removes 0-1
    assert [s["removed"] for s in r.steps] == [[(1, 2)], [(0, 1)]]
    assert r.budget == 3 + 2 and r.discovered == "0-1 0-2"      # step 0's chosen score is the highest


def test_random_search_with_the_whole_space_finds_the_best_observed():
    table = hand_table()
    picks = {run(make("random", Space(table.ops), 6, [0, 1], s), TableEvaluator(table, table.cfg)).pick
             for s in range(20)}
    assert picks == {"0-1 0-2"}     # under either seed nothing scores above it


def test_wilson_interval_by_hand():
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def test_distributions_are_fractions_and_the_target_only_shifts_scores():
    table = hand_table()
    cfg = table.cfg.replace(keep_fraction=0.34)
    d = distributions(table, cfg, repeats=200)
    assert d["autoshrink"]["top1"] == 1.0            # its pick is 0-1 0-2 under every draw
    assert d["p_at_least_as_good"] == 1.0 and d["ci95"][0] < 1.0 <= d["ci95"][1]
    assert sum(d["random_search"]["counts"]) == 200
    shifted = distributions(table, cfg.replace(target_ppl=650.0), repeats=200)
    assert shifted["autoshrink"] == d["autoshrink"] and shifted["random_search"] == d["random_search"]
    costly = replay(table, cfg.replace(cost_weight=200.0), RandomDraw(np.random.default_rng(0), [0, 1], "step"))
    assert costly.discovered == "0-2" and costly.budget == 3     # 200 points a decade of flops: one edge wins


def test_cell_level_pvalue_by_hand():
    assert cell_pvalue(405, [425, 430, 380]) == 0.5                     # 380 and 405 are at most 405
    assert cell_pvalue(300, [425, 430, 380]) == 0.25 == smallest_pvalue(3)
    assert cell_pvalue(300, [None, 430]) == pytest.approx(1 / 3)        # a failed cell ranks worst
    assert smallest_pvalue(8) == pytest.approx(1 / 9)


# --- the table trained for real, on a tiny slice of the data
def small_cfg(data, save, **changes) -> SearchConfig:
    return SearchConfig(nodes=3, emsize=8, epochs=2, batch_size=8, eval_batch_size=4, bptt=10, data=str(data),
                        seed=3, device="cpu", save=str(save), **changes)


@pytest.fixture(scope="module")
def built(tiny_data, tmp_path_factory):
    """A 3-node table with 2 seeds, trained here on one thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    save = tmp_path_factory.mktemp("space") / "table"
    try:
        yield build_table(small_cfg(tiny_data, save), save, seeds=2), tiny_data
    finally:
        torch.set_num_threads(n)


def run_cli(*args, **popen):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "autoshrink", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **popen)


def cli_args(data, save, *more):
    return ["space", "--nodes", "3", "--emsize", "8", "--epochs", "2", "--batch_size", "8", "--eval_batch_size", "4",
            "--bptt", "10", "--data", str(data), "--seed", "3", "--device", "cpu", "--save", str(save), *more]


def ppls(table: SpaceTable) -> dict:
    return {(row["key"], k): (r["ppl"], r["test_ppl"]) for row in table.cells for k, r in enumerate(row["runs"])}


@pytest.mark.slow
def test_table_records_every_cell_and_seed(built):
    table, _ = built
    assert len(table.cells) == 6 and table.complete
    assert table.seeds == [table_seed(3, 0), table_seed(3, 1)]
    run = table.run("0-1 0-2", 1)
    assert run["ppl"] > 1 and run["test_ppl"] > 1 and len(run["curve"]) == 2 and run["seconds"] > 0
    assert table.row("0-1 0-2")["params"] > 0 and table.row("0-1 0-2")["flops"] == 2 * 8 * 8


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_same_table_and_a_second_writer_is_refused(built, tmp_path):
    table, data = built
    save = tmp_path / "k"
    proc = run_cli(*cli_args(data, save, "--seeds", "2"))
    deadline = time.time() + 120
    while time.time() < deadline and not ((save / "inflight.pt").exists() or _done(save) >= 1):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _done(save) < 10                                  # killed before the end
    with TableBuilder(small_cfg(data, save), save, seeds=2):          # this process now holds the folder
        second = run_cli(*cli_args(data, save, "--seeds", "2"))
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2 and len(err.strip().splitlines()) == 1 and "error:" in err
    other = run_cli(*cli_args(data, save, "--seeds", "2", "--lr", "5"))
    _, err = other.communicate(timeout=120)
    assert other.returncode == 2 and "--lr" in err and len(err.strip().splitlines()) == 1
    resumed = run_cli(*cli_args(data, save, "--seeds", "2"))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert ppls(SpaceTable.read(save)) == ppls(table)


def _done(save) -> int:
    try:
        d = json.loads((save / "space.json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(r is not None for row in d["cells"] for r in row["runs"])


@pytest.mark.slow
def searched(cfg: SearchConfig) -> dict:
    """The record of a whole trained search (shrinking only), on one thread."""
    from autoshrink.search import Search
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with Search(cfg) as search:
            while not search.shrinking_done:
                search.step()
            return search.state
    finally:
        torch.set_num_threads(n)


@pytest.mark.slow
def test_a_step_sees_the_tables_values_and_the_replay_decides_as_the_search(built, tmp_path):
    table, data = built
    state = searched(small_cfg(data, tmp_path / "s"))
    steps = [s for s in state["steps"] if s["done"]]
    before = [Cell.from_dict(state["initial"])] + [Cell.from_dict(s["cell"]) for s in steps[:-1]]
    for s, cell in zip(steps, before):
        for c in s["candidates"]:
            after = key(cell.remove(tuple(c["edge"]))[0])
            assert c["ppl"] == table.run(after, s["step"])["ppl"]      # table seed k = step k's seed
    r = replay_search(table, SearchConfig.from_dict(state["config"]))
    assert [[list(e) for e in s["removed"]] for s in r.steps] == [s["removed"] for s in steps]
    assert r.discovered == key(Cell.from_dict(state["best"]["cell"]))
    truth = search_truth(typed(state), table)
    assert [g["step"] for g in truth["steps"]] == [s["step"] for s in steps]
    assert truth["discovered"]["all"]["of"] == 6


@pytest.mark.slow
def test_with_drop_k_2_the_replay_removes_what_the_search_removes(built, tmp_path):
    """--drop_k 2 at 3 nodes: the second-ranked edge may be pruned by the first removal and is then
    skipped (core.rules.drop), in the trained search and in its replay alike."""
    table, data = built
    state = searched(small_cfg(data, tmp_path / "k2", drop_k=2))
    steps = [s for s in state["steps"] if s["done"]]
    r = replay_search(table, SearchConfig.from_dict(state["config"]))
    assert [[list(e) for e in s["removed"]] for s in r.steps] == [s["removed"] for s in steps]
    assert r.discovered == key(Cell.from_dict(state["best"]["cell"]))


def test_a_held_out_seed_judges_and_no_decision_draws_on_it():
    table = hand_table()
    cfg = table.cfg.replace(keep_fraction=0.34)
    d = distributions(table, cfg, repeats=50, judge=[1])
    assert d["judge"] == [1] and d["autoshrink"]["top1"] == 1.0     # 0-1 0-2 scores best under seed 1 too
    assert cell_truth(table, cfg, [1])["0-2"]["score"] == pytest.approx(hand_score(410, 1))
    with pytest.raises(ConfigError, match="hold out fewer"):
        distributions(table, cfg, repeats=5, judge=[0, 1])


def test_the_ground_truth_script_reports_a_table(tmp_path):
    import ground_truth
    hand_table().write(tmp_path)
    [figures] = [ground_truth.table_figures(str(tmp_path), repeats=20)]
    assert figures["cells"] == 6 and figures["best"]["key"] == "0-1 0-2"
    assert figures["agreement"][0] == pytest.approx(1.0)      # both seeds order the cells alike
    text = ground_truth.markdown([figures])
    assert "| paired seeds, published score |" in text and "table seed 1 alone, which no decision" in text


def test_fewer_seeds_than_the_folder_holds_is_refused_in_one_line(tiny_data, tmp_path):
    """Issue 32 item 3: `space --seeds 1` into a folder holding a 2-seed table kept its 2 seeds while
    saying "1 seed(s)"; a table never drops seeds, so asking for fewer is refused, naming both."""
    save = tmp_path / "two"
    with TableBuilder(small_cfg(tiny_data, save), save, seeds=2) as builder:
        builder.table.write(save)                            # an (untrained) 2-seed table
    with pytest.raises(ConfigError, match=r"2 seeds.*--seeds 1.*--seeds 2"):
        TableBuilder(small_cfg(tiny_data, save), save, seeds=1)
    proc = run_cli(*cli_args(tiny_data, save, "--seeds", "1"))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and len(err.strip().splitlines()) == 1 and "--seeds 2" in err
    assert "1 seed(s)" not in out
    with TableBuilder(small_cfg(tiny_data, save), save, seeds=3) as builder:     # more seeds still extend it
        assert len(builder.table.seeds) == 3


class _Result:
    """What TableBuilder reads of a training's result (proxy.train.Result)."""
    ppl, params = 300.0, 10

    def to_dict(self):
        return {"ppl": 300.0, "test_ppl": 310.0, "val_loss": 5.7, "seconds": 60.0, "epochs": 2, "diverged": False,
                "ended": "epochs", "curve": []}


def test_the_time_left_of_a_table_build_does_not_swing(tiny_data, tmp_path, monkeypatch):
    """Issue 32 item 11: the time left swung 80.1 -> 39.4 -> 51.9 -> 38.3 min on consecutive lines,
    as trainings end in batched groups. Here 12 trainings end three at a time, one group a minute:
    the estimate never rises and, after the first groups, is within a minute of the truth."""
    import autoshrink.space.table as table_module
    from autoshrink.core.eta import TimeLeft
    from autoshrink.core.events import TrainingDone
    now = [0.0]

    class Groups:
        def __init__(self, *args):
            pass

        def train(self, cells, seeds, on_event, should_stop=None, test=False):
            for i in range(len(cells)):
                now[0] = 60.0 * (i // 3 + 1) + 0.5 * (i % 3)
                on_event(TrainingDone(i, _Result()))
    monkeypatch.setattr(table_module, "Scheduler", Groups)
    monkeypatch.setattr(table_module, "TimeLeft", lambda: TimeLeft(clock=lambda: now[0]))
    events = []
    build_table(small_cfg(tiny_data, tmp_path / "t"), tmp_path / "t", seeds=2, on_event=events.append)
    lefts = [e.eta_seconds / 60 for e in events]
    assert [e.done for e in events] == list(range(1, 13)) and lefts[-1] == 0
    assert all(b <= a for a, b in zip(lefts, lefts[1:]))
    truth = [4 - i // 3 - 1 for i in range(12)]
    assert all(abs(a - t) <= 1.0 for a, t in list(zip(lefts, truth))[6:])
