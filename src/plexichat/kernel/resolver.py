"""Resolution: which candidates may load, and in what order.

Checks each candidate's ``api_version`` and ``min_plexichat_version`` against the host,
its ``dependencies`` (plugin names with optional PEP 440 specifiers) against the other
candidates and the host's built-in plugins, and orders the survivors so that every
plugin loads after what it depends on. Every refusal carries a reason naming the plugin
and, for dependents of a refused plugin, the whole chain.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from .. import __version__
from .blocklist import blocked_reason
from .discovery import PluginCandidate
from .states import PluginState

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

__all__ = [
    "BUILTIN_PLUGINS",
    "SUPPORTED_API_VERSIONS",
    "PluginFilter",
    "Resolution",
    "resolve",
]

SUPPORTED_API_VERSIONS: tuple[str, ...] = ("1.0",)
"""Plugin API versions this host implements (same major, minor up to this)."""

BUILTIN_PLUGINS: Mapping[str, str] = {"core_system": __version__}
"""Names the host itself provides, so manifests may depend on them."""


@dataclass(frozen=True)
class PluginFilter:
    """Operator choices applied before anything is imported.

    ``load_only`` is None when every plugin may load; an empty set loads none.
    ``disabled`` maps plugin names to the reason they are disabled.
    """

    load_only: frozenset[str] | None = None
    disabled: Mapping[str, str] = field(default_factory=dict)
    operator: Mapping[str, bool] = field(default_factory=dict)
    """Enable/disable decisions the operator made (kept in the host database)."""
    blocked: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(canonical distribution, version) → why a catalog blocks it
    (:func:`plexichat.kernel.blocklist.blocked_versions`): such a plugin is rejected."""

    @classmethod
    def from_values(
        cls,
        load_plugins: str | None,
        disable_plugins: str = "",
        disabled: Mapping[str, str] | None = None,
        operator: Mapping[str, bool] | None = None,
        blocked: Mapping[tuple[str, str], str] | None = None,
    ) -> PluginFilter:
        """Build a filter from the two comma lists and decisions made elsewhere.

        ``load_plugins`` None means "every plugin"; an empty string means "none".
        ``disabled`` maps names to a reason they may not load; the ``disable_plugins``
        list adds to it. ``operator`` holds the enable/disable decisions kept in the
        host database (an explicit enable overrides a manifest's ``"enabled": false``).
        ``blocked`` holds the versions a plugin catalog marks as known-bad.
        """
        load_only = None if load_plugins is None else frozenset(_split(load_plugins))
        merged = dict(disabled or {})
        for name in _split(disable_plugins):
            merged.setdefault(name, "listed in PLEXICHAT_DISABLE_PLUGINS")
        return cls(load_only=load_only, disabled=merged, operator=dict(operator or {}),
                   blocked=dict(blocked or {}))

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        disabled: Mapping[str, str] | None = None,
        operator: Mapping[str, bool] | None = None,
        blocked: Mapping[tuple[str, str], str] | None = None,
    ) -> PluginFilter:
        """Read ``PLEXICHAT_LOAD_PLUGINS`` / ``PLEXICHAT_DISABLE_PLUGINS``."""
        return cls.from_values(
            environ.get("PLEXICHAT_LOAD_PLUGINS"),
            environ.get("PLEXICHAT_DISABLE_PLUGINS", ""),
            disabled,
            operator,
            blocked,
        )

    def disabled_reason(self, name: str, manifest_enabled: bool) -> str | None:
        """Why ``name`` is disabled, or None when it may load."""
        if self.load_only is not None and name not in self.load_only:
            return "not listed in PLEXICHAT_LOAD_PLUGINS"
        if name in self.disabled:
            return self.disabled[name]
        decided = self.operator.get(name)
        if decided is False:
            return "disabled by the operator"
        if not manifest_enabled and decided is None:
            return "its manifest says \"enabled\": false; enable it to load it"
        return None


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


@dataclass
class Resolution:
    """The outcome of :func:`resolve`."""

    order: list[PluginCandidate]
    """Candidates that may load, dependencies first."""
    rejected: dict[str, str]
    """Plugin name -> why it cannot load."""
    disabled: dict[str, str]
    """Plugin name -> why the operator's choices keep it from loading."""

    def state_of(self, name: str) -> tuple[PluginState, str]:
        """The state resolution gives plugin ``name``, and its reason."""
        if name in self.rejected:
            return PluginState.REJECTED, self.rejected[name]
        if name in self.disabled:
            return PluginState.DISABLED, self.disabled[name]
        return PluginState.AVAILABLE, ""


def api_version_supported(api_version: str) -> bool:
    """True when the host implements the plugin API version ``api_version``."""
    try:
        wanted = Version(api_version)
    except InvalidVersion:
        return False
    for supported in SUPPORTED_API_VERSIONS:
        have = Version(supported)
        if wanted.major == have.major and wanted.minor <= have.minor:
            return True
    return False


def resolve(
    candidates: Iterable[PluginCandidate],
    plugin_filter: PluginFilter | None = None,
    *,
    host_version: str = __version__,
    builtins: Mapping[str, str] = BUILTIN_PLUGINS,
) -> Resolution:
    """Decide which candidates load and in which order."""
    plugin_filter = plugin_filter or PluginFilter()
    candidates = list(candidates)
    rejected: dict[str, str] = {}
    disabled: dict[str, str] = {}
    by_name: dict[str, PluginCandidate] = {}
    host = Version(host_version)

    for c in candidates:
        if c.problems or not c.has_manifest:
            rejected[c.name] = "; ".join(c.problems) or "manifest missing"
            continue
        if c.name in builtins:
            rejected[c.name] = f"{c.name!r} is the name of a plugin built into the host"
            continue
        blocked = blocked_reason(plugin_filter.blocked, c.distribution,
                                 c.distribution_version)
        if blocked is not None:
            rejected[c.name] = blocked
            continue
        by_name[c.name] = c

    requirements: dict[str, list[_Dependency]] = {}
    for name, c in by_name.items():
        reason = _compat_problem(c, host)
        if reason is None:
            reqs, reason = _requirements(c)
            requirements[name] = reqs
        if reason is not None:
            rejected[name] = reason
            continue
        why_disabled = plugin_filter.disabled_reason(name, c.enabled_by_manifest)
        if why_disabled is not None:
            disabled[name] = why_disabled

    def refuse_dependents() -> None:
        # Repeat until nothing changes, so refusals travel along whole chains.
        changed = True
        while changed:
            changed = False
            for name in sorted(by_name):
                if name in rejected or name in disabled:
                    continue
                reason = _dependency_problem(
                    requirements[name], by_name, builtins, rejected, disabled
                )
                if reason is not None:
                    rejected[name] = reason
                    changed = True

    refuse_dependents()

    # Order the survivors; refuse every member of a cycle, then their dependents.
    alive = {n for n in by_name if n not in rejected and n not in disabled}
    while True:
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for name in sorted(alive):
            deps = sorted(r.name for r in requirements[name] if r.name in alive)
            sorter.add(name, *deps)
        try:
            order = list(sorter.static_order())
            break
        except graphlib.CycleError as exc:
            cycle: list[str] = exc.args[1]
            text = " -> ".join(cycle)
            for member in set(cycle):
                rejected[member] = f"dependency cycle: {text}"
            refuse_dependents()
            alive = {n for n in alive if n not in rejected}
    return Resolution(
        order=[by_name[n] for n in order],
        rejected=rejected,
        disabled=disabled,
    )


_BARE_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
"""A dependency that is a plugin name and nothing else (the usual case)."""


@dataclass(frozen=True)
class _Dependency:
    """One entry of a manifest's ``dependencies``: the plugin it names and, when the
    entry has one, its version specifier."""

    name: str
    specifier: SpecifierSet | None
    text: str


def _compat_problem(candidate: PluginCandidate, host: Version) -> str | None:
    api = candidate.api_version
    if not api_version_supported(api):
        return (
            f"needs plugin API {api}, but this host implements "
            f"{', '.join(SUPPORTED_API_VERSIONS)}"
        )
    minimum = candidate.min_plexichat_version
    if minimum:
        try:
            if host < Version(str(minimum)):
                return f"needs PlexiChat >= {minimum}, but this host is {host}"
        except InvalidVersion:
            return f"min_plexichat_version {minimum!r} is not a version"
    return None


def _requirements(candidate: PluginCandidate) -> tuple[list[_Dependency], str | None]:
    reqs: list[_Dependency] = []
    for item in candidate.dependencies or ():
        text = str(item)
        if _BARE_NAME.match(text):
            reqs.append(_Dependency(text, None, text))
            continue
        # Imported only for a dependency with a specifier: it costs more than the rest
        # of `plugins list`.
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            parsed = Requirement(text)
        except InvalidRequirement as exc:
            return [], f"dependency {item!r} is not valid: {exc}"
        reqs.append(_Dependency(parsed.name, parsed.specifier or None, str(parsed)))
    return reqs, None


def _dependency_problem(
    reqs: list[_Dependency],
    by_name: Mapping[str, PluginCandidate],
    builtins: Mapping[str, str],
    rejected: Mapping[str, str],
    disabled: Mapping[str, str],
) -> str | None:
    for req in reqs:
        dep = req.name
        if dep in builtins:
            version = builtins[dep]
        elif dep in rejected:
            return f"requires {dep!r}, which was rejected: {rejected[dep]}"
        elif dep in disabled:
            return f"requires {dep!r}, which is disabled: {disabled[dep]}"
        elif dep in by_name:
            version = by_name[dep].version
        else:
            return f"requires {dep!r}, which is not installed"
        if req.specifier is not None and not req.specifier.contains(version,
                                                                    prereleases=True):
            return f"requires {req.text}, but {dep} {version} is installed"
    return None
