"""A real ``plexichat serve``: a plugin's failure keeps its traceback, and plugin logs show.

A plugin whose startup raises has its traceback (the raising function and line) in the
server's log, in ``GET /api/v1/plugins/{name}`` (``failures``) and, collapsed, on its page.
A plugin's ``context.logger`` lines appear with their level and the logger name
``plexichat.plugins.<name>`` at the level asked for, and not below it; with
``PLEXICHAT_LOG_FORMAT=json`` every line is one JSON object.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from support.dists import make_plugin
from support.served import serve

TOKEN = "served-logging-token"

VAULT = """
    from plexichat import hookimpl

    def open_the_vault(context):
        raise RuntimeError("the vault is locked")

    @hookimpl
    async def startup(context):
        open_the_vault(context)
"""

CHATTY = """
    from plexichat import hookimpl

    @hookimpl
    def startup(context):
        context.logger.info("chatty says hello")
        context.logger.warning("chatty warns about %s", "the weather")
"""

RAISING_LINE = 'raise RuntimeError("the vault is locked")'


def _server(tmp_path_factory, name, *args, **env):
    workdir = tmp_path_factory.mktemp(name)
    site = workdir / "site"
    site.mkdir()
    make_plugin(site, "vault", code=VAULT)
    make_plugin(site, "chatty", code=CHATTY)
    return serve(site, workdir, *args, env={
        "PLEXICHAT_LOAD_PLUGINS": "vault,chatty",
        "PLEXICHAT_ADMIN_TOKEN": TOKEN,
        "PLEXICHAT_CACHE_DIR": str(workdir / "cache"),
        "PLEXICHAT_LOG_LEVEL": "", "PLEXICHAT_LOG_FORMAT": "",
        **env})


@pytest.fixture(scope="module")
def text_server(tmp_path_factory):
    """``--log-level info`` (overriding ``PLEXICHAT_LOG_LEVEL=warning``), text format."""
    with _server(tmp_path_factory, "text", "--log-level", "info",
                 PLEXICHAT_LOG_LEVEL="warning") as server:
        server.wait_ready()
        yield server
    print(server.log())  # shown by pytest when a test fails


@pytest.fixture(scope="module")
def json_server(tmp_path_factory):
    """``PLEXICHAT_LOG_LEVEL=warning`` and ``PLEXICHAT_LOG_FORMAT=json``."""
    with _server(tmp_path_factory, "json", PLEXICHAT_LOG_LEVEL="warning",
                 PLEXICHAT_LOG_FORMAT="json") as server:
        server.wait_ready()
        yield server
    print(server.log())


def test_a_failed_startup_logs_its_traceback(text_server):
    log = text_server.log()
    assert "Traceback (most recent call last)" in log
    assert ", in open_the_vault\n" in log
    assert RAISING_LINE in log
    assert re.search(r"^\S+ \S+ ERROR +plexichat\.host: plugin vault failed: "
                     r"startup raised RuntimeError: the vault is locked$", log, re.M)


def test_a_failed_startup_is_in_the_api_with_its_traceback(text_server):
    with text_server.client() as client:
        detail = client.get("/api/v1/plugins/vault").json()
    assert detail["state"] == "failed"
    [failure] = detail["failures"]
    assert failure["hook"] == "startup"
    assert failure["exception_type"] == "RuntimeError"
    assert failure["message"] == "the vault is locked"
    assert failure["error"] == "RuntimeError: the vault is locked"
    assert failure["traceback"].startswith("Traceback (most recent call last)")
    assert ", in open_the_vault\n" in failure["traceback"]
    assert RAISING_LINE in failure["traceback"]
    assert isinstance(failure["at"], float)


def test_a_failed_startup_shows_its_traceback_collapsed_on_its_page(text_server):
    with text_server.client() as client:
        login = client.post("/login", data={"token": TOKEN, "next": "/plugins/vault"},
                            follow_redirects=True)
        assert login.status_code == 200, login.text
        page = client.get("/plugins/vault").text
    [section] = re.findall(r'<section class="plx-section" id="plugin-failures">(.*?)</section>',
                           page, re.S)
    [collapsed] = re.findall(r"<details>(.*?)</details>", section, re.S)
    summary, _, body = collapsed.partition("</summary>")
    assert "<code>startup</code>: RuntimeError: the vault is locked" in summary
    traceback = html.unescape(body)
    assert ", in open_the_vault\n" in traceback
    assert RAISING_LINE in traceback


def test_plugin_info_lines_show_with_level_and_logger_name(text_server):
    log = text_server.log()
    assert re.search(r"^\S+ \S+ INFO +plexichat\.plugins\.chatty: chatty says hello$",
                     log, re.M), log
    assert re.search(r"^\S+ \S+ WARNING +plexichat\.plugins\.chatty: "
                     r"chatty warns about the weather$", log, re.M), log


def test_uvicorn_logs_through_the_same_configuration(text_server):
    # serve binds the socket itself (so --port 0 works) and says where; uvicorn, given
    # the socket, logs its start but not the address
    assert re.search(r"^\S+ \S+ INFO +uvicorn\.error: Application startup complete\.$",
                     text_server.log(), re.M), text_server.log()
    assert re.search(r"^\S+ \S+ INFO +plexichat\.serve: serving on http://127\.0\.0\.1:\d+$",
                     text_server.log(), re.M), text_server.log()


def _json_records(server):
    lines = [line for line in server.log().splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    return records


def test_json_format_gives_one_object_per_line(json_server):
    for record in _json_records(json_server):
        assert {"time", "level", "logger", "message"} <= record.keys(), record
    warned = [r for r in _json_records(json_server)
              if r["message"] == "chatty warns about the weather"]
    assert warned == [{**warned[0], "level": "WARNING", "logger": "plexichat.plugins.chatty",
                       "plugin": "chatty"}]


def test_json_format_carries_the_traceback_and_the_plugin(json_server):
    failures = [r for r in _json_records(json_server)
                if r.get("plugin") == "vault" and "exc_info" in r]
    assert failures, "no record of vault's failure with its traceback"
    assert ", in open_the_vault\n" in failures[0]["exc_info"]
    assert RAISING_LINE in failures[0]["exc_info"]


def test_plugin_info_lines_are_hidden_at_warning(json_server):
    messages = [r["message"] for r in _json_records(json_server)]
    assert "chatty warns about the weather" in messages
    assert "chatty says hello" not in messages
