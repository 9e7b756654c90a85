"""Packaging checks: pyproject.toml and environment.yml must name the same packages.

environment.yml is read by a small line parser (no PyYAML needed) that understands the
subset of YAML a conda environment file uses: top-level keys, a `dependencies:` list and a
nested `- pip:` list.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"

# Entries of environment.yml that are not third-party packages of the project.
CONDA_ONLY = {"python", "pip"}

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def normalise(name: str) -> str:
    """PEP 503 normalisation: lowercase, runs of '-', '_' and '.' become '-'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def split_requirement(req: str, conda: bool = False) -> tuple[str, str]:
    """Return (normalised name, version specifier) of one requirement string.

    A conda spec `pkg=1.2` (single '=') is written as `==1.2` so it compares with pip's form.
    Environment markers (`; python_version < ...`) are dropped.
    """
    req = req.split(";", 1)[0].strip()
    m = _NAME.match(req)
    assert m, f"cannot read requirement {req!r}"
    name, spec = m.group(1), m.group(3).replace(" ", "")
    if conda and re.fullmatch(r"=[^=].*", spec):
        spec = "=" + spec
    return normalise(name), spec


# Extras of pyproject.toml that environment.yml installs too.
ENV_EXTRAS = ("ray",)


def pyproject_requirements(text: str) -> dict[str, str]:
    """The packages environment.yml must hold: the dependencies and the ENV_EXTRAS extras."""
    data = tomllib.loads(text)
    extras = data["project"].get("optional-dependencies", {})
    reqs: dict[str, str] = {}
    for req in data["project"]["dependencies"] + [r for name in ENV_EXTRAS for r in extras.get(name, [])]:
        name, spec = split_requirement(req)
        assert name not in reqs, f"{name} listed twice in pyproject.toml"
        reqs[name] = spec
    return reqs


def _strip_comment(line: str) -> str:
    # A '#' starts a comment at the start of the line or after white space.
    return re.sub(r"(^|\s)#.*$", "", line).rstrip()


def environment_sections(text: str) -> dict[str, object]:
    """Parse the conda environment subset: returns top-level scalars, plus
    'dependencies' (list of conda specs) and 'pip' (list of pip requirement lines)."""
    out: dict[str, object] = {"dependencies": [], "pip": []}
    section = None          # top-level key whose list we are in
    in_pip = False
    pip_indent = None
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if indent == 0:
            in_pip = False
            key, _, value = body.partition(":")
            section = key.strip()
            if value.strip():
                out[section] = value.strip()
            continue
        if section != "dependencies":
            continue
        assert body.startswith("- "), f"unexpected line in dependencies: {raw!r}"
        item = body[2:].strip()
        if in_pip and indent > pip_indent:
            out["pip"].append(item)
            continue
        in_pip = False
        if item.rstrip(":") == "pip" and item.endswith(":"):
            in_pip, pip_indent = True, indent
            continue
        out["dependencies"].append(item)
    return out


def environment_requirements(text: str) -> dict[str, str]:
    sections = environment_sections(text)
    reqs: dict[str, str] = {}
    for item in sections["dependencies"]:
        name, spec = split_requirement(item, conda=True)
        if name in CONDA_ONLY:
            continue
        assert name not in reqs, f"{name} listed twice in environment.yml"
        reqs[name] = spec
    for item in sections["pip"]:
        if item.startswith("-"):  # pip options such as `-e .` (the project itself)
            continue
        name, spec = split_requirement(item)
        assert name not in reqs, f"{name} listed twice in environment.yml"
        reqs[name] = spec
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
    assert environment_requirements(ENVIRONMENT.read_text())["ray"] == pyproject_requirements(PYPROJECT.read_text())["ray"]
    assert "ray" not in {split_requirement(r)[0] for r in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]}


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
