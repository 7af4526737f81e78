"""The lifecycle of every plugin: one state machine per plugin, reconciled to desired state.

discovered → manifest checked → resolved → loaded (imported, registered with pluggy)
→ started; side exits rejected, failed, quarantined, disabled. One plugin's failure is
that plugin's alone: the lifecycle records the reason and carries on with the others.

Each step is somebody else's job: :mod:`.discovery` finds candidates, :mod:`.resolver`
orders them, :mod:`.loading` imports them, :mod:`.dispatch` calls their hooks. This
module moves plugins between states. It builds nothing: what it needs from the rest of
the host arrives through the ports of :mod:`.ports`, handed over by the composition
root (:mod:`plexichat.host`).

The operator's decisions (enabled or disabled, settings) are *desired state* kept in
the :class:`~.ports.DesiredState` store. :meth:`Lifecycle.enable` and
:meth:`Lifecycle.disable` write a decision and reconcile that plugin;
:meth:`Lifecycle.reconcile` brings every plugin to what the store says, whoever wrote
it (this process, the CLI, another replica). Reconciling is idempotent: when the
running plugins already match, it changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from .discovery import PluginCandidate, discover
from .dispatch import HookTimeout
from .endpoints import endpoint_warnings
from .leftovers import end_leftovers
from .loading import load_object as _load_object
from .loading import register_plugin
from .reasons import AUTO_START_OFF, OPERATOR_DISABLED, OPERATOR_STOPPED, SAFE_MODE, NotStartable
from .records import PluginNotFound, PluginRecord
from .rescan import RescanReport, apply_rescan
from .resolver import resolve
from .startup import StartTimings, slow_start_warning, start_concurrently
from .states import STOP_STATES, PluginState
from .threads import PluginExit, run_in_daemon_thread

if TYPE_CHECKING:
    import pluggy

    from ..config import HostSettings
    from .bus import Bus
    from .dispatch import Dispatcher
    from .plugin_settings import PluginSettings
    from .ports import ContextMaker, Contributor, DesiredState, EventEmitter, RouteSink

__all__ = ["Lifecycle", "NotStartable", "PluginNotFound", "PluginRecord", "PluginState",
           "RescanReport"]

log = logging.getLogger("plexichat.host")


class Lifecycle:
    """Resolves, starts and stops plugins, isolating each one's failures.

    Everything it works with is handed in; it builds nothing.
    """

    def __init__(
        self,
        settings: HostSettings,
        *,
        pm: pluggy.PluginManager,
        dispatcher: Dispatcher,
        store: DesiredState,
        contributor: Contributor,
        plugin_settings: PluginSettings,
        events: EventEmitter,
        make_context: ContextMaker,
        bus: Bus,
        routes: RouteSink | None = None,
        records: dict[str, PluginRecord] | None = None,
    ) -> None:
        self.settings = settings
        self.pm = pm
        self.dispatcher = dispatcher
        self.store = store
        """The desired state: the operator's decisions."""
        self.contributor = contributor
        self.plugin_settings = plugin_settings
        self.events = events
        self.make_context = make_context
        self.bus = bus
        """Where every :class:`PluginStateChanged` is published."""
        self.routes = routes
        """The web layer serving plugin routes; None in a host without one."""
        self.records: dict[str, PluginRecord] = {} if records is None else records
        """Every installed plugin's record; changed in place, never replaced, so who
        was handed it at construction (chat, health checks) always sees the current one."""
        self.order: list[str] = []
        # what was last logged of each plugin's warnings and rejection (see resolve)
        self._logged_problems: dict[str, tuple[tuple[str, ...], str]] = {}
        self.ready = False
        self.safe_mode = ""
        """Why the host runs in safe mode (empty: it does not): no plugin is imported."""
        # enable, disable, reconcile, rescan and settings changes run one at a time
        self.operator_lock = asyncio.Lock()

    # --- resolution --------------------------------------------------------------------

    def resolve(self, candidates: list[PluginCandidate] | None = None) -> None:
        """Discover and resolve plugins; nothing is imported yet."""
        if candidates is None:
            candidates = discover()
        resolution = resolve(candidates,
                             self.settings.plugin_filter(self.store.enabled_states()))
        records: dict[str, PluginRecord] = {}
        for c in candidates:
            state, reason = resolution.state_of(c.name)
            if self.safe_mode and state is PluginState.AVAILABLE:
                state, reason = PluginState.DISABLED, SAFE_MODE
            record = PluginRecord(c, state, reason, warnings=list(c.warnings), bus=self.bus)
            # Duplicate names: keep the first record but never let either load.
            if c.name in records:
                continue
            records[c.name] = record
            self._log_problems(c.name, c.warnings,
                               reason if state is PluginState.REJECTED else "")
        # the same dict, refilled at once: whoever holds it sees the new records
        self.records.clear()
        self.records.update(records)
        self.order = [c.name for c in resolution.order]
        self.dispatcher.set_order(self.order)

    def _log_problems(self, name: str, warnings: list[str], rejection: str) -> None:
        """Log a plugin's warnings and rejection, each once per change.

        :meth:`resolve` runs again on every rescan and enable; what it logged for a
        plugin the last time is not logged again until it changes (or the plugin is
        uninstalled and comes back).
        """
        logged_warnings, logged_rejection = self._logged_problems.get(name, ((), ""))
        for warning in warnings:
            if warning not in logged_warnings:
                log.warning("%s", warning, extra={"plugin": name})
        if rejection and rejection != logged_rejection:
            log.error("plugin %s rejected: %s", name, rejection, extra={"plugin": name})
        self._logged_problems[name] = (tuple(warnings), rejection)

    # --- start / stop ------------------------------------------------------------------

    async def start_all(self) -> None:
        """Load and start every resolved plugin, each as soon as its dependencies started.

        Plugins with no dependency path between them import and start concurrently;
        a plugin whose start hangs delays only the plugins depending on it. When every
        plugin has started, failed or timed out, the ``startup`` event goes out once
        and the host is ready.
        """
        try:
            async with self.operator_lock:  # an enable meanwhile waits, not starts twice
                await start_concurrently(self.order, self._dependency_names,
                                         self._start_isolated)
            await self.events.emit("startup")
        finally:
            self.ready = True

    async def _start_isolated(self, name: str) -> None:
        """:meth:`start_plugin`, with a host bug failing only that plugin."""
        try:
            await self.start_plugin(name)
        except Exception as exc:  # a host bug must not stop the other plugins
            record = self.records[name]
            self.withdraw(record)
            self._fail(record, f"starting failed: {type(exc).__name__}: {exc}",
                       exc, "startup")

    async def start_plugin(self, name: str, *, on_demand: bool = False) -> PluginRecord:
        """Import, register and start one plugin; never raises for the plugin's faults.

        A plugin whose manifest says ``auto_start: false`` is imported, registered and
        configured, then left ``stopped`` (its hooks unregistered) unless ``on_demand``
        (the operator asked for it). In safe mode nothing is imported: the plugin is
        left ``disabled`` with the reason :data:`SAFE_MODE`.

        Each step is timed into ``record.timings``; a start slower than
        ``PLEXICHAT_SLOW_START_WARNING`` earns a warning naming its slowest step.
        """
        record = self.records[name]
        if self.safe_mode:
            if record.state is not PluginState.DISABLED:
                record.transition(PluginState.DISABLED, SAFE_MODE)
            return record
        blocked = self._blocked_by(record)
        if blocked:
            record.transition(PluginState.FAILED, blocked)
            log.error("plugin %s not started: %s", name, blocked)
            return record
        record.timings = timings = StartTimings()
        began = time.perf_counter()
        try:
            return await self._start_steps(record, timings, on_demand)
        finally:
            timings.total_seconds = time.perf_counter() - began
            warning = slow_start_warning(timings, self.settings.slow_start_warning)
            if warning:
                record.warnings.append(warning)
                log.warning("plugin %s: %s", name, warning, extra={"plugin": name})

    async def _start_steps(self, record: PluginRecord, timings: StartTimings,
                           on_demand: bool) -> PluginRecord:
        """The steps of :meth:`start_plugin`, in order, each timed into ``timings``."""
        name = record.name
        timeout = self.settings.startup_timeout
        try:
            with timings.phase("import"):
                obj = await asyncio.wait_for(
                    run_in_daemon_thread(_load_object, record.candidate,
                                         name="plexichat-plugin-import"),
                    timeout)
        except asyncio.TimeoutError:
            return self._fail(record, f"import did not finish within {timeout:g} s")
        except PluginExit as exc:
            return self._fail(record, f"import failed: {exc}", exc, "import")
        except Exception as exc:
            return self._fail(record, f"import failed: {type(exc).__name__}: {exc}",
                              exc, "import")
        problem = self._register(record, obj)  # on the event loop's thread, never a worker
        if problem:
            return self._fail(record, problem)
        self._grant_defaults(record)
        record.context = self.make_context(record)
        record.transition(PluginState.LOADED, "imported and registered")
        try:
            with timings.phase("settings"):
                record.context._set_config(await self.plugin_settings.initial(record))
        except Exception as exc:
            self._unregister(record)
            return self._fail(record, str(exc), exc, "settings")
        manifest = record.candidate.manifest
        if not on_demand and manifest is not None and not manifest.auto_start:
            self._unregister(record)  # configured, but no hook runs until it is started
            record.transition(PluginState.STOPPED, AUTO_START_OFF.format(name=name))
            log.info("plugin %s loaded, not started (auto_start: false)", name)
            return record
        try:
            with timings.phase("startup"):
                await self.dispatcher.acall("startup", only=name, timeout=timeout,
                                            sync_in_thread=True, reraise=True,
                                            context=record.context)
        except HookTimeout:
            self._unregister(record)
            return self._fail(record, f"startup did not finish within {timeout:g} s "
                                      "(PLEXICHAT_STARTUP_TIMEOUT)")
        except Exception as exc:
            self._unregister(record)
            return self._fail(record, f"startup raised {type(exc).__name__}: {exc}")
        with timings.phase("contribute"):  # tables exist before routes are served
            await self.contributor.contribute(record)
        if record.state is not PluginState.QUARANTINED:
            with timings.phase("routes"):
                await self._contribute_routes(record)
        if record.state is PluginState.QUARANTINED:  # its fault budget ran out meanwhile
            return record
        record.transition(PluginState.STARTED)
        log.info("plugin %s started", name)
        return record

    async def stop_all(self) -> None:
        """Stop started plugins in reverse dependency order, each bounded and isolated.

        The ``shutdown`` event goes out first, while every plugin is still running.
        """
        await self.emit_shutdown()
        for name in reversed(self.order):
            record = self.records.get(name)
            if record is not None and record.state is PluginState.STARTED:
                await self.stop_plugin(name)

    async def stop_plugin(self, name: str, *, state: PluginState = PluginState.STOPPED,
                          reason: str = "") -> None:
        """Run one plugin's shutdown and take its contributions out of the host.

        It ends in ``state`` (one of :data:`~plexichat.kernel.states.STOP_STATES`) with
        ``reason``.
        """
        if state not in STOP_STATES:
            raise ValueError(f"a stop cannot end in {state!r}; it ends in one of: "
                             + ", ".join(sorted(s.value for s in STOP_STATES)))
        record = self.records[name]
        try:
            await self.dispatcher.acall(
                "shutdown",
                only=name,
                timeout=self.settings.shutdown_timeout,
                sync_in_thread=True,
                context=record.context,
            )
        finally:
            await self.contributor.withdraw(record)
            self.withdraw(record)
            await self._end_leftovers(record)
            record.transition(state, reason)

    async def _end_leftovers(self, record: PluginRecord) -> None:
        """Cancel the tasks a stopped plugin left running and warn of them and its threads."""
        warning = await end_leftovers(record.candidate.package_dir, record.obj)
        if warning:
            record.warnings.append(warning)
            log.warning("plugin %s: %s", record.name, warning, extra={"plugin": record.name})

    async def emit_shutdown(self, only: str | None = None) -> None:
        """The ``shutdown`` event (to one plugin's handlers with ``only``); never refused."""
        try:
            await self.events.emit("shutdown", only=only)
        except Exception:  # e.g. a pre handler raising EventRejected: stop anyway
            log.exception("the shutdown event failed")

    def quarantine(self, name: str, reason: str) -> None:
        """Take a plugin that keeps failing out of the running host."""
        record = self.records.get(name)
        if record is None or record.state is PluginState.QUARANTINED:
            return
        log.error("plugin %s quarantined: %s", name, reason)
        self.contributor.withdraw_now(record)
        self.withdraw(record)
        record.transition(PluginState.QUARANTINED, reason)

    # --- helpers -----------------------------------------------------------------------

    def _dependency_names(self, name: str) -> list[str]:
        """The names of the plugins ``name`` depends on."""
        from packaging.requirements import Requirement

        return [Requirement(dep).name for dep in self.records[name].candidate.dependencies]

    def _blocked_by(self, record: PluginRecord) -> str:
        for dep_name in self._dependency_names(record.name):
            other = self.records.get(dep_name)
            if other is not None and other.state is not PluginState.STARTED:
                return (f"requires {dep_name!r}, which is {other.state.value}"
                        + (f": {other.reason}" if other.reason else ""))
        return ""

    def _register(self, record: PluginRecord, obj: Any) -> str:
        problem = register_plugin(self.pm, record.name, obj)
        if not problem:
            record.obj = obj
        self.dispatcher.invalidate()
        return problem

    def _unregister(self, record: PluginRecord) -> None:
        if record.obj is not None and self.pm.is_registered(record.obj):
            self.pm.unregister(record.obj)
        self.dispatcher.invalidate()

    def forget(self, name: str) -> None:
        """Drop the record of an uninstalled plugin (and what was logged about it)."""
        del self.records[name]
        self._logged_problems.pop(name, None)

    def withdraw(self, record: PluginRecord) -> None:
        """Unregister ``record``'s hooks and stop serving its routes."""
        self._unregister(record)
        if record.routes and self.routes is not None:
            self.routes.remove(record, record.routes)
        record.routes = []

    def _fail(self, record: PluginRecord, reason: str, exc: BaseException | None = None,
              where: str = "") -> PluginRecord:
        """Mark ``record`` failed; ``exc`` (raised in ``where``) is kept with its traceback.

        Failures of hooks are kept by the dispatcher already; pass ``exc`` only for
        failures outside hook calls (import, settings, a host error while starting).
        """
        record.transition(PluginState.FAILED, reason)
        if exc is not None:
            self.dispatcher.note_failure(record.name, where, exc)
        log.error("plugin %s failed: %s", record.name, reason, extra={"plugin": record.name})
        return record

    def _grant_defaults(self, record: PluginRecord) -> None:
        """On first enable, grant what the plugin requests (unless strict)."""
        if self.settings.strict_permissions or self.store.has_grant_record(record.name):
            return
        self.store.grant(record.name, record.requested_permissions(), by="default")

    async def _contribute_routes(self, record: PluginRecord) -> None:
        if self.routes is None:
            return
        try:
            results = await self.dispatcher.acall(
                "register_routers", only=record.name, reraise=True, context=record.context
            )
        except Exception as exc:  # recorded and counted by the dispatcher
            record.warnings.append(f"register_routers raised {type(exc).__name__}: {exc}")
        else:
            self.routes.add(record, results.values)
        manifest = record.candidate.manifest  # routes added at startup count too
        for warning in endpoint_warnings(manifest.api_endpoints if manifest else [],
                                         *self.routes.served_paths(record)):
            record.warnings.append(warning)
            log.warning("plugin %s: %s", record.name, warning, extra={"plugin": record.name})

    # --- operator decisions: desired state, reconciled ---------------------------------

    def record(self, name: str) -> PluginRecord:
        """The record of ``name`` or :class:`PluginNotFound`."""
        record = self.records.get(name)
        if record is None:
            raise PluginNotFound(f"no plugin named {name!r} is installed")
        return record

    async def disable(self, name: str) -> PluginRecord:
        """Record the operator's decision not to run ``name``, then reconcile it.

        A started plugin hears ``plugin.disabled`` and ``shutdown``, is stopped and its
        contributions are taken out.
        """
        async with self.operator_lock:
            self.record(name)
            self.store.set_enabled(name, False, "operator")
            return await self._reconcile_one(name)

    async def enable(self, name: str) -> PluginRecord:
        """Record the operator's decision to run ``name``, then reconcile it.

        Asking explicitly also retries a plugin that failed or was quarantined (a plain
        :meth:`reconcile` leaves those alone). A plugin that starts hears ``startup``
        and ``plugin.enabled``.
        """
        async with self.operator_lock:
            self.record(name)
            self.store.set_enabled(name, True, "operator")
            return await self._reconcile_one(name, retry=True)

    async def reconcile(self, name: str | None = None) -> list[str]:
        """Bring the running plugins (or just ``name``) to the desired state in the store.

        Call it after the store changed outside this process (another replica, the
        CLI): a plugin now disabled is stopped, one now enabled is started, and a
        running plugin whose stored settings changed is told through
        ``config_changed``, and its grants follow the stored ones. Idempotent: when
        everything already matches, nothing changes, no event is emitted and nothing
        restarts. Returns the names of the plugins whose state, grants or settings
        changed.
        """
        async with self.operator_lock:
            names = list(self.records) if name is None else [self.record(name).name]
            changed = []
            for each in names:
                if each not in self.records:  # forgotten by an earlier step
                    continue
                before = (self.records[each].state, self.records[each].reason)
                record = await self._reconcile_one(each)
                grants_changed = self._reconcile_grants(record)
                settings_changed = await self._reconcile_settings(record)
                if (record.state, record.reason) != before or grants_changed or settings_changed:
                    changed.append(each)
            return changed

    async def _reconcile_one(self, name: str, *, retry: bool = False) -> PluginRecord:
        """Bring ``name`` to its desired state; ``retry`` restarts a failed plugin too."""
        record = self.record(name)
        why_not = self._held_down_by(record)
        if why_not is not None:
            await self._bring_down(record, why_not)
            return record
        if record.state is PluginState.STARTED:
            return record
        if retry or record.state is PluginState.DISABLED or record.reason == OPERATOR_DISABLED:
            return await self._bring_up(name, on_demand=retry)
        return record

    async def start(self, name: str) -> PluginRecord:
        """Start ``name`` now, for this run (``auto_start: false``, or stopped by the
        operator); the stored decisions are left as they are.

        Raises :class:`NotStartable` when the desired state keeps it down (disabled,
        safe mode) or it cannot load (rejected). A started plugin is left alone.
        """
        async with self.operator_lock:
            record = self.record(name)
            why_not = self._held_down_by(record)
            if why_not is None and record.state is PluginState.REJECTED:
                why_not = f"rejected: {record.reason}"
            if why_not is not None:
                raise NotStartable(f"plugin {name!r} cannot start: {why_not}")
            if record.state is PluginState.STARTED:
                return record
            return await self._bring_up(name, on_demand=True)

    async def stop(self, name: str) -> PluginRecord:
        """Stop a started plugin for this run (it hears ``shutdown``); the stored
        decisions are left as they are, so it starts again with the host."""
        async with self.operator_lock:
            record = self.record(name)
            if record.state is PluginState.STARTED:
                await self.emit_shutdown(only=name)
                await self.stop_plugin(name, reason=OPERATOR_STOPPED)
            return record

    def _held_down_by(self, record: PluginRecord) -> str | None:
        """Why the desired state says ``record``'s plugin must not run, or None."""
        plugin_filter = self.settings.plugin_filter(self.store.enabled_states())
        reason = plugin_filter.disabled_reason(record.name, record.candidate.enabled_by_manifest)
        return reason if reason is not None or not self.safe_mode else SAFE_MODE

    async def _bring_down(self, record: PluginRecord, reason: str) -> None:
        """Stop ``record``'s plugin (if running) and leave it disabled for ``reason``."""
        name = record.name
        if record.state is PluginState.STARTED:
            await self.events.emit("plugin.disabled", name=name)
            await self.emit_shutdown(only=name)
            await self.stop_plugin(name, state=PluginState.DISABLED, reason=reason)
        elif record.state in (PluginState.REJECTED, PluginState.DISABLED):
            if record.reason != reason:  # the same state: only the reason is new
                record.transition(record.state, reason)
        else:
            self.withdraw(record)
            record.transition(PluginState.DISABLED, reason)

    async def _bring_up(self, name: str, *, on_demand: bool = False) -> PluginRecord:
        """Resolve ``name`` again with its current candidate and start it if it may
        (``on_demand``: even if its manifest says ``auto_start: false``)."""
        previous = dict(self.records)
        self.resolve([r.candidate for r in previous.values()])
        # keep the live records of everything else
        for other, old in previous.items():
            if other != name:
                self.records[other] = old
        record = self.adopt(previous[name], self.records[name])
        if record.state in (PluginState.REJECTED, PluginState.DISABLED):
            return record
        self.dispatcher.forget(name)
        await self.start_plugin(name, on_demand=on_demand)
        if record.state is PluginState.STARTED:
            await self.events.emit("startup", only=name)
            await self.events.emit("plugin.enabled", name=name)
        return record

    def _reconcile_grants(self, record: PluginRecord) -> bool:
        """Hand a running plugin the permissions granted in the store; True if they changed.

        A service it already holds stays until it is restarted (as with the grants API).
        """
        if record.state is not PluginState.STARTED or record.context is None:
            return False
        granted = frozenset(self.store.grants(record.name))
        if granted == record.context.granted:
            return False
        record.context.granted = granted
        return True

    async def _reconcile_settings(self, record: PluginRecord) -> bool:
        """Hand a running plugin settings changed in the store; True when it was told."""
        try:
            return await self.plugin_settings.reconcile(record)
        except Exception as exc:  # refused or invalid: the running settings were kept
            log.warning("plugin %s: stored settings not applied: %s", record.name, exc,
                        extra={"plugin": record.name})
            return True

    def adopt(self, record: PluginRecord, resolved: PluginRecord) -> PluginRecord:
        """Keep ``record`` (not running) in place of its freshly ``resolved`` twin.

        It takes the resolved candidate and warnings, and moves to the resolved state
        through :meth:`PluginRecord.transition`, so the change is published.
        """
        record.candidate, record.warnings = resolved.candidate, resolved.warnings
        record.obj, record.context, record.routes = None, None, []
        record.transition(resolved.state, resolved.reason)
        self.records[record.name] = record
        return record

    # --- installs and uninstalls while running ------------------------------------------

    async def rescan(self) -> RescanReport:
        """Catch up with what pip changed since the host started, without a restart.

        Import caches are invalidated and entry points read afresh. New plugins are
        resolved with everything else (manifest, compatibility, dependencies) and
        started if they may; one that may not stays installed but not started, its
        record saying why. Plugins no longer installed are stopped (routes, hooks,
        tasks withdrawn), their modules forgotten and their records dropped. A plugin
        whose distribution changed while its old code is imported keeps running that
        code: Python cannot swap it safely, so its reason says a restart is required.
        A plugin never imported (rejected, disabled, failed to import) is simply
        resolved again, so installing a missing dependency lets it start.
        """
        import importlib

        async with self.operator_lock:  # not while starting, enabling or disabling
            importlib.invalidate_caches()
            candidates = await asyncio.to_thread(discover, use_index=False)
            return await apply_rescan(self, candidates)

    # --- views -------------------------------------------------------------------------

    def hooks_of(self, name: str) -> list[str]:
        """Names of the hooks a registered plugin implements."""
        record = self.records.get(name)
        if record is None or record.obj is None or not self.pm.is_registered(record.obj):
            return []
        return sorted(c.name for c in self.pm.get_hookcallers(record.obj) or [])
