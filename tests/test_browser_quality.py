"""03_quality.ipynb in a real browser (JupyterLab + headless Chromium, as tests/test_browser.py):
Run All Cells on a tiny search, then both figures (groups with the rank in the title, and the
candidates with their Pareto front) are drawn on the page."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import browser_util as bu  # scripts/browser_util.py
from autoshrink import SearchConfig  # noqa: E402
from autoshrink.search import Search  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/03_quality.ipynb"
TINY = dict(emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10, seed=1, device="cpu")


@pytest.fixture
def lab(tmp_path, tiny_data, browser_ok):  # noqa: F811
    root = bu.copy_notebooks(ROOT, tmp_path / "lab", {NOTEBOOK: dict(n_random=2, trainings=1, random_search=2)})
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    Search(SearchConfig(nodes=3, keep_fraction=0.34, data=str(tiny_data), save=str(root / "runs" / "search"),
                        **TINY)).run()
    torch.set_num_threads(n)
    with bu.lab_on(root, tiny_data, tmp_path / "jupyter.log") as server:
        yield server


@pytest.mark.timeout(300)
def test_quality_notebook_in_browser(lab, tmp_path):
    with bu.browser(tmp_path / "chromium-profile") as ctx:
        page = ctx.new_page()
        bu.open_notebook(page, lab, NOTEBOOK)
        bu.run_all_cells(page, timeout=200_000)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=30_000)
        graphs = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(
            gd => ({names: gd.data.map(t => t.name), title: (gd.layout.title || {}).text || ''}))""")
        assert [n.split(" (")[0] for n in graphs[0]["names"]] == ["discovered", "same ops", "random",
                                                                  "size-matched random search", "ShrinkRNN", "DARTS",
                                                                  "LSTM"]
        assert "rank" in graphs[0]["title"]
        assert graphs[1]["names"][:2] == ["candidates", "Pareto front"]
