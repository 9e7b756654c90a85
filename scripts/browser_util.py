"""Shared machinery for driving the notebooks in a real browser: a private JupyterLab server and
headless Chromium through Playwright (sync API).

Used by tests/test_browser*.py and scripts/screenshots.py:

    with JupyterLab(root_dir, env={"AUTOSHRINK_DATA": data}) as lab, browser(profile) as ctx:
        page = ctx.new_page()
        open_notebook(page, lab, "01_search.ipynb")
        run_all_cells(page)

Chromium is Debian's (/usr/bin/chromium, `apt-get install chromium`); Playwright's own browser
download is not used. The server runs offline: no news feed, no update check, no extension
manager that asks PyPI, settings and workspaces in private folders, and a random token.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]

# Settings written into the private user-settings folder: no "receive news?" toast, no update
# check, no toasts over the page at all.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
}


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- notebook files

def copy_notebooks(project: Path, root: Path, parameters: dict | None = None) -> Path:
    """A copy of `project`/notebooks under `root`/notebooks (so a notebook's ../runs lands in
    `root`/runs), each notebook named in `parameters` ("notebooks/01_search.ipynb": {...}) with
    those values set (set_parameters). Returns `root`."""
    shutil.copytree(Path(project) / "notebooks", Path(root) / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for name, values in (parameters or {}).items():
        set_parameters(Path(root) / name, values)
    return Path(root)


@contextlib.contextmanager
def lab_on(root: Path, data, log_path, threads: int = 1):
    """JupyterLab serving `root`; its kernels read the proxy from `data` (AUTOSHRINK_DATA: the
    notebooks' data = None) and train on `threads` torch threads."""
    env = {"AUTOSHRINK_DATA": str(data), "OMP_NUM_THREADS": str(threads), "MPLBACKEND": "Agg"}
    with JupyterLab(root, env=env, log_path=log_path) as server:
        yield server


def set_parameters(nb_path, values: dict) -> None:
    """Rewrite the `parameters`-tagged cell of a notebook: each `name = ...` line whose name is in
    values gets the new value (repr); names not found are appended. The cell must exist."""
    nb_path = Path(nb_path)
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            break
    else:
        raise ValueError(f"{nb_path.name}: no cell tagged 'parameters'")
    src = cell["source"]
    lines = ("".join(src) if isinstance(src, list) else src).splitlines()
    todo = dict(values)
    for i, line in enumerate(lines):
        name = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
        if name in todo:
            comment = line.split("#", 1)[1] if "#" in line.split("=", 1)[1] else None
            lines[i] = f"{name} = {todo.pop(name)!r}" + (f"  #{comment}" if comment else "")
    lines += [f"{k} = {v!r}" for k, v in todo.items()]
    cell["source"] = "\n".join(lines) + "\n"
    nb_path.write_text(json.dumps(nb, indent=1) + "\n")


# --------------------------------------------------------------------------- the server

class JupyterLab:
    """A JupyterLab server of this Python (the venv's) on a free loopback port, in its own
    process group; stopped (with its kernels) on exit. `url(path)` carries the token."""

    def __init__(self, root_dir, env: dict | None = None, log_path=None, startup_timeout: float = 90):
        """env: variables for the server and its kernels on top of os.environ (None removes one)."""
        self.root_dir = Path(root_dir).resolve()
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(env or {})
        self.private = self.root_dir.parent / f".jupyter-{self.port}"
        self.log_path = Path(log_path) if log_path else self.private / "server.log"
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None

    def url(self, path: str = "lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def _write_settings(self) -> Path:
        settings = self.private / "settings"
        for rel, value in LAB_SETTINGS.items():
            p = settings / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(value))
        return settings

    def start(self) -> "JupyterLab":
        self.private.mkdir(parents=True, exist_ok=True)
        settings = self._write_settings()
        workspaces = self.private / "workspaces"
        workspaces.mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update({
            # private config/runtime/IPython folders: nothing from the user's setup leaks in
            "JUPYTER_CONFIG_DIR": str(self.private / "config"),
            "JUPYTER_RUNTIME_DIR": str(self.private / "runtime"),
            "IPYTHONDIR": str(self.private / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONUNBUFFERED": "1",
        })
        for k, v in self.extra_env.items():   # None removes a variable
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        # The kernel spec `python3` says argv[0] == "python", which jupyter_client replaces by the
        # server's own sys.executable: the kernel is this venv's Python.
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.allow_root=True",   # CI and sandboxes often run as root; harmless otherwise
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.open_browser=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workspaces}",
            "--ServerApp.log_level=WARN",
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        status = self.url("api/status")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(status, timeout=5) as r:
                    if r.status == 200:
                        json.load(r)
                        return
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"JupyterLab did not answer {self.base}/api/status within "
                           f"{self.startup_timeout:.0f}s:\n{self.log()}")

    def api(self, path: str):
        with urllib.request.urlopen(self.url(f"api/{path}"), timeout=10) as r:
            return json.load(r)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the server's process group (the server shuts its kernels down), then SIGKILL
        whatever of it and its kernels (each in a session of its own) is left."""
        if self.proc is None:
            return
        kernels = [pid for pid, _ in _children(self.proc.pid)]
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        for group in [self.proc.pid] + kernels:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._log.close()
        self.proc = None

    def __enter__(self) -> "JupyterLab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------- the browser

@contextlib.contextmanager
def browser(profile_dir, viewport=(1400, 1000), playwright=None):
    """A headless Debian Chromium persistent context with a fresh profile folder."""
    from playwright.sync_api import sync_playwright

    profile_dir = Path(profile_dir)
    profile_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        pw = playwright or stack.enter_context(sync_playwright())
        ctx = pw.chromium.launch_persistent_context(
            str(profile_dir), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=1)
        stack.callback(ctx.close)
        yield ctx


# --------------------------------------------------------------------------- JupyterLab UI

def open_notebook(page, lab: JupyterLab, name: str, timeout: float = 90_000) -> None:
    """Open a notebook (path relative to the root dir) and wait until its kernel is idle."""
    page.goto(lab.url(f"lab/tree/{name}"), wait_until="domcontentloaded", timeout=timeout)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout)
    dismiss_dialogs(page)
    wait_kernel_idle(page, timeout=timeout)


def dismiss_dialogs(page) -> None:
    """Accept a kernel-selection dialog (its default kernel), press Escape on any other dialog,
    and close toasts that may cover buttons."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        text = dialog.first.inner_text()
        accept = dialog.locator(".jp-Dialog-footer .jp-mod-accept")
        if "kernel" in text.lower() and accept.count():
            accept.first.click()
        else:
            page.keyboard.press("Escape")
    for close in page.locator(".Toastify__close-button").all():
        with contextlib.suppress(Exception):
            close.click(timeout=1000)


def kernel_status(page) -> str:
    """'idle', 'busy', 'starting', ... as the notebook toolbar's kernel indicator says."""
    return page.evaluate("""() => {
        const el = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
        if (!el) return 'unknown';
        const t = (el.getAttribute('data-status') || '').toLowerCase();
        return t || 'unknown';
    }""")


def wait_kernel_idle(page, timeout: float = 90_000, settle_ms: int = 500) -> None:
    """Wait until the kernel indicator says idle (and stays idle for settle_ms)."""
    deadline = time.monotonic() + timeout / 1000
    idle_since = None
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        if kernel_status(page) == "idle":
            idle_since = idle_since or time.monotonic()
            if (time.monotonic() - idle_since) * 1000 >= settle_ms:
                return
        else:
            idle_since = None
        page.wait_for_timeout(200)
    raise TimeoutError(f"kernel not idle after {timeout / 1000:.0f}s (status {kernel_status(page)!r})")


def start_run_all(page) -> None:
    """Menu Run > Run All Cells on the notebook in front, without waiting for the cells."""
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def run_all_cells(page, timeout: float = 180_000, started: bool = False) -> None:
    """Menu Run > Run All Cells (unless `started` already), then wait until every code cell has an
    execution count and the kernel is idle. Raises with the first error output when a cell failed."""
    if not started:
        start_run_all(page)
    deadline = time.monotonic() + timeout / 1000
    page.wait_for_timeout(500)
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        pending = page.evaluate("""() => {
            const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')];
            return cells.filter(c => {
                const p = c.querySelector('.jp-InputPrompt');
                const t = p ? p.textContent.trim() : '';
                return !/\\[\\d+\\]/.test(t);
            }).length;
        }""")
        errors = cell_errors(page)
        if errors:
            raise RuntimeError("a notebook cell failed:\n" + errors[0])
        if pending == 0 and kernel_status(page) == "idle":
            return
        page.wait_for_timeout(300)
    raise TimeoutError(f"Run All Cells did not finish in {timeout / 1000:.0f}s")


def cell_errors(page) -> list[str]:
    return page.eval_on_selector_all(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
        " .jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']",
        "els => els.filter(e => e.getAttribute('data-mime-type').endsWith('error')).map(e => e.innerText)")


def plotly_data(page, selector: str) -> list[dict]:
    """The traces of the first rendered Plotly graph inside `selector` (x/y lengths, names, modes)."""
    return page.evaluate("""(sel) => {
        const root = document.querySelector(sel);
        if (!root) return null;
        const gd = root.classList.contains('js-plotly-plot') ? root : root.querySelector('.js-plotly-plot');
        if (!gd || !gd.data) return null;
        const n = v => (v == null ? 0 : (v.length !== undefined ? v.length : (v.bdata ? -1 : 0)));
        const real = x => x !== null && !(typeof x === 'number' && isNaN(x));
        const count = v => (v == null ? 0
            : Array.isArray(v) || ArrayBuffer.isView(v) ? [...v].filter(real).length : n(v));
        return gd.data.map(t => ({name: t.name || '', mode: t.mode || '', type: t.type || 'scatter',
                                  visible: t.visible === undefined ? true : t.visible,
                                  nx: n(t.x), ny: n(t.y), points: count(t.y),
                                  line: t.line ? {color: t.line.color || null, dash: t.line.dash || null} : null,
                                  meta: t.meta === undefined ? null : t.meta}));
    }""", selector)


def _children(pid: int) -> list[tuple[int, list[str]]]:
    """(pid, argv) of the live child processes of pid (Linux /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            argv = [a.decode(errors="replace") for a in (d / "cmdline").read_bytes().split(b"\0") if a]
        except (OSError, ValueError, IndexError):
            continue
        out.append((int(d.name), argv))
    return out


def kernel_commands(lab: JupyterLab) -> list[list[str]]:
    """Command lines of the ipykernel processes this server started (its children; jupyter_client
    starts each kernel in a session of its own)."""
    if lab.proc is None:
        return []
    return [argv for _, argv in _children(lab.proc.pid) if any("ipykernel" in a for a in argv)]


def wait_for_enabled(locator, timeout: float = 30_000) -> None:
    """Wait until a (widget) button is enabled: a Step/Run in a thread disables it meanwhile."""
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        if locator.count() and locator.is_enabled():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{locator} still disabled after {timeout / 1000:.0f}s")


def code_cell_index(page, contains: str) -> int:
    """Index (among all cells) of the first code cell whose source contains `contains`."""
    i = page.evaluate("""(text) => {
        const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')];
        return cells.findIndex(c => c.classList.contains('jp-CodeCell')
                                    && c.querySelector('.jp-InputArea-editor').textContent.includes(text));
    }""", contains)
    if i < 0:
        raise LookupError(f"no code cell containing {contains!r}")
    return i


def run_through(page, index: int, timeout: float = 180_000) -> None:
    """Run the cells up to and including cell `index` (Run > Run All Above Selected Cell, with
    the next cell selected) and wait until the kernel is idle again."""
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    cells.nth(index + 1).locator(".jp-InputPrompt").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Above Selected Cell").first.click()
    prompt = cells.nth(index).locator(".jp-InputPrompt").first
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        dismiss_dialogs(page)
        errors = cell_errors(page)
        if errors:
            raise RuntimeError("a notebook cell failed:\n" + errors[0])
        text = prompt.text_content() or ""
        if any(ch.isdigit() for ch in text) and kernel_status(page) == "idle":
            return
        page.wait_for_timeout(300)
    raise TimeoutError(f"cells up to {index} did not finish in {timeout / 1000:.0f}s")


def collapse_left_sidebar(page) -> None:
    """Close the file browser (or whichever left panel is open) to give the notebook the width."""
    tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if tab.count():
        tab.first.click()
        page.wait_for_timeout(300)


def scroll_to(page, selector: str, align: str = "top", margin: int = 8) -> None:
    """Scroll the notebook so the element's top (align="top") or bottom (align="bottom") sits at
    that edge of the notebook's viewport, `margin` pixels inside."""
    page.evaluate("""([sel, align, margin]) => {
        const el = document.querySelector(sel);
        if (!el) throw new Error('no ' + sel);
        let box = el.parentElement;
        while (box && !(box.scrollHeight > box.clientHeight + 1
                        && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
        if (!box) { el.scrollIntoView({block: align === 'top' ? 'start' : 'end'}); return; }
        const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
        box.scrollTop += align === 'top' ? r.top - b.top - margin : r.bottom - b.bottom + margin;
    }""", [selector, align, margin])
    page.wait_for_timeout(300)
