"""Screenshots of the lab for the docs: JupyterLab + headless Chromium drive notebooks/01_search.ipynb
on a copy in a temporary folder and write

    docs/lab-start.png      the panel as created (no step yet)
    docs/lab-mid.png        after --mid-steps Step clicks
    docs/lab-end.png        after Run finished (the final cell trained) and Export
    docs/cell-diagram.png   the exported diagram of the best cell (<save>/export/cell-best.png)
    docs/lab-runs.png       05_runs.ipynb: the runs list after Branch from here (step 0, 1 more epoch)
    docs/lab-compare.png    the search and its branch compared (the Compare button), run to their ends

    .venv/bin/python scripts/screenshots.py --data path/to/penn_proxy [--nodes 4 --epochs 2 ...]

Needs Debian's Chromium at /usr/bin/chromium and the playwright Python package (the dev extra).
The data folder is linked into the copy as data/penn_proxy, so the panel shows the notebook's
own relative paths. Uses the machinery of scripts/browser_util.py.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import browser_util as bu  # beside this script

ROOT = Path(__file__).resolve().parents[1]

NOTEBOOK = "notebooks/01_search.ipynb"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=not os.environ.get("AUTOSHRINK_DATA"),
                   default=os.environ.get("AUTOSHRINK_DATA"),
                   help="PTB proxy folder (train.txt, valid.txt, test.txt); default $AUTOSHRINK_DATA")
    p.add_argument("--out", default=str(ROOT / "docs"), help="folder for the PNGs (default docs/)")
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--emsize", type=int, default=16)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--bptt", type=int, default=35)
    p.add_argument("--candidates", type=int, default=3, help="edges tried per shrink step")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--mid-steps", type=int, default=1, help="Step clicks before lab-mid.png")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1000)
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed for Run to finish")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    return p.parse_args(argv)


def status(page) -> str:
    return page.locator(".autoshrink-status").first.inner_text()


def steps_done(page) -> int:
    m = re.search(r"steps:\s*(\d+)", status(page))
    return int(m.group(1)) if m else -1


def wait_status(page, done, timeout: float) -> str:
    """Poll the status line until done(text); an "error:" there (the search failed in the lab's
    thread) raises at once with the panel's traceback."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = status(page)
        if "error:" in text:
            raise RuntimeError(f"the lab says {text!r}\n{page.locator('.autoshrink-error').first.inner_text()}")
        if done(text):
            return text
        page.wait_for_timeout(500)
    raise TimeoutError(f"status still {status(page)!r} after {timeout:.0f}s")


def wait_idle_panel(page, timeout: float) -> None:
    """Wait until a Step/Run in the lab's thread has ended (Export is enabled again)."""
    bu.wait_for_enabled(page.locator("button.autoshrink-export").first, timeout=timeout * 1000)
    page.wait_for_timeout(800)   # the figures' last updates


START = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {msg}", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so the server and its kernel are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data = Path(args.data).resolve()
    if not (data / "train.txt").is_file():
        sys.exit(f"--data {args.data}: no train.txt there")
    if not bu.chromium_available():
        sys.exit(f"{bu.CHROMIUM} not found: apt-get install -y chromium")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tmp = Path(tempfile.mkdtemp(prefix="autoshrink-shots-"))
    try:
        root = bu.copy_notebooks(ROOT, tmp / "lab", {NOTEBOOK: dict(
            nodes=args.nodes, emsize=args.emsize, epochs=args.epochs, batch_size=args.batch_size,
            eval_batch_size=args.eval_batch_size, bptt=args.bptt,
            candidates=args.candidates, seed=args.seed, device=args.device, data=None)})
        (root / "data").mkdir()
        (root / "data" / "penn_proxy").symlink_to(data, target_is_directory=True)
        env = {"AUTOSHRINK_DATA": None, "MPLBACKEND": "Agg"}   # the notebook's ../data/penn_proxy
        with bu.JupyterLab(root, env=env) as lab, \
                bu.browser(tmp / "chromium-profile", viewport=(args.width, args.height)) as ctx:
            page = ctx.new_page()
            try:
                shoot(page, lab, root, out, args)
            except BaseException:
                page.screenshot(path=str(tmp / "failure.png"))
                print(f"failed; screenshot {tmp / 'failure.png'}, server log {lab.log_path}", file=sys.stderr)
                args.keep = True
                raise
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def shoot(page, lab, root: Path, out: Path, args) -> None:
    log(f"JupyterLab at {lab.base}")
    bu.open_notebook(page, lab, NOTEBOOK)
    bu.collapse_left_sidebar(page)
    # only the cells up to the lab: the notebook's own lab.step() cell would take a step
    bu.run_through(page, bu.code_cell_index(page, "SearchLab("), timeout=180_000)
    page.wait_for_selector(".autoshrink-dag .main-svg", timeout=60_000)
    page.wait_for_selector(".autoshrink-curves .main-svg", timeout=60_000)
    page.mouse.move(0, args.height - 1)   # no hover effects
    bu.scroll_to(page, ".autoshrink-lab")
    page.screenshot(path=str(out / "lab-start.png"))
    log(f"lab-start.png: {status(page)}")

    for k in range(args.mid_steps):
        before = steps_done(page)
        page.locator("button.autoshrink-step").first.click()
        wait_status(page, lambda text, before=before: int(re.search(r"steps:\s*(\d+)", text).group(1)) > before,
                    args.timeout)
        wait_idle_panel(page, args.timeout)
        log(f"step {k + 1}: {status(page)}")
    page.mouse.move(0, args.height - 1)
    bu.scroll_to(page, "button.autoshrink-step", margin=40)
    page.screenshot(path=str(out / "lab-mid.png"))
    log("lab-mid.png")

    page.locator("button.autoshrink-run").first.click()
    wait_status(page, lambda text: "finished" in text, args.timeout)
    wait_idle_panel(page, 120)
    log(f"run: {status(page)}")
    page.locator("button.autoshrink-export").first.click()
    page.locator(".autoshrink-exported", has_text="exported").wait_for(timeout=120_000)
    page.mouse.move(0, args.height - 1)
    bu.scroll_to(page, ".autoshrink-curves", align="bottom", margin=-14)   # the curves whole, the DAG above
    page.screenshot(path=str(out / "lab-end.png"))
    log("lab-end.png")

    png = root / "runs" / "search" / "export" / "cell-best.png"
    deadline = time.monotonic() + 60
    while not png.is_file() and time.monotonic() < deadline:
        time.sleep(0.3)
    shutil.copyfile(png, out / "cell-diagram.png")
    log("cell-diagram.png")
    shoot_bench(page, lab, out, args)


def shoot_bench(page, lab, out: Path, args) -> None:
    """Branch after step 0 with one more epoch and run the branch; 05 lists both and compares them."""
    epochs = page.locator(".autoshrink-lab .widget-text", has_text="epochs").locator("input").first
    epochs.fill(str(args.epochs + 1))
    epochs.press("Enter")
    handle = page.locator(".autoshrink-history .noUi-handle").first      # the history slider to "after step 0"
    handle.focus()
    handle.press("Home")
    handle.press("ArrowRight")
    page.locator(".autoshrink-history-note", has_text="after step 0").wait_for(timeout=30_000)
    page.locator("button.autoshrink-branch").first.click()
    wait_status(page, lambda text: "branched after step" in text, 60)
    page.locator("button.autoshrink-run").first.click()
    wait_status(page, lambda text: "finished" in text, args.timeout)
    wait_idle_panel(page, 120)
    log(f"branch: {status(page)}")
    bench = page.context.new_page()
    bu.open_notebook(bench, lab, "notebooks/05_runs.ipynb")
    bu.collapse_left_sidebar(bench)
    bu.run_all_cells(bench, timeout=120_000)
    bench.locator(".autoshrink-runs").first.wait_for(timeout=60_000)
    bench.mouse.move(0, args.height - 1)
    bu.scroll_to(bench, ".autoshrink-runs-lab")
    bench.screenshot(path=str(out / "lab-runs.png"))
    log("lab-runs.png")
    bench.locator(".autoshrink-runs-chosen select").first.select_option(index=[0, 1])
    bench.locator("button.autoshrink-runs-compare").first.click()
    bench.wait_for_selector(".autoshrink-runs-lab .autoshrink-comparison .main-svg", timeout=60_000)
    bench.wait_for_timeout(1000)
    bu.scroll_to(bench, ".autoshrink-runs-lab .autoshrink-comparison")
    bench.screenshot(path=str(out / "lab-compare.png"))
    log("lab-compare.png")


if __name__ == "__main__":
    sys.exit(main())
