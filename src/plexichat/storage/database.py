"""Engine and core tables of the host database (SQLAlchemy 2 Core)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["Database", "default_url", "metadata"]

metadata = sa.MetaData()

plugin_state = sa.Table(
    "plexichat_plugin_state",
    metadata,
    sa.Column("plugin", sa.String(200), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
)
"""The operator's enable/disable decision per plugin."""

plugin_grants = sa.Table(
    "plexichat_plugin_grants",
    metadata,
    sa.Column("plugin", sa.String(200), primary_key=True),
    sa.Column("permission", sa.String(100), primary_key=True),
    sa.Column("granted_by", sa.String(20), nullable=False),  # "default" or "operator"
)
"""Permissions granted to each plugin."""

plugin_grant_decisions = sa.Table(
    "plexichat_plugin_grant_decisions",
    metadata,
    sa.Column("plugin", sa.String(200), primary_key=True),
    sa.Column("decided_by", sa.String(20), nullable=False),  # "default" or "operator"
)
"""Plugins whose grants were decided, even to nothing: defaults are granted only once."""

plugin_settings = sa.Table(
    "plexichat_plugin_settings",
    metadata,
    sa.Column("plugin", sa.String(200), primary_key=True),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
)
"""Each plugin's validated settings."""

plugin_kv = sa.Table(
    "plexichat_plugin_kv",
    metadata,
    sa.Column("plugin", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(500), primary_key=True),
    sa.Column("value", sa.JSON, nullable=True),
)
"""Each plugin's private key-value store."""

webhook_events = sa.Table(
    "plexichat_webhook_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event", sa.String(200), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
)
"""Webhook events emitted by the core and by plugins, kept durably for delivery."""

webhook_subscriptions = sa.Table(
    "plexichat_webhook_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
    sa.Column("state", sa.String(20), nullable=False, server_default="active"),
    sa.Column("disabled_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("previous_secret", sa.Text, nullable=True),
    sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
)
"""Operators' outgoing webhook subscriptions: target URL, signing secret (sealed), event
names, ``active`` or ``disabled`` (with the reason), and the previous secret that keeps
signing until ``previous_secret_until`` after a rotation."""

webhook_deliveries = sa.Table(
    "plexichat_webhook_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer,
              sa.ForeignKey("plexichat_webhook_events.id", ondelete="CASCADE"), nullable=False),
    sa.Column("subscription_id", sa.Integer,
              sa.ForeignKey("plexichat_webhook_subscriptions.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(20), nullable=False),  # pending, delivered, failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("response_code", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("event_id", "subscription_id"),
    sa.Index("ix_plexichat_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_plexichat_webhook_deliveries_subscription", "subscription_id", "id"),
)
"""The outbox: one row per (event, subscription), retried until delivered or failed."""

desired_generation = sa.Table(
    "plexichat_desired_generation",
    metadata,
    sa.Column("plugin", sa.String(200), primary_key=True),
    sa.Column("generation", sa.BigInteger, nullable=False),
)
"""The generation of the desired state: the row of ``""`` counts every change, and each
plugin's row holds the count at its last change (what compare-and-set compares)."""

replica_heartbeats = sa.Table(
    "plexichat_replica_heartbeats",
    metadata,
    sa.Column("replica_id", sa.String(64), primary_key=True),
    sa.Column("host_version", sa.String(100), nullable=False),
    sa.Column("url", sa.String(500), nullable=False, server_default=""),
    sa.Column("plugins", sa.JSON, nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("ready", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
)
"""One row per running replica of a cluster, refreshed every few seconds."""

host_secrets = sa.Table(
    "plexichat_host",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
"""Host-level values such as the admin token's hash."""


audit_log = sa.Table(
    "plexichat_audit",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor_kind", sa.String(20), nullable=False),
    sa.Column("actor_id", sa.String(200), nullable=False),
    sa.Column("source", sa.String(100), nullable=False, server_default=""),
    sa.Column("replica", sa.String(64), nullable=False, server_default=""),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("plugin", sa.String(200), nullable=True),
    sa.Column("target", sa.String(500), nullable=False, server_default=""),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_plexichat_audit_at", "at"),
    sa.Index("ix_plexichat_audit_action", "action", "id"),
    sa.Index("ix_plexichat_audit_plugin", "plugin", "id"),
)
"""The audit trail (:mod:`plexichat.audit`): rows are only inserted; the retention job
alone deletes old ones."""


def default_url(data_dir: Path) -> str:
    """The embedded default: an SQLite file in the data directory."""
    return f"sqlite:///{(Path(data_dir) / 'plexichat.db').resolve()}"


_SCHEMA_LOCK = 0x706C7863  # "plxc": the advisory lock key of schema changes


class Database:
    """One engine plus the core tables, created on first use."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "normal") -> None:
        """``sqlite_synchronous`` is SQLite's ``synchronous`` pragma (``normal`` or
        ``full``; see ``PLEXICHAT_SQLITE_SYNCHRONOUS``), ignored for other databases."""
        if sqlite_synchronous not in ("normal", "full"):
            raise ValueError(f"sqlite_synchronous must be 'normal' or 'full', "
                             f"not {sqlite_synchronous!r}")
        self.url = url
        kwargs: dict[str, object] = {"future": True}
        if url.startswith("sqlite"):
            Path(url.split("///", 1)[-1]).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = sa.create_engine(url, **kwargs)  # type: ignore[arg-type]
        if url.startswith("sqlite"):
            pragmas = functools.partial(_sqlite_pragmas, synchronous=sqlite_synchronous)
            sa.event.listen(self.engine, "connect", pragmas)
        self.create_tables(metadata)

    def create_tables(self, tables_of: sa.MetaData,
                      tables: Sequence[sa.Table] | None = None) -> None:
        """Create the missing ``tables`` of ``tables_of`` (all of them by default).

        Replicas sharing one PostgreSQL database start together: there the check and the
        creation run under a transaction-scoped advisory lock, one replica at a time,
        so two never race to create the same table (or its types).
        """
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": _SCHEMA_LOCK})
            tables_of.create_all(conn, tables=tables, checkfirst=True)

    def add_missing_columns(self, table: sa.Table) -> list[str]:
        """Bring ``table`` of an older database up to date: add the columns it lacks
        (each nullable or with a server default); returns their names."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": _SCHEMA_LOCK})
            have = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
            added = []
            for column in table.columns:
                if column.name in have:
                    continue
                ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
                added.append(column.name)
            return added

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file now (and empty it), so
        pages just rewritten — e.g. secrets sealed in place of clear ones — replace the
        old ones in the file at once rather than at some later checkpoint. Best effort;
        other databases: nothing to do."""
        if self.dialect != "sqlite":
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql`` (or whatever the URL names)."""
        return self.engine.dialect.name

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record, *,  # type: ignore[no-untyped-def]
                    synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # normal: a commit survives a killed process; full: a power loss too
    # (PLEXICHAT_SQLITE_SYNCHRONOUS, docs/RELIABILITY.md)
    cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # deleted and overwritten content is zeroed, not left in free space: a secret sealed
    # on start (stored in clear by an older host) leaves no clear copy behind
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
