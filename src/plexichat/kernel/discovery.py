"""Discovery: entry points in ``plexichat.plugins`` become plugin candidates.

Nothing here imports plugin code. Each candidate's ``plugin.json`` is located through
the distribution's file list (or ``importlib.util.find_spec`` on the top-level package,
which does not execute it) and validated by :mod:`plexichat.manifest`.

Reading and validating every manifest is the expensive part, so the result is kept in
an index file per Python environment. The index is valid while the modification times
of every ``sys.path`` directory, every plugin's ``entry_points.txt`` and every plugin's
``plugin.json`` are unchanged; pip creates and removes ``*.dist-info`` directories, so
any install or uninstall invalidates it. A hit validates nothing again (no
jsonschema): it rebuilds each stored manifest as it was checked.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..markers import ENTRY_POINT_GROUP
from .files import write_atomically

if TYPE_CHECKING:
    import importlib.metadata as md

    from ..manifest import PluginManifest

__all__ = ["ENTRY_POINT_GROUP", "PluginCandidate", "discover", "index_path"]

MANIFEST_FILE = "plugin.json"
_INDEX_FORMAT = 2


class _Manifest:
    """The ``manifest`` field of :class:`PluginCandidate`: a typed
    :class:`~plexichat.manifest.PluginManifest`, built on first use when the candidate
    came from the index (which holds the checked JSON), so that listing plugins from a
    warm index does not load the validation libraries."""

    def __get__(self, obj: PluginCandidate | None, owner: type | None = None) -> Any:
        if obj is None:
            return None  # the field's default
        value = obj.__dict__.get("_manifest")
        checked = obj.__dict__.get("_checked")
        if value is None and checked is not None:
            from ..manifest import PluginManifest

            value = obj.__dict__["_manifest"] = PluginManifest.from_checked(checked)
        return value

    def __set__(self, obj: PluginCandidate, value: PluginManifest | None) -> None:
        obj.__dict__["_manifest"] = value
        obj.__dict__["_checked"] = None


@dataclass
class PluginCandidate:
    """One plugin found in the environment, before any of its code has run."""

    name: str
    distribution: str
    distribution_version: str
    entry_point: str
    manifest_file: str | None = None
    manifest: PluginManifest | None = _Manifest()  # type: ignore[assignment]
    """The validated manifest; None when it was rejected."""
    problems: list[str] = field(default_factory=list)
    """Reasons this candidate cannot load at all (bad manifest, duplicate name)."""
    warnings: list[str] = field(default_factory=list)
    package_dir: str | None = None

    # --- what the resolver and the listing read ------------------------------------
    # From the typed manifest, or straight from the index's checked JSON (a complete
    # ``PluginManifest.model_dump``) while the typed manifest is not built yet.

    @property
    def _checked(self) -> dict[str, Any] | None:
        checked: dict[str, Any] | None = self.__dict__.get("_checked")
        return checked

    def _fact(self, key: str) -> Any:
        manifest = self.__dict__.get("_manifest")
        if manifest is not None:
            return getattr(manifest, key)
        checked = self._checked
        return None if checked is None else checked[key]

    @property
    def has_manifest(self) -> bool:
        """True when the manifest was accepted (``manifest`` is not None)."""
        return self.__dict__.get("_manifest") is not None or self._checked is not None

    @property
    def module(self) -> str:
        """The module the entry point names (before any ``:attr``)."""
        return self.entry_point.partition(":")[0].strip()

    @property
    def version(self) -> str:
        """The plugin version: the manifest's, else the distribution's."""
        return str(self._fact("version") or self.distribution_version)

    @property
    def type(self) -> str:
        """The plugin type as a string (``feature`` when there is no manifest)."""
        value = self._fact("type")
        return "feature" if value is None else str(getattr(value, "value", value))

    @property
    def api_version(self) -> str:
        """The manifest's ``api_version`` (``1.0`` when there is no manifest)."""
        return str(self._fact("api_version") or "1.0")

    @property
    def min_plexichat_version(self) -> str | None:
        """The manifest's ``min_plexichat_version``."""
        value = self._fact("min_plexichat_version")
        return None if value is None else str(value)

    @property
    def dependencies(self) -> list[str]:
        """The manifest's ``dependencies`` (plugin requirements)."""
        return [str(d) for d in self._fact("dependencies") or []]

    @property
    def enabled_by_manifest(self) -> bool:
        """The manifest's ``enabled`` (True when there is no manifest)."""
        value = self._fact("enabled")
        return True if value is None else bool(value)

    def manifest_json(self) -> dict[str, Any] | None:
        """The manifest as JSON data (what the index stores)."""
        checked = self._checked
        if checked is not None:
            return checked
        manifest = self.__dict__.get("_manifest")
        return None if manifest is None else manifest.model_dump(mode="json")


def index_path() -> Path:
    """Where this environment's discovery index lives."""
    base = os.environ.get("PLEXICHAT_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".cache"
        )
        base = os.path.join(xdg, "plexichat")
    key = hashlib.sha1(
        "\0".join([sys.prefix, sys.executable, __version__, *sys.path]).encode()
    ).hexdigest()[:16]
    return Path(base) / f"discovery-{key}.json"


def discover(*, use_index: bool = True) -> list[PluginCandidate]:
    """Find every plugin installed in this environment, sorted by name.

    Duplicate names (two distributions registering the same entry-point name) are
    kept, both carrying a problem that names the other: neither silently wins.
    Set ``PLEXICHAT_DISCOVERY_INDEX=0`` to bypass the index.
    """
    use_index = use_index and os.environ.get("PLEXICHAT_DISCOVERY_INDEX", "1") != "0"
    if use_index:
        cached = _read_index()
        if cached is not None:
            return cached
    before = _path_stamps()
    candidates, entry_point_files = _scan()
    if use_index and _path_stamps() == before:
        _write_index(candidates, entry_point_files)
    return candidates


# --- scanning --------------------------------------------------------------------------


def _scan() -> tuple[list[PluginCandidate], list[str]]:
    import importlib.metadata as md  # here, not at the top: an index hit does not need it

    by_name: dict[str, list[PluginCandidate]] = {}
    entry_point_files: list[str] = []
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        base = getattr(ep.dist, "_path", None)
        if base is not None:
            entry_point_files.append(os.path.join(str(base), "entry_points.txt"))
        candidate = _candidate(ep)
        by_name.setdefault(candidate.name, []).append(candidate)
    candidates: list[PluginCandidate] = []
    for name in sorted(by_name):
        claims = by_name[name]
        if len(claims) > 1:
            dists = ", ".join(sorted(f"{c.distribution} {c.distribution_version}" for c in claims))
            for c in claims:
                c.problems.append(
                    f"plugin name {name!r} is claimed by more than one distribution "
                    f"({dists}); uninstall all but one"
                )
        candidates.extend(claims)
    return candidates, sorted(set(entry_point_files))


def _candidate(ep: md.EntryPoint) -> PluginCandidate:
    dist = ep.dist
    dist_name = dist.metadata["Name"] if dist is not None else "<unknown>"
    dist_version = dist.version if dist is not None else "0"
    candidate = PluginCandidate(
        name=ep.name,
        distribution=dist_name,
        distribution_version=dist_version,
        entry_point=ep.value,
    )
    top = candidate.module.split(".")[0]
    manifest_file, package_dir = _locate_manifest(dist, top)
    candidate.package_dir = package_dir
    candidate.manifest_file = manifest_file
    shown = f"{top}/{MANIFEST_FILE}" if manifest_file else f"{top}/{MANIFEST_FILE} (absent)"

    from ..manifest import ManifestError, ManifestProblem, parse_manifest

    data: Any = None
    if manifest_file:
        try:
            data = json.loads(Path(manifest_file).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            candidate.problems.append(
                str(ManifestProblem(dist_name, shown, "(root)",
                                    f"invalid JSON at line {exc.lineno} column {exc.colno}: "
                                    f"{exc.msg}"))
            )
            return candidate
        except (OSError, UnicodeDecodeError) as exc:
            candidate.problems.append(
                str(ManifestProblem(dist_name, shown, "(root)", f"cannot be read: {exc}"))
            )
            return candidate
    try:
        parsed = parse_manifest(
            data, plugin_name=ep.name, dist=_facts(dist, dist_name, dist_version), file=shown
        )
    except ManifestError as exc:
        candidate.problems.extend(str(p) for p in exc.problems)
        return candidate
    candidate.manifest = parsed.manifest
    candidate.warnings.extend(parsed.warnings)
    return candidate


def _locate_manifest(dist: md.Distribution | None, top: str) -> tuple[str | None, str | None]:
    """Find ``<top>/plugin.json`` without importing ``top``."""
    wanted = f"{top}/{MANIFEST_FILE}"
    if dist is not None:
        for path in dist.files or ():
            if str(path).replace("\\", "/") == wanted:
                located = Path(str(dist.locate_file(path)))
                if located.is_file():
                    return str(located), str(located.parent)
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None, None
    if spec is None or not spec.submodule_search_locations:
        return None, None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MANIFEST_FILE
        if candidate.is_file():
            return str(candidate), str(location)
    return None, str(next(iter(spec.submodule_search_locations)))


def _facts(dist: md.Distribution | None, name: str, version: str) -> Any:
    from ..manifest import DistributionFacts

    if dist is None:
        return DistributionFacts(name=name, version=version)
    meta: Any = dist.metadata  # an email.message.Message underneath; has .get()
    homepage = meta.get("Home-page") or ""
    for url in meta.get_all("Project-URL") or ():
        label, _, value = url.partition(",")
        if label.strip().lower() in ("homepage", "home", "home-page") and not homepage:
            homepage = value.strip()
    author = meta.get("Author") or _names(meta.get("Author-email") or "")
    return DistributionFacts(
        name=name,
        version=version,
        summary=meta.get("Summary") or "",
        author=author,
        license=meta.get("License-Expression") or meta.get("License") or "",
        homepage=homepage,
    )


def _names(addresses: str) -> str:
    """``"Ada <ada@example.org>, Bob <b@x>"`` -> ``"Ada, Bob"`` (bare addresses kept)."""
    from email.utils import getaddresses

    return ", ".join(name or addr for name, addr in getaddresses([addresses]) if name or addr)


# --- the index -------------------------------------------------------------------------


def _stamp(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _path_stamps() -> dict[str, int]:
    return {p: _stamp(p or os.getcwd()) for p in sys.path}


def _read_index() -> list[PluginCandidate] | None:
    try:
        with open(index_path(), encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") != _INDEX_FORMAT or data.get("host") != __version__:
            return None
        for path, mtime in data["stamps"].items():
            if _stamp(path or os.getcwd()) != mtime:
                return None
        return [_from_index(item) for item in data["candidates"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_index(candidates: list[PluginCandidate], entry_point_files: list[str]) -> None:
    target = index_path()
    stamps = _path_stamps()
    for path in entry_point_files:
        stamps[path] = _stamp(path)
    for c in candidates:
        watched = c.manifest_file or c.package_dir  # a plugin.json added later shows here
        if watched:
            stamps[watched] = _stamp(watched)
    payload = {
        "format": _INDEX_FORMAT,
        "host": __version__,
        "stamps": stamps,
        "candidates": [_to_index(c) for c in candidates],
    }
    try:
        write_atomically(target, json.dumps(payload), durable=False)
    except OSError:
        pass  # an unwritable cache only costs speed


def _to_index(candidate: PluginCandidate) -> dict[str, Any]:
    """One candidate as JSON data; its manifest as the JSON its ``plugin.json`` became."""
    data = {f.name: getattr(candidate, f.name) for f in fields(candidate)
            if f.name != "manifest"}
    data["manifest"] = candidate.manifest_json()
    return data


def _from_index(item: dict[str, Any]) -> PluginCandidate:
    """A candidate from :func:`_to_index`'s data (its typed manifest built on first use)."""
    checked = item.pop("manifest", None)
    candidate = PluginCandidate(**item)
    candidate.__dict__["_checked"] = checked
    return candidate
