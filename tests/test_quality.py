"""The search-quality report: random cells of the same live edge count, baselines, rank, cache, figures."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from autoshrink import SearchConfig
from autoshrink.core.formats import SIZE_MATCHED
from autoshrink.core.record import typed
from autoshrink.plot.quality import pareto_figure, pareto_front, quality_figure
from autoshrink.quality.report import QualityReport, proxy_final_tau, quality_report, random_cells, summarize
from autoshrink.search import Search

TINY = dict(emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10, seed=1, device="cpu")


pytestmark = pytest.mark.usefixtures("one_thread")   # tiny models: thread start-up costs more than it saves


@pytest.fixture(scope="module")
def search(tmp_path_factory, tiny_data):
    save = tmp_path_factory.mktemp("quality") / "search"
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    Search(SearchConfig(nodes=4, keep_fraction=0.5, max_steps_to_action=2, data=str(tiny_data), save=str(save),
                        **TINY)).run()
    torch.set_num_threads(n)
    return save


def test_random_cells_have_the_live_edge_count_asked():
    cells = random_cells(6, 4, 10, seed=3)
    assert len(cells) == 10 and len(set(cells)) == 10
    assert all(c.prune().n_edges == 4 for c in cells)
    assert random_cells(6, 4, 10, seed=3) == cells


def _runs(name, group, valid, test=None):
    test = valid if test is None else test
    return [{"name": name, "group": group, "seed": k, "ppl": v, "test_ppl": t}
            for k, (v, t) in enumerate(zip(valid, test))]


def test_summary_rank_by_hand():
    recs = _runs("discovered", "discovered", (100, 110), (90, 100))
    recs += _runs("random 1", "random", (90, 96), (80, 90)) + _runs("random 2", "random", (120, 130))
    recs += _runs("random 3", "random", (200, None))
    recs += _runs("same ops 1", "same ops", (99, 99), (96, 96)) + _runs("same ops 2", "same ops", (150, 150))
    s = summarize(recs)
    d, e = s["discovered"], s["entries"]
    # test means: discovered 95, random 85, 125, 200 (its one finished run); same ops 96, 150
    assert e["discovered"]["test"] == 95 and e["random 3"]["test"] == 200 and e["random 3"]["failed"] == 1
    assert d["rank"] == 2 and d["of"] == 4 and d["rank_same_ops"] == 1 and d["of_same_ops"] == 3
    # valid means: discovered 105, random 93, 125, 200
    assert d["rank_valid"] == 2
    assert d["random_mean"] == pytest.approx((85 + 125 + 200) / 3)
    assert d["improvement"] == pytest.approx(((85 + 125 + 200) / 3 - 95) / ((85 + 125 + 200) / 3))
    assert s["groups"]["random"]["runs"] == 6 and s["groups"]["random"]["failed"] == 1
    assert s["groups"]["random"]["test"] == pytest.approx(np.mean([80, 90, 120, 130, 200]))


def test_summary_counts_failures_alike():
    """The records of the issue: a diverged seed drops out of every entry's mean alike, so random A,
    better on every seed it finished, ranks ahead of the discovered cell."""
    recs = _runs("discovered", "discovered", (400, None, 400))
    recs += _runs("random 1", "random", (300, None, 300)) + _runs("random 2", "random", (410, 410, 410))
    s = summarize(recs)
    assert s["entries"]["discovered"]["test"] == 400 and s["entries"]["discovered"]["failed"] == 1
    assert s["entries"]["random 1"]["test"] == 300 and s["entries"]["random 1"]["failed"] == 1
    assert s["discovered"]["rank"] == 2 and s["discovered"]["of"] == 3


def test_summary_p_value_and_random_search_by_hand():
    recs = _runs("discovered", "discovered", (10, 11)) + _runs("random 1", "random", (12, 13))
    recs += [{"name": SIZE_MATCHED, "group": SIZE_MATCHED, "seed": 0, "ppl": 9.0, "test_ppl": 9.5}]
    d = summarize(recs)["discovered"]
    assert d["p_value"] == pytest.approx(1 / 2) == d["p_min"]    # over cells: mean 10.5 against one cell's 12.5
    assert d["random_search"] == 9.5 and d["beats_random_search"] is False
    recs += _runs("random 2", "random", (9, 30)) + _runs("random 3", "random", (10, 10.5))
    d = summarize(recs)["discovered"]
    # cell means 10.5 (discovered), 12.5, 19.5, 10.25: two of the four are at most 10.5; the runs would have
    # been 8 values, and the run with 9 would have counted as if it were a cell of its own
    assert d["p_value"] == pytest.approx(2 / 4) and d["p_min"] == pytest.approx(1 / 4)


def test_proxy_final_tau_by_hand():
    rep = {"summary": summarize(_runs("discovered", "discovered", (10,)) + _runs("ShrinkRNN", "ShrinkRNN", (12,))
                                + _runs("DARTS", "DARTS", (11,)) + _runs("random 1", "random", (None,)))}
    t = proxy_final_tau(rep, {"discovered": 50.0, "ShrinkRNN": 55.0, "DARTS": 60.0, "random 1": 70.0, "LSTM": 1.0})
    assert t["names"] == ["discovered", "ShrinkRNN", "DARTS"]       # random 1 failed on the proxy; no LSTM proxy run
    assert t["tau"] == pytest.approx(1 / 3)     # proxy 10 < 11 < 12 against final 50 < 60 < 55: 2 of 3 pairs agree


def test_pareto_front_by_hand():
    pts = [(4, 300), (3, 310), (3, 305), (2, 400), (5, 290), (5, 280), (6, 295)]
    assert pareto_front(pts) == [(2, 400), (3, 305), (4, 300), (5, 280)]


@pytest.mark.slow
def test_report_trains_once_then_reads_the_cache(search):
    events = []
    budget = sum(len(s["candidates"]) for s in json.loads((search / "search.json").read_text())["steps"])
    rep = quality_report(search, n_random=2, trainings=2, on_event=lambda e: events.append(type(e).__name__))
    # discovered, 2 same-ops cells, 2 random cells, ShrinkRNN, DARTS, LSTM and the random search's winner,
    # two seeds each, and the random search's pool once each
    assert rep["missing"] == 0 and len(rep["records"]) == (1 + 2 + 2 + 1 + 1 + 1 + 1) * 2 + budget
    assert events.count("JobDone") == len(rep["records"]) and rep["budget"] == budget
    groups = {r["group"] for r in rep["records"]}
    assert groups == {"discovered", "same ops", "random", SIZE_MATCHED, "pool", "ShrinkRNN", "DARTS", "LSTM"}
    edges = {r["edges"] for r in rep["records"] if r["group"] in ("discovered", "same ops", "random", "pool")}
    assert len(edges) == 1
    mine = [r for r in rep["records"] if r["group"] == "discovered"][0]["cell"]["ops"]
    assert all(r["cell"]["ops"] == mine for r in rep["records"] if r["group"] == "same ops")
    assert all(r["test_ppl"] is not None for r in rep["records"] if r["ppl"] is not None)
    pool = [r for r in rep["records"] if r["group"] == "pool"]
    best = min(pool, key=lambda r: r["ppl"])["name"]
    assert rep["winner"] == best
    assert all(r["cell_name"] == best for r in rep["records"] if r["group"] == SIZE_MATCHED)
    again = []
    assert quality_report(search, n_random=2, trainings=2, on_event=again.append) == rep
    assert again == []
    assert len(QualityReport(search, n_random=3, trainings=2).missing()) == 4    # one more cell in both controls
    assert len(QualityReport(search, n_random=2, trainings=2, epochs=2).missing()) == (2 + 2 + 4) * 2 + budget + 1
    fig = quality_figure(rep)
    assert [t.name for t in fig.data] == ["discovered", "same ops (2 cells)", "random (2 cells)", SIZE_MATCHED,
                                          "ShrinkRNN", "DARTS", "LSTM"]
    assert "rank" in fig.layout.title.text and "1 epoch" in fig.layout.title.text
    state = json.loads((search / "search.json").read_text())
    pf = pareto_figure(typed(state))
    n = sum(len(s["candidates"]) for s in state["steps"])
    assert len(pf.data[0].x) == n and pf.data[1].name == "Pareto front"
    assert pf.data[2].name.startswith("discovered cell")


def test_quality_cli_prints_the_summary(search):
    quality_report(search, n_random=2, trainings=2)          # cached by the test above: nothing to train
    r = subprocess.run([sys.executable, "-m", "autoshrink", "quality", "--search", str(search), "--random", "2",
                        "--trainings", "2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "trained 0" in r.stdout and (search / "quality.html").is_file()
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["discovered"]["of"] == 3 and "p_value" in summary["discovered"]


def test_spread_summary_by_hand():
    from autoshrink.core.cell import Cell
    from autoshrink.quality.spread import jaccard, spread_summary

    def state(edges):
        cell = Cell.from_edges(edges, ("tanh",) * 4).to_dict()
        return {"steps": [{"step": 0, "done": True, "best_score": -1.0, "cell": cell}], "cell": cell, "final": None}
    s = spread_summary({1: state([(0, 1), (1, 2), (2, 3)]), 2: state([(0, 1), (1, 3)]),
                        3: state([(0, 1), (1, 2), (2, 3)])})
    # pairs: {01,12,23} vs {01,13}: 1 / 4; vs itself: 1; {01,13} vs {01,12,23}: 1 / 4
    assert s["pairs"] == {"1 / 2": 0.25, "1 / 3": 1.0, "2 / 3": 0.25}
    assert s["overlap"] == pytest.approx(0.5) and s["common"] == [[0, 1]]
    assert jaccard(set(), set()) == 1.0


def test_spread_runs_the_search_under_other_seeds_with_the_same_ops(search):
    from autoshrink.plot.quality import spread_figure
    from autoshrink.quality.spread import run_spread, spread_folder
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = run_spread(search, n=2)
    finally:
        torch.set_num_threads(n)
    state = json.loads((search / "search.json").read_text())
    other = json.loads((spread_folder(search, 2) / "search.json").read_text())
    assert other["config"]["seed"] == 2 and other["initial"]["ops"] == state["initial"]["ops"]
    assert set(result["runs"]) == {1, 2} and 0.0 <= result["overlap"] <= 1.0
    assert run_spread(search, n=2) == result                  # finished: read, not trained again
    assert "edge overlap" in spread_figure(result).layout.title.text


def test_the_controls_never_hold_the_discovered_cell():
    from autoshrink.core.cell import Cell
    ops = ("identity", "identity", "identity", "sigmoid")
    mine = Cell.full(ops).remove((1, 3))[0]
    # 5 of 6 edges with all 5 live: every edge but (0, 1) can go (without 0->1 node 1 is cut off): 5 cells
    assert len(random_cells(4, 5, 8, seed=1, ops=ops)) == 5
    cells = random_cells(4, 5, 8, seed=1, ops=ops, exclude=[mine.prune()])
    assert len(cells) == 4 and mine.prune() not in [c.prune() for c in cells]


def _hand_report(budget_given: bool) -> dict:
    recs = _runs("discovered", "discovered", (10, 11)) + _runs("random 1", "random", (12, 13))
    recs += [{"name": SIZE_MATCHED, "group": SIZE_MATCHED, "seed": 0, "ppl": 9.0, "test_ppl": 9.5}]
    return {"summary": summarize(recs), "config": SearchConfig(**TINY).to_dict(), "trainings": 2, "budget": 4,
            "winner": "pool 3", "budget_given": budget_given, "search_budget": 59}


def test_the_verdict_says_whose_budget_random_search_had_in_one_line():
    """Issue 32 item 9: 03 said "random search at the search's budget (4 cells)" when the budget was
    set by hand, and had no single verdict line."""
    from autoshrink.plot.quality import summary_markdown
    text = summary_markdown(_hand_report(budget_given=True))
    assert "search's budget" not in text
    assert "size-matched random search with a budget set by hand (4 cells; the search trained 59, best by" in text
    [verdict] = [line for line in text.splitlines() if line.startswith("**Verdict**")]
    assert "rank 1 of 2 among random cells" in verdict
    assert "does not beat size-matched random search at a budget set by hand" in verdict
    assert "at the search's budget (4 cells" in summary_markdown(_hand_report(budget_given=False))


def test_an_interrupted_report_is_one_line_and_keeps_what_ended(search):
    """Issue 32 item 9: interrupting 03 printed a 40-line KeyboardInterrupt traceback."""
    from autoshrink.core.events import JobStarted

    def interrupt(event):
        if isinstance(event, JobStarted):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt) as caught:
        quality_report(search, n_random=1, trainings=7, lstm=False, random_search=0, on_event=interrupt)  # not cached
    [line] = caught.value._render_traceback_()           # what IPython shows instead of the traceback
    assert line.startswith("interrupted:") and "quality.json" in line


def test_the_progress_lines_give_a_smoothed_time_left(capsys):
    """Issue 32 item 9: 03 printed no time-left estimate. Trainings end in batches here (three at
    once every 60 s): the estimate stays near the truth and never jumps up by half between lines."""
    from autoshrink.core.events import JobDone
    from autoshrink.quality.report import progress_printer
    now = [0.0]
    show = progress_printer(clock=lambda: now[0])
    count, lefts = 12, []
    for i in range(count):
        now[0] = 60.0 * (i // 3 + 1) + 0.5 * (i % 3)          # three trainings end together each minute
        show(JobDone("cell / seed 0", i, count, {"test_ppl": 300.0, "seconds": 60.0}))
        line = capsys.readouterr().out
        assert line.startswith(f"{i + 1}/{count} cell / seed 0: test ppl 300.00 (60.0 s); about ")
        lefts.append(float(line.split("about ")[1].split(" min")[0]))
    truth = [count // 3 - i // 3 - 1 for i in range(count)]          # whole minutes left after each line
    raw = [(60.0 * (i // 3 + 1) + 0.5 * (i % 3)) / (i + 1) * (count - i - 1) / 60 for i in range(count)]
    assert any(b > a * 1.2 for a, b in zip(raw, raw[1:]))           # elapsed / done alone swings up here
    assert all(b <= a for a, b in zip(lefts, lefts[1:]))             # the smoothed estimate never does
    assert lefts[-1] == 0.0 and all(abs(a - t) <= 1.0 for a, t in list(zip(lefts, truth))[6:])


def test_an_entry_trained_once_records_no_spread():
    from autoshrink.quality.report import _entry
    one = _entry([{"ppl": 400.0, "test_ppl": 410.0}])
    assert one["test_sd"] is None and one["valid_sd"] is None and one["test"] == 410.0
    two = _entry([{"ppl": 400.0, "test_ppl": 410.0}, {"ppl": 402.0, "test_ppl": 414.0}])
    assert two["test_sd"] == pytest.approx(2 * 2 ** 0.5) and two["valid_sd"] == pytest.approx(2 ** 0.5)


@pytest.mark.slow
def test_a_strategy_run_gets_a_report_at_its_own_budget(tiny_data, tmp_path):
    """A local search's run (strategy.json) is judged as a search is: its pick against random cells,
    a size-matched random search with as many trainings as it spent, and its trainings drawn in
    place of the Pareto figure; with a space table, its pick's true rank and no steps to grade."""
    from autoshrink.quality.page import run_figure, write_figures
    from autoshrink.space.table import build_table
    from autoshrink.strategy_run import StrategyRun
    cfg = SearchConfig(nodes=3, data=str(tiny_data), save=str(tmp_path / "local"), **TINY)
    with StrategyRun(cfg, "local", budget=3, seeds=1) as run:
        record = run.run()
    build_table(cfg.replace(save=str(tmp_path / "table")), tmp_path / "table", seeds=1)
    report = QualityReport(tmp_path / "local", n_random=1, trainings=1, lstm=False, table=tmp_path / "table")
    assert report.state is None and len(report.pool) <= 3 and report.judged.spent == 3
    out = report.run()
    assert out["search_budget"] == 3 and out["truth"]["steps"] == [] and out["truth"]["path"] == []
    assert out["truth"]["discovered"]["key"] == record["pick"]
    fig = run_figure(tmp_path / "local")
    assert fig.layout.title.text.startswith("local: 3 of 3 trainings")
    assert write_figures(out, tmp_path / "local", tmp_path / "local" / "quality.html").is_file()
