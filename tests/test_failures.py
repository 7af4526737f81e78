"""Every failure of plugin code is kept with its traceback, the last 20 per plugin."""

from __future__ import annotations

import asyncio
import logging

import pluggy
from support.api import detail
from support.dists import make_plugin
from support.host import make_healthy, running_host

from plexichat.contributions import BackgroundTask
from plexichat.kernel.dispatch import Dispatcher
from plexichat.kernel.failures import FailureLog, PluginFailure
from plexichat.markers import PROJECT_NAME
from plexichat.tasks import TaskSupervisor


def failure(plugin, n):
    return PluginFailure(plugin, "startup", "RuntimeError", f"#{n}", "Traceback ...", float(n))


def test_the_log_keeps_the_last_twenty_of_each_plugin():
    log = FailureLog()
    for n in range(25):
        log.add(failure("noisy", n))
    log.add(failure("quiet", 0))
    assert [f.message for f in log.of("noisy")] == [f"#{n}" for n in range(5, 25)]
    assert [f.message for f in log.of("quiet")] == ["#0"]
    assert log.of("unknown") == []
    assert log[-1].plugin == "quiet" and len(log) == 26


def test_a_failure_record_names_type_message_and_raising_function():
    def parse_the_config():
        raise ValueError("no such key")

    try:
        parse_the_config()
    except ValueError as exc:
        record = PluginFailure.from_exception("p", "settings", exc)
    assert (record.plugin, record.hook, record.exception_type, record.message) == (
        "p", "settings", "ValueError", "no such key")
    assert record.error == "ValueError: no such key"
    assert ", in parse_the_config\n" in record.traceback
    assert record.as_dict()["error"] == "ValueError: no such key"


def test_a_crashing_task_is_kept_and_logged_with_its_traceback(caplog):
    dispatcher = Dispatcher(pluggy.PluginManager(PROJECT_NAME))

    async def deliver_reminders():
        raise ConnectionError("mail server down")

    async def scenario():
        tasks = TaskSupervisor(on_crash=dispatcher.record_failure, backoff_base=10)
        tasks.start("reminders", BackgroundTask("deliver", deliver_reminders), {})
        await asyncio.sleep(0.05)
        await tasks.stop_all()

    with caplog.at_level(logging.WARNING, logger="plexichat"):
        asyncio.run(scenario())
    [kept] = dispatcher.failures.of("reminders")
    assert (kept.hook, kept.error) == ("task:deliver", "ConnectionError: mail server down")
    assert ", in deliver_reminders\n" in kept.traceback
    [logged] = [r for r in caplog.records if r.name == "plexichat.kernel.dispatch"]
    assert logged.exc_info is not None and logged.exc_info[1] is not None
    assert getattr(logged, "plugin", None) == "reminders"
    assert "mail server down" in logged.getMessage()


def test_an_import_failure_is_in_the_api_with_its_traceback(site, tmp_path):
    make_healthy(site)
    make_plugin(site, "unimportable", code="""
        def load_the_driver():
            import plx_this_driver_is_not_installed

        load_the_driver()
    """)
    with running_host(tmp_path / "data", "healthy", "unimportable") as client:
        info = detail(client, "unimportable")
    assert info["state"] == "failed"
    [kept] = info["failures"]
    assert (kept["hook"], kept["exception_type"]) == ("import", "ModuleNotFoundError")
    assert ", in load_the_driver\n" in kept["traceback"]
    assert "plx_this_driver_is_not_installed" in kept["message"]


def test_a_plugin_exiting_at_import_keeps_the_traceback_of_its_exit(site, tmp_path):
    make_healthy(site)
    make_plugin(site, "quitter", code="""
        import sys

        def read_configuration():
            sys.exit("configuration missing")

        read_configuration()
    """)
    with running_host(tmp_path / "data", "healthy", "quitter") as client:
        info = detail(client, "quitter")
    assert info["reason"] == "import failed: SystemExit: configuration missing"
    [kept] = info["failures"]
    assert (kept["hook"], kept["exception_type"]) == ("import", "PluginExit")
    assert ", in read_configuration\n" in kept["traceback"]
