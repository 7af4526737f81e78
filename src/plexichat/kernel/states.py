"""Plugin states: the one list of them, the transitions allowed between them, and how
each one is shown (label, CSS class, terminal colour).

The static listing (``plexichat plugins list --static``, the installer's check) uses the
same states as the running host: a static view only ever sees the states a plugin is
born in after resolution (:data:`RESOLVED_STATES`); a running host moves it on from
there. Every change of a running plugin's state goes through
:meth:`plexichat.kernel.lifecycle.PluginRecord.transition`, which checks it against
:data:`TRANSITIONS` and publishes a :class:`PluginStateChanged`.

This module imports nothing heavy: the static listing runs without pydantic.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "IllegalTransition", "PluginState", "PluginStateChanged", "RESOLVED_STATES",
    "STATE_STYLE", "STOP_STATES", "StateStyle", "TRANSITIONS",
]


class PluginState(str, enum.Enum):
    """Where one plugin is in its lifecycle."""

    AVAILABLE = "available"
    """Installed and valid: would load (resolved, not imported yet)."""
    REJECTED = "rejected"
    """Cannot load: bad manifest, incompatible, a dependency missing or rejected."""
    DISABLED = "disabled"
    """Kept from loading by the operator's choice or the environment."""
    LOADED = "loaded"
    """Imported and registered with pluggy; its startup has not finished."""
    STARTED = "started"
    """Running: hooks called, routes served."""
    FAILED = "failed"
    """Import, settings or startup failed; the reason says which."""
    QUARANTINED = "quarantined"
    """Taken out of the running host after it kept failing."""
    STOPPED = "stopped"
    """Not running: shut down with the host, stopped by the operator, or loaded but not
    started because its manifest says ``auto_start: false`` (the reason says which)."""


RESOLVED_STATES: frozenset[PluginState] = frozenset(
    {PluginState.AVAILABLE, PluginState.REJECTED, PluginState.DISABLED})
"""The states resolution gives a plugin; the only ones the static listing shows."""

STOP_STATES: frozenset[PluginState] = frozenset(
    {PluginState.STOPPED, PluginState.DISABLED, PluginState.REJECTED})
"""The states :meth:`~plexichat.kernel.lifecycle.Lifecycle.stop_plugin` may leave a plugin in."""

_S = PluginState
TRANSITIONS: Mapping[PluginState, frozenset[PluginState]] = {
    # resolved again (enable, rescan) from any state but loaded or started
    _S.AVAILABLE: frozenset({_S.LOADED, _S.FAILED, _S.DISABLED, _S.REJECTED}),
    _S.REJECTED: frozenset({_S.AVAILABLE, _S.DISABLED}),
    _S.DISABLED: frozenset({_S.AVAILABLE, _S.REJECTED}),
    # loaded then stopped: a plugin whose manifest says ``auto_start: false``
    _S.LOADED: frozenset({_S.STARTED, _S.FAILED, _S.QUARANTINED, _S.STOPPED}),
    _S.STARTED: frozenset({_S.STOPPED, _S.DISABLED, _S.REJECTED, _S.QUARANTINED,
                           _S.FAILED}),
    _S.FAILED: frozenset({_S.AVAILABLE, _S.REJECTED, _S.DISABLED, _S.QUARANTINED}),
    # a startup that fails as its fault budget runs out is quarantined, then failed
    _S.QUARANTINED: frozenset({_S.FAILED, _S.AVAILABLE, _S.REJECTED, _S.DISABLED}),
    _S.STOPPED: frozenset({_S.AVAILABLE, _S.REJECTED, _S.DISABLED}),
}
"""Which state may go to which. Anything else is a host bug."""


class IllegalTransition(RuntimeError):
    """The host tried a state change :data:`TRANSITIONS` does not allow (a host bug)."""

    def __init__(self, plugin: str, old: PluginState, new: PluginState) -> None:
        self.plugin, self.old, self.new = plugin, old, new
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS.get(old, frozenset())))
        super().__init__(f"plugin {plugin!r} cannot go from {old.value} to {new.value} "
                         f"(from {old.value} it may go to: {allowed or 'nothing'}); "
                         "this is a bug in the host")


@dataclass(frozen=True)
class PluginStateChanged:
    """Published on the host's :class:`~plexichat.kernel.bus.Bus` for every state change."""

    plugin: str
    old: PluginState
    new: PluginState
    reason: str
    at: datetime


@dataclass(frozen=True)
class StateStyle:
    """How one state is shown."""

    label: str
    """Human label (web UI)."""
    css_class: str
    """Class in ``plexichat.css`` colouring the state's badge."""
    colour: str
    """rich colour name for the CLI."""


def _style(state: PluginState, colour: str) -> StateStyle:
    return StateStyle(label=state.value, css_class=f"plx-state-{state.value}", colour=colour)


STATE_STYLE: Mapping[PluginState, StateStyle] = {
    _S.AVAILABLE: _style(_S.AVAILABLE, "green"),
    _S.REJECTED: _style(_S.REJECTED, "red"),
    _S.DISABLED: _style(_S.DISABLED, "yellow"),
    _S.LOADED: _style(_S.LOADED, "yellow"),
    _S.STARTED: _style(_S.STARTED, "green"),
    _S.FAILED: _style(_S.FAILED, "red"),
    _S.QUARANTINED: _style(_S.QUARANTINED, "red"),
    _S.STOPPED: _style(_S.STOPPED, "yellow"),
}
"""Label, CSS class and CLI colour of every state (tests check none is missing)."""
