"""What the host knows about one plugin: its :class:`PluginRecord`.

The lifecycle (:mod:`.lifecycle`) keeps one record per installed plugin and moves it
between states; everyone else (web layer, CLI views, chat, health checks) reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .bus import Bus
from .discovery import PluginCandidate
from .startup import StartTimings
from .states import TRANSITIONS, IllegalTransition, PluginState, PluginStateChanged

if TYPE_CHECKING:
    from ..context import PluginContext

__all__ = ["PluginNotFound", "PluginRecord"]


@dataclass
class PluginRecord:
    """Everything the host knows about one plugin.

    ``state`` changes only through :meth:`transition`.
    """

    candidate: PluginCandidate
    state: PluginState
    reason: str = ""
    obj: Any = None
    context: PluginContext | None = None
    routes: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bus: Bus | None = field(default=None, repr=False, compare=False)
    """Where :class:`~plexichat.kernel.states.PluginStateChanged` events go."""
    changed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    """When ``state`` (or its reason) last changed."""
    timings: StartTimings | None = None
    """How long each step of its last start took; None until it was started."""

    @property
    def name(self) -> str:
        """The plugin's name (its entry-point name)."""
        return self.candidate.name

    def transition(self, new: PluginState, reason: str = "") -> None:
        """Move to state ``new`` because of ``reason``; the only way ``state`` changes.

        The move must be in :data:`~plexichat.kernel.states.TRANSITIONS`, or
        :class:`~plexichat.kernel.states.IllegalTransition` is raised (a host bug) and nothing
        changes. Staying in the same state only replaces the reason. A real change is
        published as :class:`~plexichat.kernel.states.PluginStateChanged` on :attr:`bus`.
        """
        old = self.state
        if new is not old and new not in TRANSITIONS.get(old, frozenset()):
            raise IllegalTransition(self.name, old, new)
        self.state, self.reason = new, reason
        self.changed_at = datetime.now(timezone.utc)
        if new is not old and self.bus is not None:
            self.bus.publish(PluginStateChanged(self.name, old, new, reason, self.changed_at))


    def requested_permissions(self) -> set[str]:
        """What the manifest and a guide-style ``get_services()`` ask for."""
        from ..interface import SERVICE_PERMISSIONS, PluginInterface

        manifest = self.candidate.manifest
        wanted = set(manifest.permissions if manifest is not None else [])
        if isinstance(self.obj, PluginInterface):
            try:
                services = self.obj.get_services() or {}
            except Exception as exc:
                self.warnings.append(f"get_services raised {type(exc).__name__}: {exc}")
                services = {}
            for service, on in services.items():
                permission = SERVICE_PERMISSIONS.get(service)
                if on and permission:
                    wanted.add(permission)
        return wanted


class PluginNotFound(LookupError):
    """No installed plugin has that name."""
