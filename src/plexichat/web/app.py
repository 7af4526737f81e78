"""``create_app``: the FastAPI application of one PlexiChat host."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from .. import __version__, adapters
from ..boot import READY_WITHIN, BootRecord
from ..config import HostSettings
from ..contributions import RouterSpec
from ..host import PluginHost
from ..kernel.lifecycle import PluginRecord
from ..runtime import HostAnnouncement, mask_database_url
from ..services.ephemeral import EphemeralUnavailable
from ..services.login_throttle import LoginThrottle
from ..webhooks import DeliveryWorker
from . import api_docs, openapi_responses
from .api_audit import router as audit_router
from .api_chat import router as chat_router
from .api_chat import ws_router as chat_ws_router
from .api_cluster import router as cluster_router
from .api_health import router as health_router
from .api_install import router as install_router
from .api_plugins import router as plugins_router
from .api_webhooks import router as webhooks_router
from .auth import AdminToken
from .plugin_middleware import PluginMiddleware
from .plugin_route_errors import charge_route_errors
from .routes import flatten_routes, skip_by_prefix
from .ui import install as install_ui

__all__ = ["create_app"]

log = logging.getLogger("plexichat.web")


def create_app(settings: HostSettings | None = None, *,
               serve_url: str | None = None, safe_mode: str = "",
               boot: BootRecord | None = None) -> FastAPI:
    """Build the app. Its lifespan discovers plugins, starts them, and stops them.

    Plugins start in the background once the server is up: ``/api/v1/health/live``
    answers at once and ``/api/v1/health/ready`` says 503 until every plugin has
    started, failed or timed out.

    ``serve_url`` is where the app is served (``plexichat serve`` passes it): while it
    runs, the host records it in its data directory with a token for the local CLI
    (:mod:`plexichat.runtime`), so CLI commands act on this host.

    ``safe_mode`` (its reason) starts the host without importing any plugin; ``boot``
    is the data directory's boot record, set back to no failed start when the plugins
    have started in time (:mod:`plexichat.boot`).
    """
    settings = settings or HostSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        admin.ensure()
        announcement = _announce(settings, serve_url, admin, host)
        await webhook_worker.start()  # pending deliveries of earlier runs too
        cluster = await _join_cluster(settings, host, serve_url)
        app.state.cluster = cluster
        if cluster is not None:  # every audit row names the replica that wrote it
            host.audit.replica = cluster.replica_id
        retention = (asyncio.create_task(host.audit.run_retention(
            settings.audit_retention_days), name="plexichat-audit-retention")
            if settings.audit_retention_days > 0 else None)
        if host.fanout_relay is not None:  # chat events of every replica
            await host.fanout_relay.start()
        host.resolve()
        starting = asyncio.create_task(_start_plugins(host, boot),
                                       name="plexichat-plugin-startup")
        app.state.plugin_startup = starting
        try:
            yield
        finally:
            if not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
            # Each plugin's shutdown is bounded already; these bounds make sure the host
            # itself always stops, whatever is stuck.
            grace = settings.shutdown_timeout * 2 + 5
            await _bounded_step("stopping plugins", host.stop_all(),
                                grace + settings.shutdown_timeout * len(host.order))
            await _bounded_step("stopping background tasks", host.tasks.close(), grace)
            if retention is not None:
                retention.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await retention
            await _bounded_step("recording the audit trail", host.audit.drain(), grace)
            await _bounded_step("stopping webhook delivery", webhook_worker.stop(), grace)
            if cluster is not None:
                await _bounded_step("leaving the cluster", cluster.stop(), grace)
            if host.fanout_relay is not None:
                await _bounded_step("stopping chat fan-out", host.fanout_relay.stop(), grace)
            close_ephemeral = getattr(host.services.ephemeral, "aclose", None)
            if close_ephemeral is not None:  # the Redis of the shared ephemeral state
                await _bounded_step("closing the ephemeral state", close_ephemeral(), grace)
            host.audit.close()
            host.database.dispose()
            if announcement is not None:
                announcement.withdraw()
                admin.allow_local(None)

    app = FastAPI(
        title="PlexiChat",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # api_docs serves /api/docs and /api/redoc without a CDN
        redoc_url=None,
        openapi_url=api_docs.OPENAPI_URL,
    )
    # the host serves plugin routes on this app: its route sink is handed in here
    host = PluginHost(settings, routes=PluginRoutes(app), safe_mode=safe_mode)
    admin = AdminToken(settings, host.store)
    webhook_worker = DeliveryWorker.from_settings(host.services.webhooks, settings)
    app.state.host = host
    app.state.settings = settings
    app.state.admin_token = admin
    app.state.webhook_worker = webhook_worker
    app.state.cluster = None
    app.state.login_throttle = LoginThrottle(  # the chat's and the UI's logins, shared
        host.services.ephemeral,
        max_failures=settings.login_max_failures)
    app.add_exception_handler(EphemeralUnavailable, _shared_state_unavailable)
    app.include_router(health_router)
    app.include_router(plugins_router)
    app.include_router(install_router)
    app.include_router(chat_router)
    app.include_router(chat_ws_router)
    app.include_router(webhooks_router)
    app.include_router(cluster_router)
    app.include_router(audit_router)
    api_docs.install(app)
    openapi_responses.install(app)
    install_ui(app)
    skip_by_prefix(app.router.routes)  # the core's routers; plugin routers may change
    app.add_middleware(PluginMiddleware, host=host, timeout=settings.middleware_timeout)
    return app


SHARED_STATE_RETRY_AFTER = 5
"""Seconds a client is told to wait when the cluster's shared state is out of reach."""


async def _shared_state_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Redis out of reach while a request needs the shared ephemeral state (a login's
    throttle counts, a UI session): 503 with the reason, not a server error."""
    return JSONResponse({"detail": str(exc)}, status_code=503,
                        headers={"Retry-After": str(SHARED_STATE_RETRY_AFTER)})


async def _start_plugins(host: PluginHost, boot: BootRecord | None) -> None:
    """Start every plugin; a start ready in time (counted from when ``serve`` began) is
    no failed start in the boot record."""
    await host.start_all()
    if boot is None:
        return
    seconds = time.time() - boot.last_start
    try:
        if not boot.reached_ready(seconds):
            log.warning("plugins took %.0f s to start (more than %g s): this start counts "
                        "as failed towards safe mode", seconds, READY_WITHIN)
    except OSError as exc:
        log.warning("cannot write the boot record %s: %s", boot.path, exc)


async def _join_cluster(settings: HostSettings, host: PluginHost,
                        url: str | None) -> Any:
    """With ``PLEXICHAT_REDIS_URL`` set, start following the cluster's desired state
    (:class:`~plexichat.cluster.state.ClusterState`); None (and nothing imported) without."""
    if not settings.redis_url:
        return None
    from ..cluster.state import ClusterState

    cluster = ClusterState.from_settings(host, settings, url=url or "")
    await cluster.start()
    log.info("joined the cluster as replica %s", cluster.replica_id)
    return cluster


def _announce(settings: HostSettings, url: str | None, admin: AdminToken,
              host: PluginHost) -> HostAnnouncement | None:
    """Record in the data directory where this host listens, with this run's CLI token."""
    if url is None:
        return None
    announcement = HostAnnouncement(settings.data_dir, url,
                                    mask_database_url(host.database.url))
    try:
        warning = announcement.publish()
    except OSError as exc:
        log.warning("cannot record this host in %s (%s): CLI commands will not find it",
                    announcement.directory, exc)
        return None
    if warning:
        log.warning("%s", warning)
    admin.allow_local(announcement.token)
    return announcement


async def _bounded_step(what: str, step: Any, seconds: float) -> None:
    """Await one shutdown step for at most ``seconds``; log and go on if it is stuck."""
    try:
        await asyncio.wait_for(step, seconds)
    except asyncio.TimeoutError:
        log.error("shutdown: %s did not finish within %g s; going on without it", what,
                  seconds)


class PluginAppView:
    """``self.manager.app`` for a guide-style plugin: the real app, but what the plugin
    adds through ``include_router`` / ``mount`` is recorded as that plugin's, so
    disabling it removes those routes too."""

    def __init__(self, app: FastAPI, routes: PluginRoutes, record: PluginRecord) -> None:
        self._app = app
        self._routes = routes
        self._record = record

    def include_router(self, router: APIRouter, prefix: str = "", **_: Any) -> None:
        """Serve ``router`` as the plugin's (extra FastAPI options are ignored)."""
        self._routes.add(self._record, [RouterSpec(router, prefix=prefix)])

    def mount(self, path: str, app: Any, name: str | None = None) -> None:
        """Mount an ASGI app (e.g. ``StaticFiles``) as the plugin's."""
        self._routes.mount(self._record, path, app, name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


class PluginRoutes:
    """Adds and removes plugin routes on a live app, refusing collisions.

    The host's route sink (:class:`plexichat.kernel.ports.RouteSink`).
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def app_for(self, record: PluginRecord) -> PluginAppView:
        """``self.manager.app`` of ``record``'s guide-style plugin."""
        return PluginAppView(self.app, self, record)

    def served_paths(self, record: PluginRecord) -> tuple[list[str], list[str]]:
        """The paths ``record``'s plugin serves: ``(route paths, mount paths)``."""
        from starlette.routing import Mount

        routes: list[str] = []
        mounts: list[str] = []
        for route in flatten_routes(record.routes):
            (mounts if isinstance(route.route, Mount) else routes).append(route.path)
        return routes, mounts

    def _taken(self) -> dict[tuple[str, str], str]:
        taken: dict[tuple[str, str], str] = {}
        for entry in self.app.router.routes:
            owner = getattr(entry, "plexichat_plugin", None) or "the core"
            for route in flatten_routes([entry]):
                for key in route.keys():
                    taken[key] = owner
        return taken

    def add(self, record: PluginRecord, returned: list[Any]) -> None:
        """Serve the routers one plugin returned from ``register_routers``."""
        taken = self._taken()
        for value in returned:
            try:
                specs = adapters.routers(record.name, value)
            except adapters.ContributionError as exc:
                record.warnings.append(str(exc))
                continue
            for spec in specs:
                router = self._without_clashes(record, spec.router, spec.prefix, taken)
                before = {id(r) for r in self.app.router.routes}
                try:
                    self.app.include_router(router, prefix=spec.prefix)
                except Exception as exc:
                    message = (f"router with prefix {spec.prefix!r} refused: "
                               f"{type(exc).__name__}: {exc}")
                    record.warnings.append(message)
                    log.warning("plugin %s: %s", record.name, message)
                added = [e for e in self.app.router.routes if id(e) not in before]
                skip_by_prefix(added, live=True)
                charge_route_errors(record.name, added)
                for entry in added:
                    entry.plexichat_plugin = record.name  # type: ignore[attr-defined]
                    record.routes.append(entry)
                    for route in flatten_routes([entry]):
                        for key in route.keys():
                            taken[key] = record.name
        self._changed()

    def _without_clashes(
        self, record: PluginRecord, router: APIRouter, prefix: str,
        taken: dict[tuple[str, str], str],
    ) -> APIRouter:
        kept = APIRouter()
        clashed = False
        for entry in router.routes:
            refused = None
            for route in flatten_routes([entry], prefix):
                for key in route.keys():
                    if key in taken:
                        refused = (key, taken[key])
                        break
                if refused:
                    break
            if refused is None:
                kept.routes.append(entry)
                continue
            clashed = True
            (method, path), owner = refused
            owner_text = owner if owner == "the core" else f"plugin {owner!r}"
            message = f"route {method} {path} refused: already served by {owner_text}"
            record.warnings.append(message)
            log.warning("plugin %s: %s", record.name, message)
        return kept if clashed else router

    def mount(self, record: PluginRecord, path: str, app: Any, name: str | None) -> None:
        """Mount ``app`` at ``path`` for one plugin, unless the path is taken."""
        from starlette.routing import Mount

        owner = self._taken().get(("*", path.rstrip("/")))
        if owner is not None:
            message = f"mount {path} refused: already served by {owner}"
            record.warnings.append(message)
            log.warning("plugin %s: %s", record.name, message)
            return
        entry = Mount(path, app=app, name=name)
        charge_route_errors(record.name, [entry])
        entry.plexichat_plugin = record.name  # type: ignore[attr-defined]
        self.app.router.routes.append(entry)
        record.routes.append(entry)
        self._changed()

    def remove(self, record: PluginRecord, entries: list[Any]) -> None:
        """Stop serving the given route entries of one plugin."""
        ids = {id(r) for r in entries}
        self.app.router.routes[:] = [r for r in self.app.router.routes if id(r) not in ids]
        self._changed()

    def _changed(self) -> None:
        self.app.openapi_schema = None
        # FastAPI versions that cache the flattened route table keep a version counter.
        mark = getattr(self.app.router, "_mark_routes_changed", None)
        if callable(mark):
            mark()
