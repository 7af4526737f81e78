"""``api_endpoints``: declared paths compared with the routes a started plugin serves."""

from __future__ import annotations

import json

from click.testing import CliRunner
from support.api import TOKEN, detail
from support.dists import make_plugin
from support.host import running_host
from test_packaging_check import manifest, project

from plexichat.cli import main
from plexichat.devkit.packaging_check import check_path
from plexichat.kernel.endpoints import declared_path_problems, endpoint_warnings

SERVES = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    router = APIRouter(prefix="/api/v1/items")

    @router.get("")
    def items():
        return []

    @router.get("/{item_id}")
    def item(item_id: int):
        return {"id": item_id}

    @router.post("/{item_id}/undeclared")
    def extra(item_id: int):
        return {}

    @hookimpl
    def register_routers():
        return router
"""

DECLARED = ["/api/v1/items", "/api/v1/items/{item_id}", "/api/v1/items/gone"]


def test_undeclared_and_unserved_paths_are_warnings_on_the_plugin(site, tmp_path):
    make_plugin(site, "items", code=SERVES,
                manifest={"name": "items", "api_endpoints": DECLARED})
    with running_host(tmp_path / "data", "items", admin_token=TOKEN) as client:
        shown = detail(client, "items")
        assert shown["state"] == "started"
        assert shown["warnings"] == [
            "api_endpoints declares /api/v1/items/gone, but the plugin does not serve it",
            "the plugin serves /api/v1/items/{item_id}/undeclared, which api_endpoints "
            "does not declare"]
        listed = {p["name"]: p for p in client.get("/api/v1/plugins").json()}
        assert listed["items"]["warnings"] == shown["warnings"]
        from support.web import login

        login(client)
        page = client.get("/plugins/items").text
        assert "api_endpoints declares /api/v1/items/gone" in page


def test_a_manifest_without_api_endpoints_declares_nothing(site, tmp_path):
    make_plugin(site, "items", code=SERVES)
    with running_host(tmp_path / "data", "items") as client:
        assert detail(client, "items")["warnings"] == []


def test_matching_declarations_warn_nothing(site, tmp_path):
    make_plugin(site, "items", code=SERVES, manifest={
        "name": "items", "api_endpoints": DECLARED[:2] + [
            "/api/v1/items/{item_id}/undeclared/"]})
    with running_host(tmp_path / "data", "items") as client:
        assert detail(client, "items")["warnings"] == []


def test_the_comparison():
    assert endpoint_warnings([], ["/a"]) == []
    assert endpoint_warnings(["/static/app.js"], [], ["/static"]) == []
    assert endpoint_warnings(["/a/"], ["/a"]) == []
    assert endpoint_warnings(["/a"], ["/b"]) == [
        "api_endpoints declares /a, but the plugin does not serve it",
        "the plugin serves /b, which api_endpoints does not declare"]


def test_declared_paths_that_can_never_match():
    assert declared_path_problems(["/ok", "api/x", "/q?x=1", "/ok/"]) == [
        "api_endpoints.1 ('api/x') does not begin with '/'",
        "api_endpoints.2 ('/q?x=1') is not a plain path (no query, fragment or whitespace)",
        "api_endpoints.3 ('/ok/') is listed twice"]


def test_plugins_check_reports_malformed_declarations(tmp_path):
    root = project(tmp_path)
    manifest(root, api_endpoints=["/api/v1/demo", "api/v1/demo/status", "/api/v1/demo"])
    report = check_path(str(root))
    whats = [p.what for p in report.warnings]
    assert "api_endpoints.1 ('api/v1/demo/status') does not begin with '/'" in whats
    assert "api_endpoints.2 ('/api/v1/demo') is listed twice" in whats


def test_plugins_list_and_info_show_the_warnings(site, tmp_path, monkeypatch):
    """The CLI's live views read the API of the host serving the data directory."""
    import threading
    import time

    import httpx
    import uvicorn
    from support.served import free_port

    from plexichat.config import HostSettings
    from plexichat.web import create_app

    make_plugin(site, "items", code=SERVES,
                manifest={"name": "items", "api_endpoints": DECLARED})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(HostSettings(data_dir=tmp_path / "data", load_plugins="items",
                                  admin_token=TOKEN), serve_url=url)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/api/v1/health/ready", trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
        monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("COLUMNS", "250")
        runner = CliRunner()
        listed = runner.invoke(main, ["plugins", "list", "--json"])
        assert listed.exit_code == 0, listed.output
        [items] = [p for p in json.loads(listed.output) if p["name"] == "items"]
        assert len(items["warnings"]) == 2
        table = runner.invoke(main, ["plugins", "list"])
        assert "2 warning(s): plexichat plugins info items" in table.output
        info = runner.invoke(main, ["plugins", "info", "items"])
        assert "api_endpoints declares /api/v1/items/gone" in info.output
    finally:
        server.should_exit = True
        thread.join(timeout=20)
