"""What the lifecycle needs from the rest of the host, as narrow typed interfaces.

The lifecycle (:mod:`.lifecycle`) builds nothing. The composition root
(:mod:`plexichat.host`) hands it one object for each of these ports:

- :class:`DesiredState` — where the operator's decisions live (enabled/disabled,
  grants, settings); the host's store in production.
- :class:`Contributor` — files a started plugin's contributions into the host's
  registries and withdraws them again (:class:`plexichat.wiring.Wiring`).
- :class:`RouteSink` — serves and stops serving a plugin's routes (the web layer);
  a host without a web layer passes None.
- :class:`EventEmitter` — host events such as ``startup``, ``shutdown`` and
  ``plugin.enabled`` (:class:`plexichat.services.events.EventBus`).
- :class:`ContextMaker` — the :class:`~plexichat.context.PluginContext` of a plugin
  about to start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..context import PluginContext
    from .lifecycle import PluginRecord

__all__ = ["ContextMaker", "Contributor", "DesiredState", "EventEmitter", "RouteSink"]


class DesiredState(Protocol):
    """The operator's decisions, kept durably; the lifecycle reconciles to them."""

    def enabled_states(self) -> dict[str, bool]:
        """``{plugin: enabled}`` for every plugin the operator decided about."""

    def set_enabled(self, plugin: str, enabled: bool, reason: str = "") -> None:
        """Record the operator's decision to run ``plugin`` or not."""

    def grants(self, plugin: str) -> set[str]:
        """Permissions granted to ``plugin``."""

    def has_grant_record(self, plugin: str) -> bool:
        """True once any grant decision was stored for ``plugin``."""

    def grant(self, plugin: str, permissions: Iterable[str], *, by: str) -> None:
        """Add grants to ``plugin`` (``by`` is ``default`` or ``operator``)."""

    def settings(self, plugin: str) -> dict[str, Any] | None:
        """The stored settings of ``plugin`` (secrets in clear), or None when never
        stored."""

    def put_settings(self, plugin: str, settings: dict[str, Any],
                     schema: Mapping[str, Any] | None = None) -> None:
        """Replace the stored settings of ``plugin``; the values ``schema`` marks secret
        are kept sealed."""

    def needs_sealing(self, plugin: str, schema: Mapping[str, Any]) -> bool:
        """True when a secret of the stored settings is held in clear."""


class Contributor(Protocol):
    """Files a started plugin's contributions into the host, and takes them out."""

    async def contribute(self, record: PluginRecord) -> None:
        """Collect and file every contribution of a plugin that has just started."""

    async def withdraw(self, record: PluginRecord) -> None:
        """Take every contribution of a plugin out (its tasks awaited)."""

    def withdraw_now(self, record: PluginRecord) -> None:
        """Take every contribution out without awaiting (tasks are cancelled)."""


class RouteSink(Protocol):
    """Where a plugin's routes are served: the web layer of the host."""

    def add(self, record: PluginRecord, returned: list[Any]) -> None:
        """Serve the routers ``record``'s plugin returned from ``register_routers``.

        The entries served are appended to ``record.routes``; refusals go to
        ``record.warnings``.
        """

    def remove(self, record: PluginRecord, entries: list[Any]) -> None:
        """Stop serving ``entries`` (route entries of ``record``'s plugin)."""

    def app_for(self, record: PluginRecord) -> Any:
        """The app a guide-style plugin sees as ``self.manager.app``."""

    def served_paths(self, record: PluginRecord) -> tuple[list[str], list[str]]:
        """The paths ``record``'s plugin serves: ``(route paths, mount paths)``."""


class EventEmitter(Protocol):
    """Host events (``startup``, ``shutdown``, ``plugin.enabled`` …)."""

    async def emit(self, event: str, *, only: str | None = None, **payload: Any) -> Any:
        """Emit ``event`` with ``payload`` (to one plugin's handlers with ``only``)."""


class ContextMaker(Protocol):
    """Makes the context a plugin's hooks receive."""

    def __call__(self, record: PluginRecord) -> PluginContext:
        """The :class:`~plexichat.context.PluginContext` of ``record``'s plugin."""
