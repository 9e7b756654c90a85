"""Tests of autoshrink.plot: the DAG figure's markers and labels, edge states replayed from a search
record, the candidates table order, and the seed's curve files."""
import plotly.graph_objects as go
import pytest

from autoshrink.core.cell import SHRINK_RNN, Cell
from autoshrink.core.record import Step, typed
from autoshrink.plot import (
    best_step,
    candidates_table,
    cell_at,
    curve_picture,
    curves_figure,
    dag_figure,
    draw_cell,
    edge_states_at,
    save_curves,
    training_figure,
    update_dag,
    update_training,
)

OPS = ("tanh", "relu", "sigmoid", "identity")
FULL4 = Cell.full(OPS)   # 6 edges


def _cand(edge, score, ppl=300.0, diverged=False):
    return {"edge": list(edge), "pruned": [], "edges_left": 5, "ppl": None if diverged else ppl, "val_loss": None,
            "flops": 100,
            "score": None if diverged else score, "seconds": 1.0, "diverged": diverged}


def _two_step_state():
    """Step 0 removes 1->2; step 1 removes 0->2, which leaves node 2 unreachable and prunes 2->3."""
    c1 = FULL4.remove((1, 2))[0]
    c2, dead = c1.remove((0, 2))
    assert dead == [(2, 3)]
    return {
        "format": "autoshrink-search/1", "config": {"seed": 1, "nodes": 4, "nhid": 10},
        "initial": FULL4.to_dict(), "cell": c2.to_dict(),
        "steps": [
            {"step": 0, "done": True, "edges_before": 6, "order": [[1, 2], [0, 3], [2, 3]],
             "candidates": [_cand((1, 2), -10.0), _cand((0, 3), -20.0), _cand((2, 3), None, diverged=True)],
             "removed": [[1, 2]], "pruned": [], "cell": c1.to_dict(), "edges_left": 5, "ratio": 0.83,
             "best_score": -10.0, "mean_score": -15.0, "best_ppl": 250.0, "mean_ppl": 275.0, "mean_flops": 500.0},
            {"step": 1, "done": True, "edges_before": 5, "order": [[0, 2], [1, 3]],
             "candidates": [_cand((0, 2), -5.0), _cand((1, 3), -7.0)],
             "removed": [[0, 2]], "pruned": [[2, 3]], "cell": c2.to_dict(), "edges_left": 3, "ratio": 0.5,
             "best_score": None, "mean_score": -6.0, "best_ppl": 240.0, "mean_ppl": None, "mean_flops": 400.0},
        ],
        "best": None, "final": None,
    }


def _hover_points(fig):
    return [(x, y) for t in fig.data if t.name.startswith("edge info") for x, y in zip(t.x, t.y) if x is not None]


def test_dag_full_cell_markers_and_labels():
    cell = Cell.full(SHRINK_RNN.ops)
    fig = dag_figure(cell)
    assert len(_hover_points(fig)) == 15
    assert len(set(_hover_points(fig))) == 15   # one distinct place per edge
    nodes = next(t for t in fig.data if t.name == "nodes")
    labels = list(nodes.customdata)
    assert labels[:2] == ["x_t", "h_{t-1}"] and labels[-1] == "h_t"
    assert labels[2:-1] == ["0: init"] + [f"{i}: {SHRINK_RNN.ops[i]}" for i in range(1, 6)]
    assert all(f"<b>{i}</b>" in nodes.text[2 + i] for i in range(6))
    assert sum(t.name.startswith("out ") and t.visible is not False for t in fig.data) == 1   # only 5 is a leaf


def test_dag_states_and_update_in_place():
    states = {(0, 1): dict(state="removed", step=2),
              (1, 3): dict(state="tried", score=-3.0, ppl=250.0, flops=9, step=4),
              (1, 4): dict(state="tried", score=-9.0, ppl=300.0, flops=9, step=4), (2, 4): dict(state="training")}
    fig = dag_figure(SHRINK_RNN.without([(0, 1)]), states)
    assert len(_hover_points(fig)) == 12   # 11 live edges plus the removed one
    info = {t.name: t for t in fig.data}
    assert info["edge 0->1"].line.dash == "dash"
    assert info["edge 1->3"].line.color != info["edge 1->4"].line.color    # coloured by score
    assert info["edge 2->4"].line.color == "#ff7f0e"
    hover = " ".join(info["edge info"].hovertext + info["edge info (scored)"].hovertext)
    assert "removed at step 2" in hover and "score: -3.00" in hover
    widget_like = go.Figure(fig)
    update_dag(widget_like, SHRINK_RNN, None)
    assert len(_hover_points(widget_like)) == 12
    assert {t.name: t for t in widget_like.data}["edge 0->1"].line.dash == "solid"
    with pytest.raises(ValueError, match="nodes"):
        update_dag(fig, FULL4, None)


def test_edge_states_at_replays_the_record():
    state = _two_step_state()
    assert edge_states_at(typed(state), None) == {}
    s0 = edge_states_at(typed(state), 0)
    assert s0[(1, 2)]["state"] == "removed" and s0[(1, 2)]["step"] == 0 and s0[(1, 2)]["score"] == -10.0
    assert s0[(0, 3)]["state"] == "tried" and s0[(0, 3)]["score"] == -20.0
    assert s0[(2, 3)]["state"] == "tried" and s0[(2, 3)]["score"] is None
    s1 = edge_states_at(typed(state), 1)
    assert {e: v["state"] for e, v in s1.items()} == {(1, 2): "removed", (0, 2): "removed", (2, 3): "pruned",
                                                     (1, 3): "tried"}
    assert (s1[(1, 2)]["step"], s1[(0, 2)]["step"], s1[(2, 3)]["step"]) == (0, 1, 1)
    assert edge_states_at(typed(state), -1) == s1
    assert cell_at(typed(state), 0).edges == [(0, 1), (0, 2), (0, 3), (1, 3), (2, 3)]
    assert cell_at(typed(state), None) == FULL4 and cell_at(typed(state), 1).edges == [(0, 1), (0, 3), (1, 3)]
    dag_figure(cell_at(typed(state), 1), s1)   # every state draws


def test_in_progress_step_shows_tries_on_the_previous_cell():
    state = _two_step_state()
    state["steps"][1].update(done=False, removed=[], pruned=[], cell=None, candidates=[_cand((0, 2), -5.0)])
    s = edge_states_at(typed(state), 1)
    assert {e: v["state"] for e, v in s.items()} == {(1, 2): "removed", (0, 2): "tried"}
    assert cell_at(typed(state), 1) == cell_at(typed(state), 0)


def test_candidates_table_best_first_diverged_last():
    step = {"candidates": [_cand((0, 1), -30.0), _cand((0, 2), None, diverged=True), _cand((0, 3), 5.0),
                           _cand((1, 2), -2.0)]}
    rows = candidates_table(Step.from_dict({"step": 0, "done": True, **step}))
    assert [r["edge"] for r in rows] == [(0, 3), (1, 2), (0, 1), (0, 2)]
    assert rows[-1]["diverged"] and rows[-1]["score"] is None
    assert set(rows[0]) >= {"edge", "ppl", "flops", "score", "seconds"}


CURVES = {"best_perf_log.png", "mean_score_log.png", "mean_ppl_log.png", "best_ppl_log.png", "mean_cost_log.png"}


def test_save_curves_writes_the_five_pngs(tmp_path):
    paths = save_curves(typed(_two_step_state()), tmp_path)
    assert set(paths) == CURVES
    for p in paths.values():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_curves_on_empty_state(tmp_path):
    for state, folder in (({"steps": []}, tmp_path / "a"), ({}, tmp_path / "b")):
        paths = save_curves(typed(state), folder)
        assert {p.name for p in folder.iterdir()} == CURVES == set(paths)
        assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths.values())
    fig = curve_picture(typed({"steps": []}), "best_score", "Best score", "best score")
    assert [t.get_text() for t in fig.axes[0].texts] == ["no finished shrink steps yet"]
    assert not fig.axes[0].lines


def test_plotly_curves_and_training():
    fig = curves_figure(typed(_two_step_state()))
    best = next(t for t in fig.data if t.name == "best score")
    assert list(best.x) == [5, 3] and best.y[0] == -10.0 and best.y[1] is None
    assert fig.layout.xaxis.autorange == "reversed"
    assert not any(t.name == "best step" and t.x for t in fig.data)     # no best step recorded
    empty = curves_figure(typed({"steps": []}))
    assert all(not t.x for t in empty.data) and len(empty.data) == len(fig.data)
    assert [a.text for a in empty.layout.annotations if "yet" in a.text] == ["no finished shrink steps yet"]
    assert empty.layout.xaxis.showticklabels is False and fig.layout.xaxis.showticklabels is not False
    tf = training_figure()
    assert tf.layout.xaxis.showticklabels is False and tf.layout.yaxis.showticklabels is False   # no data, no ticks
    update_training(tf, [{"epoch": 0, "train_loss": 6.9, "val_loss": 6.5},
                         {"epoch": 1, "train_loss": 6.0, "val_loss": 6.1}], title="edge 0->3")
    assert list(tf.data[1].y) == [6.5, 6.1] and tf.layout.title.text == "edge 0->3"
    assert list(tf.data[0].x) == [1, 2]  # epochs counted from 1
    assert tf.layout.xaxis.showticklabels and tf.layout.yaxis.showticklabels


def test_draw_cell_returns_a_figure():
    fig = draw_cell(SHRINK_RNN)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"0: init", "4: tanh", "5: identity", "$x_t$", "$h_{t-1}$", "$h_t$"} <= texts
    assert fig.axes[0].get_legend() is not None


def test_the_curves_switch_to_training_time():
    """The menu's second button puts each point at the candidates' training time up to its step."""
    state = _two_step_state()
    fig = curves_figure(typed(state))
    [menu] = fig.layout.updatemenus
    edges, time = menu.buttons
    seconds = [sum(c["seconds"] for c in st["candidates"]) for st in state["steps"] if st.get("done")]
    minutes = [seconds[0] / 60, (seconds[0] + seconds[1]) / 60]
    best = next(k for k, t in enumerate(fig.data) if t.name == "best score")
    assert time.args[0]["x"][best] == minutes and edges.args[0]["x"][best] == [5, 3]
    assert time.args[1]["xaxis.title.text"].startswith("training minutes") and edges.args[1]["xaxis.dtick"] == 1
    assert not curves_figure(typed({"steps": []})).layout.updatemenus


def test_best_step_is_marked_on_the_curves_even_when_not_the_last():
    state = _two_step_state()
    state["steps"][1]["best_score"] = -12.0          # step 1 scored worse than step 0
    state["best"] = {"step": 0, "score": -10.0, "cell": state["steps"][0]["cell"]}
    assert best_step(typed(state)) == 0 and best_step(typed(_two_step_state())) is None and best_step(None) is None
    star = next(t for t in curves_figure(typed(state)).data if t.name == "best step")
    assert list(star.x) == [5] and list(star.y) == [-10.0] and list(star.customdata) == [0]


def test_the_x_menu_of_the_curves_clears_the_toolbar_and_the_subplot_titles():
    """Issue 32 item 12: plotly's toolbar (about 30 px at the top right, on hover) covered the
    "against edges left / against training time" buttons. Worked out from the figure's layout: the
    buttons (about 22 px tall) sit below the toolbar and above the subplot titles (about 18 px)."""
    import records
    from autoshrink.plot import curves_figure
    fig = curves_figure(typed(records.best_first("data", "runs/x")))
    [menu] = fig.layout.updatemenus
    plot_h = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    above_plots = (menu.y - 1) * plot_h                       # px from the plots' top to the buttons' bottom
    top = fig.layout.margin.t - above_plots - 22              # px from the figure's top to the buttons' top
    assert menu.yanchor == "bottom" and top >= 30 and above_plots >= 20


def test_the_cell_comparison_says_it_waits_for_the_first_epoch():
    """Issue 32 item 12: 02 showed empty axes (plotly's made-up -1 to 6) until its first epoch ended."""
    from autoshrink.plot.figures import comparison_figure, update_comparison
    fig = comparison_figure(["discovered", "full"], "proxy, 2 epochs, emsize 32")
    assert [a.text for a in fig.layout.annotations] == ["training the first epoch: each cell's point appears "
                                                        "when its epoch ends"]
    assert fig.layout.xaxis.showticklabels is False and fig.layout.yaxis.showticklabels is False
    update_comparison(fig, "full", [{"epoch": 0, "val_loss": 6.0}])
    assert not fig.layout.annotations and fig.layout.xaxis.showticklabels and fig.layout.yaxis.showticklabels
    assert list(fig.data[1].x) == [1]


def test_anytime_picture_draws_a_panel_per_score(tmp_path):
    from autoshrink.plot.pictures import anytime_picture
    curve = {"trainings": [1, 2], "q25": [3, 1], "median": [4, 2], "q75": [5, 3]}
    anytime = [{"strategy": s, "score": sc, "judge": j, **curve} for s in ("random", "local")
               for sc in ("published", "cost_weight 10") for j in (0, 1)] + [{"strategy": "x", "score": "published"}]
    path = anytime_picture(anytime, 6, 10, tmp_path / "a.png", "hand")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
