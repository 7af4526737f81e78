"""The ``shutdown`` event: a plugin's handlers hear it when the host stops and when the
operator disables that plugin, and a handler cannot stop the host from stopping."""

from __future__ import annotations

from support.api import TOKEN, post
from support.dists import make_plugin
from support.host import running_host


def listener(log, *, refuse=False):
    """Plugin code that notes each ``shutdown`` event it hears in ``log``."""
    return f"""
        from plexichat import hookimpl
        from plexichat.contributions import EventHandler
        from plexichat.services.events import EventRejected

        def heard(context):
            def note():
                with open({str(log)!r}, "a") as fh:
                    fh.write(context.plugin_name + "\\n")
            return note

        def refuse():
            raise EventRejected("no")

        @hookimpl
        def register_event_handlers(context):
            handlers = [EventHandler("shutdown", heard(context))]
            if {refuse!r}:
                handlers.append(EventHandler("shutdown", refuse, "pre"))
            return handlers

        @hookimpl
        def shutdown(context):
            with open({str(log)!r}, "a") as fh:
                fh.write("stopped " + context.plugin_name + "\\n")
    """


def lines(log):
    return log.read_text().splitlines() if log.exists() else []


def test_shutdown_event_reaches_every_plugin_before_they_stop(site, tmp_path):
    log = tmp_path / "log"
    make_plugin(site, "one", code=listener(log))
    make_plugin(site, "two", code=listener(log))
    with running_host(tmp_path / "data", "one", "two"):
        assert lines(log) == []
    heard, stopped = lines(log)[:2], lines(log)[2:]
    assert sorted(heard) == ["one", "two"]
    assert sorted(stopped) == ["stopped one", "stopped two"]


def test_disabling_a_plugin_sends_the_shutdown_event_to_it_alone(site, tmp_path):
    log = tmp_path / "log"
    make_plugin(site, "one", code=listener(log))
    make_plugin(site, "two", code=listener(log))
    with running_host(tmp_path / "data", "one", "two", admin_token=TOKEN) as client:
        assert post(client, "/api/v1/plugins/one/disable").json()["state"] == "disabled"
        assert lines(log) == ["one", "stopped one"]


def test_a_refusing_shutdown_handler_does_not_stop_the_shutdown(site, tmp_path):
    log = tmp_path / "log"
    make_plugin(site, "stubborn", code=listener(log, refuse=True))
    with running_host(tmp_path / "data", "stubborn", admin_token=TOKEN) as client:
        assert post(client, "/api/v1/plugins/stubborn/disable").json()["state"] == "disabled"
    assert lines(log) == ["stopped stubborn"]
