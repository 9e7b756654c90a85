"""Shared fixtures: where the PTB proxy is, a tiny slice of it for fast training tests, one torch
thread, and whether a browser test can run.

What a test needs and cannot find (the proxy data, Chromium) is a skip with the reason on a
developer's machine and a failure naming it under CI=true.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(what: str) -> None:
    """Skip the test for want of `what`, or fail it under CI=true, where nothing may be missing."""
    if under_ci():
        pytest.fail(f"CI=true and {what}", pytrace=False)
    pytest.skip(what)


NO_DATA = ("the PTB proxy data (penn_proxy/train.txt) was not found: set AUTOSHRINK_DATA to its folder "
           "or run `make data`")


def find_proxy() -> Path | None:
    env = os.environ.get("AUTOSHRINK_DATA")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared/data/ptb/penn_proxy", ROOT / "data/penn_proxy"]:
        if (cand / "train.txt").is_file():
            return cand
    return None


def proxy_folder() -> Path:
    found = find_proxy()
    if found is None:
        missing(NO_DATA)
    return found


def pytest_collection_finish(session):
    """Under CI=true, a run whose tests need the data stops at once with one line naming it."""
    needs_data = any({"proxy_dir", "tiny_data"} & set(getattr(item, "fixturenames", ()))
                     for item in session.items)
    if under_ci() and needs_data and find_proxy() is None:
        pytest.exit(f"CI=true and {NO_DATA}", returncode=1)


@pytest.fixture(scope="session")
def proxy_dir() -> Path:
    return proxy_folder()


@pytest.fixture(scope="session")
def tiny_data(proxy_dir, tmp_path_factory) -> Path:
    """The first lines of the proxy: 150 train, 20 valid, 20 test (a few thousand tokens)."""
    out = tmp_path_factory.mktemp("tiny_ptb")
    for split, n in (("train", 150), ("valid", 20), ("test", 20)):
        lines = (proxy_dir / f"{split}.txt").read_text().splitlines(keepends=True)[:n]
        (out / f"{split}.txt").write_text("".join(lines))
    return out


@pytest.fixture
def one_thread():
    """One torch thread for the test (tiny models: thread start-up costs more than it saves)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def browser_ok():
    """Chromium and Playwright are present (the browser tests); else skip, or fail under CI=true."""
    import browser_util as bu  # scripts/browser_util.py

    if not bu.chromium_available():
        missing(f"{bu.CHROMIUM} not found (install Debian's chromium: apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("the playwright Python package is not installed (pip install -e '.[dev]')")
