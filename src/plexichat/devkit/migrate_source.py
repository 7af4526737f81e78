"""Rewriting a folder plugin's Python source for its place in a distribution.

Imports of the old PlexiChat source tree (``from ...infrastructure.modules.
enhanced_plugin_manager import PluginInterface``) become ``from plexichat import ...``;
imports of the plugin's own modules point at its package; standard-library modules used
without being imported are imported; names that stay unresolved are noted. The code is
parsed with :mod:`ast`, never run. Used by :func:`plexichat.devkit.migrate.migrate`.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import sys
from dataclasses import dataclass
from typing import Protocol

__all__ = ["PUBLIC_API", "Change", "Findings", "convert_source", "missing_imports",
           "rewrite_imports"]

PUBLIC_API = {
    "PermissionDenied", "Plugin", "PluginContext", "PluginInterface", "PluginManifest",
    "PluginMetadata", "PluginType", "hookimpl", "hookspec",
}
"""Names ``from plexichat import ...`` provides."""

_MODULE_DUNDERS = {"__file__", "__name__", "__doc__", "__spec__", "__loader__",
                   "__package__", "__path__", "__builtins__", "__annotations__", "__dict__",
                   "__class__"}


@dataclass
class Change:
    """One edit made to a copied source file."""

    file: str
    line: int
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.old} → {self.new}"


class Findings(Protocol):
    """Where the rewrite records its edits and what to look at by hand
    (:class:`plexichat.devkit.migrate.MigrationReport` is one)."""

    changes: list[Change]
    notes: list[str]


def _host_module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


_Edit = tuple[int, int, int, int, str]
"""(start line, start column, end line, end column, new text); lines 1-based."""


def convert_source(source: str, filename: str, siblings: set[str], test_package: str | None,
                   report: Findings) -> str:
    """:func:`rewrite_imports` and :func:`missing_imports` applied to ``source``; each
    change is reported with its line in the original file."""
    tree = ast.parse(source, filename=filename)
    edits = rewrite_imports(tree, source, filename, siblings, test_package, report)
    edits += missing_imports(tree, filename, report)
    report.changes.sort(key=lambda c: (c.file, c.line))
    lines = source.splitlines(keepends=True)
    for start_line, start_col, end_line, end_col, new in sorted(edits, reverse=True):
        while len(lines) < end_line:
            lines.append("")
        first, last = lines[start_line - 1], lines[end_line - 1]
        lines[start_line - 1:end_line] = [first[:start_col] + new + last[end_col:]]
    return "".join(lines)


def rewrite_imports(tree: ast.Module, source: str, filename: str, siblings: set[str],
                    test_package: str | None, report: Findings) -> list[_Edit]:
    """Point imports of the old PlexiChat source tree at ``plexichat``, and imports of
    the plugin's own modules (``from main import X``, ``import utils``) at its package:
    relatively inside it, by name from its tests (``test_package``)."""
    own = f"{test_package}." if test_package else "."
    edits: list[_Edit] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            new = _rewrite_from(node, siblings, own, filename, report)
        elif isinstance(node, ast.Import):
            new = _rewrite_import(node, siblings, own)
        else:
            continue
        if new is None:
            continue
        old = " ".join((ast.get_source_segment(source, node) or "").split())
        edits.append((node.lineno, node.col_offset, node.end_lineno or node.lineno,
                      node.end_col_offset or 0, new))
        report.changes.append(Change(filename, node.lineno, old, new))
    return edits


def _alias(a: ast.alias) -> str:
    return a.name + (f" as {a.asname}" if a.asname else "")


def _rewrite_from(node: ast.ImportFrom, siblings: set[str], own: str, filename: str,
                  report: Findings) -> str | None:
    module = node.module or ""
    first = module.split(".")[0]
    if node.level == 1 and (first in siblings or (not module and all(
            a.name in siblings for a in node.names))):
        return None  # a module of the plugin itself: still right inside the package
    names = ", ".join(_alias(a) for a in node.names)
    if node.level == 0 and first in siblings:
        return f"from {own}{module} import {names}"
    legacy = node.level > 0 or (
        first == "plexichat" and module != "plexichat" and not _host_module_exists(module))
    if not legacy:
        return None
    known = [a for a in node.names if a.name in PUBLIC_API]
    unknown = [a for a in node.names if a.name not in PUBLIC_API]
    dots = "." * node.level
    if unknown:
        report.notes.append(
            f"{filename}:{node.lineno}: `from {dots}{module} import "
            f"{', '.join(a.name for a in unknown)}`: no PlexiChat 3 equivalent; the import "
            "will fail until you replace it (public API: from plexichat import "
            f"{', '.join(sorted(PUBLIC_API))})")
    if not known:
        return None
    text = "from plexichat import " + ", ".join(_alias(a) for a in known)
    if unknown:
        text += f"; from {dots}{module} import " + ", ".join(_alias(a) for a in unknown)
    return text


def _rewrite_import(node: ast.Import, siblings: set[str], own: str) -> str | None:
    if not any(a.name in siblings for a in node.names):
        return None
    parts = []
    for a in node.names:
        if a.name in siblings:
            parts.append(f"from {own.rstrip('.') or '.'} import {_alias(a)}")
        else:
            parts.append(f"import {_alias(a)}")
    return "; ".join(parts)


def missing_imports(tree: ast.Module, filename: str, report: Findings) -> list[_Edit]:
    """Import standard-library modules the code uses but never imports; report other
    names that are used and never bound."""
    bound: set[str] = set()
    used: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                used.setdefault(node.id, node.lineno)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
           for n in ast.walk(tree)):
        return []  # a * import may bind anything: nothing can be said
    missing = {n: line for n, line in used.items()
               if n not in bound and n not in _MODULE_DUNDERS and not hasattr(builtins, n)}
    stdlib = sorted(n for n in missing if n in sys.stdlib_module_names and
                    not n.startswith("_"))
    for name in sorted(set(missing) - set(stdlib), key=lambda n: missing[n]):
        report.notes.append(f"{filename}:{missing[name]}: name {name!r} is used but never "
                            "defined or imported")
    if not stdlib:
        return []
    at = _import_insertion_line(tree)  # insert before line at + 1
    for name in stdlib:
        report.changes.append(Change(filename, at + 1, f"(no import of {name}; used at "
                                     f"line {missing[name]})", f"import {name}"))
    return [(at + 1, 0, at + 1, 0, "".join(f"import {name}\n" for name in stdlib))]


def _import_insertion_line(tree: ast.Module) -> int:
    """The 0-based line after the last top-level standard-library import (else after
    the docstring and ``__future__`` imports)."""
    at = 0
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            at = node.end_lineno or node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            at = node.end_lineno or node.lineno
        elif isinstance(node, ast.Import) and all(
                a.name.split(".")[0] in sys.stdlib_module_names for a in node.names):
            at = node.end_lineno or node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and \
                (node.module or "").split(".")[0] in sys.stdlib_module_names:
            at = node.end_lineno or node.lineno
    return at
