"""The dark theme: its palette against the web UI's stylesheet, then applied by a real
app with only this plugin loaded."""

from __future__ import annotations

import pytest
from plexichat_theme_dark import colour_properties, missing_properties, palette

NAME = "theme_dark"
LINK = '<link rel="stylesheet" href="/theme/theme_dark.css" class="plx-theme">'


def test_every_colour_of_the_ui_has_a_dark_value():
    assert colour_properties()  # the UI's stylesheet still has colour properties
    assert missing_properties() == []
    assert palette()["--plx-bg"] == "#0f1218"


@pytest.fixture
def client(plexichat_client):
    return plexichat_client(plugins=[NAME], admin=True)


def test_the_theme_is_a_started_theme_plugin(client):
    info = client.plugin(NAME)
    assert info["state"] == "started", info["reason"]
    assert info["type"] == "theme"
    assert info["distribution"] == "plexichat-theme-dark"


def test_its_css_is_served_palette_first(client):
    response = client.get(f"/theme/{NAME}.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    css = response.text
    assert css.index("/* theme_dark: theme.css */") < css.index(
        "/* theme_dark: components.css */")
    assert "color-scheme: dark;" in css
    assert "--plx-bg: #0f1218;" in css


def test_every_page_links_it_after_the_ui_stylesheet(client):
    for path in ("/", "/plugins", f"/plugins/{NAME}", "/docs"):
        page = client.get(path).text
        assert LINK in page, path
        assert page.index('href="/static/plexichat.css"') < page.index(LINK), path


def test_disabled_it_is_neither_linked_nor_served(client):
    assert client.post(f"/api/v1/plugins/{NAME}/disable").json()["state"] == "disabled"
    assert "/theme/theme_dark.css" not in client.get("/").text
    assert client.get(f"/theme/{NAME}.css").status_code == 404
    assert client.post(f"/api/v1/plugins/{NAME}/enable").json()["state"] == "started"
    assert LINK in client.get("/").text


def test_the_self_test_passes(client):
    result = client.post(f"/api/v1/plugins/{NAME}/self-test").json()
    assert result["passed"], result
    assert result["message"] == "every colour of the web UI has a dark value"
