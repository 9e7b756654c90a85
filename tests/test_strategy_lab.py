"""The strategy panel trains a strategy for real on a tiny slice of the data: it draws from the
records its run publishes, stops and continues, and reopens a saved run."""
import pytest

from autoshrink.core.config import SearchConfig
from autoshrink.lab.strategy_lab import StrategyLab, trainings_rows_html
from autoshrink.plot.strategies import trainings_figure

pytestmark = pytest.mark.slow


def cfg(data, save) -> SearchConfig:
    return SearchConfig(nodes=3, emsize=8, epochs=1, batch_size=8, eval_batch_size=4, bptt=10, data=str(data),
                        seed=2, device="cpu", save=str(save))


def test_the_panel_trains_draws_stops_and_continues(tiny_data, tmp_path, one_thread):
    lab = StrategyLab(cfg(tiny_data, tmp_path / "run"), strategy="local", budget=3, seeds=2)
    drawn = []

    def draw(record, draw=lab.draw):
        drawn.append(len(record["trainings"]))
        draw(record)
        if len(drawn) == 1:
            lab.stop()               # Stop as the first result is drawn: local search asked one cell first
    lab.draw = draw
    record = lab.run()
    assert len(record["trainings"]) == 1 and not record["finished"]
    assert "Start continues it" in lab.status.value and not lab.start_button.disabled
    record = lab.run()
    assert len(record["trainings"]) == 3 and record["finished"] and lab.start_button.disabled
    assert drawn[-1] == 3 and sorted(set(drawn)) == [1, 2, 3]
    assert lab.dag.spec["layout"]["title"]["text"].startswith("training 3: ")
    assert trainings_rows_html(record).count("<tr>") == 4 and record["pick"] in lab.status.value
    lab.close()
    again = StrategyLab.open(tmp_path / "run")
    assert again.strategy.value == "local" and again.budget.value == 3 and again.strategy.disabled is False
    assert "3 of 3 trainings" in again.status.value
    again.close()


def test_the_curve_marks_a_diverged_training_and_follows_the_pick():
    record = {"strategy": "random", "budget": 4, "incumbents": ["a", "a", "b", "b"],
              "trainings": [{"key": "a", "seed": 0, "score": -5.0}, {"key": "c", "seed": 1, "score": None},
                            {"key": "b", "seed": 0, "score": -2.0}, {"key": "b", "seed": 1, "score": -3.0}]}
    fig = trainings_figure(record)
    dots, pick = fig.data
    assert list(dots.marker.symbol) == ["circle", "x", "circle", "circle"] and dots.y[1] < -5.0
    assert list(pick.y) == [-5.0, -5.0, -2.0, -2.5]      # the pick's mean so far, by hand


def test_the_search_panels_strategy_menu_swaps_in_a_strategy_trained_with_its_settings(tiny_data, tmp_path,
                                                                                      one_thread):
    from autoshrink.lab.widgets import SearchLab
    lab = SearchLab(cfg(tiny_data, tmp_path / "search"))
    assert lab.strategy.value == "autoshrink" and lab.dag in lab.widget.children
    lab.inputs["epochs"].value = 2                   # a setting changed before the strategy is chosen
    lab.strategy.value = "random"
    other = lab.other
    assert other.box in lab.widget.children and lab.dag not in lab.widget.children
    assert other.cfg.save == f"{tmp_path / 'search'}-random" and other.cfg.epochs == 2
    assert other.strategy.layout.display == "none"          # the search panel's menu is the one menu
    lab.inputs["epochs"].value = 1                   # not started: it follows the panel
    assert lab.other.cfg.epochs == 1 and lab.other is not other
    lab.other.budget.value = 2
    record = lab.other.run()
    assert len(record["trainings"]) == 2 and (tmp_path / "search-random" / "strategy.json").is_file()
    trained = lab.other
    lab.strategy.value = "autoshrink"
    assert lab.other is None and lab.dag in lab.widget.children and lab.search is None   # nothing searched
    lab.strategy.value = "random"
    assert lab.other is trained                       # the panel that trained, kept
    trained.close()
    lab.inputs["save"].value = ""
    lab.strategy.value = "local"                     # a bad setting: one line, and the menu goes back
    assert lab.strategy.value == "autoshrink" and "local not shown" in lab.message.value
    lab.inputs["save"].value = str(tmp_path / "search")
    lab.strategy.value = "evolution"
    shown = lab.other
    lab.inputs["save"].value = ""                    # unusable while its panel shows: the panel stays
    assert lab.strategy.value == "evolution" and lab.other is shown and shown.box in lab.widget.children
    assert "save" in lab.message.value
    lab.inputs["save"].value = str(tmp_path / "again")     # usable again: the panel takes it
    assert lab.other is not shown and lab.other.cfg.save == f"{tmp_path / 'again'}-evolution"
