"""Running the notebooks leaves them unmodified in git: the committed notebooks hold no outputs,
and git's clean filter (scripts/nbstrip.py, named in .gitattributes) stores a run notebook as its
sources alone."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FILTER = f"{sys.executable} scripts/nbstrip.py"


def strip(text: str) -> str:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "nbstrip.py")], input=text, capture_output=True,
                          text=True, check=True).stdout


def with_outputs(text: str) -> str:
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 3
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["650.6094669056729\n"]}]
            cell["metadata"]["scrolled"] = True
    nb["metadata"]["language_info"]["version"] = "3.11.2"
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return json.dumps(nb, indent=2)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_committed_notebooks_are_what_the_filter_stores(path):
    text = path.read_text()
    nb = json.loads(text)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert strip(text) == text
    assert strip(with_outputs(text)) == text


def test_git_sees_no_change_after_a_run(tmp_path):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "notebooks").mkdir()
    shutil.copy(ROOT / "scripts" / "nbstrip.py", repo / "scripts")
    shutil.copy(ROOT / ".gitattributes", repo)
    notebook = repo / "notebooks" / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], notebook)

    def run(*args):
        return subprocess.run([git, "-c", f"filter.nbstrip.clean={FILTER}", "-c", "user.name=t", "-c", "user.email=t@t",
                               *args], cwd=repo, capture_output=True, text=True, check=True).stdout
    run("init", "-q")
    run("add", ".")
    run("commit", "-qm", "notebooks")
    notebook.write_text(with_outputs(notebook.read_text()))
    assert run("diff") == ""
    run("add", "notebooks")                               # git status lists it until its stat is refreshed
    assert run("status", "--porcelain") == "" and run("diff", "--cached") == ""
    assert "650.609" in notebook.read_text()             # the working file keeps its outputs
