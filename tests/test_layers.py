"""The package's layers (docs/architecture.md): no module imports one of a layer above its own, and no
import cycle. The imports are read from the source with ast, so a test of the rule itself
(below) feeds it a made-up module graph."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "autoshrink"

# Bottom to top; a module may import its own layer and those before it.
LAYERS = [
    ("core", ["core"]),
    ("proxy training", ["proxy"]),
    ("final training", ["final"]),
    ("plotting", ["plot"]),
    ("the engine", ["backend", "one_cell"]),
    ("search strategies", ["strategies"]),
    ("the search's parts", ["search_folder", "scheduler", "decisions"]),
    ("the search", ["search"]),
    ("export", ["export"]),
    ("the runs list", ["runs"]),
    ("ground truth", ["space"]),
    ("a strategy trained", ["strategy_run"]),
    ("quality", ["quality"]),
    ("the lab", ["lab"]),
    ("the command line", ["cli", "__main__", "__init__"]),
]


def layer_of(module: str) -> int:
    """The rank of a module given as its path parts below autoshrink ("core.cell", "search")."""
    head = module.split(".")[0]
    return next(k for k, (_, heads) in enumerate(LAYERS) if head in heads)


def package_imports() -> dict[str, set[str]]:
    """module -> modules of the package it imports (relative imports resolved), as "core.cell"."""
    out = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(PKG).with_suffix("").parts)
        here = parts[:-1]
        name = ".".join(parts)
        out[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = here[: len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
                targets = [".".join(base)] if node.module else [".".join(base + [a.name]) for a in node.names]
                out[name] |= {t for t in targets if t}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autoshrink."):
                out[name].add(node.module.split(".", 1)[1])
    return out


def upward(graph: dict[str, set[str]]) -> list[str]:
    return [f"{m} imports {t}" for m, ts in graph.items() for t in ts if layer_of(t) > layer_of(m)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, found by a depth-first walk (one cycle per back edge)."""
    found, state = [], {}

    def visit(m, path):
        state[m] = "open"
        for t in sorted(graph.get(m, ())):
            if state.get(t) == "open":
                found.append(path[path.index(t):] + [t])
            elif t not in state:
                visit(t, path + [t])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return found


def test_no_module_imports_a_layer_above_its_own():
    assert upward(package_imports()) == []


def test_no_import_cycle():
    assert cycles(package_imports()) == []


def test_every_module_has_a_layer():
    placed = {head for _, heads in LAYERS for head in heads}
    assert sorted(name for name in package_imports() if name.split(".")[0] not in placed) == []
    assert layer_of("core.cell") < layer_of("search") < layer_of("lab.views") < layer_of("cli")


def test_the_rules_catch_an_upward_import_and_a_cycle():
    graph = {"core.cell": {"lab.views"}, "lab.views": {"core.cell"}, "search": {"core.cell"}}
    assert upward(graph) == ["core.cell imports lab.views"]
    assert cycles(graph) == [["core.cell", "lab.views", "core.cell"]]
