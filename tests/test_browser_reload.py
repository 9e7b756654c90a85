"""Reloading the page, and a new tab after a save, with several notebooks open: every figure
panel comes back drawn (issue 32 item 1: a reload lost panels to "[anywidget] Failed to
initialize model" and "Error displaying widget: model not found").

JupyterLab serves a copy of notebooks/ (as tests/test_browser.py does); 01 runs with tiny
settings (one step trained) and 04 with the tiny preset (nothing trained), then the page is
reloaded twice and 01 is opened in a second tab. 01's panel must be drawn while its kernel is still
busy with Run All (its step trains): Plotly.js must reach the page without a reply from a kernel.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

import browser_util as bu  # scripts/browser_util.py

ROOT = Path(__file__).resolve().parents[1]
SEARCH, FINAL = "notebooks/01_search.ipynb", "notebooks/04_final_training.ipynb"
TINY = dict(nodes=4, emsize=8, epochs=1, batch_size=16, eval_batch_size=16, bptt=10, candidates=2, device="cpu")
PANELS = {SEARCH: (".autoshrink-dag", ".autoshrink-curves", ".autoshrink-training"),
          FINAL: (".widget-vbox .js-plotly-plot",)}
LOST = ("Failed to initialize model", "model not found", "Error displaying widget")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def lab(tmp_path, tiny_data, browser_ok):
    root = bu.copy_notebooks(ROOT, tmp_path / "lab", {SEARCH: TINY, FINAL: dict(preset="test", device="cpu")})
    with bu.lab_on(root, tiny_data, tmp_path / "jupyter.log") as server:
        yield server


def _watch(page, console: list) -> None:
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))


def _show(page, name: str) -> None:
    """Bring the notebook's tab to the front."""
    page.locator(".lm-TabBar-tab", has_text=Path(name).name).first.click()
    page.wait_for_timeout(300)


def _drawn(page, name: str, timeout: float = 60_000) -> None:
    """Every figure panel of the notebook in front is drawn, and no output says a model is lost."""
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    for sel in PANELS[name]:
        page.wait_for_selector(f"{panel} {sel} .main-svg", timeout=timeout)
    text = page.locator(panel).first.inner_text()
    assert not [w for w in LOST if w in text], f"{name} shows: {text[:2000]}"


def _save(page) -> None:
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.wait_for_timeout(2000)


def _lost(console: list) -> list:
    return [line for line in console if any(w in line for w in LOST)]


@pytest.mark.timeout(900)
def test_reloads_and_a_new_tab_keep_every_panel(lab, tmp_path):
    console: list[str] = []
    with bu.browser(tmp_path / "chromium-profile") as ctx:
        page = ctx.new_page()
        _watch(page, console)
        try:
            bu.open_notebook(page, lab, SEARCH)
            page.wait_for_timeout(1000)                              # the page settles before Run All
            bu.start_run_all(page)
            page.wait_for_selector(".autoshrink-dag .main-svg", timeout=120_000)
            assert bu.kernel_status(page) == "busy", "01's panel was drawn only once the kernel was idle"
            bu.run_all_cells(page, timeout=300_000, started=True)
            _drawn(page, SEARCH)
            _save(page)                               # as autosave does
            bu.open_notebook(page, lab, FINAL)        # a page load: 01 is restored beside it
            page.wait_for_timeout(1000)
            bu.run_all_cells(page, timeout=120_000)
            _drawn(page, FINAL)
            _save(page)
            for _ in range(2):
                page.reload(wait_until="domcontentloaded")
                page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=90_000)
                page.wait_for_timeout(3000)
                for name in (SEARCH, FINAL):
                    _show(page, name)
                    _drawn(page, name)
            again = ctx.new_page()
            _watch(again, console)
            again.goto(lab.url(f"lab/tree/{SEARCH}"), wait_until="domcontentloaded", timeout=90_000)
            _drawn(again, SEARCH)
            training = bu.plotly_data(again, ".autoshrink-training") or []
            assert training and training[0]["points"] > 0, "the new tab's training figure is empty"
            assert _lost(console) == [], "\n".join(console)
        except BaseException:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(tmp_path / "failure.png"))
            print(f"\nscreenshot: {tmp_path / 'failure.png'}\nserver log: {lab.log_path}\nconsole:\n"
                  + "\n".join(console[-30:]))
            raise
