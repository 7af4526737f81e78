"""Rescanning: catching up with what pip installed, upgraded or removed while running.

:meth:`~.lifecycle.Lifecycle.rescan` reads the entry points afresh and hands them to
:func:`apply_rescan`, which removes what is gone, resolves what is new or changed with
everything else, and starts what may start. :class:`RescanReport` says what happened.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..markers import PROJECT_NAME
from .states import PluginState

if TYPE_CHECKING:
    from .discovery import PluginCandidate
    from .lifecycle import Lifecycle, PluginRecord

__all__ = ["RescanReport", "apply_rescan"]

log = logging.getLogger("plexichat.host")


@dataclass
class RescanReport:
    """What :meth:`Lifecycle.rescan` found and did."""

    added: list[str] = field(default_factory=list)
    """Plugins newly installed."""
    removed: list[str] = field(default_factory=list)
    """Plugins no longer installed: stopped, their routes and hooks gone, forgotten."""
    upgraded: list[str] = field(default_factory=list)
    """Plugins whose installed distribution changed (version or entry point)."""
    restart_required: list[str] = field(default_factory=list)
    """Upgraded plugins whose old code is already imported and still running."""
    started: list[str] = field(default_factory=list)
    """Plugins this rescan started."""
    stopped: dict[str, str] = field(default_factory=dict)
    """Running plugins this rescan had to stop (a dependency went away): the reason."""
    not_started: dict[str, str] = field(default_factory=dict)
    """Added or upgraded plugins that did not start: ``state: reason``."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API and CLI."""
        return {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in vars(self).items()}


async def apply_rescan(lifecycle: Lifecycle, candidates: list[PluginCandidate]) -> RescanReport:
    """Bring ``lifecycle`` up to date with ``candidates`` (see :meth:`Lifecycle.rescan`)."""
    report = RescanReport()
    found: dict[str, PluginCandidate] = {}
    for c in candidates:
        found.setdefault(c.name, c)
    for name in [n for n in lifecycle.records if n not in found]:
        record = lifecycle.records[name]
        if record.state is PluginState.STARTED:
            await lifecycle.emit_shutdown(only=name)
            await lifecycle.stop_plugin(name)
        else:
            lifecycle.withdraw(record)
        lifecycle.dispatcher.forget(name)
        top = record.candidate.module.split(".")[0]
        if top and top != PROJECT_NAME:
            for module in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
                del sys.modules[module]
        lifecycle.forget(name)
        report.removed.append(name)
        log.info("plugin %s uninstalled: removed from the running host", name)

    keep: dict[str, PluginRecord] = {}
    for name, record in lifecycle.records.items():
        old, new = record.candidate, found[name]
        changed = (old.distribution, old.distribution_version, old.entry_point,
                   old.manifest) != (new.distribution, new.distribution_version,
                                     new.entry_point, new.manifest)
        imported = record.obj is not None or old.module.split(".")[0] in sys.modules
        if changed:
            report.upgraded.append(name)
        if not imported and record.state is not PluginState.STARTED:
            continue  # resolved again below, with its new candidate if it changed
        keep[name] = record
        if changed:
            report.restart_required.append(name)
            record.transition(record.state,
                              f"restart required: {new.distribution} "
                              f"{new.distribution_version} is installed, but "
                              f"{old.distribution_version} is imported and still "
                              f"{record.state.value}; restart the host to load it")
            log.warning("plugin %s: %s", name, record.reason)
    report.added = sorted(n for n in found if n not in lifecycle.records)

    old_order = list(lifecycle.order)
    previous = dict(lifecycle.records)
    lifecycle.resolve([found[n] if n not in keep else keep[n].candidate for n in found])
    fresh = dict(lifecycle.records)
    lifecycle.records.update(keep)
    for name, record in previous.items():  # resolved again: the same record moves on
        if name not in keep:
            lifecycle.adopt(record, fresh[name])
    lifecycle.order = ([n for n in old_order if n in keep and n not in lifecycle.order]
                       + lifecycle.order)
    lifecycle.dispatcher.set_order(lifecycle.order)
    for name, record in keep.items():  # running, but a dependency is gone now
        now = fresh[name]
        if (record.state is PluginState.STARTED and name not in report.restart_required
                and now.state is PluginState.REJECTED):
            await lifecycle.emit_shutdown(only=name)
            await lifecycle.stop_plugin(name, state=PluginState.REJECTED, reason=now.reason)
            report.stopped[name] = now.reason

    for name in lifecycle.order:
        record = lifecycle.records[name]
        if name in keep or record.state is not PluginState.AVAILABLE:
            continue
        await lifecycle.start_plugin(name)
        if record.state is PluginState.STARTED:
            await lifecycle.events.emit("startup", only=name)
            report.started.append(name)
    for name in [*report.added, *report.upgraded]:
        record = lifecycle.records[name]
        if name not in keep and record.state is not PluginState.STARTED:
            report.not_started[name] = f"{record.state.value}: {record.reason}"
    return report
