"""The host database: state, grants, settings and KV, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.databases import BACKENDS, database_url

from plexichat.context import PermissionDenied, PluginContext
from plexichat.services.db import PluginDB
from plexichat.services.kv import PluginKV
from plexichat.storage import Database, HostStore


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        db = Database(url)
        try:
            yield HostStore(db)
        finally:
            db.dispose()


def test_enabled_state_round_trips(store):
    store.set_enabled("a", False, "operator")
    store.set_enabled("b", True)
    store.set_enabled("a", True)
    assert store.enabled_states() == {"a": True, "b": True}


def test_grants_add_and_revoke(store):
    assert not store.has_grant_record("p")
    store.grant("p", ["db:read", "ai:use"], by="default")
    store.grant("p", ["ai:use", "events:emit"], by="operator")
    assert store.grants("p") == {"db:read", "ai:use", "events:emit"}
    store.revoke("p", ["ai:use"])
    assert store.grants("p") == {"db:read", "events:emit"}
    assert store.has_grant_record("p")


def test_settings_replace_whole_document(store):
    assert store.settings("p") is None
    store.put_settings("p", {"enabled": True, "words": ["a", "b"]})
    store.put_settings("p", {"enabled": False})
    assert store.settings("p") == {"enabled": False}


def test_kv_values_are_json_and_per_plugin(store):
    kv_a, kv_b = PluginKV(store, "a"), PluginKV(store, "b")
    kv_a.set("count", 3)
    kv_a.set("nested", {"x": [1, 2]})
    kv_b.set("count", 9)
    assert kv_a.get("count") == 3
    assert kv_a.get("nested") == {"x": [1, 2]}
    assert kv_a.get("missing", "dflt") == "dflt"
    assert kv_a.keys() == ["count", "nested"]
    assert kv_a.delete("count") is True
    assert kv_a.delete("count") is False
    assert kv_b.get("count") == 9


def test_kv_refuses_values_that_are_not_json(store):
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        PluginKV(store, "a").set("bad", object())


def test_plugin_tables_are_namespaced_and_gated(store):
    granted = PluginContext("notes", granted={"db:read", "db:write"},
                            services=_services(store))
    table = granted.db.table("entries", sa.Column("id", sa.Integer, primary_key=True),
                             sa.Column("text", sa.String(50)))
    assert table.name == "notes_entries"
    table.metadata.create_all(store.db.engine)
    with granted.db.begin() as conn:
        conn.execute(table.insert().values(id=1, text="hi"))
    with granted.db.connect() as conn:
        assert conn.execute(sa.select(table.c.text)).scalar_one() == "hi"

    read_only = PluginDB(store.db, "notes", PluginContext(
        "notes", granted={"db:read"}, services=_services(store)).require)
    with pytest.raises(PermissionDenied, match="db:write"):
        read_only.begin()


def _services(store):
    from plexichat.context import HostServices

    return HostServices(store=store, database=store.db)


def test_webhook_events_are_refused_unless_declared(store):
    from plexichat.services.webhooks import UndeclaredWebhookEvent, WebhookEvents

    events = WebhookEvents(store.db)
    emitter = events.for_plugin("awesome", ["awesome.event.triggered"])
    emitted = emitter.emit("awesome.event.triggered", {"n": 1})
    with pytest.raises(UndeclaredWebhookEvent, match="does not declare"):
        emitter.emit("awesome.other", {})
    (row,) = events.recent()
    assert (row["id"], row["event"], row["source"], row["payload"]) == (
        emitted, "awesome.event.triggered", "awesome", {"n": 1})


def test_granting_nothing_is_a_recorded_decision(store):
    store.grant("p", [], by="default")
    assert store.has_grant_record("p")
    assert store.grants("p") == set()


def test_revoking_every_grant_keeps_the_decision(store):
    store.grant("p", ["db:read"], by="default")
    store.revoke("p", ["db:read"])
    assert store.grants("p") == set()
    assert store.has_grant_record("p")


@pytest.mark.parametrize(("wanted", "pragma"), [("normal", 1), ("full", 2)])
def test_sqlite_commits_wait_for_the_disk_as_configured(tmp_path, wanted, pragma):
    db = Database(f"sqlite:///{tmp_path / 'host.db'}", sqlite_synchronous=wanted)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == pragma
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        db.dispose()


def test_the_host_database_takes_the_operators_sqlite_synchronous(tmp_path, monkeypatch):
    from plexichat.host import PluginHost

    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLEXICHAT_SQLITE_SYNCHRONOUS", "full")
    from plexichat.config import HostSettings

    host = PluginHost(HostSettings())
    try:
        with host.database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        host.database.dispose()


def test_an_unknown_sqlite_synchronous_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'normal' or 'full'"):
        Database(f"sqlite:///{tmp_path / 'host.db'}", sqlite_synchronous="off")
