"""The operator's web UI, through HTTP: login and session cookie, CSRF, enable/disable,
the settings form generated from a plugin's JSON Schema (errors inline, secrets never
sent back), plugin UI pages (and every way of escaping their folder), theme CSS."""

from __future__ import annotations

import os
import re

import pytest
from support.api import AUTH, TOKEN, get_settings, put_settings, state_of
from support.dists import make_plugin
from support.host import running_host
from support.ui_plugins import PANEL_SCHEMA, THEME_COLOR, install_panel, install_tint
from support.web import csrf_of, field_block, login, raw_get

from plexichat.settings import SECRET_MASK
from plexichat.web.settings_form import build_fields, errors_by_field, parse_form

PLUGINS = ("panel", "tint")


@pytest.fixture
def plugins(site):
    """The panel and tint fixture plugins; returns the panel's package directory."""
    package = install_panel(site)
    install_tint(site)
    return package


@pytest.fixture
def client(plugins, tmp_path):
    with running_host(tmp_path / "data", *PLUGINS, admin_token=TOKEN) as client:
        yield client


@pytest.fixture
def csrf(client):
    return login(client)


# --- overview, login, sessions -------------------------------------------------------------


def test_overview_shows_version_health_and_counts_by_state(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "PlexiChat 3." in html
    assert 'id="host-health">ok<' in html
    started = re.search(r'data-state="started">(\d+)<', html)
    assert started and started.group(1) == "2"
    assert '/plugins/panel/ui/dashboard/' in html  # the plugin's page is listed
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_admin_pages_send_an_anonymous_browser_to_the_login_form(client):
    for path in ("/plugins", "/plugins/panel"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert "Admin token" in client.get("/plugins").text


def test_a_wrong_token_is_refused_on_the_form(client):
    response = client.post("/login", data={"token": "wrong", "next": "/plugins"},
                           follow_redirects=False)
    assert response.status_code == 401
    assert "That is not the admin token." in response.text
    assert "set-cookie" not in response.headers


def test_login_sets_an_httponly_strict_cookie_that_is_not_the_token(client):
    response = client.post("/login", data={"token": TOKEN, "next": "/plugins/panel"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/plugins/panel"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert TOKEN not in value and len(value) >= 32
    assert client.get("/plugins").status_code == 200


def test_login_never_redirects_off_the_host(client):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post("/login", data={"token": TOKEN, "next": target},
                               follow_redirects=False)
        assert response.headers["location"] == "/plugins", target


def test_logout_ends_the_session(client, csrf):
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/plugins", follow_redirects=False).status_code == 303


def test_a_stolen_cookie_value_from_another_host_does_not_log_in(client):
    client.cookies.set("plexichat_session", "made-up-session-id")
    assert client.get("/plugins", follow_redirects=False).status_code == 303


def test_the_overview_health_is_degraded_while_a_plugin_has_failed(site, tmp_path):
    install_tint(site)
    make_plugin(site, "broken", code="""
        from plexichat import hookimpl

        @hookimpl
        def startup(context):
            raise RuntimeError("cannot start")
    """)
    with running_host(tmp_path / "data", "tint", "broken", admin_token=TOKEN) as client:
        html = client.get("/").text
    assert 'id="host-health">degraded<' in html
    assert "broken failed: startup raised RuntimeError: cannot start" in html


def test_the_favicon_is_served_and_linked(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"
    assert '<link rel="icon" href="/favicon.ico"' in client.get("/").text


def test_the_chat_page_is_served_and_in_the_navigation(client):
    page = client.get("/chat")
    assert page.status_code == 200
    assert '<label for="chat-name">' in page.text and 'src="/static/chat.js"' in page.text
    assert '<a href="/chat" aria-current="page">Chat</a>' in page.text
    assert '<a href="/chat">Chat</a>' in client.get("/").text
    assert client.get("/static/chat.js").status_code == 200


# --- CSRF ----------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_change_nothing(client, csrf):
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post("/plugins/panel/disable", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert state_of(client, "panel") == "started"


def test_posts_from_another_origin_are_refused(client, csrf):
    response = client.post("/plugins/panel/disable", data={"csrf_token": csrf},
                           headers={"Origin": "http://evil.example"}, follow_redirects=False)
    assert response.status_code == 403
    assert state_of(client, "panel") == "started"


def test_posts_without_a_session_go_to_the_login_form(client):
    response = client.post("/plugins/panel/disable", data={"csrf_token": "x"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert state_of(client, "panel") == "started"


# --- plugins table and enable/disable ------------------------------------------------------


def test_plugins_table_lists_name_version_type_state_reason_and_health(client, csrf):
    html = client.get("/plugins").text
    row = html[html.index('id="plugin-panel"'):html.index('id="plugin-tint"')]
    assert ">1.0.0<" in row and ">feature<" in row
    assert 'data-role="state">started<' in row
    assert 'data-role="health">healthy<' in row
    assert 'data-action="disable"' in row
    tint = html[html.index('id="plugin-tint"'):]
    assert 'data-role="health">no checks<' in tint  # it registers none


def test_disable_and_enable_through_the_buttons(client, csrf):
    response = client.post("/plugins/panel/disable",
                           data={"csrf_token": csrf, "next": "/plugins"})
    assert response.status_code == 200
    assert "panel is now disabled" in response.text
    row = response.text[response.text.index('id="plugin-panel"'):]
    assert 'data-role="state">disabled<' in row
    assert "disabled by the operator" in row
    assert state_of(client, "panel") == "disabled"
    assert client.get("/api/v1/panel/ping").status_code == 404

    response = client.post("/plugins/panel/enable",
                           data={"csrf_token": csrf, "next": "/plugins/panel"})
    assert response.status_code == 200
    assert 'id="plugin-state">started<' in response.text
    assert state_of(client, "panel") == "started"
    assert client.get("/api/v1/panel/ping").json() == {"pong": True}


def test_unknown_plugins_are_404(client, csrf):
    assert client.get("/plugins/nope").status_code == 404
    assert client.post("/plugins/nope/enable", data={"csrf_token": csrf}).status_code == 404


# --- the detail page ---------------------------------------------------------------------


def test_detail_shows_hooks_routes_tasks_health_and_permissions(client, csrf):
    html = client.get("/plugins/panel").text
    for hook in ("register_background_tasks", "register_health_checks", "register_routers"):
        assert f"<code>{hook}</code>" in html
    assert "GET /api/v1/panel/ping" in html
    assert ">poll<" in html
    assert '<span class="plx-hint" data-key="placement">singleton</span>' in html
    assert ">upstream<" in html and "reachable" in html
    assert "<code>events:emit</code>" in html and ">granted<" in html
    assert 'href="/plugins/panel/ui/dashboard/"' in html
    assert 'href="/docs/plugins/panel/README.md"' in html
    timings = html[html.index('id="plugin-timings"'):]
    for step in ("import", "settings", "startup hook", "wiring/contributions", "routes",
                 "total"):
        assert re.search(rf'<td data-step="{step}">\d+\.\d{{3}}</td>', timings), step


def test_the_settings_form_is_generated_from_the_schema(client, csrf):
    html = client.get("/plugins/panel").text
    greeting = field_block(html, "greeting")
    assert 'type="text"' in greeting and 'value="hello"' in greeting
    assert "plx-required" in greeting and "Shown to every new member." in greeting
    assert ">Greeting" in greeting  # the schema's title is the label
    interval = field_block(html, "interval")
    assert 'type="number"' in interval and 'step="1"' in interval
    assert 'min="1"' in interval and 'max="3600"' in interval and 'value="60"' in interval
    ratio = field_block(html, "ratio")
    assert 'step="any"' in ratio and 'max="1"' in ratio
    verbose = field_block(html, "verbose")
    assert 'type="checkbox"' in verbose and "checked" not in verbose
    mode = field_block(html, "mode")
    assert "<select" in mode
    assert re.search(r'<option value="&#34;fast&#34;" selected>fast</option>', mode)
    assert ">careful</option>" in mode and ">off</option>" in mode
    channels = field_block(html, "channels")
    assert "<textarea" in channels and ">general</textarea>" in channels
    api_key = field_block(html, "api_key")
    assert 'type="password"' in api_key and 'value=""' in api_key


def test_invalid_settings_come_back_with_errors_next_to_their_fields(client, csrf):
    response = client.post("/plugins/panel/settings", data={
        "csrf_token": csrf, "setting.greeting": "x", "setting.interval": "0",
        "setting.ratio": "0.25", "setting.mode": '"careful"', "setting.channels": "a\nb",
    })
    assert response.status_code == 422
    html = response.text
    interval = field_block(html, "interval")
    assert "plx-invalid" in interval and "less than the minimum of 1" in interval
    assert 'value="0"' in interval  # what the operator typed is kept
    greeting = field_block(html, "greeting")
    assert "is too short" in greeting and 'value="x"' in greeting
    assert "plx-invalid" not in field_block(html, "ratio")
    assert get_settings(client, "panel")["settings"]["interval"] == 60  # nothing stored


def test_an_emptied_required_field_is_reported_on_that_field(client, csrf):
    response = client.post("/plugins/panel/settings", data={
        "csrf_token": csrf, "setting.greeting": "", "setting.interval": "",
        "setting.ratio": "7"})
    assert response.status_code == 422
    assert "is required" in field_block(response.text, "interval")
    assert "is required" in field_block(response.text, "greeting")
    assert "greater than the maximum of 1" in field_block(response.text, "ratio")
    assert client.app.state.host.current_settings("panel")["ratio"] == 0.5


def test_valid_settings_are_stored_and_shown_after_reload(client, csrf):
    response = client.post("/plugins/panel/settings", data={
        "csrf_token": csrf, "setting.greeting": "welcome", "setting.interval": "90",
        "setting.ratio": "0.75", "setting.verbose": "true", "setting.mode": '"off"',
        "setting.channels": "general\n\nrandom \n", "setting.api_key": "s3cret-key",
    })
    assert response.status_code == 200
    assert "Settings saved." in response.text
    stored = get_settings(client, "panel")["settings"]
    assert stored == {"greeting": "welcome", "interval": 90, "ratio": 0.75, "verbose": True,
                      "mode": "off", "channels": ["general", "random"],
                      "api_key": SECRET_MASK}
    html = client.get("/plugins/panel").text
    assert 'value="welcome"' in field_block(html, "greeting")
    assert "checked" in field_block(html, "verbose")
    assert "s3cret-key" not in html and SECRET_MASK not in html
    assert "stored — leave empty to keep it" in field_block(html, "api_key")


def test_an_empty_secret_field_keeps_the_stored_secret_and_clear_removes_it(client, csrf,
                                                                            tmp_path):
    put_settings(client, "panel", {"greeting": "hello", "interval": 5, "api_key": "k-1"})
    base = {"csrf_token": csrf, "setting.greeting": "hello", "setting.interval": "6"}
    assert client.post("/plugins/panel/settings", data=base).status_code == 200
    host = client.app.state.host
    assert host.current_settings("panel")["api_key"] == "k-1"
    assert host.current_settings("panel")["interval"] == 6
    response = client.post("/plugins/panel/settings", data={**base, "clear.api_key": "1"})
    assert response.status_code == 200
    assert host.current_settings("panel")["api_key"] == ""


def test_error_messages_never_echo_a_secret():
    schema = {"type": "object", "properties": {
        "token": {"type": "string", "format": "password", "minLength": 20}}}
    from plexichat.settings import SettingsInvalid, validate_settings

    with pytest.raises(SettingsInvalid) as caught:
        validate_settings("p", schema, {"token": "hunter2"})
    fields = build_fields(schema, {})
    assert errors_by_field(caught.value.errors, fields, schema) == []
    assert fields[0].errors == ["is too short"]


def test_parse_form_types_values_from_the_schema():
    form = {"setting.greeting": ["hi there"], "setting.interval": ["12"],
            "setting.ratio": ["abc"], "setting.mode": ['"careful"'],
            "setting.channels": ["x\ny"], "setting.api_key": [""]}
    data = parse_form(PANEL_SCHEMA, form, {"api_key": "old", "extra": 1})
    assert data == {"greeting": "hi there", "interval": 12, "ratio": "abc",
                    "verbose": False, "mode": "careful", "channels": ["x", "y"],
                    "api_key": SECRET_MASK, "extra": 1}


# --- plugin UI pages ----------------------------------------------------------------------


def test_a_plugin_ui_page_is_served_from_its_package(client):
    response = client.get("/plugins/panel/ui/dashboard/")
    assert response.status_code == 200
    assert 'id="panel-dashboard"' in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert client.get("/plugins/panel/ui/dashboard/style.css").headers[
        "content-type"].startswith("text/css")
    assert client.get("/plugins/panel/ui/static/logo.txt").text == "logo\n"
    moved = client.get("/plugins/panel/ui/dashboard", follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"] == "/plugins/panel/ui/dashboard/"
    assert "Panel Dashboard" in client.get("/plugins/panel/ui/").text


@pytest.fixture
def outside(plugins, tmp_path):
    """Symlinks inside the panel's UI folder pointing out of its package."""
    secret = tmp_path / "outside.txt"
    secret.write_text("outside the package", encoding="utf-8")
    dashboard = plugins / "ui" / "dashboard"
    os.symlink(secret, dashboard / "leak.txt")
    os.symlink(tmp_path, dashboard / "up")
    return secret


TRAVERSALS = [
    "/plugins/panel/ui/dashboard/../../plugin.json",
    "/plugins/panel/ui/dashboard/../../__init__.py",
    "/plugins/panel/ui/../../../../../../etc/passwd",
    "/plugins/panel/ui/dashboard/%2e%2e/%2e%2e/plugin.json",
    "/plugins/panel/ui/dashboard/%2E%2E%2F%2E%2E%2Fplugin.json",
    "/plugins/panel/ui/dashboard%2f..%2f..%2fsecret_notes.txt",
    "/plugins/panel/ui/%2e%2e/secret_notes.txt",
    "/plugins/panel/ui//etc/passwd",
    "/plugins/panel/ui/%2fetc%2fpasswd",
    "/plugins/panel/ui/dashboard/..%5c..%5cplugin.json",
    "/plugins/panel/ui/dashboard/..\\..\\plugin.json",
    "/plugins/panel/ui/dashboard/C:%5cwindows%5cwin.ini",
    "/plugins/panel/ui/dashboard/leak.txt",
    "/plugins/panel/ui/dashboard/up/outside.txt",
    "/plugins/panel/ui/dashboard/%00index.html",
    "/plugins/panel/ui/secret_notes.txt",
    "/plugins/panel/ui/dashboard/.hidden",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_paths_out_of_the_page_folder_are_404(client, outside, path):
    status, body = raw_get(client, path)
    assert status == 404, (path, body[:200])
    assert b"outside the package" not in body
    assert b'"name"' not in body and b"root:" not in body


def test_a_disabled_plugin_serves_no_pages(client, csrf):
    client.post("/plugins/panel/disable", data={"csrf_token": csrf})
    assert client.get("/plugins/panel/ui/dashboard/").status_code == 404


# --- themes ----------------------------------------------------------------------------


def test_a_theme_plugin_styles_every_page(client, csrf):
    for path in ("/", "/plugins", "/plugins/panel", "/docs", "/login"):
        assert '<link rel="stylesheet" href="/theme/tint.css"' in client.get(path).text, path
    css = client.get("/theme/tint.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert THEME_COLOR in css.text
    assert client.get("/theme/panel.css").status_code == 404  # not a theme


def test_a_disabled_theme_is_no_longer_linked(client, csrf):
    client.post("/plugins/tint/disable", data={"csrf_token": csrf})
    assert "/theme/tint.css" not in client.get("/").text
    assert client.get("/theme/tint.css").status_code == 404


def test_the_rest_api_and_the_ui_agree(client, csrf):
    client.post("/plugins/panel/disable", data={"csrf_token": csrf})
    listed = client.get("/api/v1/plugins/panel").json()
    assert listed["state"] == "disabled"
    response = client.post("/api/v1/plugins/panel/enable", headers=AUTH)
    assert response.status_code == 200
    assert 'id="plugin-state">started<' in client.get("/plugins/panel").text
    assert csrf == csrf_of(client.get("/plugins").text)  # one token per session


def test_pages_from_the_register_ui_pages_hook_are_served(site, tmp_path):
    from support.dists import make_plugin

    make_plugin(site, "hooked_pages", code="""
        from plexichat import hookimpl
        from plexichat.contributions import UIPageSpec

        @hookimpl
        def register_ui_pages():
            return [UIPageSpec(name="console", title="Hooked console", path="web/console"),
                    UIPageSpec(name="everything", title="Whole package", path="."),
                    {"name": "stats", "title": "Stats", "path": "web/stats/"}]
    """, files={"web/console/index.html": "<h1>hooked console</h1>",
                "web/stats/index.html": "<h1>stats page</h1>"})
    with running_host(tmp_path / "data", "hooked_pages", admin_token=TOKEN) as client:
        assert client.get("/plugins/hooked_pages/ui/console/").text == (
            "<h1>hooked console</h1>")
        assert client.get("/plugins/hooked_pages/ui/stats/").text == "<h1>stats page</h1>"
        # a page may not be the package itself: that would serve the plugin's code
        assert client.get("/plugins/hooked_pages/ui/everything/plugin.json").status_code == 404
        assert client.get("/plugins/hooked_pages/ui/everything/__init__.py").status_code == 404
        assert "Hooked console" in client.get("/").text
