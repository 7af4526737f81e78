"""The pytest kit for plugin authors (``plexichat.testing``), run through pytester."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

# A plugin serving GET /api/v1/<name>, written by the inner tests with the kit itself.
ROUTE_PLUGIN = '''
from fastapi import APIRouter
from plexichat import hookimpl

router = APIRouter()

@router.get("/api/v1/{name}")
def answer():
    return {{"plugin": "{name}"}}

@hookimpl
def register_routers():
    return router
'''


def route_plugin(name: str) -> str:
    return ROUTE_PLUGIN.format(name=name)


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Run ``source`` as a test module in a pytest of its own.

    In a subprocess: an in-process run restores ``sys.modules`` afterwards, which would
    leave half of SQLAlchemy's lazily imported modules behind for the next test.
    """
    pytester.makepyfile(test_inner=source)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_the_plugin_is_registered_through_pytest11(pytester):
    result = run(pytester, """
        def test_registered(request):
            plugin = request.config.pluginmanager.get_plugin("plexichat")
            assert plugin is not None
            assert plugin.__name__ == "plexichat.testing.plugin"
    """)
    result.assert_outcomes(passed=1)
    listed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fixtures",
                                          timeout=120)
    for fixture in ("plexichat_app", "plexichat_client", "plugin_context",
                    "plexichat_make_plugin", "plexichat_entry_point"):
        listed.stdout.fnmatch_lines([f"{fixture} -- *plexichat/testing/plugin.py:*"])


def test_disabled_with_p_no_plexichat(pytester):
    result = run(pytester, """
        def test_uses(plexichat_app):
            pass
    """, "-p", "no:plexichat")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'plexichat_app' not found*"])


def test_importing_the_plugin_is_cheap():
    """Importing the pytest plugin (what every pytest run does) loads no web framework,
    database or settings code."""
    code = (
        "import json, sys\n"
        "import plexichat.testing.plugin, plexichat.testing\n"
        "heavy = ('fastapi', 'starlette', 'sqlalchemy', 'pydantic', 'httpx',"
        " 'plexichat.web', 'plexichat.config', 'plexichat.host',"
        " 'plexichat.kernel.lifecycle')\n"
        "json.dump(sorted(m for m in sys.modules if m.startswith(heavy)), sys.stdout)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, env={**os.environ}).stdout
    assert json.loads(out) == []


def test_client_serves_the_chosen_plugins_with_isolated_data(pytester):
    result = run(pytester, f'''
        import pytest
        from plexichat.testing import ADMIN_TOKEN

        PLUGIN = {route_plugin("kita")!r}

        def test_served(plexichat_make_plugin, plexichat_client, tmp_path):
            plexichat_make_plugin("kita", code=PLUGIN)
            plexichat_make_plugin("kitb", code=PLUGIN.replace("kita", "kitb"))
            client = plexichat_client(plugins=["kita"])
            assert client.get("/api/v1/kita").json() == {{"plugin": "kita"}}
            # only the chosen plugins are loaded
            assert client.get("/api/v1/kitb").status_code == 404
            assert client.plugin_state("kita") == "started"
            assert client.plugin_state("kitb") == "disabled"
            settings = client.app.state.settings
            assert settings.data_dir.is_relative_to(tmp_path)
            assert settings.database_url.startswith("sqlite:///")
            assert str(tmp_path) in settings.database_url
            assert client.admin_token == ADMIN_TOKEN

        def test_admin_token(plexichat_make_plugin, plexichat_client):
            plexichat_make_plugin("kitc", code=PLUGIN.replace("kita", "kitc"))
            client = plexichat_client(plugins=["kitc"])
            assert client.post("/api/v1/plugins/kitc/disable").status_code == 401
            answer = client.post("/api/v1/plugins/kitc/disable", headers=client.admin_headers)
            assert answer.status_code == 200, answer.text
            assert client.get("/api/v1/kitc").status_code == 404

        def test_admin_client(plexichat_make_plugin, plexichat_client):
            plexichat_make_plugin("kitd", code=PLUGIN.replace("kita", "kitd"))
            client = plexichat_client(plugins=["kitd"], admin=True)
            assert client.post("/api/v1/plugins/kitd/disable").status_code == 200
    ''')
    result.assert_outcomes(passed=3)


def test_a_failed_plugin_fails_the_client_with_every_state(pytester):
    result = run(pytester, f'''
        PLUGIN = {route_plugin("fine")!r}

        def test_broken(plexichat_make_plugin, plexichat_client):
            plexichat_make_plugin("fine", code=PLUGIN)
            plexichat_make_plugin("broken", code="raise RuntimeError('kaputt at import')")
            plexichat_client(plugins=["fine", "broken"])
    ''')
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*HostNotReady: plugin(s) broken did not start; plugins:*",
        "*broken: failed*RuntimeError: kaputt at import*",
        "*fine: started*",
        "*expect_started=False*",
    ])


def test_a_failed_plugin_fails_the_client_with_its_traceback(pytester):
    result = run(pytester, """
        BROKEN = '''
            def check_the_disk():
                raise OSError("disk full")

            check_the_disk()
        '''

        def test_broken(plexichat_make_plugin, plexichat_client):
            plexichat_make_plugin("broken", code=BROKEN)
            plexichat_client(plugins=["broken"])
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*HostNotReady: plugin(s) broken did not start; plugins:*",
        "*broken: failed*OSError: disk full*",
        "*expect_started=False*",
        "*broken: last failure, in import:*",
        "*Traceback (most recent call last)*",
        "*, in check_the_disk*",
        "*OSError: disk full*",
    ])


def test_a_plugin_that_is_not_installed_is_named(pytester):
    result = run(pytester, '''
        def test_missing(plexichat_client):
            plexichat_client(plugins=["nowhere_to_be_found"])
    ''')
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*did not start*",
        "*not installed: nowhere_to_be_found: no installed distribution declares it in the "
        "'plexichat.plugins' entry-point group*",
        '*[[]project.entry-points."plexichat.plugins"[]]*',
        '*nowhere_to_be_found = "<your package>"*',
    ])


def test_expect_started_false_lets_a_test_inspect_a_failure(pytester):
    result = run(pytester, '''
        def test_broken(plexichat_make_plugin, plexichat_client):
            plexichat_make_plugin("brokenb", code="raise RuntimeError('kaputt')")
            client = plexichat_client(plugins=["brokenb"], expect_started=False)
            info = client.plugin("brokenb")
            assert info["state"] == "failed"
            assert "kaputt" in info["reason"]
    ''')
    result.assert_outcomes(passed=1)


def test_a_host_that_never_gets_ready_times_out_with_the_states(pytester):
    result = run(pytester, '''
        import time

        CODE = """
        import time
        from plexichat import hookimpl

        @hookimpl
        def register_health_checks():
            return {"never": lambda: False}
        """

        def test_unready(plexichat_make_plugin, plexichat_client):
            plexichat_make_plugin("unready", code=CODE)
            plexichat_client(plugins=["unready"], timeout=0.5)
    ''')
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*HostNotReady: PlexiChat was not ready after 0.5s*",
                                 "*unready: started*"])


def test_app_factory_settings_and_restart(pytester):
    """``settings`` overrides fields; ``data_dir`` of an earlier app restarts it."""
    result = run(pytester, f'''
        from plexichat.config import HostSettings

        PLUGIN = {route_plugin("keep")!r}

        def test_settings(plexichat_app):
            app = plexichat_app([], settings={{"fault_budget": 2}})
            assert app.state.settings.fault_budget == 2
            assert app.state.settings.load_plugins == ""
            other = plexichat_app([], settings=HostSettings(strict_permissions=True))
            assert other.state.settings.strict_permissions
            assert other.state.settings.data_dir != app.state.settings.data_dir

        def test_restart(plexichat_make_plugin, plexichat_app, plexichat_client):
            plexichat_make_plugin("keep", code=PLUGIN)
            first = plexichat_app(["keep"])
            with plexichat_client(first, admin=True) as client:
                assert client.post("/api/v1/plugins/keep/disable").status_code == 200
            again = plexichat_app(["keep"], data_dir=first.state.settings.data_dir)
            client = plexichat_client(again, expect_started=False)
            assert client.plugin_state("keep") == "disabled"

        def test_not_both(plexichat_app, plexichat_client):
            import pytest
            with pytest.raises(TypeError, match="not both"):
                plexichat_client(plexichat_app([]), plugins=["x"])
    ''')
    result.assert_outcomes(passed=3)


def test_postgresql_when_asked(pytester):
    """``database="postgresql"`` uses PLEXICHAT_TEST_DATABASE_URL (skipped when unset)."""
    result = run(pytester, f'''
        import os
        import pytest

        PLUGIN = {route_plugin("pgkit")!r}

        def test_pg(plexichat_make_plugin, plexichat_client):
            plexichat_make_plugin("pgkit", code=PLUGIN)
            client = plexichat_client(plugins=["pgkit"], database="postgresql")
            assert client.app.state.settings.database_url.startswith(
                os.environ["PLEXICHAT_TEST_DATABASE_URL"])
            assert client.get("/api/v1/pgkit").json() == {{"plugin": "pgkit"}}
    ''', "-rs")
    if os.environ.get("PLEXICHAT_TEST_DATABASE_URL"):
        result.assert_outcomes(passed=1)
    else:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines(["*PLEXICHAT_TEST_DATABASE_URL*"])


def test_plugin_context(pytester):
    result = run(pytester, '''
        import pytest
        from plexichat import PermissionDenied
        from plexichat.settings import SettingsInvalid

        MANIFEST = {
            "name": "notes",
            "permissions": ["analytics:write"],
            "settings_schema": {
                "type": "object",
                "properties": {"limit": {"type": "integer", "minimum": 1, "default": 10},
                               "title": {"type": "string"}},
            },
        }

        def test_defaults_from_the_manifest(plugin_context, tmp_path):
            context = plugin_context("notes", manifest=MANIFEST, config={"title": "t"})
            assert dict(context.config) == {"limit": 10, "title": "t"}
            assert context.has_permission("analytics:write")
            context.analytics.record("note.created", size=3)
            assert context.analytics.counts["note.created"] == 1
            assert context.data_dir.is_relative_to(tmp_path)
            assert context.data_dir.name == "notes"

        def test_permissions_are_enforced(plugin_context):
            context = plugin_context("notes", manifest=MANIFEST, permissions=[])
            with pytest.raises(PermissionDenied, match="analytics:write"):
                context.analytics
            with pytest.raises(PermissionDenied, match="db:read"):
                context.db

        def test_invalid_config(plugin_context):
            with pytest.raises(SettingsInvalid, match="limit"):
                plugin_context("notes", manifest=MANIFEST, config={"limit": 0})

        def test_kv_and_db(plugin_context):
            import sqlalchemy as sa
            context = plugin_context("notes", permissions=["db:write"])
            context.kv.set("answer", 42)
            assert context.kv.get("answer") == 42
            table = context.db.table("entries", sa.Column("id", sa.Integer, primary_key=True))
            assert table.name == "notes_entries"
            # another plugin's context in the same test shares the database
            other = plugin_context("other")
            assert other.kv.get("answer") is None

        def test_installed_manifest(plexichat_make_plugin, plugin_context):
            plexichat_make_plugin("ctxp", manifest={"name": "ctxp",
                                                    "permissions": ["ai:use"]})
            context = plugin_context("ctxp")
            assert context.manifest["name"] == "ctxp"
            assert context.granted == {"ai:use"}
            context.ai
    ''')
    result.assert_outcomes(passed=5)


def test_make_plugin_is_gone_after_the_test(pytester):
    result = run(pytester, '''
        import importlib.metadata as md
        import sys

        def test_make(plexichat_make_plugin):
            plexichat_make_plugin("temp", code="VALUE = 1")
            import plx_temp
            assert plx_temp.VALUE == 1
            names = [ep.name for ep in md.entry_points(group="plexichat.plugins")]
            assert "temp" in names

        def test_after():
            assert "plx_temp" not in sys.modules
            names = [ep.name for ep in md.entry_points(group="plexichat.plugins")]
            assert "temp" not in names
    ''')
    result.assert_outcomes(passed=2)


def test_plugin_log_collects_what_a_plugin_logs(pytester):
    result = run(pytester, '''
import logging

def test_log(plexichat_plugin_log):
    messages = plexichat_plugin_log("chatty")
    logging.getLogger("plexichat.plugins.chatty").info("hello %s", "there")
    logging.getLogger("plexichat.plugins.other").info("not mine")
    logging.getLogger("plexichat.plugins.chatty").debug("too quiet")
    assert messages == ["hello there"]
''')
    result.assert_outcomes(passed=1)
