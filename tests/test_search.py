"""The shrink loop on a tiny slice of the proxy: stop rule, records, outputs, same seed -> same cell,
resume after a stop without retraining finished candidates, diverged candidates rank worst."""
import json
import math

import numpy as np
import pytest
import torch

from autoshrink.core.cell import Cell
from autoshrink.core.config import SearchConfig
from autoshrink.core.errors import ConfigError
from autoshrink.core.events import CandidateDone, CandidateStarted
from autoshrink.core.record import Candidate, Retest, SearchRecord, decision_key, load_cell, read_state
from autoshrink.core.rules import candidate_seed, drop, edge_order, first_best, leaders, score, shrunk, tried_edges
from autoshrink.search import Search
from records import tiny


def test_score_matches_hand_computation():
    assert score(120.0, 140_000, 100) == pytest.approx((200 - 120) * 0.25 - (math.log10(140_000) - 6))
    assert score(math.inf, 140_000, 100) == -math.inf


@pytest.mark.slow
def test_search_runs_to_threshold_and_writes_outputs(tiny_data, tmp_path):
    events = []
    s = Search(tiny(tiny_data, tmp_path / "run"), on_event=lambda e: events.append(type(e).__name__))
    final = s.run()
    cfg = s.cfg
    assert cfg.threshold == 3
    assert s.cell.n_edges <= 3 < s.history[-1]["edges_before"]
    for rec in s.history:
        assert len(rec["candidates"]) == min(3, rec["edges_before"])
        best = max(rec["candidates"], key=lambda c: c["score"])
        assert rec["removed"][0] == best["edge"]
        assert rec["best_score"] == best["score"]
        assert rec["best_ppl"] == min(c["ppl"] for c in rec["candidates"])
        for c in rec["candidates"]:
            assert c["score"] == pytest.approx(score(c["ppl"], c["flops"], 8))
    assert final["ppl"] > 1 and final["cell"] == s.state["cell"]
    out = tmp_path / "run"
    for name in ("search.json", "graph-best", "log.txt", *(f"graph-{r['ratio']:.2f}" for r in s.history)):
        assert (out / name).is_file(), name
    assert not list(out.glob("*.png")), "the search loop draws nothing: the faces (CLI, lab) write the curves"
    assert json.loads((out / "search.json").read_text()) == s.state
    assert events.count("StepDone") == len(s.history) and events[-1] == "SearchFinished"
    best = s.state["best"]
    assert load_cell(out / "graph-best") == Cell.from_dict(best["cell"])


@pytest.mark.slow
def test_same_seed_same_cell_and_numbers(tiny_data, tmp_path):
    a = Search(tiny(tiny_data, tmp_path / "a", parallel=3))  # the whole step in one batched model
    b = Search(tiny(tiny_data, tmp_path / "b", parallel=1))  # one candidate at a time
    a.run(), b.run()
    assert a.state["cell"] == b.state["cell"]
    for ra, rb in zip(a.history, b.history):
        assert [c["edge"] for c in ra["candidates"]] == [c["edge"] for c in rb["candidates"]]
        for ca, cb in zip(ra["candidates"], rb["candidates"]):
            assert ca["ppl"] == pytest.approx(cb["ppl"], rel=1e-4)


@pytest.mark.slow
def test_auto_trains_two_candidates_at_a_time_on_cpu(tiny_data, tmp_path):
    seen = []
    s = Search(tiny(tiny_data, tmp_path / "auto", parallel=0, device="cpu"),
               on_event=lambda e: seen.append(type(e)) if isinstance(e, (CandidateStarted, CandidateDone)) else None)
    s.step()
    assert seen == [CandidateStarted] * 2 + [CandidateDone] * 2 + [CandidateStarted, CandidateDone]


def test_auto_group_size_per_device_and_backend(tiny_data, tmp_path):
    from autoshrink.scheduler import Scheduler
    size = lambda device, **kw: Scheduler(tiny(tiny_data, tmp_path, **kw), torch.device(device), None).group_size(5)
    assert size("cpu", parallel=0) == 2 and size("cuda", parallel=0) == 5 and size("cpu", parallel=3) == 3
    assert size("cpu", parallel=0, backend="ray") == 1        # one candidate a Ray task, as before


@pytest.mark.slow
def test_stop_then_resume_keeps_finished_candidates(tiny_data, tmp_path):
    save = tmp_path / "r"
    done = []
    s = Search(tiny(tiny_data, save, parallel=1),
               on_event=lambda e: done.append(e.edge) if isinstance(e, CandidateDone) else None)
    assert s.step(should_stop=lambda: len(done) >= 2) is None
    assert len(read_state(save)["steps"][0]["candidates"]) == 2
    trained = []
    r = Search.resume(save, on_event=lambda e: trained.append(e.edge) if isinstance(e, CandidateStarted) else None)
    r.step()
    assert trained == [tuple(e) for e in r.history[0]["order"][2:]]
    ref = Search(tiny(tiny_data, tmp_path / "ref", parallel=1))
    ref.step()
    assert r.history[0]["removed"] == ref.history[0]["removed"]


@pytest.mark.slow
def test_diverged_candidate_ranks_worst(tiny_data, tmp_path):
    s = Search(tiny(tiny_data, tmp_path / "d"))
    s.candidates()
    step = s.record.pending
    s.train_candidates()
    first = step.candidates[0]
    first.ppl, first.score, first.diverged = None, None, True   # as a NaN run is recorded
    rec = s.commit()
    assert rec["removed"][0] != first.edge
    assert rec["diverged"] == 1


def test_existing_save_is_never_overwritten_and_bad_resume_is_clear(tiny_data, tmp_path):
    s = Search(tiny(tiny_data, tmp_path / "x"))
    s.candidates()
    with pytest.raises(ConfigError, match="exists"):
        Search(tiny(tiny_data, tmp_path / "x"))
    (tmp_path / "x" / "search.json").write_text("{not json")
    with pytest.raises(ConfigError, match="corrupt"):
        Search.resume(tmp_path / "x")
    with pytest.raises(ConfigError, match="no search to resume"):
        Search.resume(tmp_path / "nothing")


def fill(s, scores):
    """Record the open step's candidates by hand, scores in the step's edge order (no training)."""
    step = s.record.pending or (s.candidates() and s.record.pending)
    cell = s.cell
    for e, sc in zip(step.order, scores):
        c, dead = cell.remove(tuple(e))
        step.candidates.append(Candidate(edge=e, pruned=[list(p) for p in dead], edges_left=c.n_edges, ppl=100.0,
                                         val_loss=4.6, flops=64, score=sc, params=1, epochs=1))
    return step


def test_drop_k_2_skips_an_edge_the_first_removal_already_pruned(tiny_data, tmp_path):
    s = Search(tiny(tiny_data, tmp_path / "dk", drop_k=2, max_steps_to_action=6, ops="tanh,relu,sigmoid,identity"))
    order = [tuple(e) for e in fill(s, [0.0] * 6).order]
    # (0, 1) is node 1's only input: removing it prunes (1, 2) and (1, 3); rank (0, 1) first, (1, 2) second
    wanted = {(0, 1): 5.0, (1, 2): 4.0, (0, 2): 3.0}
    for c in s.record.pending.candidates:
        c.score = wanted.get(tuple(c.edge), 0.0)
    rec = s.commit()
    assert rec["removed"] == [[0, 1]] and rec["pruned"] == [[1, 2], [1, 3]]
    assert Cell.from_dict(rec["cell"]).edges == [(0, 2), (0, 3), (2, 3)] and rec["edges_left"] == 3
    assert set(order) == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}


def test_graph_best_holds_the_highest_scoring_step_not_the_last(tiny_data, tmp_path):
    s = Search(tiny(tiny_data, tmp_path / "gb", max_steps_to_action=2, keep_fraction=0.1))
    fill(s, [-1.0, -2.0])
    first = s.commit()
    fill(s, [-5.0, -6.0])
    second = s.commit()
    assert first["cell"] != second["cell"]
    assert s.state["best"] == {"step": 0, "score": -1.0, "cell": first["cell"]}
    assert load_cell(tmp_path / "gb" / "graph-best") == Cell.from_dict(first["cell"])
    assert load_cell(tmp_path / "gb") == Cell.from_dict(first["cell"])       # the folder means its best cell
    assert s.cell_of("step:1") == Cell.from_dict(second["cell"])


def test_fixed_ops_and_bad_ops_are_one_line(tiny_data, tmp_path):
    s = Search(tiny(tiny_data, tmp_path / "ops", ops="tanh,identity,sigmoid,relu"))
    assert s.cell.ops == ("tanh", "identity", "sigmoid", "relu")
    with pytest.raises(ConfigError, match="4 names but --nodes is 3"):
        tiny(tiny_data, tmp_path / "o2", nodes=3, ops="tanh,identity,sigmoid,relu").check()
    with pytest.raises(ConfigError, match="unknown op 'gelu'"):
        tiny(tiny_data, tmp_path / "o3", ops="tanh,gelu,sigmoid,relu").check()


def test_score_coefficients_are_settings(tiny_data, tmp_path):
    from autoshrink.core.rules import cfg_score
    cfg = tiny(tiny_data, tmp_path / "sc", target_ppl=300.0, ppl_weight=0.5, cost_weight=2.0)
    assert cfg_score(cfg, 120.0, 140_000) == pytest.approx((300 - 120) * 0.5 - 2 * (math.log10(140_000) - 6))
    assert cfg_score(SearchConfig(), 120.0, 140_000) == pytest.approx(score(120.0, 140_000, 100))


def test_leaders_by_hand():
    cands = [{"edge": [0, 1], "score": -10.0}, {"edge": [0, 2], "score": -10.5}, {"edge": [1, 2], "score": -12.0},
             {"edge": [0, 3], "score": None}, {"edge": [1, 3], "score": -10.9}, {"edge": [2, 3], "score": -10.2}]
    close = [c["edge"] for c in leaders(cands, 1.0)]
    assert close == [[0, 1], [2, 3], [0, 2]]      # within 1 point of -10, at most three
    assert leaders(cands, 0.1) == []                              # the best stands alone
    assert leaders([{"edge": [0, 1], "score": -math.inf}] * 2, 1.0) == []     # diverged ones never lead
    assert decision_key(None, -3.0, -5.0) == (True, -5.0)
    assert decision_key(None, None) == (True, -math.inf)
    assert decision_key("halved", 0.0) < decision_key(None, None)   # halved: never chosen


def test_the_removal_stop_and_best_step_rules_by_hand():
    """4 nodes: removing 0-1 leaves node 1 unreachable, so 1-2 and 1-3 are pruned with it; with
    --drop_k 2 the second-ranked 1-3 is then gone and skipped, not replaced by the third (0-2)."""
    full = Cell.full(["tanh"] * 4)
    cell, removed, pruned = drop(full, [[0, 1], [1, 3], [0, 2]], 2)
    assert removed == [[0, 1]] and sorted(pruned) == [[1, 2], [1, 3]] and cell.edges == [(0, 2), (0, 3), (2, 3)]
    cell, removed, _ = drop(full, [[2, 3], [0, 2], [0, 1]], 2)
    assert removed == [[2, 3], [0, 2]] and cell.n_edges == 4
    assert first_best([-5.0, None, -3.0, -3.0]) == 2 and first_best([None, None]) is None
    cfg = SearchConfig(nodes=4, keep_fraction=0.34, max_steps_to_action=2)     # 6 edges: stop at round(2.04) = 2
    assert [shrunk(cfg, n) for n in (3, 2, 0)] == [False, True, True]
    edges = full.edges
    assert tried_edges(cfg, 1, edges) == edge_order(cfg, 1, edges)[:2]
    assert tried_edges(cfg, 0, edges, order=lambda s, e: list(reversed(e))) == [(2, 3), (1, 3)]


def test_paired_seed_rule_gives_every_candidate_of_a_step_one_seed():
    cfg = SearchConfig(seed=3, seed_rule="step")
    assert candidate_seed(cfg, 2, (0, 1)) == candidate_seed(cfg, 2, (1, 3)) != candidate_seed(cfg, 3, (0, 1))
    cand = cfg.replace(seed_rule="candidate")
    assert candidate_seed(cand, 2, (0, 1)) != candidate_seed(cand, 2, (1, 3))
    # paired: the weights of every edge two candidates keep are the same numbers (one draw per seed)
    from autoshrink.proxy.model import init_cell_weights
    _, a = init_cell_weights(candidate_seed(cfg, 2, (0, 1)), 4, 8, 8)
    _, b = init_cell_weights(candidate_seed(cfg, 2, (1, 3)), 4, 8, 8)
    assert all(torch.equal(a[e], b[e]) for e in a)


def typed_round_trip(save) -> SearchRecord:
    """search.json read as the typed record (what Search holds and writes) and written back is the
    same JSON, to the key."""
    raw = json.loads((save / "search.json").read_text())
    rec = SearchRecord.from_dict(raw)
    assert rec.to_dict() == raw and not rec.extra
    return rec


@pytest.mark.slow
def test_retest_trains_the_leaders_again_and_decides_on_their_mean(tiny_data, tmp_path):
    cfg = SearchConfig(nodes=3, emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10, keep_fraction=0.67,
                       max_steps_to_action=3, device="cpu", data=str(tiny_data), save=str(tmp_path / "r"),
                       retest=2, retest_margin=1e9)
    with Search(cfg) as s:
        step = s.step()
    rt = step["retests"]
    assert len(rt["leaders"]) == 3 and len(rt["runs"]) == 6
    assert len({r["seed"] for r in rt["runs"]}) == 2      # paired: one seed per round, shared by the leaders
    for c in step["candidates"]:
        scores = [c["score"]] + [r["score"] for r in rt["runs"] if r["edge"] == c["edge"]]
        assert c["seeds"] == 3 and c["mean_score"] == pytest.approx(sum(scores) / 3)
        assert c["sd_score"] == pytest.approx(float(np.std(scores, ddof=1)))
    best = max(step["candidates"], key=lambda c: c["mean_score"])
    assert step["removed"] == [best["edge"]]
    rec = typed_round_trip(tmp_path / "r")
    assert isinstance(rec.steps[0].retests.runs[0], Retest) and rec.steps[0].candidates[0].seeds == 3


@pytest.mark.slow
def test_halving_stops_the_worse_half_at_the_rung_and_decides_among_the_rest(tiny_data, tmp_path):
    common = dict(nodes=4, emsize=8, epochs=3, batch_size=16, eval_batch_size=16, bptt=10, keep_fraction=0.84,
                  max_steps_to_action=4, device="cpu", data=str(tiny_data))
    with Search(SearchConfig(save=str(tmp_path / "full"), **common)) as s:
        full = s.step()
    with Search(SearchConfig(save=str(tmp_path / "half"), halving=1, **common)) as s:
        half = s.step()
    by_edge = {tuple(c["edge"]): c for c in full["candidates"]}
    at_rung = sorted(by_edge, key=lambda e: by_edge[e]["curve"][0]["val_loss"])
    survivors, stopped = at_rung[:2], at_rung[2:]
    assert sorted(map(tuple, half["rung"]["survivors"])) == sorted(survivors)
    for c in half["candidates"]:
        e, twin = tuple(c["edge"]), by_edge[tuple(c["edge"])]
        if e in stopped:      # the same first epoch as in the full schedule, then stopped, not diverged
            assert c["ended"] == "halved" and not c["diverged"] and c["epochs"] == 1
            assert c["val_loss"] == pytest.approx(twin["curve"][0]["val_loss"])
        else:                 # paused at the rung and continued: the full schedule's numbers
            assert c["ppl"] == pytest.approx(twin["ppl"]) and c["epochs"] == twin["epochs"]
    best_survivor = max(survivors, key=lambda e: by_edge[e]["score"])
    assert half["removed"] == [list(best_survivor)]
    assert not list((tmp_path / "half").glob("rung-*.pt"))
    assert typed_round_trip(tmp_path / "half").steps[0].rung.survivors == half["rung"]["survivors"]


def _without_seconds(step: dict) -> dict:
    """A step record with its wall times left out (they differ between two runs of one step)."""
    drop_time = lambda d: {k: v for k, v in d.items() if k != "seconds"}  # noqa: E731
    out = drop_time(step)
    out["candidates"] = [drop_time(c) for c in step["candidates"]]
    if step.get("retests"):
        out["retests"] = {**step["retests"], "runs": [drop_time(r) for r in step["retests"]["runs"]]}
    return out


@pytest.mark.slow
def test_a_halving_step_killed_after_its_rungs_decides_from_the_waiting_checkpoints(tiny_data, tmp_path, one_thread):
    """The rungs are recorded, the halving is not (a kill in between): the resumed search reads the
    halved candidates' scores from their rung checkpoints and records the step the whole run records."""
    from autoshrink.decisions import train_rung
    common = dict(halving=1, epochs=2, max_steps_to_action=3, device="cpu", parallel=1)
    with Search(tiny(tiny_data, tmp_path / "whole", **common)) as s:
        whole = s.step()
    with Search(tiny(tiny_data, tmp_path / "cut", **common)) as s:
        edges = s.candidates()
        for edge in edges:
            train_rung(s, s.record.pending, edge, 1, None)
        assert s.record.pending.rung.survivors is None and not s.record.pending.candidates
    with Search.resume(tmp_path / "cut") as s:
        cut = s.step()
    assert [c["ended"] for c in cut["candidates"]].count("halved") == 1
    assert _without_seconds(cut) == _without_seconds(whole)


@pytest.mark.slow
def test_a_retest_step_stopped_between_retests_resumes_to_the_same_record(tiny_data, tmp_path, one_thread):
    common = dict(retest=2, retest_margin=1e9, max_steps_to_action=3, device="cpu", parallel=1)
    with Search(tiny(tiny_data, tmp_path / "whole", **common)) as s:
        whole = s.step()
    done = []
    with Search(tiny(tiny_data, tmp_path / "cut", **common),
                on_event=lambda e: done.append(e) if isinstance(e, CandidateDone) else None) as s:
        assert s.step(should_stop=lambda: len(done) >= 4) is None       # 3 candidates, then one retest
        assert len(s.record.pending.retests.runs) == 1
    with Search.resume(tmp_path / "cut") as s:
        cut = s.step()
    assert len(cut["retests"]["runs"]) == 6 and cut["candidates"][0]["seeds"] == 3
    assert _without_seconds(cut) == _without_seconds(whole)
