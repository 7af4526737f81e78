"""Each plugin's settings: schema, first values, and operator changes with rollback.

A plugin's schema is its manifest's ``settings_schema`` merged with what its
``config_schema`` hook returns. The stored settings are desired state: the operator
writes them, and a running plugin is told through ``config_changed``; when it refuses,
the previous settings are restored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..settings import fill_defaults, mask_secrets, merge_schemas, unmask, validate_settings
from .states import PluginState

if TYPE_CHECKING:
    import pluggy

    from .dispatch import Dispatcher
    from .lifecycle import PluginRecord
    from .ports import DesiredState, EventEmitter

__all__ = ["PluginSettings", "SettingsRejected"]


class SettingsRejected(Exception):
    """New settings were valid but the plugin's ``config_changed`` refused them.

    The previous settings are back in force; ``reason`` says what the plugin raised.
    """

    def __init__(self, plugin: str, reason: str) -> None:
        self.plugin = plugin
        self.reason = reason
        super().__init__(f"plugin {plugin!r} refused the new settings: {reason}; "
                         "the previous settings were restored")


class PluginSettings:
    """Reads, validates and changes plugin settings kept in the desired-state store."""

    def __init__(self, store: DesiredState, pm: pluggy.PluginManager, dispatcher: Dispatcher,
                 events: EventEmitter, *, timeout: float) -> None:
        self.store = store
        self.pm = pm
        self.dispatcher = dispatcher
        self.events = events
        self.timeout = timeout
        """How long a plugin's ``config_changed`` may take (the health timeout)."""

    async def schema(self, record: PluginRecord) -> dict[str, Any]:
        """The plugin's settings schema: manifest ``settings_schema`` + ``config_schema``."""
        manifest = record.candidate.manifest
        schemas: list[Any] = [manifest.settings_schema if manifest is not None else None]
        if record.obj is not None and self.pm.is_registered(record.obj):
            results = await self.dispatcher.acall("config_schema", only=record.name,
                                                  context=record.context)
            schemas.extend(v for v in results.values if isinstance(v, dict))
        return merge_schemas(schemas)

    async def initial(self, record: PluginRecord) -> dict[str, Any]:
        """The settings a starting plugin gets: stored ones with defaults, validated.

        Raises :class:`~plexichat.settings.SettingsInvalid` when they do not validate.
        """
        schema = await self.schema(record)
        stored = self.store.settings(record.name)
        current = fill_defaults(schema, stored or {})
        validate_settings(record.name, schema, current)
        if stored is None:
            needs_writing = bool(current)  # nothing to store: no write at a first start
        else:  # (only what was stored can hold a secret an older host kept in clear)
            needs_writing = (stored != current
                             or self.store.needs_sealing(record.name, schema))
        if needs_writing:
            self.store.put_settings(record.name, current, schema)
        return current

    def current(self, name: str) -> dict[str, Any]:
        """The stored settings of ``name`` (secrets in clear: for the host only)."""
        return self.store.settings(name) or {}

    async def update(self, record: PluginRecord, new: dict[str, Any]) -> dict[str, Any]:
        """Validate, persist, then tell the live plugin; roll back if it refuses.

        Raises :class:`~plexichat.settings.SettingsInvalid` (nothing stored) or
        :class:`SettingsRejected` (previous settings restored).
        """
        name = record.name
        schema = await self.schema(record)
        old = self.store.settings(name) or fill_defaults(schema, {})
        candidate = fill_defaults(schema, unmask(schema, new, old))
        validate_settings(name, schema, candidate)
        self.store.put_settings(name, candidate, schema)
        if record.state is PluginState.STARTED and record.context is not None:
            await self._apply(record, schema, old, candidate)
        return candidate

    async def reconcile(self, record: PluginRecord) -> bool:
        """Hand a running plugin its stored settings if they changed elsewhere.

        The stored document gets the schema's defaults, as at start. True when the
        plugin was told. Settings that do not validate, or that the plugin refuses,
        leave it running with what it has, and that is stored again (the same
        rollback as :meth:`update`): :class:`~plexichat.settings.SettingsInvalid` or
        :class:`SettingsRejected` is raised.
        """
        if record.state is not PluginState.STARTED or record.context is None:
            return False
        running = dict(record.context.config)
        stored = self.store.settings(record.name)
        if stored is None or stored == running:
            return False
        schema = await self.schema(record)
        wanted = fill_defaults(schema, stored)
        if wanted == running:
            self.store.put_settings(record.name, wanted, schema)
            return False
        try:
            validate_settings(record.name, schema, wanted)
        except Exception:
            self.store.put_settings(record.name, running, schema)
            raise
        self.store.put_settings(record.name, wanted, schema)
        await self._apply(record, schema, running, wanted)
        return True

    async def _apply(self, record: PluginRecord, schema: dict[str, Any],
                     old: dict[str, Any], new: dict[str, Any]) -> None:
        """Tell the started plugin of ``record`` its settings went from ``old`` to ``new``."""
        name = record.name
        assert record.context is not None
        record.context._set_config(new)
        try:
            await self.dispatcher.acall("config_changed", only=name, reraise=True,
                                        spend_budget=False, timeout=self.timeout,
                                        sync_in_thread=True,
                                        old=old, new=new, context=record.context)
        except Exception as exc:
            self.store.put_settings(name, old, schema)
            record.context._set_config(old)
            raise SettingsRejected(name, f"{type(exc).__name__}: {exc}") from exc
        # every plugin may handle this event: secrets go out masked
        await self.events.emit("config.changed", plugin=name,
                               old=mask_secrets(schema, old), new=mask_secrets(schema, new))
