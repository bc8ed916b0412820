"""No import cycle inside xltools/: the module import graph (module-level AND function-level imports) is acyclic.

The graph is built from the source with ``ast``: every ``import xltools.x`` / ``from xltools.x import y`` /
relative import anywhere in a module (top level, functions, methods) is an edge to the module it names
(``from pkg import sub`` is an edge to ``pkg.sub`` when that is a module, else to ``pkg``). Importing a
package's submodule runs the package's ``__init__`` as well, but that is not an edge of its own: a package
may re-export its submodules lazily without a cycle, as long as the submodules never import the package.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "xltools"


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(root.rglob("*.py")):
        parts = list(p.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    mods = modules(root)
    top = root.name

    def owner(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == top or alias.name.startswith(top + "."):
                        deps.add(owner(alias.name))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    name = ".".join(base + ([node.module] if node.module else []))
                else:
                    name = node.module or ""
                if not (name == top or name.startswith(top + ".")):
                    continue
                for alias in node.names:
                    sub = f"{name}.{alias.name}"
                    deps.add(sub if sub in mods else owner(name))
        deps.discard(mod)
        deps.discard("")
        graph[mod] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def describe(graph, comp) -> str:
    return "\n".join(f"  {m} -> {', '.join(sorted(d for d in graph[m] if d in comp))}" for m in comp)


def test_xltools_has_no_import_cycle():
    graph = import_graph(ROOT)
    assert len(graph) > 40, "the graph misses modules"
    found = cycles(graph)
    assert not found, "import cycles inside xltools/:\n" + "\n\n".join(describe(graph, c) for c in found)


def test_the_graph_sees_function_level_and_relative_imports_and_the_check_finds_their_cycle(tmp_path):
    pkg = tmp_path / "xltools"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from xltools import b\n")
    (pkg / "b.py").write_text("def f():\n    from xltools.sub.c import g\n    return g\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("class K:\n    def m(self):\n        from .. import a\n        return a\n")
    (pkg / "d.py").write_text("import xltools.a\n")
    graph = import_graph(pkg)
    assert graph["xltools.b"] == {"xltools.sub.c"}
    assert graph["xltools.sub.c"] == {"xltools.a"}
    assert graph["xltools.d"] == {"xltools.a"}
    assert cycles(graph) == [["xltools.a", "xltools.b", "xltools.sub.c"]]
    (pkg / "a.py").write_text("import json\n")          # the cycle broken: none left
    assert cycles(import_graph(pkg)) == []


@pytest.mark.parametrize("pair", [("xltools.narrative.check", "xltools.narrative.budget"),
                                  ("xltools.bulk.generate", "xltools.cli"),
                                  ("xltools.read.datafile", "xltools.perf")])
def test_the_cycles_of_issue_13_are_gone_for_good(pair):
    """The three cycles issue 13 named: checker ↔ budget set, bulk ↔ cli, datafile ↔ perf."""
    graph = import_graph(ROOT)
    a, b = pair
    assert not (b in graph[a] and a in graph[b])
    assert b not in graph[a] or not any(a in graph[x] for x in graph[b])
