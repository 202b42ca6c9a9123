"""The package's layout is a claim too: one folder per concept, imports that point one way, no cycles.

The import graph is read from the source with ``ast`` (every ``import`` and ``from ... import`` of a jepa_lab
module, at any depth), so a cycle or an import pointing back up fails here before it confuses a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path


PKG = Path(__file__).resolve().parent.parent / "jepa_lab"
# Concept folders by layer: a module may import its own folder, and folders of lower layers only.
LAYERS = {
    "top": 0,  # checkpoint.py, config.py, __init__.py: the primitives every folder uses
    "masking": 1, "planning": 1, "data": 1,
    "envs": 2,
    "models": 3,
    "weights": 4, "fullscale": 4,
    "train": 5,
    "eval": 6, "viz": 6, "exercises": 6,
    "cli": 7,
    "main": 8,  # __main__.py: `python -m jepa_lab` is the CLI
}
MAX_TOP_LEVEL_FILES = 4
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def folder(module: str) -> str:
    """jepa_lab.models.vit -> "models"; jepa_lab.checkpoint -> "top"; jepa_lab.__main__ -> "main"."""
    parts = module.split(".")
    if len(parts) > 1 and (PKG / parts[1]).is_dir():
        return parts[1]
    return "main" if module == "jepa_lab.__main__" else "top"


def imports_of(path: Path, modules: set[str]) -> dict[str, int]:
    """The jepa_lab modules ``path`` imports -> the line of the first import (a name imported from a package
    counts as the submodule when it is one: ``from . import plots``)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            if t.split(".")[0] == "jepa_lab" and t != me:
                found.setdefault(t, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    files = {module_name(p): p for p in PKG.rglob("*.py")}
    return {m: imports_of(p, set(files)) for m, p in files.items()}


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, {})):
            if state.get(t) == 1:
                return path[path.index(t):] + [t]
            if t in graph and state.get(t) is None and (cycle := visit(t)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if state.get(m) is None and (cycle := visit(m)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    """The check above could fail: the same search reports a planted cycle and passes a graph without one."""
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1, "c": 1}, "b": {"c": 1}, "c": {}}) is None


def test_imports_point_down_the_layers():
    graph = import_graph()
    unknown = sorted({folder(m) for m in graph} - set(LAYERS))
    assert not unknown, f"folders without a layer in LAYERS: {unknown}"
    upward = [f"{m} (line {line}) imports {t}: layer {folder(m)}={LAYERS[folder(m)]} -> {folder(t)}={LAYERS[folder(t)]}"
              for m, targets in graph.items() for t, line in targets.items()
              if folder(t) != folder(m) and LAYERS[folder(t)] >= LAYERS[folder(m)]]
    assert not upward, "imports that point up or sideways:\n" + "\n".join(upward)


def test_the_package_is_concept_folders_with_short_files():
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_FILES, f"top-level modules {top}: expected at most {MAX_TOP_LEVEL_FILES}"
    long = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_kit_modules_are_imported_at_the_top_of_files():
    """Only optional third-party packages may be imported inside a function (with a comment saying why)."""
    hidden = []
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("jepa_lab")):
                    hidden.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert not hidden, f"jepa_lab imports inside functions: {hidden}"

