"""The search-quality report: random cells of the same live edge count, baselines, rank, cache, figures."""
import json
import statistics
import subprocess
import sys

import numpy as np
import pytest
import torch

from autoshrink import SearchConfig
from autoshrink.quality import QualityReport, quality_report, random_cells, summarize
from autoshrink.quality_plot import pareto_figure, pareto_front, quality_figure
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


def test_summary_rank_by_hand():
    recs = [{"name": "discovered", "group": "discovered", "ppl": p} for p in (100, 110)]
    recs += [{"name": f"random {k}", "group": "random", "ppl": p} for k, p in ((1, 90), (1, 96), (2, 120), (3, 200),
                                                                                (3, None))]
    s = summarize(recs)
    # random cell means: 93, 120, diverged (inf); discovered mean 105: one random cell is better
    assert s["discovered"]["mean"] == 105 and s["discovered"]["rank"] == 2 and s["discovered"]["of"] == 4
    assert s["discovered"]["random_median"] == statistics.median([93, 120]) and s["discovered"]["beats_median"]
    assert s["random"]["n"] == 4 and s["random"]["mean"] == pytest.approx(np.mean([90, 96, 120, 200]))


def test_pareto_front_by_hand():
    pts = [(4, 300), (3, 310), (3, 305), (2, 400), (5, 290), (5, 280), (6, 295)]
    assert pareto_front(pts) == [(2, 400), (3, 305), (4, 300), (5, 280)]


def test_report_trains_once_then_reads_the_cache(search):
    events = []
    rep = quality_report(search, n_random=2, seeds=2, on_event=lambda kind, **i: events.append(kind))
    assert rep["missing"] == 0 and len(rep["records"]) == (1 + 2 + 2 + 1) * 2
    assert events.count("done") == 12
    groups = {r["group"] for r in rep["records"]}
    assert groups == {"discovered", "random", "ShrinkRNN", "DARTS", "LSTM"}
    edges = {r["edges"] for r in rep["records"] if r["group"] in ("discovered", "random")}
    assert len(edges) == 1
    again = []
    assert quality_report(search, n_random=2, seeds=2, on_event=lambda kind, **i: again.append(kind)) == rep
    assert again == []
    assert QualityReport(search, n_random=3, seeds=2).missing() != []      # one more random cell: 2 new jobs
    assert len(QualityReport(search, n_random=3, seeds=2).missing()) == 2
    assert len(QualityReport(search, n_random=2, seeds=2, epochs=2).missing()) == 12   # other settings: new key
    assert len(QualityReport(search, n_random=2, seeds=2, precision="fp32", fuse="off").missing()) == 12
    fig = quality_figure(rep)
    assert [t.name for t in fig.data] == ["discovered", "random (2 cells)", "ShrinkRNN", "DARTS", "LSTM"]
    assert "rank" in fig.layout.title.text
    state = json.loads((search / "search.json").read_text())
    pf = pareto_figure(state)
    n = sum(len(s["candidates"]) for s in state["steps"])
    assert len(pf.data[0].x) == n and pf.data[1].name == "Pareto front" and pf.data[2].name.startswith("discovered cell")


def test_quality_cli_prints_the_summary(search):
    quality_report(search, n_random=2, seeds=2)          # cached by the test above: nothing to train
    r = subprocess.run([sys.executable, "-m", "autoshrink", "quality", "--search", str(search), "--random", "2",
                        "--seeds", "2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "trained 0" in r.stdout and (search / "quality.html").is_file()
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["discovered"]["of"] == 3
