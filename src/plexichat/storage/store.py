"""HostStore: the host's own records (plugin state, grants, settings, KV)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from ..audit import write_pending
from ..settings import map_secrets
from . import generation as _generation
from .database import (
    Database,
    host_secrets,
    plugin_grant_decisions,
    plugin_grants,
    plugin_kv,
    plugin_settings,
    plugin_state,
)
from .generation import ChangeListener
from .sealing import SecretBox
from .upsert import insert_new as _insert_new
from .upsert import upsert as _upsert

__all__ = ["HostStore"]

log = logging.getLogger("plexichat.storage")


class HostStore:
    """Typed reads and writes of the core tables; every write is one transaction."""

    def __init__(self, db: Database, box: SecretBox | None = None) -> None:
        self.db = db
        self.box = box if box is not None else SecretBox.ephemeral()
        """Seals the secrets of stored settings (the host passes its keys; without one, a
        key that lives as long as the process)."""
        self._listeners: list[ChangeListener] = []

    # --- the generation of the desired state -------------------------------------------

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(generation)`` after every desired-state change this process
        commits (from the thread that wrote it)."""
        self._listeners.append(listener)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        """Stop calling ``listener``."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def generation(self) -> int:
        """How many desired-state changes were committed so far (by any replica)."""
        with self.db.engine.connect() as conn:
            return _generation.current(conn)

    def plugin_generation(self, plugin: str) -> int:
        """The generation of ``plugin``'s last desired-state change (0: never changed)."""
        with self.db.engine.connect() as conn:
            return _generation.of_plugin(conn, plugin)

    def plugin_generations(self) -> dict[str, int]:
        """``{plugin: generation}`` of every plugin whose desired state changed."""
        with self.db.engine.connect() as conn:
            return _generation.of_plugins(conn)

    @contextlib.contextmanager
    def _desired_write(self, plugin: str) -> Iterator[sa.Connection]:
        """One transaction changing ``plugin``'s desired state, its generation bumped in
        it, and the audit row of an enclosing :meth:`plexichat.audit.AuditTrail.along`
        inserted in it; listeners hear the new generation once it is committed."""
        with self.db.engine.begin() as conn:
            yield conn
            generation = _generation.bump(conn, plugin)
            write_pending(conn, plugin)
        for listener in list(self._listeners):
            try:
                listener(generation)
            except Exception:  # a listener's failure never undoes a committed change
                log.exception("desired-state change listener failed")

    # --- plugin state ----------------------------------------------------------------

    def enabled_states(self) -> dict[str, bool]:
        """``{plugin: enabled}`` for every plugin the operator decided about."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(plugin_state.c.plugin, plugin_state.c.enabled))
            return {plugin: bool(enabled) for plugin, enabled in rows}

    def set_enabled(self, plugin: str, enabled: bool, reason: str = "") -> None:
        """Persist the operator's decision for ``plugin``."""
        with self._desired_write(plugin) as conn:
            _upsert(conn, plugin_state, plugin=plugin, enabled=enabled, reason=reason)

    # --- grants ----------------------------------------------------------------------

    def grants(self, plugin: str) -> set[str]:
        """Permissions granted to ``plugin``."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(plugin_grants.c.permission)
                                .where(plugin_grants.c.plugin == plugin))
            return {p for (p,) in rows}

    def has_grant_record(self, plugin: str) -> bool:
        """True once any grant decision was stored for ``plugin`` (even one to grant
        nothing, or to revoke everything)."""
        with self.db.engine.connect() as conn:
            for table in (plugin_grant_decisions, plugin_grants):
                row = conn.execute(sa.select(table.c.plugin)
                                   .where(table.c.plugin == plugin).limit(1)).first()
                if row is not None:
                    return True
            return False

    def grant(self, plugin: str, permissions: Iterable[str], *, by: str) -> None:
        """Add grants (``by`` is ``default`` or ``operator``); records the decision even
        when ``permissions`` is empty."""
        with self._desired_write(plugin) as conn:
            have = {p for (p,) in conn.execute(
                sa.select(plugin_grants.c.permission).where(plugin_grants.c.plugin == plugin))}
            for permission in sorted(set(permissions) - have):
                _insert_new(conn, plugin_grants, plugin=plugin, permission=permission,
                            granted_by=by)
            _decided(conn, plugin, by)

    def revoke(self, plugin: str, permissions: Iterable[str]) -> None:
        """Remove grants (an operator decision: defaults are not granted again)."""
        with self._desired_write(plugin) as conn:
            conn.execute(sa.delete(plugin_grants).where(
                plugin_grants.c.plugin == plugin,
                plugin_grants.c.permission.in_(list(permissions))))
            _decided(conn, plugin, "operator")

    # --- settings --------------------------------------------------------------------

    def settings(self, plugin: str) -> dict[str, Any] | None:
        """The stored settings of ``plugin`` with their secrets unsealed (clear: for the
        host and the plugin only), or None when never stored."""
        raw = self.sealed_settings(plugin)
        return None if raw is None else dict(self.box.unseal_tree(raw))

    def sealed_settings(self, plugin: str) -> dict[str, Any] | None:
        """The stored settings of ``plugin`` as the database holds them (secrets sealed,
        or clear when stored by a host from before sealing)."""
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(plugin_settings.c.settings)
                               .where(plugin_settings.c.plugin == plugin)).first()
            return None if row is None else dict(row[0])

    def put_settings(self, plugin: str, settings: dict[str, Any],
                     schema: Mapping[str, Any] | None = None) -> None:
        """Replace the settings of ``plugin`` in one transaction; the values ``schema``
        marks secret (:func:`~plexichat.settings.is_secret`, at any depth) are sealed."""
        stored = map_secrets(schema, settings, self.box.seal) if schema else settings
        sealed_clear = bool(schema) and self.needs_sealing(plugin, schema or {})
        with self._desired_write(plugin) as conn:
            _upsert(conn, plugin_settings, plugin=plugin, settings=stored)
        if sealed_clear:  # clear secrets of an older host: leave no copy in the file
            self.db.checkpoint()

    def needs_sealing(self, plugin: str, schema: Mapping[str, Any]) -> bool:
        """True when a secret of ``plugin``'s stored settings is held in clear (stored by
        a host from before sealing): storing the settings again seals it."""
        raw = self.sealed_settings(plugin)
        if raw is None:
            return False
        clear: list[Any] = []
        map_secrets(schema, raw, lambda v: clear.append(v) if not self.box.is_sealed(v)
                    else None)
        return bool(clear)

    # --- key-value -------------------------------------------------------------------

    def kv_get(self, plugin: str, key: str, default: Any = None) -> Any:
        """One value of the plugin's KV store."""
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(plugin_kv.c.value).where(
                plugin_kv.c.plugin == plugin, plugin_kv.c.key == key)).first()
            return default if row is None else row[0]

    def kv_set(self, plugin: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key``."""
        with self.db.engine.begin() as conn:
            _upsert(conn, plugin_kv, plugin=plugin, key=key, value=value)

    def kv_delete(self, plugin: str, key: str) -> bool:
        """Remove ``key``; True when it existed."""
        with self.db.engine.begin() as conn:
            result = conn.execute(sa.delete(plugin_kv).where(
                plugin_kv.c.plugin == plugin, plugin_kv.c.key == key))
            return bool(result.rowcount)

    def kv_keys(self, plugin: str, prefix: str = "") -> list[str]:
        """Keys of the plugin's store, sorted, optionally starting with ``prefix``."""
        query = sa.select(plugin_kv.c.key).where(plugin_kv.c.plugin == plugin)
        with self.db.engine.connect() as conn:
            keys = [k for (k,) in conn.execute(query.order_by(plugin_kv.c.key))]
        return [k for k in keys if k.startswith(prefix)]

    # --- host values -----------------------------------------------------------------

    def host_value(self, key: str) -> str | None:
        """A host-level value (e.g. the admin token hash)."""
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(host_secrets.c.value)
                               .where(host_secrets.c.key == key)).first()
            return None if row is None else str(row[0])

    def set_host_value(self, key: str, value: str) -> None:
        """Store a host-level value."""
        with self.db.engine.begin() as conn:
            _upsert(conn, host_secrets, key=key, value=value)


def _decided(conn: sa.Connection, plugin: str, by: str) -> None:
    """Remember that the grants of ``plugin`` were decided."""
    _insert_new(conn, plugin_grant_decisions, plugin=plugin, decided_by=by)
