"""PluginContext: the host as one plugin sees it, gated by its permissions.

Every core service is reached through the context. Touching a service without the
permission it needs raises :class:`PermissionDenied`, naming the plugin, the service
and the missing permission. This decides what the host *hands* a plugin; in-process
Python is not a sandbox, and a plugin determined to misbehave can import what it likes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from .permissions import UNGATED_SERVICES, context_gates
from .services.ephemeral import Ephemeral, EphemeralBackend, MemoryEphemeral

if TYPE_CHECKING:
    from .audit import AuditTrail
    from .chat.types import SlashCommand
    from .manifest import PluginManifest
    from .services.ai import LocalAI
    from .services.analytics import Analytics
    from .services.backup import BackupService
    from .services.events import EventBus
    from .services.security import SecurityService
    from .storage import Database, HostStore
    from .webhooks.outbox import WebhookEvents

__all__ = ["ChatProvider", "HostServices", "PermissionDenied", "PluginContext"]


class PermissionDenied(Exception):
    """A plugin reached for a service it has not been granted."""

    def __init__(self, plugin: str, service: str, permission: str) -> None:
        self.plugin = plugin
        """The plugin that asked."""
        self.service = service
        """The service it asked for (``db``, ``ai`` …)."""
        self.permission = permission
        """A permission that would open it."""
        super().__init__(
            f"plugin {plugin!r} may not use context.{service}: it needs the "
            f"{permission!r} permission (declare it in plugin.json, or grant it with "
            f"'plexichat plugins grant {plugin} {permission}')"
        )


class ChatProvider(Protocol):
    """What the host needs of a chat service (:class:`~plexichat.chat.service.ChatService`,
    or what a plugin providing ``chat`` offers)."""

    def for_plugin(self, context: PluginContext) -> Any:
        """What ``context.chat`` hands one plugin."""

    def add_command(self, plugin: str, command: SlashCommand) -> None:
        """Serve ``plugin``'s slash command."""

    def remove_plugin(self, plugin: str) -> None:
        """Forget everything ``plugin`` added (its slash commands)."""


def _absent() -> Any:
    """The value of a service a context made in a test leaves out: None."""
    return None


@dataclass
class HostServices:
    """The host-wide service objects contexts hand out.

    The composition root (:class:`plexichat.host.PluginHost`) fills every field; a
    context made in a test may leave any of them out (None: using it raises a clear
    :class:`LookupError`). A plugin may replace ``ai``, ``analytics``, ``security``,
    ``webhooks``, ``backup`` and ``chat`` with an object offering the same methods.
    """

    store: HostStore = field(default_factory=_absent)
    database: Database = field(default_factory=_absent)
    ai: LocalAI = field(default_factory=_absent)
    analytics: Analytics = field(default_factory=_absent)
    security: SecurityService = field(default_factory=_absent)
    events: EventBus = field(default_factory=_absent)
    webhooks: WebhookEvents = field(default_factory=_absent)
    backup: BackupService = field(default_factory=_absent)
    chat: ChatProvider = field(default_factory=_absent)
    ephemeral: EphemeralBackend = field(default_factory=MemoryEphemeral)
    """Shared ephemeral state (Redis on a cluster; this process's memory otherwise)."""
    audit: AuditTrail | None = None
    """The audit trail that records what plugins do to other users' data (the host's;
    None in a context made in a test)."""
    app: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


# service -> permissions, any of which opens it (from the permission table)
_GATES: dict[str, tuple[str, ...]] = context_gates()


class PluginContext:
    """What the host hands one plugin: logger, settings, data, and gated services.

    Hooks receive it as their ``context`` argument; a guide-style plugin finds it as
    ``self.context``. The services below each name the permission they need; reaching
    one without it raises :class:`PermissionDenied`.
    """

    def __init__(
        self,
        plugin_name: str,
        manifest: PluginManifest | Mapping[str, Any] | None = None,
        data_dir: Path | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        granted: frozenset[str] | set[str] = frozenset(),
        services: HostServices | None = None,
        app: Any = None,
    ) -> None:
        self.plugin_name = plugin_name
        """The plugin's name (its entry point's name)."""
        self.plugin_manifest = _typed_manifest(plugin_name, manifest)
        """The plugin's validated ``plugin.json``
        (a :class:`~plexichat.manifest.PluginManifest`)."""
        self.manifest: Mapping[str, Any] = MappingProxyType(
            self.plugin_manifest.model_dump(mode="json"))
        """The plugin's validated ``plugin.json`` as JSON data (read-only)."""
        self.logger = logging.getLogger(f"plexichat.plugins.{plugin_name}")
        """The plugin's logger, ``plexichat.plugins.<name>``; no permission needed."""
        self._data_dir = data_dir
        self._config: Mapping[str, Any] = MappingProxyType(dict(config or {}))
        self.granted = frozenset(granted)
        """The permissions this plugin holds (declared and granted)."""
        self._services = services or HostServices()
        self.app = app
        """The host's FastAPI app (a view recording what the plugin adds), or ``None``
        outside a served host."""
        self._kv: Any = None
        self._db: Any = None
        self._ephemeral: Ephemeral | None = None

    # --- always available ------------------------------------------------------------

    @property
    def config(self) -> Mapping[str, Any]:
        """The plugin's validated settings (read-only)."""
        return self._config

    def _set_config(self, config: Mapping[str, Any]) -> None:
        self._config = MappingProxyType(dict(config))

    @property
    def data_dir(self) -> Path:
        """The plugin's own directory under the host's data directory (created)."""
        if self._data_dir is None:
            raise RuntimeError("this context has no data directory")
        self._data_dir.mkdir(parents=True, exist_ok=True)
        return self._data_dir

    @property
    def kv(self) -> Any:
        """The plugin's own key-value store (:class:`~plexichat.services.kv.PluginKV`):
        ``get``, ``set``, ``delete`` and ``keys``, values JSON, kept in the host database;
        no permission needed, and no plugin sees another's keys."""
        if self._kv is None:
            from .services.kv import PluginKV

            self._kv = PluginKV(self._need_service("kv", self._services.store), self.plugin_name)
        return self._kv

    @property
    def ephemeral(self) -> Ephemeral:
        """The plugin's shared ephemeral state (:class:`~plexichat.services.ephemeral.
        Ephemeral`): ``await get / set / incr / delete``, string values, optional TTL in
        seconds; shared by every replica of a cluster; no permission needed, and no plugin
        sees another's keys."""
        if self._ephemeral is None:
            self._ephemeral = Ephemeral(self._services.ephemeral, f"plugin:{self.plugin_name}")
        return self._ephemeral

    # --- gated -----------------------------------------------------------------------

    def require(self, service: str, permission: str | None = None) -> None:
        """Raise :class:`PermissionDenied` unless ``permission`` (or any permission
        that opens ``service``) is granted."""
        needed = (permission,) if permission else _GATES.get(service, ())
        if needed and not any(p in self.granted for p in needed):
            raise PermissionDenied(self.plugin_name, service, needed[0])

    def has_permission(self, permission: str) -> bool:
        """True when ``permission`` is granted to this plugin."""
        return permission in self.granted

    @property
    def db(self) -> Any:
        """The host database as this plugin may use it (``db:read`` / ``db:write``): a
        :class:`~plexichat.services.db.PluginDB`."""
        self.require("db")
        if self._db is None:
            from .services.db import PluginDB

            self._db = PluginDB(self._need_service("db", self._services.database),
                                self.plugin_name, self.require)
        return self._db

    @property
    def ai(self) -> Any:
        """The AI service (``ai:use``): the host's
        :class:`~plexichat.services.ai.LocalAI`, or what a plugin providing ``ai``
        offers."""
        self.require("ai")
        return self._need_service("ai", self._services.ai)

    @property
    def ai_provider(self) -> Any:
        """The raw AI provider (``ai:use``); the same object unless a plugin wraps it."""
        self.require("ai_provider")
        return self.ai

    @property
    def analytics(self) -> Any:
        """The analytics recorder (``analytics:write``):
        :meth:`~plexichat.services.analytics.Analytics.record` with the plugin's name as
        the event's ``source``."""
        self.require("analytics")
        return _SourceBound(self._need_service("analytics", self._services.analytics),
                            self.plugin_name)

    @property
    def backup(self) -> Any:
        """The backup service (``backup:run``): a
        :class:`~plexichat.services.backup.BackupService`."""
        self.require("backup")
        return self._need_service("backup", self._services.backup)

    @property
    def security(self) -> Any:
        """The security service (``security:policy``): a
        :class:`~plexichat.services.security.SecurityService`."""
        self.require("security")
        return self._need_service("security", self._services.security)

    @property
    def events(self) -> Any:
        """Emit host events (``events:emit``): ``await context.events.emit(name, **payload)``
        on the :class:`~plexichat.services.events.EventBus`."""
        self.require("events")
        return self._need_service("events", self._services.events)

    @property
    def webhooks(self) -> Any:
        """Emit the webhook events the manifest declares (``webhooks:emit``): a
        :class:`~plexichat.webhooks.outbox.PluginWebhooks`."""
        self.require("webhooks")
        outbox = self._need_service("webhooks", self._services.webhooks)
        return outbox.for_plugin(self.plugin_name, list(self.plugin_manifest.webhooks))

    @property
    def chat(self) -> Any:
        """Users, channels and messages (``chat:read`` / ``chat:write``): a
        :class:`~plexichat.chat.service.PluginChat`."""
        self.require("chat")
        chat = self._need_service("chat", self._services.chat)
        for_plugin = getattr(chat, "for_plugin", None)  # the host's ChatService
        return for_plugin(self) if for_plugin is not None else chat

    def service(self, name: str) -> Any:
        """The service called ``name`` (``logger``, ``db``, ``ai`` …), permission-checked."""
        if name == "logger":
            return self.logger
        if name in _GATES or name in UNGATED_SERVICES:
            return getattr(self, name)
        if name in self._services.extra:
            return self._services.extra[name]
        raise LookupError(f"no service named {name!r}; known: "
                          + ", ".join([*UNGATED_SERVICES, *sorted(_GATES)]))

    def _need_service(self, name: str, value: Any) -> Any:
        if value is None:
            raise LookupError(f"the {name} service is not available in this host")
        return value


class _SourceBound:
    """An analytics recorder that stamps each event with the plugin's name."""

    def __init__(self, analytics: Any, plugin: str) -> None:
        self._analytics = analytics
        self._plugin = plugin

    def record(self, event: str, **properties: Any) -> None:
        """Record ``event`` on behalf of the plugin."""
        self._analytics.record(event, source=self._plugin, **properties)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._analytics, name)


def _typed_manifest(plugin_name: str,
                    manifest: PluginManifest | Mapping[str, Any] | None) -> PluginManifest:
    """``manifest`` as a :class:`~plexichat.manifest.PluginManifest` (validated when
    given as JSON data; the default manifest of ``plugin_name`` when None)."""
    from .manifest import PluginManifest

    if isinstance(manifest, PluginManifest):
        return manifest
    return PluginManifest.model_validate({"name": plugin_name, **(manifest or {})})
