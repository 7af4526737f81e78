"""Installing and removing plugins with pip, in the host's own environment.

pip runs as ``sys.executable -m pip`` (or ``uv pip --python sys.executable`` where pip is
absent), so what it installs is exactly what this interpreter, and a host started from
it, will discover. A spec is classified by :mod:`plexichat.devkit.install_specs`: an http(s)
URL (pip downloads it), a requirement (pip resolves it from its index: ``--index-url`` /
``--extra-index-url`` through :class:`PipIndex`), a local wheel, sdist or project
directory, or a guide-style folder plugin / ``.zip`` of one, which is first converted by
:mod:`plexichat.devkit.migrate`. Plugin names a catalog lists become one of these through
:func:`from_catalog`.

After pip, :func:`static_check` says for each plugin that changed whether a host would
start it, without importing anything; a running host learns about the change through
:meth:`plexichat.host.PluginHost.rescan`; :mod:`plexichat.devkit.install_outcome` says
whether the install achieved anything.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata as md
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "InstallError",
    "PluginChange",
    "changes",
    "distributions_for",
    "from_catalog",
    "PipIndex",
    "PreparedSpecs",
    "canonical",
    "pip_command",
    "pip_env",
    "prepare",
    "prepare_specs",
    "run_pip",
    "run_pip_async",
    "snapshot",
    "static_check",
]


class InstallError(Exception):
    """Nothing was installed or removed; the message says why."""


# --- the pip command -------------------------------------------------------------------


def pip_command(action: str, args: Iterable[str]) -> list[str]:
    """The command running pip's ``action`` (``install``, ``uninstall``) for this
    interpreter's environment."""
    args = list(args)
    if importlib.util.find_spec("pip") is not None:
        if action == "uninstall":
            args = ["--yes", *args]
        return [sys.executable, "-m", "pip", action, *args]
    uv = shutil.which("uv")
    if uv is not None:
        return [uv, "pip", action, "--python", sys.executable, *args]
    raise InstallError(f"neither pip nor uv is available for {sys.executable}: install pip "
                       f"with `{sys.executable} -m ensurepip` or put uv on PATH")


def pip_env() -> dict[str, str]:
    """The environment pip runs in: ours, unbuffered, without pip's version check."""
    env = dict(os.environ)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_pip(command: list[str], on_line: Callable[[str], None]) -> int:
    """Run ``command``, handing each line of its output to ``on_line`` as it comes."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, bufsize=1,
                          env=pip_env()) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            on_line(line.rstrip("\n"))
        return proc.wait()


async def run_pip_async(command: list[str],
                        on_line: Callable[[str], None] | None = None) -> tuple[int, list[str]]:
    """:func:`run_pip` without blocking the event loop; returns (exit code, lines)."""
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL, env=pip_env())
    lines: list[str] = []
    assert proc.stdout is not None
    async for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        lines.append(line)
        if on_line is not None:
            on_line(line)
    return await proc.wait(), lines


@dataclass
class PipIndex:
    """Where pip looks for distributions: ``--index-url`` and ``--extra-index-url`` as
    given, plus a simple-index catalog's URL (:func:`from_catalog`)."""

    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)

    def use_catalog(self, url: str) -> None:
        """pip resolves from the catalog's index (an extra one when an index URL was
        given)."""
        if self.index_url is None:
            self.index_url = url
        elif url not in (self.index_url, *self.extra_index_urls):
            self.extra_index_urls.append(url)

    def args(self) -> list[str]:
        """pip's options."""
        out = ["--index-url", self.index_url] if self.index_url else []
        for url in self.extra_index_urls:
            out += ["--extra-index-url", url]
        return out


# --- specs -----------------------------------------------------------------------------


@dataclass
class PreparedSpecs:
    """Install specs turned into pip arguments."""

    args: list[str] = field(default_factory=list)
    """pip's arguments, one per spec (URLs, absolute paths, requirements)."""
    notes: list[str] = field(default_factory=list)
    """What was done on the way (folder plugins converted, archives unpacked)."""
    distributions: list[str] = field(default_factory=list)
    """The distributions asked for, where known before pip runs (canonical names)."""


def prepare(specs: Iterable[str], workdir: Path) -> PreparedSpecs:
    """Classify each spec (:func:`plexichat.devkit.install_specs.classify_spec`) and turn it into
    a pip argument. Folder plugins and ``.zip`` files of them are converted into
    ``workdir`` first (which must outlive the pip run). Raises :class:`InstallError`."""
    from .install_specs import SpecError, SpecKind, classify_spec
    from .migrate import MigrationError, migrate

    out = PreparedSpecs()
    for spec in specs:
        try:
            item = classify_spec(spec)
        except SpecError as exc:
            raise InstallError(str(exc)) from None
        if item.distribution and item.distribution not in out.distributions:
            out.distributions.append(item.distribution)
        if item.kind in (SpecKind.URL, SpecKind.REQUIREMENT, SpecKind.ARCHIVE,
                         SpecKind.PROJECT):
            out.args.append(item.target)
            continue
        source = item.path
        if item.kind is SpecKind.ZIP:
            folder = _unzip(item.path, workdir / f"unzipped-{len(out.args)}")
            if _is_project(folder):
                out.args.append(str(folder))
                out.notes.append(f"{spec}: a project; installing it")
                continue
            source = folder
        try:
            report = migrate(source, workdir / f"migrated-{len(out.args)}")
        except MigrationError as exc:
            raise InstallError(f"{spec}: cannot convert the folder plugin: {exc}") from None
        out.args.append(str(report.out))
        out.distributions.append(canonical(report.distribution))
        out.notes.append(f"{spec}: folder plugin {report.name!r} converted to the "
                         f"distribution {report.distribution} (entry point "
                         f"{report.entry_point})")
        out.notes += [f"{spec}: changed {change}" for change in report.changes]
        out.notes += [f"{spec}: note: {note}" for note in report.notes]
    return out


def prepare_specs(specs: Iterable[str], workdir: Path) -> tuple[list[str], list[str]]:
    """:func:`prepare`, as (pip arguments, notes)."""
    prepared = prepare(specs, workdir)
    return prepared.args, prepared.notes


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503 normalized)."""
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def from_catalog(specs: Iterable[str], source: str | None,
                 index: PipIndex) -> tuple[list[str], list[Any]]:
    """Replace each plugin name the catalog at ``source`` lists by what pip installs for
    its newest version this host can run: the wheel's URL (a JSON catalog; relative URLs
    resolved against the catalog's) or ``distribution==version`` with the catalog made
    pip's index in ``index`` (a PEP 503 catalog). Other specs are left alone. Returns the
    specs and the :class:`plexichat.devkit.catalog.CatalogPick` of each name replaced. Raises
    :class:`InstallError`.

    The catalog is read whenever there is one, names or not, so the versions it blocks
    are written to the data directory (:func:`plexichat.devkit.catalog.remember_blocked`)
    before the install is planned; when no name needs it, a catalog that cannot be read
    leaves the blocklist as it was last written."""
    import re

    specs = list(specs)
    names = [s for s in specs if re.match(r"^[A-Za-z][A-Za-z0-9_]*$", s)
             and not Path(s).exists()]
    if not source:
        return specs, []
    from ..runtime import data_dir
    from .catalog import CatalogError, open_catalog, pick_for_install, remember_blocked

    try:
        catalog = open_catalog(source)
        remember_blocked(catalog, data_dir().path)
    except CatalogError as exc:
        if not names:
            return specs, []
        raise InstallError(str(exc)) from None
    if not names:
        return specs, []
    try:
        picks = {p.name: p for p in pick_for_install(catalog, names)}
        for pick in picks.values():
            pick.verify()
    except CatalogError as exc:
        raise InstallError(str(exc)) from None
    if picks and catalog.index_url is not None:
        index.use_catalog(catalog.index_url)
    return [picks[s].spec if s in picks else s for s in specs], list(picks.values())


def _is_project(path: Path) -> bool:
    return (path / "pyproject.toml").is_file() or (path / "setup.py").is_file()


def _unzip(archive: Path, target: Path) -> Path:
    """Extract ``archive`` (refusing paths that leave ``target``); return the folder
    holding plugin.json or a project: the root, or its single top-level directory."""
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                dest = (root / member).resolve()
                if dest != root and root not in dest.parents:
                    raise InstallError(f"{archive}: refusing {member!r}, which would be "
                                       "written outside the extraction directory")
            zf.extractall(root)
    except zipfile.BadZipFile as exc:
        raise InstallError(f"{archive} is not a zip archive: {exc}") from None
    if (root / "plugin.json").is_file() or _is_project(root):
        return root
    entries = [p for p in root.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and (
            (entries[0] / "plugin.json").is_file() or _is_project(entries[0])):
        return entries[0]
    raise InstallError(f"{archive} holds no plugin.json (neither at its root nor in a "
                       "single top-level folder): not a plugin")


# --- what is installed -----------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    """One installed plugin, as discovery sees it."""

    name: str
    distribution: str
    version: str
    entry_point: str
    stamp: int = field(default=0, compare=False)
    """When its distribution's metadata was written: pip reinstalling the same version
    changes it."""


def snapshot() -> dict[str, Installed]:
    """Every installed plugin, read afresh (import caches invalidated, no index)."""
    from ..kernel.discovery import discover

    importlib.invalidate_caches()
    return {c.name: Installed(c.name, c.distribution, c.distribution_version, c.entry_point,
                              _stamp(c.distribution))
            for c in discover(use_index=False)}


def _stamp(distribution: str) -> int:
    try:
        base = getattr(md.distribution(distribution), "_path", None)
        return os.stat(base).st_mtime_ns if base is not None else 0
    except (md.PackageNotFoundError, OSError):
        return 0


@dataclass
class PluginChange:
    """A plugin that pip added, removed or changed."""

    name: str
    change: str
    """``installed``, ``removed``, ``upgraded`` (or downgraded), ``reinstalled``."""
    distribution: str
    version: str
    previous: str | None = None
    state: str = ""
    reason: str = ""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def changes(before: dict[str, Installed], after: dict[str, Installed]) -> list[PluginChange]:
    """What differs between two :func:`snapshot` results."""
    out = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None and new is not None:
            out.append(PluginChange(name, "installed", new.distribution, new.version))
        elif new is None and old is not None:
            out.append(PluginChange(name, "removed", old.distribution, old.version))
        elif old is not None and new is not None and old != new:
            out.append(PluginChange(name, "upgraded", new.distribution, new.version,
                                    previous=old.version))
        elif old is not None and new is not None and old.stamp != new.stamp:
            out.append(PluginChange(name, "reinstalled", new.distribution, new.version))
    return out


def static_check(found: list[PluginChange]) -> list[PluginChange]:
    """Fill ``state``/``reason`` of each installed or upgraded plugin: what a host
    starting now would do with it (manifest, compatibility, dependencies), decided
    without importing it. ``available`` means it would start."""
    from ..kernel.blocklist import blocked_versions
    from ..kernel.discovery import discover
    from ..kernel.resolver import PluginFilter, resolve
    from ..runtime import data_dir
    from ..storage.readonly import operator_states

    wanted = [c for c in found if c.change != "removed"]
    if not wanted:
        return found
    candidates = discover(use_index=False)
    resolution = resolve(candidates, PluginFilter.from_env(
        os.environ, operator=operator_states(),
        blocked=blocked_versions(data_dir().path)))
    by_name = {c.name: c for c in candidates}
    for change in wanted:
        state, change.reason = resolution.state_of(change.name)
        change.state = state.value
        if change.name in by_name:
            change.warnings = list(by_name[change.name].warnings)
    return found


def distributions_for(names: Iterable[str]) -> list[str]:
    """The distributions to uninstall or upgrade for plugin or distribution ``names``."""
    from ..kernel.discovery import discover

    plugins = {c.name: c.distribution for c in discover(use_index=False)}
    out: list[str] = []
    for name in names:
        if name in plugins:
            dist = plugins[name]
        else:
            try:
                dist = md.distribution(name).metadata["Name"]
            except md.PackageNotFoundError:
                known = ", ".join(sorted(plugins)) or "none"
                raise InstallError(f"no plugin or distribution named {name!r} is installed "
                                   f"(installed plugins: {known})") from None
        if dist.lower() == "plexichat":
            raise InstallError("that is the PlexiChat host itself, not a plugin")
        if dist not in out:
            out.append(dist)
    return out
