"""What an install would change, decided before pip touches the environment.

pip resolves the install without performing it (``pip install --dry-run --report -``),
with the host and every installed plugin pinned through a generated constraints file, so
pip may not move them. :func:`plan_install` reads pip's JSON report into an
:class:`InstallPlan`: each distribution that would be added, upgraded, downgraded or
reinstalled. Then every installed distribution's ``Requires-Dist`` (markers evaluated,
extras left out) is checked against the versions the plan would leave: a change outside
a requirer's range is a :class:`Conflict`, worded as "rich 12.6.0 would replace 15.0.0,
but plexichat 3.0.0 requires rich>=13.7". The resolver is pip's; this module only
compares versions with :mod:`packaging`.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import importlib.util
import json
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from ..kernel.discovery import ENTRY_POINT_GROUP
from . import installer
from .installer import InstallError, canonical

__all__ = ["Conflict", "InstallPlan", "PlanChange", "constraints", "find_blocked",
           "find_conflicts", "plan_install", "read_report"]

HOST = "plexichat"
"""The host's distribution (canonical name)."""


@dataclass(frozen=True)
class PlanChange:
    """One distribution the install would add or replace."""

    distribution: str
    version: str
    change: str
    """``new``, ``upgraded``, ``downgraded`` or ``reinstalled``."""
    previous: str | None = None
    """The installed version it replaces (``None`` for ``new``)."""
    requested: bool = False
    """Named by the install itself, rather than pulled in as a dependency."""


@dataclass(frozen=True)
class Conflict:
    """A change the install would make outside what an installed distribution requires."""

    distribution: str
    version: str
    previous: str | None
    requirer: str
    requirer_version: str
    requirement: str

    def message(self) -> str:
        """The conflict as a person reads it: the package, both versions and who
        requires what."""
        change = (f"{self.distribution} {self.version} would replace {self.previous}"
                  if self.previous else f"{self.distribution} {self.version} would be "
                  "installed")
        return f"{change}, but {self.requirer} {self.requirer_version} requires " \
               f"{self.requirement}"


@dataclass
class InstallPlan:
    """pip's resolution of an install, and what it would break."""

    changes: list[PlanChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    """Why each distribution version the plan would install that a plugin catalog
    blocks is refused (:mod:`plexichat.kernel.blocklist`); ``--force`` does not
    override it: the host would reject the plugin anyway."""

    @property
    def ok(self) -> bool:
        """Nothing installed would be broken by the plan, and nothing in it is
        blocked."""
        return not self.conflicts and not self.blocked

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data (conflicts carry their ``message``)."""
        return {"changes": [asdict(c) for c in self.changes],
                "conflicts": [{**asdict(c), "message": c.message()} for c in self.conflicts],
                "blocked": list(self.blocked), "ok": self.ok}


# --- pip's resolution ---------------------------------------------------------------


def constraints(exclude: Iterable[str] = ()) -> str:
    """The constraints file pinning the host and every installed plugin distribution to
    its installed version, except the distributions in ``exclude`` (those the install
    asks for)."""
    excluded = {canonical(name) for name in exclude}
    importlib.invalidate_caches()
    pins: dict[str, str] = {}
    try:
        pins[HOST] = md.version(HOST)
    except md.PackageNotFoundError:
        pass
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        if ep.dist is not None:
            pins.setdefault(canonical(ep.dist.metadata["Name"]), ep.dist.version)
    return "".join(f"{name}=={version}\n" for name, version in sorted(pins.items())
                   if name not in excluded)


def plan_install(pip_args: list[str], workdir: Path, *,
                 exclude: Iterable[str] = (), removing: Iterable[str] = ()) -> InstallPlan:
    """Ask pip what ``pip install <pip_args>`` would do, without doing it, and check the
    result against what is installed. ``exclude`` are the distributions the install asks
    for (not pinned); ``removing`` those uninstalled right after (a rollback): neither
    pinned nor their requirements held against the plan. ``workdir`` holds the
    constraints file. Raises
    :class:`InstallError` when pip cannot resolve the install (nothing changed)."""
    if importlib.util.find_spec("pip") is None:
        raise InstallError("planning an install needs pip, which this environment lacks "
                           "(install it with `python -m ensurepip`); --force installs "
                           "without a plan")
    pinned = workdir / "plexichat-constraints.txt"
    pinned.write_text(constraints([*exclude, *removing]), encoding="utf-8")
    command = installer.pip_command("install", ["--dry-run", "--report", "-", "--quiet",
                                                "--constraint", str(pinned), *pip_args])
    proc = subprocess.run(command, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=installer.pip_env(), check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise InstallError(f"pip cannot resolve this install with the host and the "
                           f"installed plugins kept as they are; nothing was changed:\n{tail}")
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise InstallError("pip's install report is not JSON; nothing was changed: "
                           + proc.stdout[:300]) from None
    changes = read_report(report, _installed_versions())
    gone = {canonical(name) for name in removing}
    conflicts = [c for c in find_conflicts(changes) if canonical(c.requirer) not in gone]
    return InstallPlan(changes, conflicts, find_blocked(changes))


def find_blocked(changes: list[PlanChange]) -> list[str]:
    """Why each change that a plugin catalog blocks is refused (the blocklist in the
    data directory, written whenever a catalog is read)."""
    from ..kernel.blocklist import blocked_reason, blocked_versions
    from ..runtime import data_dir

    blocked = blocked_versions(data_dir().path)
    return [reason for c in changes
            if (reason := blocked_reason(blocked, c.distribution, c.version)) is not None]


def read_report(report: dict[str, Any], installed: dict[str, str]) -> list[PlanChange]:
    """The changes in pip's installation report (``pip install --report``), given the
    installed versions by canonical name."""
    out = []
    for item in report.get("install", []):
        meta = item.get("metadata", {})
        name, version = str(meta.get("name", "")), str(meta.get("version", ""))
        previous = installed.get(canonical(name))
        out.append(PlanChange(name, version, _kind(version, previous), previous,
                              bool(item.get("requested", False))))
    return sorted(out, key=lambda c: canonical(c.distribution))


def _kind(version: str, previous: str | None) -> str:
    if previous is None:
        return "new"
    try:
        new, old = Version(version), Version(previous)
    except InvalidVersion:
        return "reinstalled" if version == previous else "upgraded"
    return "upgraded" if new > old else "downgraded" if new < old else "reinstalled"


# --- what the plan would break ------------------------------------------------------


def find_conflicts(changes: list[PlanChange]) -> list[Conflict]:
    """Each change outside the range an installed distribution (the host, a plugin, any
    other) requires. Distributions the plan replaces are not asked: pip resolved their
    new requirements."""
    moved = {canonical(c.distribution): c for c in changes}
    out = []
    for requirer, version, requirement in _requirements():
        change = moved.get(canonical(requirement.name))
        if change is None or canonical(requirer) in moved:
            continue
        try:
            allowed = requirement.specifier.contains(Version(change.version),
                                                     prereleases=True)
        except InvalidVersion:
            allowed = False
        if not allowed:
            out.append(Conflict(change.distribution, change.version, change.previous,
                                requirer, version, str(requirement)))
    return out


def _installed_versions() -> dict[str, str]:
    importlib.invalidate_caches()
    out: dict[str, str] = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name:
            out.setdefault(canonical(name), dist.version)  # the first on sys.path wins
    return out


def _requirements() -> Iterator[tuple[str, str, Requirement]]:
    """(requirer, its version, requirement) for every installed distribution's
    unconditional requirements that apply here."""
    seen: set[str] = set()
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if not name or canonical(name) in seen:
            continue
        seen.add(canonical(name))
        for line in dist.requires or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(
                    {"extra": ""}):
                continue
            yield str(name), dist.version, requirement
