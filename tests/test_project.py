"""Project checks: pyproject.toml and environment.yml name the same packages; the README and the
documentation site hold what they promise (commands that run as written, links that resolve, a
strict build); Ruff is clean.

environment.yml is read with PyYAML; requirement strings with `packaging` (names normalised as
PEP 503 says, specifiers compared as sets). A conda spec `pkg=1.2` is read as `pkg==1.2`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"

# Entries of environment.yml that are not third-party packages of the project.
CONDA_ONLY = {"python", "pip"}
# Extras of pyproject.toml that environment.yml installs too.
ENV_EXTRAS = ("ray",)


def split_requirement(req: str, conda: bool = False) -> tuple[str, str]:
    """(normalised name, version specifier) of one requirement; a conda `pkg=1.2` means `pkg==1.2`."""
    if conda:
        req = re.sub(r"^([A-Za-z0-9._-]+)\s*=(?=[^=])", r"\1==", req.strip())
    r = Requirement(req)
    return canonicalize_name(r.name), ",".join(sorted(str(s) for s in r.specifier))


def _requirements(reqs, conda: bool = False, where: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for req in reqs:
        name, spec = split_requirement(req, conda)
        assert name not in out, f"{name} listed twice in {where}"
        out[name] = spec
    return out


def pyproject_requirements(text: str) -> dict[str, str]:
    """The packages environment.yml must hold: the dependencies and the ENV_EXTRAS extras."""
    project = tomllib.loads(text)["project"]
    extras = project.get("optional-dependencies", {})
    return _requirements(project["dependencies"] + [r for name in ENV_EXTRAS for r in extras.get(name, [])],
                         where="pyproject.toml")


def environment_sections(text: str) -> dict[str, object]:
    """The environment file: its keys, with 'dependencies' (conda specs) and 'pip' (pip lines) apart."""
    env = yaml.safe_load(text)
    deps = env.get("dependencies", [])
    pip = [line for d in deps if isinstance(d, dict) for line in d.get("pip", [])]
    return {**env, "dependencies": [d for d in deps if isinstance(d, str)], "pip": pip}


def environment_requirements(text: str) -> dict[str, str]:
    sections = environment_sections(text)
    conda = [d for d in sections["dependencies"] if split_requirement(d, conda=True)[0] not in CONDA_ONLY]
    pip = [line for line in sections["pip"] if not line.startswith("-")]      # pip options such as `-e .`
    both = [*conda, *pip]
    reqs = _requirements(pip, where="environment.yml")
    reqs.update(_requirements(conda, conda=True, where="environment.yml"))
    assert len(reqs) == len(both), f"a package is listed twice in environment.yml: {both}"
    return reqs


# ---------------------------------------------------------------------------------------------


def test_environment_names_the_project():
    sections = environment_sections(ENVIRONMENT.read_text())
    assert sections.get("name") == "autoshrink-lab"
    pythons = [d for d in sections["dependencies"] if split_requirement(d, conda=True)[0] == "python"]
    assert pythons == ["python=3.11"]


def test_same_packages_in_pyproject_and_environment():
    py = pyproject_requirements(PYPROJECT.read_text())
    env = environment_requirements(ENVIRONMENT.read_text())
    assert py, "no dependencies read from pyproject.toml"
    only_py = sorted(set(py) - set(env))
    only_env = sorted(set(env) - set(py))
    assert not only_py and not only_env, (
        f"only in pyproject.toml: {only_py}; only in environment.yml: {only_env}"
    )


def test_version_specifiers_agree():
    py = pyproject_requirements(PYPROJECT.read_text())
    env = environment_requirements(ENVIRONMENT.read_text())
    differ = {n: (py[n], env[n]) for n in py.keys() & env.keys() if py[n] != env[n]}
    assert not differ, f"specifiers differ (pyproject, environment): {differ}"


def test_torch_is_pinned_the_same_in_both():
    py = pyproject_requirements(PYPROJECT.read_text())
    env = environment_requirements(ENVIRONMENT.read_text())
    assert py["torch"] == "==2.13.0"
    assert env["torch"] == py["torch"]


def test_ray_is_an_extra_pinned_as_in_the_environment():
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert [split_requirement(r)[0] for r in extras["ray"]] == ["ray"]
    py = pyproject_requirements(PYPROJECT.read_text())
    assert environment_requirements(ENVIRONMENT.read_text())["ray"] == py["ray"]
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    assert "ray" not in {split_requirement(r)[0] for r in dependencies}


def test_console_script_and_package():
    data = tomllib.loads(PYPROJECT.read_text())
    assert data["project"]["scripts"]["autoshrink"] == "autoshrink.cli:main"
    folders = sorted(".".join(f.parent.relative_to(ROOT).parts) for f in (ROOT / "autoshrink").rglob("__init__.py"))
    assert sorted(data["tool"]["setuptools"]["packages"]) == folders      # every package ships
    assert "autoshrink" in folders
    assert data["project"]["requires-python"] == ">=3.10"


def test_the_check_catches_a_package_added_to_one_file_only():
    """Guard the guard: adding a package to either file alone must break the equality."""
    py_text = PYPROJECT.read_text()
    env_text = ENVIRONMENT.read_text()
    base_py = set(pyproject_requirements(py_text))
    base_env = set(environment_requirements(env_text))
    assert base_py == base_env

    # Added to pyproject.toml only.
    more_py = py_text.replace('dependencies = [\n', 'dependencies = [\n    "scipy>=1",\n', 1)
    assert set(pyproject_requirements(more_py)) == base_py | {"scipy"}

    # Added to the conda list only, and to the pip list only.
    more_conda = env_text.replace("  - numpy\n", "  - numpy\n  - scipy\n", 1)
    assert set(environment_requirements(more_conda)) == base_env | {"scipy"}
    more_pip = re.sub(r"(\n(\s+)- anywidget\n)", r"\1\2- Scikit_Learn>=1\n", env_text, count=1)
    assert set(environment_requirements(more_pip)) == base_env | {"scikit-learn"}

    # Removed from environment.yml only.
    fewer = env_text.replace("  - networkx\n", "", 1)
    assert set(environment_requirements(fewer)) == base_env - {"networkx"}


def test_parser_on_a_small_example():
    text = (
        "name: x  # comment\n"
        "channels:\n  - conda-forge\n"
        "dependencies:\n"
        "  - python=3.11\n  - pip\n  - Foo_Bar >=2\n  - baz=1.0\n"
        "  - pip:\n      - torch==2.13.0\n      - -e .\n      - qux[extra]>=3; python_version>'3'\n"
        "  - after-pip\n"
    )
    assert environment_requirements(text) == {
        "foo-bar": ">=2",
        "baz": "==1.0",
        "torch": "==2.13.0",
        "qux": ">=3",
        "after-pip": "",
    }
    assert environment_sections(text)["name"] == "x"


# --- the README, the documentation site and the linter ------------------------------------------

README = ROOT / "README.md"
DOCS = ROOT / "docs"
# What a command line in the documentation may start with: the virtual environment's programs, so
# that it runs as written from a fresh shell in the clone's root (nothing activated), or a tool
# that is not Python's.
COMMAND_STARTS = (".venv/bin/", "make", "git ", "conda ", "python3 -m venv ")


def shell_commands(text: str) -> list[str]:
    """The command lines of the ```sh blocks: no comment lines, no continuation lines."""
    out, block, continued = [], False, False
    for line in text.splitlines():
        if line.startswith("```"):
            block, continued = line.strip() == "```sh", False
            continue
        if block and line.strip() and not line.lstrip().startswith("#") and not continued:
            out.append(line.strip())
        continued = block and line.rstrip().endswith("\\")
    return out


def documents() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md")), ROOT / "data" / "README.md"]


def test_documented_commands_run_from_a_fresh_shell():
    """Every command is written through .venv/bin/ (issue: `python -m autoshrink` failed unactivated)."""
    wrong = [f"{p.relative_to(ROOT)}: {c}" for p in documents() for c in shell_commands(p.read_text())
             if not c.startswith(COMMAND_STARTS)]
    assert wrong == []
    bare = re.compile(r"`(python -m autoshrink|python scripts/|pip install)[^`]*`")
    inline = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in documents() for m in bare.finditer(p.read_text())]
    assert inline == []


def test_the_command_rule_catches_a_bare_python():
    text = "```sh\n.venv/bin/autoshrink runs \\\n    runs\npython -m autoshrink runs\n# python here is a comment\n```\n"
    assert shell_commands(text) == [".venv/bin/autoshrink runs \\", "python -m autoshrink runs"]


def test_readme_is_a_short_guide_whose_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) < 250
    first_block = shell_commands(text)[:2]
    assert [c.split("#")[0].strip() for c in first_block] == ["make lab", "make test"]
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert missing == []


def test_documentation_site_builds_strictly(tmp_path):
    """mkdocs build --strict: a broken link or anchor, or a page out of the nav, fails."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert out.returncode == 0, out.stderr[-3000:]


def test_ruff_is_clean():
    """Ruff with the rules of pyproject.toml ([tool.ruff]); `make lint` runs the same."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    out = subprocess.run([ruff, "check", "--output-format", "concise", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]


SPACE_COMMAND = (".venv/bin/autoshrink space --preset tiny --seed 1 --seeds 4 --data data/penn_proxy "
                 "--save runs/space-tiny-s1")


def test_the_space_command_has_one_form_everywhere():
    """Issue 32 item 11: README, docs and 01 gave the space command in four forms (--seeds absent, 2,
    3 or 4), and 01's `--save ../runs/...` wrote outside the clone when run from its root. Every full
    command (one with flags) outside the ground-truth page, which records what was run, is this one."""
    places = [p for p in documents() if p.name != "ground-truth.md"] + sorted((ROOT / "notebooks").glob("*.ipynb"))
    found = [(p.relative_to(ROOT), m.group(0)) for p in places
             for m in re.finditer(r"\.venv/bin/autoshrink space --[^`\n\"#]*[^`\n\"# ]", p.read_text())]
    assert {str(p) for p, _ in found} >= {"README.md", "docs/guide/command-line.md", "notebooks/01_search.ipynb"}
    assert [(p, c) for p, c in found if c != SPACE_COMMAND] == []


def test_the_lab_server_root_holds_runs_and_starts_in_notebooks():
    """Issue 32 item 5: Export's links opened a blank Launcher because `make lab` rooted the server at
    notebooks/ and runs/ lay outside it. The lab recipe's server root is the clone, its file browser
    starts in notebooks/, and a link a notebook's kernel writes (../runs/...) resolves inside the root."""
    text = (ROOT / "Makefile").read_text()
    [recipe] = [line for line in text.splitlines() if "/bin/jupyter lab" in line]
    assert "notebooks/" not in recipe.split("jupyter lab")[1]                     # no longer the root
    [args] = re.findall(r"^LAB_ROOT\s*:?=\s*(.*)$", text, flags=re.M)
    opts = dict(a.lstrip("-").split("=", 1) for a in args.split())
    root = (ROOT / opts["ServerApp.root_dir"]).resolve()
    assert root == ROOT and (root / opts["FileContentsManager.preferred_dir"]).is_dir()
    link = os.path.normpath(os.path.join(opts["FileContentsManager.preferred_dir"], "../runs/search/export/best.json"))
    assert not link.startswith("..") and link == "runs/search/export/best.json"
