"""End to end in a real browser: JupyterLab serves a copy of notebooks/, headless Chromium
(Debian's /usr/bin/chromium, driven by Playwright) runs 01_search.ipynb, clicks Step on the
SearchLab panel and checks the DAG lost an edge and the curves gained a point, then clicks Export
and checks the files of the best cell on disk, then switches the panel's strategy menu to another
strategy and back.

Skipped when Chromium or Playwright is missing, except under CI=true, where that is a failure
(.ci/run installs Chromium). On failure, screenshots and the server log are kept under the test's
tmp folder (the path is printed).
"""
from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import browser_util as bu  # scripts/browser_util.py

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/01_search.ipynb"   # relative to the lab's root, which mirrors the repo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Tiny settings for the parameters cell of the copied notebook: a shrink step trains two
# one-epoch candidates of an 8-wide 4-node cell on a few thousand tokens (seconds on a CPU).
# 4 nodes = 6 edges, target 2: Run All takes step 0 (the notebook's lab.step() cell), the Step
# button step 1, and the search is still not finished.
TINY = dict(nodes=4, emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10, candidates=2,
            device="cpu")


@pytest.fixture
def lab_root(tmp_path, browser_ok):
    """A copy of notebooks/ (under <tmp>/lab/notebooks, so the notebook's ../runs/search save
    folder lands in <tmp>/lab/runs) with tiny parameters."""
    if not (ROOT / NOTEBOOK).is_file():
        pytest.skip(f"{NOTEBOOK} does not exist")
    return bu.copy_notebooks(ROOT, tmp_path / "lab", {NOTEBOOK: TINY})


@pytest.fixture
def lab(lab_root, tiny_data, tmp_path):
    """JupyterLab on the copy; the kernel inherits AUTOSHRINK_DATA (the notebook's data = None)."""
    with bu.lab_on(lab_root, tiny_data, tmp_path / "jupyter.log", threads=2) as server:
        yield server


def _edges_steps(text: str) -> tuple[int, int]:
    """'... steps: 1 · edges left: 3 ...' -> (3, 1)."""
    edges = re.search(r"edges left:\s*(\d+)", text)
    steps = re.search(r"steps:\s*(\d+)", text)
    assert edges and steps, f"status line without 'edges left: N' and 'steps: N': {text!r}"
    return int(edges.group(1)), int(steps.group(1))


@pytest.mark.timeout(900)
def test_search_notebook_in_browser(lab, lab_root, tmp_path):
    shots = tmp_path / "screenshots"
    with bu.browser(tmp_path / "chromium-profile") as ctx:
        page = ctx.new_page()
        console = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("response", lambda r: console.append(f"http {r.status}: {r.url.split('?')[0]}")
                if r.status >= 400 else None)
        try:
            _drive(page, lab, lab_root, shots)
            _strategy_menu(page)
            _finish_and_reopen(page, ctx, lab, console)
            branch = _branch_from_here(page, lab_root)
            page = ctx.new_page()
            _bench(page, lab, console, branch)
            page = ctx.new_page()
            _compare_fits(page, lab, console)
            assert not console, "browser console errors:\n" + "\n".join(console)
        except BaseException:
            shots.mkdir(exist_ok=True)
            with contextlib.suppress(Exception):
                page.screenshot(path=str(shots / "failure.png"))
            print(f"\nscreenshots: {shots}\nserver log: {lab.log_path}\n"
                  "browser console errors:\n" + "\n".join(console[-20:]))
            raise


def _drive(page, lab, root: Path, shots: Path) -> None:
    bu.open_notebook(page, lab, NOTEBOOK)
    bu.run_all_cells(page, timeout=300_000)   # the notebook's lab.step() cell trains (slow on a loaded machine)

    # the kernel is this venv's Python (jupyter_client puts the server's own Python in place of
    # the kernel spec's "python")
    kernels = bu.kernel_commands(lab)
    assert kernels, "no ipykernel process found under the server"
    assert all(Path(k[0]).parent == Path(sys.executable).parent for k in kernels), (sys.executable, kernels)

    status = page.locator(".autoshrink-status").first
    step = page.locator("button.autoshrink-step").first
    step.wait_for(state="visible", timeout=30_000)
    page.locator(".autoshrink-lab").first.scroll_into_view_if_needed()
    # each figure widget draws its plotly graph inside the element that carries the class
    page.wait_for_selector(".autoshrink-dag .main-svg", timeout=30_000)
    page.wait_for_selector(".autoshrink-curves .main-svg", timeout=30_000)
    bu.wait_for_enabled(step, timeout=30_000)
    # the front end may draw the figures before it applies the status line's last update; if the
    # step never shows, the assertions below say what the line holds
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "() => /steps:\\s*[1-9]/.test(document.querySelector('.autoshrink-status')?.innerText || '')",
            timeout=30_000)
    page.wait_for_timeout(500)   # the figures' last updates

    edges0, steps0 = _edges_steps(status.inner_text())
    assert steps0 == 1, "Run All should have taken one step (the notebook's lab.step() cell)"
    curves0, gone0 = _curve_points(page), _removed_edges(page)
    assert curves0 == steps0, f"the curves show {curves0} points after {steps0} step(s)"
    assert gone0 >= 1, "the DAG shows no removed edge after step 0"

    # Change a setting in the browser: the kernel sees it (the panel answers with a note that it
    # applies on Reset) and Step still continues the running search with its own settings.
    epochs = page.locator(".autoshrink-lab .widget-text", has_text="epochs").locator("input").first
    epochs.fill(str(TINY["epochs"] + 1))
    epochs.press("Enter")
    page.locator(".autoshrink-message", has_text="press Reset").wait_for(timeout=20_000)

    step.click()
    page.wait_for_function(
        """(n) => { const el = document.querySelector('.autoshrink-status');
                   const m = el && /steps:\\s*(\\d+)/.exec(el.innerText);
                   return (m && Number(m[1]) > n) || /error:/.test(el.innerText); }""",
        arg=steps0, timeout=150_000)
    bu.wait_for_enabled(page.locator("button.autoshrink-export").first, timeout=30_000)
    page.wait_for_timeout(500)   # the figures' last updates

    assert "error:" not in status.inner_text(), page.locator(".autoshrink-error").first.inner_text()
    edges1, steps1 = _edges_steps(status.inner_text())
    assert steps1 == steps0 + 1 and edges1 < edges0, (edges0, steps0, edges1, steps1)
    assert _removed_edges(page) > gone0, "the DAG shows no newly removed edge"
    assert _curve_points(page) == curves0 + 1, "the curves did not gain a point"
    title = page.locator(".autoshrink-dag .gtitle").first.text_content()
    assert re.search(rf"\b{edges1} edges?\b", title), title

    # Export from the button: the notebook's export cell wrote <save>/export/ already, so it is
    # removed first; the button must write it again, for the best cell (the default choice).
    save = root / "runs" / "search"
    assert (save / "search.json").is_file(), sorted(p.name for p in (root / "runs").glob("*"))
    export = save / "export"
    shutil.rmtree(export, ignore_errors=True)
    page.locator("button.autoshrink-export").first.click()
    page.locator(".autoshrink-exported", has_text="exported").wait_for(timeout=60_000)
    svg, cell_json = _wait_for_file(export / "cell-best.svg", 30), _wait_for_file(export / "cell-best.json", 30)
    root_el = ET.parse(svg).getroot()
    assert root_el.tag.endswith("svg"), root_el.tag
    best = json.loads((save / "search.json").read_text())["best"]
    assert json.loads(cell_json.read_text()) == best["cell"], "cell-best.json is not the search's best cell"
    best_edges = sum(map(sum, best["cell"]["mask"]))
    assert f"the best cell ({best_edges} edge" in page.locator(".autoshrink-exported").first.inner_text()


def _strategy_menu(page) -> None:
    """The panel's strategy menu puts another strategy's panel in place of the search's views, and
    autoshrink brings them back."""
    menu = page.locator(".autoshrink-strategy select").first
    menu.select_option("random")
    page.locator(".autoshrink-lab .autoshrink-strategy-panel").first.wait_for(timeout=30_000)
    assert page.locator(".autoshrink-lab .autoshrink-dag").count() == 0, "the search's DAG is still shown"
    menu.select_option("autoshrink")
    page.wait_for_selector(".autoshrink-lab .autoshrink-dag .main-svg", timeout=30_000)
    assert page.locator(".autoshrink-lab .autoshrink-strategy-panel").count() == 0
    assert "steps: 2" in page.locator(".autoshrink-status").first.inner_text()


def _curve_points(page) -> int:
    traces = bu.plotly_data(page, ".autoshrink-curves") or []
    return max((t["nx"] for t in traces), default=0)


def _removed_edges(page) -> int:
    """DAG edges drawn as removed (dashed) or pruned (dotted)."""
    traces = bu.plotly_data(page, ".autoshrink-dag") or []
    return sum(1 for t in traces if t["name"].startswith("edge ") and t["visible"] is True
               and (t["line"] or {}).get("dash") in ("dash", "dot"))


def _wait_for_file(path: Path, timeout: float) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.stat().st_size > 0:
            time.sleep(0.3)   # let the writer finish
            return path
        time.sleep(0.2)
    folder = path.parent
    raise AssertionError(f"{path.name} not written in {timeout:.0f}s; {folder} holds "
                         f"{sorted(p.name for p in folder.glob('*')) if folder.is_dir() else 'nothing'}")


def _finish_and_reopen(page, ctx, lab, console) -> None:
    """Run to the end, then open 01 in a new tab on the same kernel: the panel's figures and table
    must show the finished search, not the state they were created in."""
    page.locator("button.autoshrink-run").first.click()
    page.locator(".autoshrink-status", has_text="finished").wait_for(timeout=150_000)
    page.wait_for_timeout(500)
    steps = _edges_steps(page.locator(".autoshrink-status").first.inner_text())[1]
    drawn = {sel: bu.plotly_data(page, sel) for sel in FIGURES}
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")          # the new tab loads the notebook (and its widget views) from disk
    page.wait_for_timeout(2000)
    again = ctx.new_page()
    again.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    again.goto(lab.url(f"lab/tree/{NOTEBOOK}"), wait_until="domcontentloaded", timeout=90_000)
    try:
        again.wait_for_selector(".autoshrink-dag .main-svg", timeout=60_000)
    except Exception:
        again.screenshot(path=str(Path(lab.log_path).parent / "reopened.png"))
        raise
    again.wait_for_selector(".autoshrink-curves .main-svg", timeout=30_000)
    again.wait_for_timeout(1000)
    [nodes] = [t for t in bu.plotly_data(again, ".autoshrink-dag") if t["name"] == "nodes"]
    assert nodes["nx"] == TINY["nodes"] + 3, f"the reopened DAG draws {nodes['nx']} nodes"   # inputs, nodes, output
    for sel in FIGURES:
        assert bu.plotly_data(again, sel) == drawn[sel], f"{sel} is drawn otherwise in the new tab"
    title = again.locator(".autoshrink-dag .gtitle").first.text_content()
    assert "★ best" in title and not title.startswith("start"), title
    assert _curve_points(again) == steps, f"the reopened curves show {_curve_points(again)} points, not {steps}"
    training = bu.plotly_data(again, ".autoshrink-training") or []
    assert training and training[0]["points"] > 0, "the reopened training figure is empty"
    rows = again.locator(".autoshrink-table tbody tr").count()
    assert rows > 0, "the reopened candidates table is empty"
    again.close()


FIGURES = (".autoshrink-dag", ".autoshrink-curves", ".autoshrink-training")


def _branch_from_here(page, root: Path) -> Path:
    """Branch from here on the finished search: the branch's folder appears, the parent stays as it was."""
    parent = root / "runs" / "search" / "search.json"
    before = parent.read_text()
    branch = page.locator("button.autoshrink-branch").first
    branch.scroll_into_view_if_needed()
    bu.wait_for_enabled(branch)
    branch.click()
    page.locator(".autoshrink-status", has_text="branched after step").wait_for(timeout=30_000)
    [folder] = [p.parent for p in (root / "runs").glob("search-from*/search.json")]
    assert parent.read_text() == before, "branching wrote into the parent search"
    return folder


def _bench(page, lab, console, branch: Path) -> None:
    """05's runs list shows the search and its branch; Compare draws both, Open shows a lab, Branch
    opens the chosen search at a step (the DAG follows), Branch from here and Run drive the branch
    to its end, and the DAG, the curves and the training figure show the branch."""
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    bu.open_notebook(page, lab, "notebooks/05_runs.ipynb")
    bu.run_all_cells(page, timeout=90_000)
    table = page.locator(".autoshrink-runs").first
    table.wait_for(timeout=30_000)
    table.scroll_into_view_if_needed()
    text = table.text_content()        # (inner_text is empty for content the notebook has not painted)
    assert "runs/search" in text and branch.name in text, text
    chosen = page.locator(".autoshrink-runs-chosen select").first
    labels = [t.replace("\xa0", " ") for t in chosen.locator("option").all_text_contents()]
    assert len(labels) == 2 and "runs/search ·" in labels[0], labels
    chosen.select_option(index=[0, 1])
    page.locator("button.autoshrink-runs-compare").first.click()
    page.wait_for_selector(".autoshrink-runs-lab .autoshrink-comparison .main-svg", timeout=60_000)
    assert "comparing 2 searches" in page.locator(".autoshrink-runs-message").first.text_content()
    chosen.select_option(index=0)
    page.locator("button.autoshrink-runs-open").first.click()
    page.wait_for_selector(".autoshrink-runs-lab .autoshrink-lab .autoshrink-dag .main-svg", timeout=60_000)
    assert "opened" in page.locator(".autoshrink-runs-message").first.text_content()
    below = ".autoshrink-runs-lab .autoshrink-lab"
    at_step = page.locator(".autoshrink-runs-at-step input").first
    at_step.fill("0")
    at_step.press("Enter")
    page.locator("button.autoshrink-runs-branch").first.click()
    page.locator(".autoshrink-runs-message", has_text="then press Branch from here").wait_for(timeout=30_000)
    page.wait_for_function("""(sel) => {         // the DAG shows what the label beside the slider names
        const t = document.querySelector(sel + ' .autoshrink-dag .gtitle');
        const note = document.querySelector(sel + ' .autoshrink-history-note');
        return t && note && note.textContent.startsWith('after step 0') && note.textContent.includes(t.textContent);
    }""", arg=below, timeout=30_000)

    page.locator(f"{below} button.autoshrink-branch").first.click()
    page.locator(f"{below} .autoshrink-status", has_text="branched after step 0").wait_for(timeout=30_000)
    [folder] = [p.parent for p in lab.root_dir.glob("runs/search-from*/search.json") if p.parent.name != branch.name]
    run = page.locator(f"{below} button.autoshrink-run").first
    bu.wait_for_enabled(run, timeout=30_000)
    run.click()
    page.locator(f"{below} .autoshrink-status", has_text="finished").wait_for(timeout=150_000)
    page.wait_for_timeout(1000)
    state = json.loads((folder / "search.json").read_text())
    steps = [s for s in state["steps"] if s.get("done")]
    title = page.locator(f"{below} .autoshrink-dag .gtitle").first.text_content()
    best_edges = sum(map(sum, state["best"]["cell"]["mask"]))
    assert "★ best" in title and re.search(rf"\b{best_edges} edges?\b", title), (title, state["best"])
    curves = bu.plotly_data(page, f"{below} .autoshrink-curves") or []
    assert max((t["nx"] for t in curves), default=0) == len(steps), "the curves do not show the branch's steps"
    training = bu.plotly_data(page, f"{below} .autoshrink-training") or []
    assert training and training[0]["points"] > 0, "the training figure is empty after the branch's run"
    assert not bu.cell_errors(page)


def _compare_fits(page, lab, console) -> None:
    """02's cells figure fits the notebook's width."""
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    bu.open_notebook(page, lab, "notebooks/02_compare_cells.ipynb")
    bu.run_through(page, bu.code_cell_index(page, "plot.cells_figure"), timeout=90_000)
    page.wait_for_selector(".jp-OutputArea .js-plotly-plot .main-svg", timeout=30_000)
    fig, area = page.evaluate("""() => {
        const gd = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .js-plotly-plot');
        const out = gd.closest('.jp-OutputArea-output');
        return [gd.getBoundingClientRect().width, out.getBoundingClientRect().width];
    }""")
    assert fig <= area + 1, f"the cells figure is {fig:.0f} px wide in an output area of {area:.0f} px"
