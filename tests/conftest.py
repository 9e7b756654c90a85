"""Shared fixtures: where the PTB proxy is, and a tiny slice of it for fast training tests."""
import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def proxy_folder() -> Path:
    env = os.environ.get("AUTOSHRINK_DATA")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared/data/ptb/penn_proxy", ROOT / "data/penn_proxy"]:
        if (cand / "train.txt").is_file():
            return cand
    pytest.skip("PTB proxy not found: set AUTOSHRINK_DATA or run `python -m autoshrink data`")


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
