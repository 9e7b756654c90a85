"""Proxy fidelity (autoshrink.space.fidelity) and strategies judged by another table, on hand tables
whose orders are known: under cost_weight 0 a cell's score is (200 - ppl) / 4, so ordering by ppl."""
import pytest

from autoshrink.core.errors import ConfigError
from autoshrink.plot.strategies import fidelity_figure
from autoshrink.space.fidelity import fidelity, fidelity_text, seed_agreement
from autoshrink.space.leaderboard import Judged, ceiling, leaderboard
from space_tables import hand_table, mirrored_table

PPL_ONLY = {"ppl only": {"cost_weight": 0.0}}


def test_seed_agreement_and_cross_taus_by_hand():
    """Both hand seeds order the cells alike (380 < 390/410 < 400/420 < 500 < 600 < 700): tau 1
    within each table, one pair; the mirrored table reverses the order: cross tau -1."""
    cheap, longer = hand_table(), mirrored_table()
    cfg = cheap.cfg.replace(cost_weight=0.0)
    assert seed_agreement(cheap, cfg) == (1.0, None, 1)
    f = fidelity(cheap, longer, cfg)
    assert f["changes"] == {"epochs": [10, 30]}
    assert f["cheap"]["mean"] == 1.0 and f["longer"]["mean"] == 1.0 and f["longer"]["seconds"] == 1.0
    assert f["cross"]["mean"] == -1.0 and f["cross"]["one_seed"] == {"mean": -1.0, "sd": 0.0, "seeds": 2}


def test_a_longer_table_judges_what_the_cheap_one_picks():
    """Random search at budget 6 trains all 6 cells on the cheap table and keeps the best observed
    (0-1 0-2, 380 under either seed); the mirrored table ranks it last: true rank 6 every replay."""
    cheap, longer = hand_table(), mirrored_table()
    board = leaderboard(cheap, strategies=["random"], budgets=(6,), repeats=20, scores=PPL_ONLY, truth=longer)
    (row,) = board["rows"]
    assert row["judge"] is None and row["held_out"] and row["judged_by"] == "the judging table"
    assert row["rank"]["mean"] == 6.0 and row["picks"] == {"0-1 0-2": 20}
    rows = {r["top"]: r for r in ceiling(cheap, cheap.cfg.replace(cost_weight=0.0), None, top=(1,), repeats=5,
                                         truth=longer)}
    assert rows[1]["rank"]["mean"] == 6.0


def test_a_judging_table_of_another_space_or_with_a_judge_seed_is_refused():
    cheap, other = hand_table(), mirrored_table()
    other.ops = ["relu"] * 3
    with pytest.raises(ConfigError, match="ops"):
        fidelity(cheap, other)
    with pytest.raises(ConfigError, match="judge seed"):
        Judged(cheap, cheap.cfg, 0, mirrored_table())
    unfinished = mirrored_table()
    unfinished.cells[0]["runs"][1] = None
    with pytest.raises(ConfigError, match="misses 1 trainings"):
        leaderboard(cheap, strategies=["random"], budgets=(2,), repeats=2, truth=unfinished)


def test_the_fidelity_paragraph_and_figure_carry_the_taus():
    cheap, longer = hand_table(), mirrored_table()
    report = fidelity(cheap, longer, cheap.cfg.replace(cost_weight=0.0))
    text = fidelity_text(report)
    assert "--epochs 10 -> 30" in text and "tau -1.00" in text and "took 1.0 s and 1.0 s" in text
    fig = fidelity_figure(report)
    assert "Kendall tau -1.00" in fig.layout.title.text and len(fig.data[0].x) == 6
    # x = (200 - p) / 4 and y = (200 - (1000 - p)) / 4, so x + y = -150 for every cell
    assert all(abs(a + b + 150.0) < 1e-9 for a, b in zip(fig.data[0].x, fig.data[0].y))
