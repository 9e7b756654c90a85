"""05's list in a real browser: the chosen row removed by the filter, or deleted, leaves no page
error (issue 32 item 2: "Error setting state: Cannot set properties of undefined (setting
'selected')"). Two hand-made finished searches (tests/records.py) stand in runs/.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

import browser_util as bu  # scripts/browser_util.py
import records
from autoshrink.core.record import write_state

ROOT = Path(__file__).resolve().parents[1]
RUNS = "notebooks/05_runs.ipynb"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def lab(tmp_path, tiny_data, browser_ok):
    root = bu.copy_notebooks(ROOT, tmp_path / "lab")
    for name in ("a", "b"):
        write_state(root / "runs" / name, records.best_first(tiny_data, f"../runs/{name}"))
    with bu.lab_on(root, tiny_data, tmp_path / "jupyter.log") as server:
        yield server


def _options(page) -> list[str]:
    return page.locator(".autoshrink-runs-chosen select option").all_text_contents()


@pytest.mark.timeout(600)
def test_the_chosen_row_filtered_away_or_deleted_leaves_no_page_error(lab, tmp_path):
    console: list[str] = []
    with bu.browser(tmp_path / "chromium-profile") as ctx:
        page = ctx.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        try:
            bu.open_notebook(page, lab, RUNS)
            page.wait_for_timeout(1000)                              # the panel settles before Run All
            bu.run_all_cells(page, timeout=240_000)
            chosen = page.locator(".autoshrink-runs-chosen select").first
            chosen.wait_for(timeout=30_000)
            page.wait_for_function("() => document.querySelectorAll('.autoshrink-runs-chosen option').length == 2")
            chosen.select_option(index=1)                             # b, the second row
            page.wait_for_timeout(500)
            box = page.locator(".autoshrink-runs-lab .widget-text", has_text="filter").locator("input").first
            box.fill("runs/a")
            box.press("Enter")
            page.wait_for_function("() => document.querySelectorAll('.autoshrink-runs-chosen option').length == 1")
            page.wait_for_timeout(1000)
            box.fill("")
            box.press("Enter")
            page.wait_for_function("() => document.querySelectorAll('.autoshrink-runs-chosen option').length == 2")
            chosen.select_option(index=1)
            page.wait_for_timeout(500)
            delete = page.locator("button.autoshrink-runs-delete").first
            delete.click()
            page.locator(".autoshrink-runs-message", has_text="press Delete again").wait_for(timeout=30_000)
            delete.click()
            page.locator(".autoshrink-runs-message", has_text="deleted").wait_for(timeout=30_000)
            page.wait_for_timeout(1000)
            assert len(_options(page)) == 1 and not (lab.root_dir / "runs" / "b").exists()
            assert console == [], "\n".join(console)
        except BaseException:
            with contextlib.suppress(Exception):
                page.screenshot(path=str(tmp_path / "failure.png"))
            print(f"\nscreenshot: {tmp_path / 'failure.png'}\nconsole:\n" + "\n".join(console[-30:]))
            raise
