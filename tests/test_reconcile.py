"""Desired state, reconciled: the store says what should run, ``reconcile`` makes it so.

The operator's decisions (enabled or disabled, settings) live in the host's store. A
change written there by another process (a replica, the CLI) reaches this host with one
call, ``await host.reconcile()``; reconciling when nothing changed changes nothing.
"""

from __future__ import annotations

import sys

import pytest
from support.api import TOKEN, detail, post, state_of
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, running_host

from plexichat.kernel.lifecycle import PluginNotFound
from plexichat.kernel.states import PluginStateChanged

TOGGLE = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    STARTS = []
    CHANGES = []
    router = APIRouter()

    @router.get("/api/v1/toggle")
    def toggle():
        return {"ok": True}

    @hookimpl
    def startup():
        STARTS.append(1)

    @hookimpl
    def config_changed(old, new):
        CHANGES.append((dict(old), dict(new)))
        if new.get("greeting") == "refuse":
            raise ValueError("greeting 'refuse' is not acceptable")

    @hookimpl
    def register_routers():
        return router
"""

MANIFEST = {
    "name": "toggle",
    "settings_schema": {
        "type": "object",
        "properties": {"greeting": {"type": "string", "default": "hi"}},
    },
}


@pytest.fixture
def toggle(site):
    make_healthy(site)
    make_plugin(site, "toggle", code=TOGGLE, manifest=MANIFEST)


def host(tmp_path):
    return running_host(tmp_path / "data", "toggle", "healthy", admin_token=TOKEN)


def reconcile(client, name=None):
    """``await host.reconcile(name)`` on the host's event loop."""
    return client.portal.call(client.app.state.host.reconcile, name)


def events_of(client):
    """Every PluginStateChanged published from now on."""
    seen: list[PluginStateChanged] = []
    client.app.state.host.bus.subscribe(PluginStateChanged, seen.append)
    return seen


def plugin_module():
    return sys.modules["plx_toggle"]


def test_a_plugin_disabled_in_the_store_stops_on_reconcile(toggle, tmp_path):
    with host(tmp_path) as client:
        client.app.state.host.store.set_enabled("toggle", False, "operator")
        assert client.get("/api/v1/toggle").status_code == 200  # not before reconcile
        assert reconcile(client) == ["toggle"]
        summary = detail(client, "toggle")
        assert (summary["state"], summary["reason"]) == ("disabled", "disabled by the operator")
        assert client.get("/api/v1/toggle").status_code == 404
        assert_host_serves(client)


def test_a_plugin_enabled_in_the_store_starts_on_reconcile(toggle, tmp_path):
    with host(tmp_path) as client:
        assert post(client, "/api/v1/plugins/toggle/disable").status_code == 200
        client.app.state.host.store.set_enabled("toggle", True, "operator")
        assert reconcile(client) == ["toggle"]
        assert state_of(client, "toggle") == "started"
        assert client.get("/api/v1/toggle").json() == {"ok": True}


def test_reconciling_twice_publishes_nothing_the_second_time(toggle, tmp_path):
    with host(tmp_path) as client:
        client.app.state.host.store.set_enabled("toggle", False, "operator")
        assert reconcile(client) == ["toggle"]
        seen = events_of(client)
        assert reconcile(client) == []
        assert seen == []
        assert state_of(client, "toggle") == "disabled"


def test_reconciling_a_host_that_matches_restarts_nothing(toggle, tmp_path):
    with host(tmp_path) as client:
        record = client.app.state.host.records["toggle"]
        obj, changed_at = record.obj, record.changed_at
        seen = events_of(client)
        assert reconcile(client) == []
        assert reconcile(client, "toggle") == []
        assert seen == []
        assert plugin_module().STARTS == [1]
        assert (record.obj, record.changed_at) == (obj, changed_at)
        assert client.get("/api/v1/toggle").status_code == 200


def test_enable_writes_the_desire_and_leaves_nothing_to_reconcile(toggle, tmp_path):
    with host(tmp_path) as client:
        assert post(client, "/api/v1/plugins/toggle/disable").status_code == 200
        assert post(client, "/api/v1/plugins/toggle/enable").status_code == 200
        assert client.app.state.host.store.enabled_states()["toggle"] is True
        seen = events_of(client)
        assert reconcile(client) == []
        assert seen == []


def test_settings_changed_in_the_store_reach_the_running_plugin(toggle, tmp_path):
    with host(tmp_path) as client:
        client.app.state.host.store.put_settings("toggle", {"greeting": "hello"})
        assert reconcile(client) == ["toggle"]
        assert plugin_module().CHANGES == [({"greeting": "hi"}, {"greeting": "hello"})]
        assert client.app.state.host.current_settings("toggle") == {"greeting": "hello"}
        assert reconcile(client) == []
        assert len(plugin_module().CHANGES) == 1


def test_settings_the_plugin_refuses_are_rolled_back_on_reconcile(toggle, tmp_path):
    with host(tmp_path) as client:
        host_ = client.app.state.host
        host_.store.put_settings("toggle", {"greeting": "refuse"})
        reconcile(client)
        assert host_.current_settings("toggle") == {"greeting": "hi"}
        assert state_of(client, "toggle") == "started"
        assert reconcile(client) == []


def test_reconciling_an_unknown_plugin_raises_plugin_not_found(toggle, tmp_path):
    with host(tmp_path) as client, pytest.raises(PluginNotFound):
        reconcile(client, "nope")


def test_permissions_granted_in_the_store_reach_the_running_plugin(toggle, tmp_path):
    with host(tmp_path) as client:
        host_ = client.app.state.host
        context = host_.records["toggle"].context
        assert "ai:use" not in context.granted
        host_.store.grant("toggle", ["ai:use"], by="operator")
        assert reconcile(client) == ["toggle"]
        assert "ai:use" in context.granted
        assert reconcile(client) == []
