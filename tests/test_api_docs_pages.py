"""``/api/docs`` and ``/api/redoc`` load every file from the host itself (the browser
proof with the network cut off is in test_browser.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plexichat.config import HostSettings
from plexichat.web import api_docs
from plexichat.web.app import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    data = tmp_path_factory.mktemp("api-docs")
    settings = HostSettings(data_dir=data, load_plugins="")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
def test_every_file_of_the_page_comes_from_the_host(client, page):
    response = client.get(page)
    assert response.status_code == 200
    urls = re.findall(r'(?:src|href|spec-url)="([^"]+)"|url: \'([^\']+)\'', response.text)
    urls = [a or b for a, b in urls]
    assert len(urls) >= 3, response.text
    for url in urls:
        assert url.startswith("/api/"), f"{page} loads {url} from outside the host"
        assert client.get(url).status_code == 200, url
    # The browser is told not to fetch anything else from elsewhere either.
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_the_default_fastapi_pages_are_not_served(client):
    assert client.get("/docs/oauth2-redirect").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_missing_assets_are_named_with_the_fix(monkeypatch, tmp_path):
    static = tmp_path / "fastapi_offline" / "static"
    static.mkdir(parents=True)
    (static / api_docs.SWAGGER_JS).write_text("", encoding="utf-8")
    monkeypatch.setattr(api_docs, "files", lambda package: Path(tmp_path / package))
    with pytest.raises(api_docs.MissingDocsAssets) as caught:
        api_docs.assets_dir()
    message = str(caught.value)
    assert "swagger-ui.css, redoc.standalone.js, favicon.png" in message
    assert "pip install --force-reinstall 'fastapi-offline>=1.7'" in message
