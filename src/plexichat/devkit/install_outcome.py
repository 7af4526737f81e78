"""Did an install do what was asked? The verdict after pip, with reasons to act on.

pip succeeding is not enough: the distribution may have no ``plexichat.plugins`` entry
point (no host will ever find it), or its plugin may be rejected by the checks a host
runs before starting it. :func:`assess` compares the environment before and after pip
and says what went wrong, each problem worded so the user knows what to do next; for a
distribution without the entry point that includes the ``pyproject.toml`` table that
adds it, computed from the installed files where possible.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as md
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..kernel.discovery import ENTRY_POINT_GROUP
from ..kernel.states import PluginState
from .installer import PluginChange, canonical

__all__ = ["DistState", "InstallOutcome", "NotAPlugin", "assess", "distributions",
           "entry_point_snippet"]


@dataclass(frozen=True)
class DistState:
    """One installed distribution: its version, and when its metadata was written (a
    reinstall of the same version writes it anew)."""

    version: str
    stamp: int


def distributions() -> dict[str, DistState]:
    """Every installed distribution by canonical name, read afresh."""
    importlib.invalidate_caches()
    out: dict[str, DistState] = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if not name or canonical(name) in out:
            continue  # the first on sys.path wins, as for imports
        base = getattr(dist, "_path", None)
        try:
            stamp = os.stat(base).st_mtime_ns if base is not None else 0
        except OSError:
            stamp = 0
        out[canonical(name)] = DistState(dist.version, stamp)
    return out


@dataclass
class NotAPlugin:
    """A distribution that was asked for (or depends on PlexiChat) but registers no
    plugin."""

    distribution: str
    version: str
    snippet: str

    def message(self) -> str:
        return (f"{self.distribution} {self.version} was installed but is not a PlexiChat "
                f"plugin: it has no entry point in the {ENTRY_POINT_GROUP!r} group, so no "
                "host will find it. Add this to its pyproject.toml and install it again:\n\n"
                + "".join(f"    {line}\n" for line in self.snippet.splitlines()))


@dataclass
class InstallOutcome:
    """What an install achieved, and what stands in the way."""

    changes: list[PluginChange]
    not_plugins: list[NotAPlugin] = field(default_factory=list)
    already_installed: list[str] = field(default_factory=list)
    """Plugins asked for that were installed already, unchanged (pip had nothing to do)."""
    problems: list[str] = field(default_factory=list)
    """Why the install failed its purpose; empty when it succeeded."""

    @property
    def ok(self) -> bool:
        return not self.problems


def assess(found: list[PluginChange], requested: Iterable[str],
           before: dict[str, DistState], after: dict[str, DistState]) -> InstallOutcome:
    """The verdict on an install whose plugin changes (:func:`plexichat.devkit.installer.changes`
    after :func:`~plexichat.devkit.installer.static_check`) are ``found``; ``requested`` are the
    distributions asked for where known, ``before``/``after`` :func:`distributions`."""
    outcome = InstallOutcome(found)
    plugin_dists = _plugin_distributions()
    changed = {name for name, state in after.items() if before.get(name) != state}
    suspects = [canonical(r) for r in requested]
    if not found:  # what was asked for is unknown (a URL without a file name …): pip's
        # new distributions that depend on PlexiChat are the likely plugins
        suspects += sorted(n for n in changed if n not in suspects and _requires_plexichat(n))
    for name in suspects:
        if name == "plexichat" or name not in after or name in plugin_dists:
            continue
        not_plugin = NotAPlugin(_display_name(name), after[name].version,
                                entry_point_snippet(md.distribution(name)))
        outcome.not_plugins.append(not_plugin)
        outcome.problems.append(not_plugin.message())
    for change in found:
        if change.change != "removed" and change.state == PluginState.REJECTED.value:
            outcome.problems.append(f"{change.name} ({change.distribution} {change.version}) "
                                    f"is installed but would not start: rejected: "
                                    f"{change.reason}")
    if not found and not outcome.not_plugins:
        installed = {canonical(d): names for d, names in plugin_dists.items()}
        asked = [canonical(r) for r in requested]
        if asked and all(a in installed for a in asked):
            outcome.already_installed = sorted(n for a in asked for n in installed[a])
        else:
            pip_changed = ", ".join(f"{_display_name(n)} {after[n].version}"
                                    for n in sorted(changed)) or "nothing"
            outcome.problems.append("nothing was installed: no plugin was added or changed "
                                    f"(pip installed or changed: {pip_changed})")
    return outcome


def _plugin_distributions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        if ep.dist is not None:
            out.setdefault(canonical(ep.dist.metadata["Name"]), []).append(ep.name)
    return out


def _display_name(name: str) -> str:
    try:
        return str(md.distribution(name).metadata["Name"])
    except md.PackageNotFoundError:
        return name


def _requires_plexichat(name: str) -> bool:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requires = md.distribution(name).requires or []
    except md.PackageNotFoundError:
        return False
    for line in requires:
        try:
            if canonical(Requirement(line).name) == "plexichat":
                return True
        except InvalidRequirement:
            continue
    return False


# --- the entry point a distribution lacks --------------------------------------------


def entry_point_snippet(dist: md.Distribution) -> str:
    """The ``pyproject.toml`` table registering ``dist``'s plugin: the package holding
    ``plugin.json`` (else its only package), the plugin's name from that manifest, and
    the object to load — a ``Plugin``/``PluginInterface`` subclass, else the module with
    ``@hookimpl`` functions. Placeholders where the installed files do not tell."""
    packages = _top_level_packages(dist)
    package, manifest = None, {}
    for candidate in packages:
        path = Path(str(dist.locate_file(f"{candidate}/plugin.json")))
        if path.is_file():
            package = candidate
            try:
                loaded = json.loads(path.read_text("utf-8"))
                manifest = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                manifest = {}
            break
    if package is None and len(packages) == 1:
        package = packages[0]
    if package is None:
        return (f'[project.entry-points."{ENTRY_POINT_GROUP}"]\n'
                'your_plugin = "your_package.module:YourPlugin"')
    name = manifest.get("name") if isinstance(manifest.get("name"), str) else package
    value = _loadable(dist, package) or package
    return f'[project.entry-points."{ENTRY_POINT_GROUP}"]\n{name} = "{value}"'


def _top_level_packages(dist: md.Distribution) -> list[str]:
    found: list[str] = []
    for file in dist.files or []:
        parts = Path(str(file)).parts
        if (len(parts) >= 2 and parts[-1].endswith(".py") and parts[0] != ".."
                and not parts[0].endswith((".dist-info", ".data")) and parts[0] not in found):
            found.append(parts[0])
    return found


def _loadable(dist: md.Distribution, package: str) -> str | None:
    """``package.module:Class`` of the first plugin class, else the first module with
    ``@hookimpl`` functions (``__init__`` first)."""
    modules = sorted((str(f) for f in dist.files or []
                      if str(f).startswith(f"{package}/") and str(f).endswith(".py")),
                     key=lambda f: (not f.endswith("/__init__.py"), f))
    hook_module = None
    for rel in modules:
        try:
            source = Path(str(dist.locate_file(rel))).read_text("utf-8")
            tree = ast.parse(source)
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        dotted = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(_is_plugin_base(b) for b in node.bases):
                return f"{dotted}:{node.name}"
        if hook_module is None and "hookimpl" in source:
            hook_module = dotted
    return hook_module


def _is_plugin_base(node: ast.expr) -> bool:
    name = node.id if isinstance(node, ast.Name) else (
        node.attr if isinstance(node, ast.Attribute) else "")
    return name in ("Plugin", "PluginInterface")
