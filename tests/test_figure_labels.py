"""The figures' formats and labels, on hand-made records: whole numbers where a quantity is whole
(flops, epochs, steps), the training budget in every figure and table, the discovered cell starred,
the cells figure within a notebook's width with a legend of what a static cell shows."""
from __future__ import annotations

import records
from autoshrink import SHRINK_RNN, Cell, plot  # noqa: E402,F401
from autoshrink.core import formats  # noqa: E402,F401
from autoshrink.core.config import SearchConfig  # noqa: E402
from autoshrink.core.record import typed, write_state  # noqa: E402
from autoshrink.lab.cells import CellsLab  # noqa: E402
from autoshrink.lab.final_lab import FinalLab, choose_cell, results_html  # noqa: E402
from autoshrink.plot.quality import pareto_figure, quality_figure  # noqa: E402
from autoshrink.quality.report import summarize  # noqa: E402


def test_formats_one_per_quantity():
    assert formats.ppl(650.6094669056729) == "650.61" and formats.ppl(None) == "—"
    assert (formats.flops(5120), formats.flops(12288)) == ("5,120", "12,288")
    assert (formats.seconds(8.72), formats.seconds(8.496)) == ("8.7", "8.5")
    assert formats.recipe(SearchConfig(epochs=2, emsize=32)) == "proxy, 2 epochs, emsize 32"
    assert formats.recipe({"epochs": 1, "emsize": 8}) == "proxy, 1 epoch, emsize 8"


def test_a_single_step_cost_axis_has_whole_ticks(tmp_path):
    state = records.best_first(tmp_path, tmp_path / "run", steps=1, final=False)
    state["steps"][0]["mean_flops"] = 4779.0
    fig = plot.curves_figure(typed(state))
    low, high = fig.layout.yaxis3.range
    assert high - low >= 4 and fig.layout.yaxis3.tickformat == ",.0f"   # plotly's own ±1 ticks at 4,778.5
    assert "(proxy, 1 epoch, emsize 8)" in fig.layout.title.text


def test_cells_figure_fits_a_notebook_and_its_legend_is_static():
    cells = {"a": SHRINK_RNN, "b": Cell.full(SHRINK_RNN.ops), "c": SHRINK_RNN, "d": SHRINK_RNN}
    fig = plot.cells_figure(cells)
    assert fig.layout.width <= plot.figures.MAX_WIDTH
    one = plot.dag_figure(SHRINK_RNN)
    ratio = (one.layout.height - 60) * 2 / (2 * one.layout.width)
    assert abs((fig.layout.height - 80) / fig.layout.width - ratio) < 0.01        # proportions kept
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == ["live", "pruned"]


def test_pareto_stars_the_discovered_cell_with_whole_step_ticks(tmp_path):
    state = records.best_first(tmp_path, tmp_path / "run")
    state["steps"][0]["candidates"][0].update(ppl=280.0, flops=320)          # the chosen candidate of step 0
    fig = pareto_figure(typed(state))
    [star] = [t for t in fig.data if t.marker.symbol == "star"]
    assert star.name == "discovered cell (after step 0)" and (star.x, star.y) == ((320,), (280.0,))
    assert fig.data[0].marker.colorbar.dtick == 1 and fig.data[0].marker.colorbar.tick0 == 0
    assert "proxy, 1 epoch, emsize 8" in fig.layout.yaxis.title.text


def test_quality_figure_label_clear_of_the_boxes():
    groups = ("discovered", "random", "ShrinkRNN", "DARTS", "LSTM")
    records_ = [{"group": g, "name": g, "seed": s, "ppl": 600.0 + 10 * k + s, "test_ppl": 590.0 + 10 * k + s}
                for k, g in enumerate(groups) for s in range(2)]
    fig = quality_figure({"records": records_, "summary": summarize(records_), "config": {"epochs": 3, "emsize": 16},
                          "trainings": 2})
    [label] = fig.layout.annotations
    assert label.x == 1 and label.xanchor == "left" and "discovered" in label.text   # in the right margin
    assert fig.layout.xaxis.range[0] < -0.5 and "proxy, 3 epochs, emsize 16" in fig.layout.yaxis.title.text


def test_final_table_says_what_each_row_trained_on(tmp_path):
    table = results_html([{"name": "ShrinkRNN (paper)", "valid_ppl": 58.5, "test_ppl": 56.5,
                           "training": "full PTB, the papers' recipe"},
                          {"name": "this run", "valid_ppl": 603.123, "test_ppl": 580.0,
                           "training": "penn_proxy, 30 epochs, emsize 200"}])
    assert "<th style='padding:2px 8px;text-align:right'>valid ppl</th>" in table and "603.12" in table
    assert "full PTB" in table and "penn_proxy, 30 epochs" in table and "compares only with other proxy runs" in table


def test_final_training_takes_the_discovered_cell_by_default(tmp_path):
    save = tmp_path / "runs" / "search"
    assert choose_cell(save.parent)[0] == SHRINK_RNN                         # no search there yet
    write_state(save, records.best_first(tmp_path, save))
    cell, about = choose_cell(save)
    assert cell == records.AFTER0 and about == f"the best cell of the search in {save}"
    assert choose_cell("shrinkrnn") == (SHRINK_RNN, "shrinkrnn")


def test_final_epoch_axis_ticks_whole_epochs(tmp_path):
    lab = FinalLab(tmp_path / "run", SHRINK_RNN, preset="test", device="cpu")
    assert (lab.figure.figure.layout.xaxis.tick0, lab.figure.figure.layout.xaxis.dtick) == (1, 1)
    assert lab.figure.spec["layout"]["xaxis"]["dtick"] == 1
    assert lab.inputs["dropouth"].tooltip == ("hidden dropout (recurrent state entering the cell's matrices) "
                                              "(--dropouth)")                # the flag names are explained
    assert all(box.tooltip for box in lab.inputs.values())


def test_compare_states_its_budget(tmp_path):
    cmp = CellsLab({"a": SHRINK_RNN}, SearchConfig(epochs=3, emsize=32, data=str(tmp_path)))
    assert "(proxy, 3 epochs, emsize 32)" in cmp.figure.figure.layout.title.text
    assert "(proxy, 3 epochs, emsize 32)" in cmp.summary().data


def test_one_seed_shows_no_spread():
    """A group of one finished run has no sd to show (it read "686.89 ± 0.00"); one of several has."""
    from autoshrink.plot.quality import quality_title, summary_markdown
    from autoshrink.quality.report import summarize
    recs = [dict(name="discovered", group="discovered", seed=0, ppl=700.0, test_ppl=686.89),
            dict(name="random 0", group="random", seed=0, ppl=720.0, test_ppl=710.0),
            dict(name="random 1", group="random", seed=0, ppl=730.0, test_ppl=720.0)]
    report = {"summary": summarize(recs), "config": {"epochs": 1, "emsize": 8}, "trainings": 1}
    table = summary_markdown(report)
    assert "| 686.89 (one run) | 700.00 (one run) |" in table and "| 715.00 ± 7.07 |" in table
    assert "± 0.00" not in table + quality_title(report)
