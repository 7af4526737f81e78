"""The composition root: builds one host's services and its plugin lifecycle.

:class:`PluginHost` is the only place that constructs things. It builds the store and
database, the core services (AI, analytics, security, events, webhooks, backup, chat),
the task supervisor, the wiring of contributions, the dispatcher and the
:class:`~plexichat.kernel.lifecycle.Lifecycle`, and hands each the narrow interface it
needs — never itself. The web layer passes its route sink in at construction
(:func:`plexichat.web.app.create_app`); the CLI builds a host without one.

The lifecycle's operations are reachable on the host (``host.enable``,
``host.reconcile`` …) for the API, the web UI and the CLI.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .audit import Actor, AuditAction, AuditTrail, settings_diff
from .config import HostSettings
from .context import HostServices, PluginContext
from .contributions import HealthReport, SelfTestResult
from .health import PluginHealth
from .kernel.bus import Bus
from .kernel.discovery import PluginCandidate
from .kernel.dispatch import Dispatcher
from .kernel.lifecycle import Lifecycle, NotStartable, PluginNotFound, PluginRecord
from .kernel.plugin_settings import PluginSettings, SettingsRejected
from .kernel.ports import RouteSink
from .kernel.rescan import RescanReport
from .kernel.states import PluginState, PluginStateChanged
from .markers import PROJECT_NAME
from .providers import ServiceProviders
from .wiring import Contributions, Wiring

if TYPE_CHECKING:
    from .cluster.fanout import ClusterFanout
    from .services.ephemeral import EphemeralBackend

__all__ = [
    "NotStartable", "PluginHost", "PluginNotFound", "PluginRecord", "PluginState", "RescanReport",
    "SettingsRejected",
]

log = logging.getLogger("plexichat.host")


class PluginHost:
    """One PlexiChat host: its services, and the lifecycle of its plugins.

    ``routes`` is where plugin routes are served (the web layer); None in a host that
    serves no HTTP, such as the CLI's. ``safe_mode`` (a reason) starts it in safe mode:
    plugins are discovered and listed, none is imported (see :mod:`plexichat.boot`).
    """

    def __init__(self, settings: HostSettings | None = None, *,
                 routes: RouteSink | None = None, safe_mode: str = "") -> None:
        from .chat.service import ChatService
        from .cluster.leases import task_leases
        from .services.ai import LocalAI
        from .services.analytics import Analytics
        from .services.backup import BackupService
        from .services.events import EventBus
        from .services.security import SecurityService
        from .services.webhooks import WebhookEvents
        from .storage import Database, HostStore
        from .storage.sealing import SecretBox
        from .tasks import TaskSupervisor

        self.settings = settings = settings or HostSettings()
        self.routes = routes
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.dispatcher = Dispatcher(self.pm, fault_budget=settings.fault_budget,
                                     on_quarantine=self._quarantine)
        self.database = Database(settings.resolved_database_url(),
                                 sqlite_synchronous=settings.sqlite_synchronous)
        self.secret_box = SecretBox.load(
            settings.data_dir,
            settings.secret_key.get_secret_value() if settings.secret_key else None)
        """Seals the secrets the database holds (settings, webhook signing secrets)."""
        if settings.redis_url and not settings.secret_key:
            log.warning("this replica seals secrets with the key file of its own data "
                        "directory (%s); replicas sharing a database need one key: set "
                        "PLEXICHAT_SECRET_KEY to the same value on every replica",
                        self.secret_box.origin)
        self.store = HostStore(self.database, self.secret_box)
        self.audit = AuditTrail(self.database)
        """The audit trail of operators' and plugins' actions (:mod:`plexichat.audit`)."""
        self.bus = Bus()
        """The host's own events, e.g. every
        :class:`~plexichat.kernel.states.PluginStateChanged`."""
        count = self.dispatcher.record_failure
        self.services = HostServices(
            store=self.store,
            database=self.database,
            ai=LocalAI(),
            analytics=Analytics(on_failure=count),
            security=SecurityService(),
            events=EventBus(on_failure=count, timeout=settings.event_timeout),
            webhooks=WebhookEvents(self.database, self.secret_box),
            ephemeral=_ephemeral_backend(settings),
            audit=self.audit,
        )
        self.tasks = TaskSupervisor(
            on_crash=count, stop_timeout=settings.shutdown_timeout,
            leases=task_leases(settings.redis_url, self.database.engine,
                               settings.task_lease_seconds))
        records: dict[str, PluginRecord] = {}  # the lifecycle's, read by chat and health
        contributions: dict[str, Contributions] = {}  # filed by wiring, read by backup
        self.fanout_relay = _fanout_relay(settings)
        """The chat fan-out between replicas (None: one process); the web app runs it."""
        self.services.chat = ChatService(
            self.database, settings, self.dispatcher, records, self.services,
            fanout=self.fanout_relay.hub if self.fanout_relay else None,
            publisher=self.fanout_relay)
        self.services.backup = BackupService(self.database, settings.data_dir, contributions)
        self.providers = ServiceProviders(self.services)
        self.wiring = Wiring(self.dispatcher, self.services, self.providers, self.tasks,
                             self.database, contributions)
        self.plugin_settings = PluginSettings(self.store, self.pm, self.dispatcher,
                                              self.services.events,
                                              timeout=settings.health_timeout)
        self.lifecycle = Lifecycle(
            settings, pm=self.pm, dispatcher=self.dispatcher, store=self.store,
            contributor=self.wiring, plugin_settings=self.plugin_settings,
            events=self.services.events, make_context=self._make_context, bus=self.bus,
            routes=routes, records=records,
        )
        self.lifecycle.safe_mode = safe_mode
        self.plugin_health = PluginHealth(records, contributions, self.dispatcher,
                                          timeout=settings.health_timeout)
        self.bus.subscribe(PluginStateChanged, self._audit_state_change)

    def _audit_state_change(self, change: PluginStateChanged) -> None:
        """Record starts, stops, failures and quarantines in the audit trail."""
        action = _STATE_ACTIONS.get(change.new)
        if action is None or (change.new is PluginState.DISABLED
                              and change.old not in (PluginState.STARTED,
                                                     PluginState.LOADED)):
            return  # resolution's verdicts are not actions
        self.audit.record_soon(self.audit.host_actor(), action, plugin=change.plugin,
                               target=change.plugin,
                               details={"from": change.old.value, "to": change.new.value,
                                        "reason": change.reason})

    def _quarantine(self, name: str, reason: str) -> None:
        """The dispatcher's answer to a spent fault budget."""
        self.lifecycle.quarantine(name, reason)

    def _make_context(self, record: PluginRecord) -> PluginContext:
        return PluginContext(
            record.name,
            record.candidate.manifest,
            self.settings.data_dir / "plugins" / record.name,
            granted=self.store.grants(record.name),
            services=self.services,
            app=self.routes.app_for(record) if self.routes is not None else None,
        )

    # --- the lifecycle ----------------------------------------------------------------

    @property
    def records(self) -> dict[str, PluginRecord]:
        """Every installed plugin's record."""
        return self.lifecycle.records

    @property
    def order(self) -> list[str]:
        """Plugin names in dependency order."""
        return self.lifecycle.order

    @property
    def safe_mode(self) -> str:
        """Why this host runs in safe mode (no plugin imported); empty when it does not."""
        return self.lifecycle.safe_mode

    @property
    def ready(self) -> bool:
        """True once :meth:`start_all` has finished."""
        return self.lifecycle.ready

    def record(self, name: str) -> PluginRecord:
        """The record of ``name`` or :class:`PluginNotFound`."""
        return self.lifecycle.record(name)

    def resolve(self, candidates: list[PluginCandidate] | None = None) -> None:
        """Discover and resolve plugins; nothing is imported yet."""
        self.lifecycle.resolve(candidates)

    async def start_all(self) -> None:
        """Load and start every resolved plugin in dependency order."""
        await self.lifecycle.start_all()

    async def stop_all(self) -> None:
        """Stop started plugins in reverse dependency order (their stops audited)."""
        await self.lifecycle.stop_all()
        await self.audit.drain()

    async def start_plugin(self, name: str) -> PluginRecord:
        """Import, register and start one plugin."""
        return await self.lifecycle.start_plugin(name)

    async def stop_plugin(self, name: str, *, state: PluginState = PluginState.STOPPED,
                          reason: str = "") -> None:
        """Stop one plugin; it ends in ``state`` with ``reason``."""
        await self.lifecycle.stop_plugin(name, state=state, reason=reason)

    async def start(self, name: str) -> PluginRecord:
        """Start ``name`` for this run (e.g. ``auto_start: false``); :class:`NotStartable`
        when it is disabled, rejected or the host is in safe mode."""
        return await self.lifecycle.start(name)

    async def stop(self, name: str) -> PluginRecord:
        """Stop a started plugin for this run; it starts again with the host."""
        return await self.lifecycle.stop(name)

    async def enable(self, name: str, *, actor: Actor | None = None) -> PluginRecord:
        """Record the operator's decision to run ``name`` and reconcile it; with
        ``actor``, the decision is audited in the transaction that stores it."""
        with self._audited(actor, AuditAction.PLUGIN_ENABLE, name):
            return await self.lifecycle.enable(name)

    async def disable(self, name: str, *, actor: Actor | None = None) -> PluginRecord:
        """Record the operator's decision not to run ``name`` and reconcile it; with
        ``actor``, the decision is audited in the transaction that stores it."""
        with self._audited(actor, AuditAction.PLUGIN_DISABLE, name):
            return await self.lifecycle.disable(name)

    def _audited(self, actor: Actor | None, action: AuditAction, name: str,
                 details: dict[str, Any] | None = None) -> contextlib.AbstractContextManager[None]:
        """The audit row of an operator's desired-state change (nothing without actor)."""
        if actor is None:
            return contextlib.nullcontext()
        record = self.lifecycle.records.get(name)
        state = {"state_before": record.state.value} if record is not None else {}
        return self.audit.along(actor, action, name, details={**state, **(details or {})})

    def change_grants(self, name: str, grant: list[str], revoke: list[str], *,
                      actor: Actor | None = None) -> set[str]:
        """Grant and revoke permissions as the operator's decision (audited with
        ``actor``, in the same transaction); the permissions granted now."""
        self.record(name)
        with self._audited(actor, AuditAction.GRANTS_CHANGE, name,
                           {"grant": sorted(grant), "revoke": sorted(revoke)}):
            if grant:
                self.store.grant(name, grant, by="operator")
            if revoke:
                self.store.revoke(name, revoke)
        return self.store.grants(name)

    async def reconcile(self, name: str | None = None) -> list[str]:
        """Bring the running plugins to the desired state in the store (see
        :meth:`~plexichat.kernel.lifecycle.Lifecycle.reconcile`); the names changed."""
        return await self.lifecycle.reconcile(name)

    async def rescan(self) -> RescanReport:
        """Catch up with what pip changed since the host started."""
        return await self.lifecycle.rescan()

    def hooks_of(self, name: str) -> list[str]:
        """Names of the hooks a registered plugin implements."""
        return self.lifecycle.hooks_of(name)

    def requested_permissions(self, record: PluginRecord) -> set[str]:
        """What the manifest and a guide-style ``get_services()`` ask for."""
        return record.requested_permissions()

    # --- settings ---------------------------------------------------------------------

    async def settings_schema(self, name: str) -> dict[str, Any]:
        """The plugin's settings schema: manifest ``settings_schema`` + ``config_schema``."""
        return await self.plugin_settings.schema(self.record(name))

    def current_settings(self, name: str) -> dict[str, Any]:
        """The stored settings of ``name`` (secrets in clear: for the host only)."""
        self.record(name)
        return self.plugin_settings.current(name)

    async def update_settings(self, name: str, new: dict[str, Any], *,
                              actor: Actor | None = None) -> dict[str, Any]:
        """Validate, persist, then tell the live plugin; roll back if it refuses.

        Raises :class:`~plexichat.settings.SettingsInvalid` (nothing stored) or
        :class:`SettingsRejected` (previous settings restored). With ``actor``, the
        change is audited as a diff with secrets masked, in the transaction storing it.
        """
        from .settings import fill_defaults, unmask

        async with self.lifecycle.operator_lock:
            record = self.record(name)
            details = None
            if actor is not None:
                schema = await self.plugin_settings.schema(record)
                old = self.store.settings(name) or fill_defaults(schema, {})
                details = {"changes": settings_diff(
                    schema, old, fill_defaults(schema, unmask(schema, new, old)))}
            try:
                with self._audited(actor, AuditAction.SETTINGS_CHANGE, name, details):
                    return await self.plugin_settings.update(record, new)
            except SettingsRejected as exc:
                if actor is not None:
                    await self.audit.arecord(actor, AuditAction.SETTINGS_REJECTED,
                                             plugin=name, target=name,
                                             details={"reason": exc.reason})
                raise

    # --- health -----------------------------------------------------------------------

    async def health(self, name: str) -> HealthReport:
        """Run a plugin's health checks, each bounded by the health timeout."""
        return await self.plugin_health.health(name)

    async def ready_problems(self) -> list[str]:
        """Failing readiness checks of started plugins, as ``plugin: check: detail``."""
        return await self.plugin_health.ready_problems()

    async def self_test(self, name: str) -> SelfTestResult:
        """Run one plugin's ``self_test`` hook, isolated and bounded."""
        return await self.plugin_health.self_test(name)


_STATE_ACTIONS = {
    PluginState.STARTED: AuditAction.PLUGIN_STARTED,
    PluginState.STOPPED: AuditAction.PLUGIN_STOPPED,
    PluginState.DISABLED: AuditAction.PLUGIN_STOPPED,
    PluginState.FAILED: AuditAction.PLUGIN_FAILED,
    PluginState.QUARANTINED: AuditAction.PLUGIN_QUARANTINED,
}
"""The plugin states whose reaching is audited, and as what."""


def _fanout_relay(settings: HostSettings) -> ClusterFanout | None:
    """With ``PLEXICHAT_REDIS_URL``, the relay carrying chat events to every replica."""
    if not settings.redis_url:
        return None
    from .chat.fanout import FanoutHub
    from .cluster.connection import connect
    from .cluster.fanout import ClusterFanout

    return ClusterFanout(connect(settings.redis_url), FanoutHub())


def _ephemeral_backend(settings: HostSettings) -> EphemeralBackend:
    """Shared ephemeral state: in Redis with ``PLEXICHAT_REDIS_URL``, else in memory."""
    if not settings.redis_url:
        from .services.ephemeral import MemoryEphemeral

        return MemoryEphemeral()
    from .cluster.connection import connect
    from .cluster.ephemeral import RedisEphemeral

    return RedisEphemeral(connect(settings.redis_url))
