"""The plugin state machine: one enum, a declared transition table, one transition
method, a ``PluginStateChanged`` event for every change, and a style for every state."""

from __future__ import annotations

import logging
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.api import TOKEN, post
from support.host import make_healthy, wait_ready

from plexichat.config import HostSettings
from plexichat.host import PluginHost
from plexichat.host import PluginState as ReExported
from plexichat.kernel.bus import Bus
from plexichat.kernel.discovery import PluginCandidate
from plexichat.kernel.lifecycle import PluginRecord
from plexichat.kernel.states import (
    STATE_STYLE,
    STOP_STATES,
    TRANSITIONS,
    IllegalTransition,
    PluginState,
    PluginStateChanged,
)
from plexichat.web import create_app

ALL_STATES = list(PluginState)
LEGAL = [(old, new) for old, targets in TRANSITIONS.items() for new in sorted(targets)]
ILLEGAL = [(old, new) for old in PluginState for new in PluginState
           if new is not old and new not in TRANSITIONS[old]]


def record_in(state: PluginState, bus: Bus | None = None) -> PluginRecord:
    candidate = PluginCandidate(name="demo", distribution="plexichat-demo",
                                distribution_version="1.0", entry_point="demo:plugin")
    return PluginRecord(candidate, state, bus=bus)


def collect(bus: Bus) -> list[PluginStateChanged]:
    seen: list[PluginStateChanged] = []
    bus.subscribe(PluginStateChanged, seen.append)
    return seen


def test_the_enum_is_still_importable_from_the_host():
    assert ReExported is PluginState


def test_every_state_has_a_row_in_the_table():
    assert set(TRANSITIONS) == set(PluginState)


@pytest.mark.parametrize(("old", "new"), LEGAL, ids=lambda s: s.value)
def test_each_legal_transition_moves_records_and_publishes(old, new):
    bus = Bus()
    seen = collect(bus)
    record = record_in(old, bus)
    record.transition(new, "because")
    assert (record.state, record.reason) == (new, "because")
    assert len(seen) == 1
    event = seen[0]
    assert (event.plugin, event.old, event.new, event.reason) == ("demo", old, new, "because")
    assert isinstance(event.at, datetime) and event.at == record.changed_at


@pytest.mark.parametrize(("old", "new"), ILLEGAL, ids=lambda s: s.value)
def test_an_illegal_transition_raises_and_changes_nothing(old, new):
    bus = Bus()
    seen = collect(bus)
    record = record_in(old, bus)
    with pytest.raises(IllegalTransition, match=rf"'demo'.*from {old.value} to {new.value}"):
        record.transition(new, "nope")
    assert record.state is old and seen == []


def test_started_cannot_go_back_to_loaded():
    with pytest.raises(IllegalTransition, match="cannot go from started to loaded"):
        record_in(PluginState.STARTED).transition(PluginState.LOADED)


def test_staying_in_a_state_replaces_the_reason_without_an_event():
    bus = Bus()
    seen = collect(bus)
    record = record_in(PluginState.DISABLED, bus)
    record.transition(PluginState.DISABLED, "disabled by the operator")
    assert record.reason == "disabled by the operator" and seen == []


def test_a_raising_subscriber_is_logged_and_the_others_still_run(caplog):
    bus = Bus()

    def broken(event: PluginStateChanged) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(PluginStateChanged, broken)
    seen = collect(bus)
    record = record_in(PluginState.AVAILABLE, bus)
    with caplog.at_level(logging.ERROR, logger="plexichat.kernel.bus"):
        record.transition(PluginState.LOADED)
    assert record.state is PluginState.LOADED
    assert [e.new for e in seen] == [PluginState.LOADED]
    assert "subscriber bug" in caplog.text


def test_subscribers_run_in_order_and_can_unsubscribe():
    bus = Bus()
    calls: list[str] = []
    bus.subscribe(PluginStateChanged, lambda e: calls.append("first"))
    stop = bus.subscribe(PluginStateChanged, lambda e: calls.append("second"))
    bus.subscribe(str, lambda e: calls.append("not me"))
    record = record_in(PluginState.AVAILABLE, bus)
    record.transition(PluginState.LOADED)
    stop()
    record.transition(PluginState.STARTED)
    assert calls == ["first", "second", "first"]


@pytest.mark.parametrize("state", [s for s in PluginState if s not in STOP_STATES],
                         ids=lambda s: s.value)
def test_stop_plugin_refuses_a_state_a_stop_cannot_end_in(state, tmp_path):
    import asyncio

    host = PluginHost(HostSettings(data_dir=tmp_path / "data"))
    with pytest.raises(ValueError, match=f"a stop cannot end in .*{state.value}"):
        asyncio.run(host.stop_plugin("anything", state=state))


# --- the running host ----------------------------------------------------------------


def test_the_host_publishes_start_disable_enable_and_stop(site, tmp_path):
    make_healthy(site)
    app = create_app(HostSettings(data_dir=tmp_path / "data", load_plugins="healthy",
                                  admin_token=TOKEN))
    host: PluginHost = app.state.host
    seen = collect(host.bus)
    with TestClient(app) as client:
        wait_ready(client)
        assert post(client, "/api/v1/plugins/healthy/disable").status_code == 200
        assert post(client, "/api/v1/plugins/healthy/enable").status_code == 200
    moves = [(e.plugin, e.old.value, e.new.value) for e in seen]
    assert moves == [
        ("healthy", "available", "loaded"),
        ("healthy", "loaded", "started"),
        ("healthy", "started", "disabled"),
        ("healthy", "disabled", "available"),
        ("healthy", "available", "loaded"),
        ("healthy", "loaded", "started"),
        ("healthy", "started", "stopped"),
    ]
    assert seen[2].reason == "disabled by the operator"


def test_a_failing_plugin_is_published_as_failed(site, tmp_path):
    from support.dists import make_plugin

    make_plugin(site, "broken", code="raise ImportError('no such thing')\n")
    app = create_app(HostSettings(data_dir=tmp_path / "data", load_plugins="broken"))
    seen = collect(app.state.host.bus)
    with TestClient(app) as client:
        wait_ready(client)
    assert [(e.old.value, e.new.value) for e in seen] == [("available", "failed")]
    assert "no such thing" in seen[0].reason


# --- how each state is shown ---------------------------------------------------------

CSS = Path(__file__).parents[1] / "src/plexichat/web/static/plexichat.css"


@pytest.mark.parametrize("state", ALL_STATES, ids=lambda s: s.value)
def test_every_state_has_a_label_css_class_and_cli_colour(state):
    from rich.color import Color

    style = STATE_STYLE[state]
    assert style.label
    Color.parse(style.colour)  # a colour rich knows
    classes = set(re.findall(r"\.(plx-state-[a-z-]+)", CSS.read_text()))
    assert style.css_class in classes, f"{CSS} has no .{style.css_class} rule"


def test_the_cli_colours_states_from_the_style_table():
    from plexichat.cli.views import _state

    for state, style in STATE_STYLE.items():
        assert _state(state.value) == f"[{style.colour}]{style.label}[/]"


def test_a_rescan_publishes_rejected_available_started_and_back(site, tmp_path):
    from support.dists import make_plugin
    from support.host import healthy_code

    app = create_app(HostSettings(data_dir=tmp_path / "data", load_plugins="needy,provider",
                                  admin_token=TOKEN))
    seen = collect(app.state.host.bus)
    with TestClient(app) as client:
        wait_ready(client)
        make_plugin(site, "needy", code=healthy_code("/api/v1/needy", "needy"),
                    manifest={"name": "needy", "dependencies": ["provider>=1.0"]})
        post(client, "/api/v1/plugins/rescan")  # born rejected: no event, nothing moved
        assert seen == []
        make_plugin(site, "provider", code=healthy_code("/api/v1/provider", "provider"))
        post(client, "/api/v1/plugins/rescan")
        shutil.rmtree(site / "plx_provider")  # what pip uninstall does
        for info in site.glob("plx_provider-*.dist-info"):
            shutil.rmtree(info)
        post(client, "/api/v1/plugins/rescan")
    needy = [(e.old.value, e.new.value, e.reason) for e in seen if e.plugin == "needy"]
    missing = "requires 'provider', which is not installed"
    assert needy == [
        ("rejected", "available", ""),
        ("available", "loaded", "imported and registered"),
        ("loaded", "started", ""),
        ("started", "rejected", missing),
    ]
