"""A :class:`~plexichat.context.PluginContext` without a running host."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..context import HostServices, PluginContext
    from ..manifest import PluginManifest

__all__ = ["context_services", "installed_manifest", "make_plugin_context"]


def installed_manifest(name: str) -> dict[str, Any] | None:
    """The validated manifest of the installed plugin ``name`` as JSON data (None when
    not installed or rejected). Reads ``plugin.json`` without importing the plugin."""
    from ..kernel.discovery import discover

    for candidate in discover():
        if candidate.name == name and candidate.manifest is not None:
            return candidate.manifest.model_dump(mode="json")
    return None


def context_services(database_url: str) -> HostServices:
    """Host services for contexts in tests: a database (and key-value store) at
    ``database_url``, analytics, events, the local AI, security and webhooks.
    No backup service and no chat core: pass your own ``services`` for those."""
    from ..context import HostServices
    from ..services.ai import LocalAI
    from ..services.analytics import Analytics
    from ..services.events import EventBus
    from ..services.security import SecurityService
    from ..services.webhooks import WebhookEvents
    from ..storage import Database, HostStore

    database = Database(database_url)
    return HostServices(
        store=HostStore(database),
        database=database,
        ai=LocalAI(),
        analytics=Analytics(),
        security=SecurityService(),
        events=EventBus(),
        webhooks=WebhookEvents(database),
    )



def make_plugin_context(
    name: str,
    *,
    data_dir: Path,
    services: HostServices,
    permissions: Iterable[str] | None = None,
    config: Mapping[str, Any] | None = None,
    manifest: PluginManifest | Mapping[str, Any] | None = None,
    app: Any = None,
) -> PluginContext:
    """The context the host would hand plugin ``name``.

    - ``manifest``: a :class:`~plexichat.manifest.PluginManifest` or ``plugin.json``
      data (validated as the host does); by default the installed plugin's
      ``plugin.json`` (or just ``{"name": name}`` when it is not installed).
    - ``permissions``: what is granted; by default what the manifest requests (the
      host's default on first enable). Pass ``[]`` to grant nothing.
    - ``config``: the plugin's settings. When the manifest has a ``settings_schema``,
      its defaults are filled in and the result is validated
      (:class:`~plexichat.settings.SettingsInvalid` on error), as the host does.
    """
    from ..context import PluginContext
    from ..manifest import PluginManifest
    from ..settings import fill_defaults, validate_settings

    if isinstance(manifest, PluginManifest):
        typed = manifest
    else:
        data = manifest if manifest is not None else installed_manifest(name) or {}
        typed = PluginManifest.model_validate({"name": name, **data})
    if permissions is None:
        permissions = typed.permissions
    settings = dict(config or {})
    schema = typed.settings_schema
    if schema:
        settings = fill_defaults(schema, settings)
        validate_settings(name, schema, settings)
    return PluginContext(
        name,
        typed,
        Path(data_dir) / "plugins" / name,
        config=settings,
        granted=frozenset(permissions),
        services=services,
        app=app,
    )
