"""The house plan, enforced: rooms import only rooms below them, no module imports itself in a circle, and
labkit's own imports sit at the top of a file (only the CLI defers them, to start fast)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import labkit

ROOT = Path(labkit.__file__).parent
# Bottom to top; a room may import itself and the rooms before it. `labkit` (the package face) and the CLI on top.
LAYERS = ("core", "data", "models", "generate", "train", "features", "metrics", "latent", "ui", "experiments",
          "diagnosis", "study", "labkit", "__main__")
DEFERRED_OK = {"__main__"}  # the CLI imports its commands when they run
# Extractors that wrap optional or heavy networks load on first use (Inception, CLIP)
LAZY_OK = {"labkit.features.inception", "labkit.features.clip"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "labkit"


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported labkit module, inside a function?) for every import of a file; relative imports resolved."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names = [f"{base}.{a.name}" for a in node.names]
            targets = [n if _is_module(n) else base for n in names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        out += [(t, id(node) in inside) for t in targets if t == "labkit" or t.startswith("labkit.")]
    return out


def _is_module(name: str) -> bool:
    p = ROOT.parent / Path(*name.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def import_graph() -> dict[str, set[str]]:
    """module -> modules it imports, with the package `__init__`s Python runs on the way."""
    graph = {}
    for path in sorted(ROOT.rglob("*.py")):
        me = module_name(path)
        edges = set()
        for target, _ in imports(path):
            parts = target.split(".")
            edges |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        graph[me] = {t for t in edges if t != me and not me.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_every_room_is_in_the_plan():
    rooms = {room(module_name(p)) for p in ROOT.rglob("*.py")}
    assert rooms <= set(LAYERS), f"rooms outside the plan: {sorted(rooms - set(LAYERS))}; add them to LAYERS"


def test_imports_point_down_the_layers():
    rank = {r: i for i, r in enumerate(LAYERS)}
    upward = [f"{module_name(p)} -> {t}" for p in sorted(ROOT.rglob("*.py")) for t, _ in imports(p)
              if t != "labkit" and rank[room(t)] > rank[room(module_name(p))]]
    assert not upward, f"imports that run up the layers {LAYERS}: {upward}"


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_labkit_imports_sit_at_the_top_of_a_file():
    deferred = [f"{p.relative_to(ROOT.parent)}: {t}" for p in sorted(ROOT.rglob("*.py")) for t, inside in imports(p)
                if inside and room(module_name(p)) not in DEFERRED_OK and t not in LAZY_OK]
    assert not deferred, f"imports hidden inside functions: {deferred}"


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert cycles(graph) == expected


def test_the_layer_check_sees_an_upward_import(tmp_path, monkeypatch):
    """A model importing an experiment is caught (the checks above can fail)."""
    pkg = tmp_path / "labkit"
    (pkg / "models").mkdir(parents=True)
    (pkg / "experiments").mkdir()
    for f in ("__init__.py", "models/__init__.py", "experiments/__init__.py", "experiments/table1.py"):
        (pkg / f).write_text("")
    (pkg / "models" / "vae.py").write_text("from ..experiments import table1\n\ndef f():\n    from . import gan\n")
    (pkg / "models" / "gan.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", pkg)
    found = imports(pkg / "models" / "vae.py")
    assert ("labkit.experiments.table1", False) in found and ("labkit.models.gan", True) in found
    with pytest.raises(AssertionError, match="models.vae -> labkit.experiments.table1"):
        test_imports_point_down_the_layers()
