"""The register_* extension points in a running host: event handlers, background tasks
and plugin tables.

Each fixture plugin is a module-style ``@hookimpl`` plugin installed as a real
distribution. Table tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from support.api import TOKEN, detail, eventually, post, put_settings, state_of
from support.databases import BACKENDS, database_url
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, running_host, wait_ready

from plexichat.config import HostSettings
from plexichat.web import create_app


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


def host(data_dir, *plugins, **settings):
    return running_host(data_dir, *plugins, admin_token=TOKEN, **settings)


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


# --- event handlers --------------------------------------------------------------------

LISTENER = """
    from plexichat import hookimpl
    from plexichat.contributions import EventHandler

    LOG = {log!r}

    def note(text):
        with open(LOG, "a") as fh:
            fh.write(text + "\\n")

    @hookimpl
    def startup(context):
        note(f"startup hook {{context.plugin_name}}")

    @hookimpl
    def register_event_handlers(context):
        me = context.plugin_name
        return [
            EventHandler("startup", lambda: note(f"startup event {{me}}")),
            EventHandler("shutdown", lambda: note(f"shutdown event {{me}}")),
            EventHandler("plugin.disabled", lambda name: note(f"{{me}} saw disabled {{name}}")),
            EventHandler("plugin.enabled", lambda name: note(f"{{me}} saw enabled {{name}}")),
            EventHandler("config.changed",
                         lambda plugin, old, new: note(
                             f"{{me}} saw config {{plugin}} {{old.get('n')}}->{{new.get('n')}}")),
            EventHandler("custom", lambda value: note(f"{{me}} pre custom {{value}}"), "pre"),
            EventHandler("custom", lambda value: note(f"{{me}} post custom {{value}}")),
        ]
"""

EMITTER = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    @hookimpl
    def config_schema():
        return {"properties": {"n": {"type": "integer", "default": 0},
                               "token": {"type": "string", "writeOnly": True}}}

    @hookimpl
    def register_routers(context):
        router = APIRouter()

        @router.post("/api/v1/emit/{value}")
        async def emit(value: str):
            await context.events.emit("custom", value=value)
            return {"emitted": value}

        return router
"""


@pytest.fixture
def listeners(site, tmp_path):
    log = tmp_path / "events.log"
    make_plugin(site, "first", code=LISTENER.format(log=str(log)))
    make_plugin(site, "second", code=LISTENER.format(log=str(log)),
                manifest={"name": "second", "type": "feature", "dependencies": ["first"]})
    make_plugin(site, "emitter", code=EMITTER,
                manifest={"name": "emitter", "type": "feature",
                          "permissions": ["events:emit"]})
    return log


def test_startup_event_handlers_run_after_every_plugin_started(listeners, data_dir):
    with host(data_dir, "first", "second"):
        pass
    log = lines(listeners)
    assert log[:2] == ["startup hook first", "startup hook second"]
    assert sorted(log[2:4]) == ["startup event first", "startup event second"]


def test_startup_event_runs_once_per_plugin(listeners, data_dir):
    with host(data_dir, "first", "second"):
        pass
    assert lines(listeners).count("startup event first") == 1


def test_shutdown_event_handlers_run_when_the_host_stops(listeners, data_dir):
    with host(data_dir, "first", "second"):
        assert not [line for line in lines(listeners) if "shutdown" in line]
    assert sorted(line for line in lines(listeners) if "shutdown" in line) == [
        "shutdown event first", "shutdown event second"]


def test_disabling_a_plugin_sends_the_shutdown_event_to_it_alone(listeners, data_dir):
    with host(data_dir, "first", "second") as client:
        post(client, "/api/v1/plugins/second/disable")
        assert [line for line in lines(listeners) if "shutdown" in line] == [
            "shutdown event second"]


def test_plugin_disabled_event_reaches_other_plugins(listeners, data_dir):
    with host(data_dir, "first", "second", "emitter") as client:
        post(client, "/api/v1/plugins/emitter/disable")
    assert "first saw disabled emitter" in lines(listeners)
    assert "second saw disabled emitter" in lines(listeners)


def test_plugin_enabled_event_reaches_other_plugins(listeners, data_dir):
    with host(data_dir, "first", "second", "emitter") as client:
        post(client, "/api/v1/plugins/emitter/disable")
        post(client, "/api/v1/plugins/emitter/enable")
    assert "first saw enabled emitter" in lines(listeners)


def test_reenabled_plugin_gets_its_startup_event_again_alone(listeners, data_dir):
    with host(data_dir, "first", "second") as client:
        post(client, "/api/v1/plugins/second/disable")
        post(client, "/api/v1/plugins/second/enable")
    log = lines(listeners)
    assert log.count("startup event second") == 2
    assert log.count("startup event first") == 1


def test_disabled_plugin_handlers_stop_receiving_events(listeners, data_dir):
    with host(data_dir, "first", "second", "emitter") as client:
        post(client, "/api/v1/plugins/second/disable")
        post(client, "/api/v1/plugins/emitter/disable")
    log = lines(listeners)
    assert "first saw disabled emitter" in log
    assert "second saw disabled emitter" not in log


def test_config_changed_event_fires_with_old_and_new(listeners, data_dir):
    with host(data_dir, "first", "emitter") as client:
        assert put_settings(client, "emitter", {"n": 4}).status_code == 200
    assert "first saw config emitter 0->4" in lines(listeners)


def test_config_changed_event_does_not_reveal_secrets(listeners, site, data_dir):
    make_plugin(site, "snoop", code="""
        from plexichat import hookimpl

        SEEN = []

        @hookimpl
        def register_event_handlers():
            return {"config.changed": lambda old, new: SEEN.append((old, new))}
    """)
    with host(data_dir, "snoop", "emitter") as client:
        put_settings(client, "emitter", {"token": "first-secret"})
        put_settings(client, "emitter", {"token": "second-secret", "n": 1})
    seen = repr(sys.modules["plx_snoop"].SEEN)
    assert len(sys.modules["plx_snoop"].SEEN) == 2
    assert "first-secret" not in seen
    assert "second-secret" not in seen


def test_refused_settings_fire_no_config_changed_event(listeners, data_dir):
    with host(data_dir, "first", "emitter") as client:
        assert put_settings(client, "emitter", {"n": "four"}).status_code == 422
    assert not [line for line in lines(listeners) if "saw config" in line]


def test_plugin_emitted_event_runs_pre_then_post_handlers(listeners, data_dir):
    with host(data_dir, "first", "second", "emitter") as client:
        assert client.post("/api/v1/emit/x").json() == {"emitted": "x"}
    custom = [line for line in lines(listeners) if "custom" in line]
    assert [line.split()[1] for line in custom] == ["pre", "pre", "post", "post"]


def test_event_handlers_are_listed_in_contributions(listeners, data_dir):
    with host(data_dir, "first") as client:
        handlers = detail(client, "first")["contributions"]["event_handlers"]
    assert "post:plugin.disabled" in handlers
    assert "pre:custom" in handlers


def test_raising_event_handler_is_counted_and_others_still_run(listeners, site, data_dir):
    make_plugin(site, "grumpy", code="""
        from plexichat import hookimpl

        @hookimpl
        def register_event_handlers():
            def fail(name):
                raise ValueError(f"cannot stand {name}")
            return {"plugin.disabled": fail}
    """)
    with host(data_dir, "grumpy", "first", "emitter") as client:
        assert post(client, "/api/v1/plugins/emitter/disable").status_code == 200
        failures = detail(client, "grumpy")["failures"]
        assert failures[-1] == {**failures[-1], "hook": "event:plugin.disabled",
                                "error": "ValueError: cannot stand emitter"}
        assert state_of(client, "grumpy") == "started"
    assert "first saw disabled emitter" in lines(listeners)


# --- background tasks ------------------------------------------------------------------

TASKS = """
    import asyncio
    from plexichat import hookimpl
    from plexichat.contributions import BackgroundTask

    RUNS = {"steady": 0, "crashy": 0, "interval": 0, "declared": 0}
    SEEN = {}

    async def steady(context):
        SEEN["steady"] = context.plugin_name
        while True:
            RUNS["steady"] += 1
            await asyncio.sleep(0.01)

    async def crashy():
        RUNS["crashy"] += 1
        raise RuntimeError(f"crash number {RUNS['crashy']}")

    def interval_step():
        RUNS["interval"] += 1

    async def once():
        return None

    async def declared():
        RUNS["declared"] += 1
        await asyncio.Event().wait()

    @hookimpl
    def register_background_tasks():
        return [BackgroundTask("steady", steady), BackgroundTask("crashy", crashy),
                BackgroundTask("interval", interval_step, interval=0.01),
                BackgroundTask("once", once)]
"""


@pytest.fixture
def tasks_plugin(site):
    make_healthy(site)
    make_plugin(site, "tasker", code=TASKS,
                manifest={"name": "tasker", "type": "feature",
                          "background_tasks": ["declared", "missing"]})


@contextlib.contextmanager
def fast_backoff_host(data_dir, *plugins, **settings):
    """A host whose task supervisor restarts crashed tasks after 10 ms."""
    app = create_app(HostSettings(data_dir=data_dir, load_plugins=",".join(plugins),
                                  admin_token=TOKEN, **settings))
    app.state.host.tasks.backoff_base = 0.01
    app.state.host.tasks.backoff_cap = 0.02
    with TestClient(app) as client:
        wait_ready(client)
        yield client


def runs():
    return sys.modules["plx_tasker"].RUNS


def tasks_of(client, name="tasker"):
    return {t["name"]: t for t in detail(client, name)["tasks"]}


def test_running_task_state_shows_in_plugin_detail(tasks_plugin, data_dir):
    # (a budget the crashing task cannot spend meanwhile: quarantine would take the
    # plugin's tasks away before a loaded machine gets to look at them)
    with fast_backoff_host(data_dir, "tasker", "healthy", fault_budget=100) as client:
        eventually(lambda: runs()["steady"] > 0)
        assert tasks_of(client)["steady"] == {"name": "steady", "state": "running",
                                              "restarts": 0, "last_error": "",
                                              "placement": "singleton"}
        assert "steady" in detail(client, "tasker")["contributions"]["background_tasks"]


def test_task_is_given_the_plugin_context(tasks_plugin, data_dir):
    with fast_backoff_host(data_dir, "tasker", "healthy"):
        eventually(lambda: runs()["steady"] > 0)
        assert sys.modules["plx_tasker"].SEEN["steady"] == "tasker"


def test_crashing_task_is_restarted(tasks_plugin, data_dir):
    with fast_backoff_host(data_dir, "tasker", "healthy", fault_budget=100) as client:
        eventually(lambda: runs()["crashy"] >= 3, what="three crashes")
        crashy = tasks_of(client)["crashy"]
        assert crashy["restarts"] >= 2
        assert crashy["last_error"].startswith("RuntimeError: crash number")
        assert_host_serves(client)


def test_task_crashes_spend_the_fault_budget_and_quarantine(tasks_plugin, data_dir):
    with fast_backoff_host(data_dir, "tasker", "healthy", fault_budget=3) as client:
        eventually(lambda: state_of(client, "tasker") == "quarantined", what="quarantine")
        info = detail(client, "tasker")
        assert "fault budget spent" in info["reason"]
        assert "task:crashy" in info["reason"]
        assert {t["state"] for t in info["tasks"]} <= {"cancelled", "stopped"}
        assert_host_serves(client)


def test_quarantined_plugin_tasks_stop_running(tasks_plugin, data_dir):
    with fast_backoff_host(data_dir, "tasker", "healthy", fault_budget=3) as client:
        eventually(lambda: state_of(client, "tasker") == "quarantined", what="quarantine")
        time.sleep(0.05)
        before = dict(runs())
        time.sleep(0.1)
        assert runs() == before


def test_interval_task_is_called_repeatedly(tasks_plugin, data_dir):
    with fast_backoff_host(data_dir, "tasker", "healthy", fault_budget=100):
        eventually(lambda: runs()["interval"] >= 3, what="three interval steps")


def test_task_that_returns_is_stopped_not_restarted(tasks_plugin, data_dir):
    with fast_backoff_host(data_dir, "tasker", "healthy", fault_budget=100) as client:
        once = eventually(lambda: tasks_of(client)["once"]["state"] == "stopped"
                          and tasks_of(client)["once"])
        assert once["restarts"] == 0


def test_manifest_declared_task_runs(tasks_plugin, data_dir):
    with fast_backoff_host(data_dir, "tasker", "healthy", fault_budget=100) as client:
        eventually(lambda: runs()["declared"] == 1, what="the declared task")
        assert tasks_of(client)["declared"]["state"] == "running"


def test_manifest_declared_task_without_function_is_a_warning(tasks_plugin, data_dir):
    with fast_backoff_host(data_dir, "tasker", "healthy", fault_budget=100) as client:
        warnings = detail(client, "tasker")["warnings"]
    assert any("'missing'" in w for w in warnings)


def test_task_ignoring_cancellation_is_ended_within_the_shutdown_timeout(site, data_dir):
    make_plugin(site, "stubborn", code="""
        import asyncio
        from plexichat import hookimpl

        ENDED = []

        async def stubborn():
            try:
                while True:
                    try:
                        await asyncio.sleep(10)
                    except asyncio.CancelledError:
                        pass
            finally:
                ENDED.append(True)

        @hookimpl
        def register_background_tasks():
            return [stubborn]
    """)
    with host(data_dir, "stubborn", shutdown_timeout=0.2) as client:
        assert [t["state"] for t in detail(client, "stubborn")["tasks"]] == ["running"]
        begun = time.monotonic()
        post(client, "/api/v1/plugins/stubborn/disable")
        assert time.monotonic() - begun < 2
        assert sys.modules["plx_stubborn"].ENDED == [True]


def test_a_task_given_as_a_function_is_named_by_the_function(site, data_dir):
    make_plugin(site, "reminders", code="""
        import asyncio
        import functools
        from plexichat import hookimpl

        class Mailer:
            async def send_digest(self):
                await asyncio.Event().wait()

        async def poll(every):
            await asyncio.Event().wait()

        @hookimpl
        def register_background_tasks():
            async def deliver_reminders():
                await asyncio.Event().wait()
            return [deliver_reminders, Mailer().send_digest, functools.partial(poll, 5)]
    """)
    with host(data_dir, "reminders") as client:
        info = detail(client, "reminders")
    assert sorted(t["name"] for t in info["tasks"]) == ["deliver_reminders", "poll",
                                                       "send_digest"]
    assert sorted(info["contributions"]["background_tasks"]) == [
        "deliver_reminders", "poll", "send_digest"]


# --- plugin tables ---------------------------------------------------------------------

TABLED = """
    import sqlalchemy as sa
    from fastapi import APIRouter
    from plexichat import hookimpl

    SEEN = {}

    @hookimpl
    def register_db_models(context):
        return context.db.table("notes", sa.Column("id", sa.Integer, primary_key=True),
                                sa.Column("text", sa.String(200)))

    @hookimpl
    def register_routers(context):
        with context.db.connect() as conn:
            SEEN["table_before_routes"] = sa.inspect(conn).has_table("tabled_notes")
        notes = context.db.table("notes")
        router = APIRouter()

        @router.post("/api/v1/tabled/{text}")
        def add(text: str):
            with context.db.begin() as conn:
                conn.execute(notes.insert().values(text=text))
            return {"added": text}

        @router.get("/api/v1/tabled")
        def all_notes():
            with context.db.connect() as conn:
                return [r.text for r in conn.execute(sa.select(notes).order_by(notes.c.id))]

        return router
"""

TABLE_MANIFEST = {"name": "tabled", "type": "feature", "permissions": ["db:read", "db:write"]}


@pytest.fixture
def tabled(site):
    make_healthy(site)
    make_plugin(site, "tabled", code=TABLED, manifest=TABLE_MANIFEST)


def has_table(db_url, name):
    engine = sa.create_engine(db_url)
    try:
        return sa.inspect(engine).has_table(name)
    finally:
        engine.dispose()


def test_plugin_table_is_created_and_listed(tabled, data_dir, db_url):
    with host(data_dir, "tabled", "healthy", database_url=db_url) as client:
        assert detail(client, "tabled")["contributions"]["tables"] == ["tabled_notes"]
    assert has_table(db_url, "tabled_notes")


def test_plugin_table_exists_before_the_plugin_routes_are_served(tabled, data_dir, db_url):
    with host(data_dir, "tabled", database_url=db_url):
        assert sys.modules["plx_tabled"].SEEN["table_before_routes"] is True


def test_plugin_reads_and_writes_its_table(tabled, data_dir, db_url):
    with host(data_dir, "tabled", database_url=db_url) as client:
        client.post("/api/v1/tabled/one")
        client.post("/api/v1/tabled/two")
        assert client.get("/api/v1/tabled").json() == ["one", "two"]


def test_plugin_table_rows_survive_a_restart(tabled, data_dir, db_url):
    with host(data_dir, "tabled", database_url=db_url) as client:
        client.post("/api/v1/tabled/kept")
    with host(data_dir, "tabled", database_url=db_url) as client:
        assert client.get("/api/v1/tabled").json() == ["kept"]


def test_plugin_table_is_created_when_the_plugin_is_enabled(tabled, data_dir, db_url):
    with host(data_dir, "tabled", database_url=db_url) as client:
        post(client, "/api/v1/plugins/tabled/disable")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE tabled_notes"))
    engine.dispose()
    with host(data_dir, "tabled", database_url=db_url) as client:
        assert state_of(client, "tabled") == "disabled"
        assert not has_table(db_url, "tabled_notes")
        assert post(client, "/api/v1/plugins/tabled/enable").json()["state"] == "started"
        assert has_table(db_url, "tabled_notes")
        assert detail(client, "tabled")["contributions"]["tables"] == ["tabled_notes"]


def test_table_without_the_plugin_prefix_is_refused_with_a_warning(site, data_dir, db_url):
    make_healthy(site)
    make_plugin(site, "sloppy", manifest={"name": "sloppy", "type": "feature",
                                          "permissions": ["db:write"]}, code="""
        import sqlalchemy as sa
        from plexichat import hookimpl

        @hookimpl
        def register_db_models(context):
            return [sa.Table("users_copy", sa.MetaData(),
                             sa.Column("id", sa.Integer, primary_key=True)),
                    context.db.table("fine", sa.Column("id", sa.Integer, primary_key=True))]
    """)
    with host(data_dir, "sloppy", "healthy", database_url=db_url) as client:
        info = detail(client, "sloppy")
        assert info["contributions"]["tables"] == ["sloppy_fine"]
        assert any("'users_copy'" in w and "sloppy_" in w for w in info["warnings"])
        assert info["state"] == "started"
        assert_host_serves(client)
    assert not has_table(db_url, "users_copy")
    assert has_table(db_url, "sloppy_fine")


def test_tables_without_db_permission_are_a_warning_naming_it(site, data_dir, db_url):
    make_healthy(site)
    make_plugin(site, "nogrant", manifest={"name": "nogrant", "type": "feature"}, code="""
        import sqlalchemy as sa
        from plexichat import hookimpl

        @hookimpl
        def register_db_models(context):
            return context.db.table("t", sa.Column("id", sa.Integer, primary_key=True))
    """)
    with host(data_dir, "nogrant", "healthy", database_url=db_url) as client:
        info = detail(client, "nogrant")
        assert any("PermissionDenied" in w and "db:read" in w for w in info["warnings"])
        assert_host_serves(client)
    assert not has_table(db_url, "nogrant_t")


# --- services, logging handlers, analytics hooks, security policies, backups --------------

AI_NODE = """
    from plexichat import hookimpl

    class EchoAI:
        async def generate_content(self, prompt):
            return f"[echo-ai] {prompt}"

    @hookimpl
    def register_services():
        return {"ai": EchoAI()}
"""

ASKER = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    @hookimpl
    def register_routers(context):
        router = APIRouter()

        @router.get("/api/v1/ask/{prompt}")
        async def ask(prompt: str):
            return {"answer": await context.ai.generate_content(prompt)}

        @router.post("/api/v1/track/{event}")
        def track(event: str):
            context.analytics.record(event, size=3)
            return {"tracked": event}

        @router.get("/api/v1/log/{text}")
        def log(text: str):
            context.logger.warning("asker says %s", text)
            return {"logged": text}

        return router
"""

OBSERVER = """
    import logging
    from plexichat import hookimpl
    from plexichat.contributions import BackupHandler, SecurityPolicy

    RECORDS = []
    EVENTS = []

    class Collect(logging.Handler):
        def emit(self, record):
            RECORDS.append(record.getMessage())

    HANDLER = Collect()

    @hookimpl
    def register_logging_handlers():
        return [HANDLER]

    @hookimpl
    def register_analytics_hooks():
        return {"*": lambda event, properties: EVENTS.append((event, properties))}

    @hookimpl
    def register_security_policies():
        return [SecurityPolicy("no_shouting", lambda subject, action: not action.isupper())]

    @hookimpl
    def register_backup_handlers():
        return BackupHandler("observer", backup=lambda: {"n": len(EVENTS)})
"""


@pytest.fixture
def service_plugins(site):
    make_healthy(site)
    make_plugin(site, "ainode", code=AI_NODE,
                manifest={"name": "ainode", "type": "ai_node"})
    make_plugin(site, "ainode2", code=AI_NODE,
                manifest={"name": "ainode2", "type": "ai_node"})
    make_plugin(site, "asker", code=ASKER,
                manifest={"name": "asker", "type": "feature",
                          "permissions": ["ai:use", "analytics:write"]})
    make_plugin(site, "observer", code=OBSERVER)


def observed(name):
    return getattr(sys.modules["plx_observer"], name)


def test_plugin_provided_service_replaces_the_default(service_plugins, data_dir):
    with host(data_dir, "ainode", "asker") as client:
        assert client.get("/api/v1/ask/hi").json() == {"answer": "[echo-ai] hi"}
        assert detail(client, "ainode")["contributions"]["services"] == ["ai"]


def test_default_service_returns_when_its_provider_is_disabled(service_plugins, data_dir):
    with host(data_dir, "ainode", "asker") as client:
        post(client, "/api/v1/plugins/ainode/disable")
        answer = client.get("/api/v1/ask/hi").json()["answer"]
    assert answer.startswith("[plexichat-local-ai]")


def test_second_provider_of_a_service_is_refused_with_a_warning(service_plugins, data_dir):
    with host(data_dir, "ainode", "ainode2", "asker") as client:
        providers = {n: detail(client, n)["contributions"]["services"]
                     for n in ("ainode", "ainode2")}
        assert sorted(providers.values()) == [[], ["ai"]]
        loser = "ainode" if providers["ainode"] == [] else "ainode2"
        assert any("already provided" in w for w in detail(client, loser)["warnings"])
        assert client.get("/api/v1/ask/hi").json() == {"answer": "[echo-ai] hi"}


def test_logging_handler_receives_plugin_logs_until_disabled(service_plugins, data_dir):
    with host(data_dir, "observer", "asker") as client:
        client.get("/api/v1/log/first")
        post(client, "/api/v1/plugins/observer/disable")
        client.get("/api/v1/log/second")
        assert "asker says first" in observed("RECORDS")
        assert "asker says second" not in observed("RECORDS")
        assert observed("HANDLER") not in logging.getLogger("plexichat").handlers


def test_analytics_hook_receives_events_of_other_plugins(service_plugins, data_dir):
    with host(data_dir, "observer", "asker") as client:
        client.post("/api/v1/track/clicked")
        assert ("clicked", {"source": "asker", "size": 3}) in observed("EVENTS")
        assert detail(client, "observer")["contributions"]["analytics_hooks"] == ["*"]


def test_security_policy_is_registered_and_withdrawn(service_plugins, data_dir):
    with host(data_dir, "observer") as client:
        security = client.app.state.host.services.security
        assert detail(client, "observer")["contributions"]["security_policies"] == [
            "no_shouting"]
        assert security.policies() == {"no_shouting": "observer"}
        assert security.check("someone", "HELLO") is False
        post(client, "/api/v1/plugins/observer/disable")
        assert security.policies() == {}


def test_backup_handler_is_listed(service_plugins, data_dir):
    with host(data_dir, "observer") as client:
        assert detail(client, "observer")["contributions"]["backup_handlers"] == ["observer"]


HANGING_SHUTDOWN_HANDLER = '''
import asyncio
from plexichat import hookimpl

@hookimpl
def register_event_handlers():
    async def never_done():
        await asyncio.sleep(3600)
    return {"shutdown": never_done, "plugin.disabled": never_done}
'''


def test_a_hanging_async_event_handler_is_cut_off_and_counted(site, tmp_path):
    import time as _time

    from fastapi.testclient import TestClient as _TestClient
    from support.dists import make_plugin as _make_plugin

    from plexichat.config import HostSettings as _HostSettings
    from plexichat.web import create_app as _create_app

    _make_plugin(site, "sleepy", code=HANGING_SHUTDOWN_HANDLER)
    settings = _HostSettings(data_dir=tmp_path / "d", load_plugins="sleepy",
                             admin_token="t", event_timeout=0.2)
    app = _create_app(settings)
    started = _time.monotonic()
    with _TestClient(app) as client:
        deadline = _time.monotonic() + 10
        while client.get("/api/v1/health/ready").status_code != 200:
            assert _time.monotonic() < deadline
            _time.sleep(0.02)
        host = app.state.host
    assert _time.monotonic() - started < 10  # the host stopped although the handler hangs
    [failure] = [f for f in host.dispatcher.failures if f.plugin == "sleepy"]
    assert failure.hook == "event:shutdown"
    assert "did not finish within 0.2 s" in failure.error
