"""Is the plugin under test installed the way the host will find it?

The host finds a plugin only through an entry point in the ``plexichat.plugins`` group of
an installed distribution. :func:`installed_entry_point` looks it up exactly there
(``importlib.metadata``; nothing invented, nothing imported) and, when it is missing,
raises :class:`EntryPointMissing` with the ``pyproject.toml`` snippet that declares it
and the command that installs it.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from packaging.utils import canonicalize_name

from ..kernel.discovery import ENTRY_POINT_GROUP

__all__ = ["EntryPointMissing", "entry_point_snippet", "installed_entry_point"]

INSTALL_COMMAND = "pip install -e '.[test]'"
"""How the project under test is (re)installed, as its README says."""


class EntryPointMissing(AssertionError):
    """No installed distribution declares the plugin's entry point (or the wrong one
    does). The message names the distribution, the group, the ``pyproject.toml``
    snippet that adds the entry point and the command that reinstalls the project."""


def entry_point_snippet(name: str, target: str) -> str:
    """The ``pyproject.toml`` table that registers plugin ``name`` as ``target``."""
    return f'[project.entry-points."{ENTRY_POINT_GROUP}"]\n{name} = "{target}"'


def installed_entry_point(name: str, *, distribution: str | None = None,
                          target: str | None = None) -> md.EntryPoint:
    """The installed ``plexichat.plugins`` entry point named ``name``.

    - ``distribution``: the distribution that must provide it (the project under test,
      e.g. ``"plexichat-demo-plugin"``). When given, an entry point of that name from
      another distribution does not count.
    - ``target``: what the entry point should name (e.g. ``"plexichat_demo_plugin"``);
      used only in the snippet of the error message (default: ``<your package>``).

    Raises :class:`EntryPointMissing` saying what is installed, what is missing and how
    to fix it. Installed metadata is what the host reads, so after editing
    ``pyproject.toml`` the project must be reinstalled; for a project installed in
    editable mode, an entry point its ``pyproject.toml`` no longer declares (as
    installed) fails too, since a fresh install would lack it.
    """
    snippet = entry_point_snippet(name, target or "<your package>")
    found = [ep for ep in md.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if distribution is None:
        if found:
            return found[0]
        raise EntryPointMissing(
            f"no installed distribution declares plugin {name!r} (an entry point named "
            f"{name!r} in the {ENTRY_POINT_GROUP!r} group) in this Python "
            f"({sys.executable}), so PlexiChat cannot find it. Its project's "
            f"pyproject.toml needs:\n\n{snippet}\n\nthen install the project: "
            f"{INSTALL_COMMAND}")
    wanted = canonicalize_name(distribution)
    for ep in found:
        if ep.dist is not None and canonicalize_name(ep.dist.metadata["Name"] or "") == wanted:
            _check_not_stale(ep, ep.dist, entry_point_snippet(name, target or ep.value))
            return ep
    try:
        dist = md.distribution(distribution)
    except md.PackageNotFoundError:
        raise EntryPointMissing(
            f"{distribution} is not installed in this Python ({sys.executable}), so "
            f"PlexiChat cannot find plugin {name!r}. Install the project (from its "
            f"directory): {INSTALL_COMMAND}") from None
    others = sorted(f"{ep.name} = {ep.value}" for ep in dist.entry_points
                    if ep.group == ENTRY_POINT_GROUP)
    has = (f"its {ENTRY_POINT_GROUP!r} entry points are: {', '.join(others)}" if others
           else f"it declares no entry point in the {ENTRY_POINT_GROUP!r} group")
    elsewhere = "".join(
        f"\n(an entry point {name!r} is installed by "
        f"{ep.dist.metadata['Name'] if ep.dist else 'an unknown distribution'}, "
        "which is not this project)" for ep in found)
    raise EntryPointMissing(
        f"{distribution} {dist.version} is installed, but {has}, so PlexiChat will never "
        f"find plugin {name!r}. Add to its pyproject.toml:\n\n{snippet}\n\n"
        f"then reinstall it so the installed metadata has it: {INSTALL_COMMAND}"
        f"{elsewhere}")


def _editable_project(dist: md.Distribution) -> Path | None:
    """The project directory of an editable install (PEP 610 ``direct_url.json``)."""
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(direct, dict) or not direct.get("dir_info", {}).get("editable"):
        return None
    url = urlsplit(str(direct.get("url", "")))
    return Path(url2pathname(url.path)) if url.scheme == "file" else None


def _load_toml(path: Path) -> dict[str, Any] | None:
    try:
        import tomllib
    except ImportError:  # Python 3.10: only when tomli happens to be installed
        try:
            import tomli as tomllib
        except ImportError:
            return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _check_not_stale(ep: md.EntryPoint, dist: md.Distribution, snippet: str) -> None:
    """Fail when an editable install's pyproject.toml no longer declares ``ep``."""
    project = _editable_project(dist)
    data = _load_toml(project / "pyproject.toml") if project is not None else None
    if project is None or data is None or "entry-points" in data.get("project", {}).get(
            "dynamic", []):
        return
    declared = data.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    if declared.get(ep.name) == ep.value:
        return
    raise EntryPointMissing(
        f"{dist.metadata['Name']} is installed in editable mode from {project}, and its "
        f"installed metadata has the entry point {ep.name} = {ep.value!r}, but "
        f"{project / 'pyproject.toml'} no longer declares it, so a fresh install would "
        f"not be found by PlexiChat. Add back to its pyproject.toml:\n\n{snippet}\n\n"
        f"or, to test what it declares now, reinstall it: {INSTALL_COMMAND}")
