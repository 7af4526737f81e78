"""The host package's shape: no import cycles between its modules, no oversized module.

The import graph is read from the source with :mod:`ast`: every ``import`` counts, at
module level or inside a function (a function-level import is still a dependency, only
a later one); only imports under ``if TYPE_CHECKING:`` are left out. Relative imports
are resolved, and ``from package import name`` where ``name`` is a submodule counts as
importing that submodule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "plexichat"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, except the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _imports(child)


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` or its longest prefix that is a module of the package."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _targets(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in _imports(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(t for a in node.names if (t := _known(a.name, modules)))
            continue
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            source = ".".join([*base, *([node.module] if node.module else [])])
        else:
            source = node.module or ""
        for alias in node.names:
            target = _known(f"{source}.{alias.name}", modules)
            if target != f"{source}.{alias.name}":
                target = _known(source, modules)
            if target is not None:
                out.add(target)
    out.discard(module)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = _modules()
    return {name: _targets(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm,
    iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = [f"    {a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return f"  {', '.join(component)}:\n" + "\n".join(edges)


def test_the_graph_sees_function_level_relative_and_submodule_imports():
    graph = import_graph()
    # ``from ..devkit.installer import ...`` inside a function of the CLI's install command
    assert "plexichat.devkit.installer" in graph["plexichat.cli.install"]
    # ``from .. import __version__`` resolves to the package itself
    assert "plexichat" in graph["plexichat.devkit.migrate"]


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles():
    graph = import_graph()
    found = cycles(graph)
    assert not found, ("import cycles between modules of plexichat (each component, then "
                       "its imports within it):\n"
                       + "\n".join(_describe(c, graph) for c in found))


@pytest.mark.parametrize("limit", [MAX_LINES])
def test_no_module_over_the_line_limit(limit):
    sizes = {name: len(path.read_text("utf-8").splitlines())
             for name, path in _modules().items()}
    over = {name: n for name, n in sizes.items() if n > limit}
    assert not over, (f"modules over {limit} lines (split them by idea): "
                      + ", ".join(f"{name} ({n})" for name, n in sorted(over.items())))


def test_a_serving_host_loads_no_developer_tooling(tmp_path):
    """Started with every installed plugin and asked for its pages and API, the server has
    not imported plexichat.devkit (installs run it in a child process)."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from fastapi.testclient import TestClient\n"
        "from plexichat.testing.app import ADMIN_TOKEN, build_app, wait_ready\n"
        f"app = build_app(Path({str(tmp_path / 'data')!r}))\n"
        "with TestClient(app) as client:\n"
        "    wait_ready(client)\n"
        "    auth = {'Authorization': f'Bearer {ADMIN_TOKEN}'}\n"
        "    for path in ('/', '/plugins', '/docs', '/api/v1/plugins'):\n"
        "        assert client.get(path, headers=auth).status_code == 200, path\n"
        "    assert client.post('/api/v1/plugins/rescan', headers=auth).status_code == 200\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('plexichat.devkit'))))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
