"""``auto_start: false``: loaded and configured at host start, started on demand.

The plugin is imported and its settings validated when the host starts, but it is listed
``stopped`` with a reason saying how to start it; none of its hooks runs and its routes
are not served until the operator starts it (API, CLI or web UI).
"""

from __future__ import annotations

import sys

from click.testing import CliRunner
from support.api import TOKEN, detail, post
from support.dists import make_plugin
from support.host import make_healthy, running_host

from plexichat.cli import main

LAZY = """
    from fastapi import APIRouter
    from plexichat import hookimpl

    CALLS = []
    router = APIRouter()

    @router.get("/api/v1/lazy")
    def lazy():
        return {"ok": True}

    @hookimpl
    def startup(context):
        CALLS.append(("startup", dict(context.config)))

    @hookimpl
    def register_routers():
        return router
"""

MANIFEST = {"name": "lazy", "type": "feature", "auto_start": False,
            "settings_schema": {"type": "object",
                                "properties": {"greeting": {"type": "string",
                                                            "default": "hi"}}}}


def _host(tmp_path):
    return running_host(tmp_path / "data", "lazy", "healthy", admin_token=TOKEN)


def test_auto_start_false_is_loaded_configured_and_stopped(site, tmp_path):
    make_healthy(site)
    make_plugin(site, "lazy", code=LAZY, manifest=MANIFEST)
    with _host(tmp_path) as client:
        lazy = detail(client, "lazy")
        assert lazy["state"] == "stopped"
        assert "auto_start: false" in lazy["reason"]
        assert "plexichat plugins start lazy" in lazy["reason"]
        assert "plx_lazy" in sys.modules  # loaded (imported) ...
        assert sys.modules["plx_lazy"].CALLS == []  # ... but its startup never ran
        assert lazy["hooks"] == []  # and no hook of it is registered
        assert client.get("/api/v1/lazy").status_code == 404
        assert detail(client, "healthy")["state"] == "started"
        assert client.get("/api/v1/health/ready").status_code == 200

        started = post(client, "/api/v1/plugins/lazy/start")
        assert started.status_code == 200, started.text
        assert started.json()["state"] == "started"
        assert sys.modules["plx_lazy"].CALLS == [("startup", {"greeting": "hi"})]
        assert client.get("/api/v1/lazy").json() == {"ok": True}

        stopped = post(client, "/api/v1/plugins/lazy/stop")
        assert stopped.json()["state"] == "stopped"
        assert stopped.json()["reason"] == "stopped by the operator"
        assert client.get("/api/v1/lazy").status_code == 404


def test_start_refuses_a_disabled_plugin_with_409(site, tmp_path):
    make_healthy(site)
    make_plugin(site, "lazy", code=LAZY, manifest=MANIFEST)
    with _host(tmp_path) as client:
        assert post(client, "/api/v1/plugins/lazy/disable").status_code == 200
        refused = post(client, "/api/v1/plugins/lazy/start")
        assert refused.status_code == 409
        assert "disabled by the operator" in refused.json()["detail"]
        assert client.post("/api/v1/plugins/lazy/start").status_code == 401
        assert post(client, "/api/v1/plugins/nothere/start").status_code == 404


def test_cli_plugins_start_starts_it_in_the_running_host(site, tmp_path, monkeypatch):
    """``plexichat plugins start NAME --url`` goes through the host's API."""
    import threading

    import uvicorn
    from support.served import free_port

    from plexichat.config import HostSettings
    from plexichat.web import create_app

    make_healthy(site)
    make_plugin(site, "lazy", code=LAZY, manifest=MANIFEST)
    port = free_port()
    app = create_app(HostSettings(data_dir=tmp_path / "data", load_plugins="lazy,healthy",
                                  admin_token=TOKEN))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        import time

        import httpx

        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/api/v1/health/ready", trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
        runner = CliRunner()
        result = runner.invoke(main, ["plugins", "start", "lazy", "--url", url,
                                      "--token", TOKEN])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "lazy: started"
        assert httpx.get(url + "/api/v1/lazy", trust_env=False).json() == {"ok": True}
        result = runner.invoke(main, ["plugins", "start", "nothere", "--url", url,
                                      "--token", TOKEN])
        assert result.exit_code == 1
        assert "no plugin named 'nothere'" in result.output
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_cli_plugins_start_without_a_running_host_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path / "nohost"))
    result = CliRunner().invoke(main, ["plugins", "start", "lazy"])
    assert result.exit_code == 1
    assert "acts on a running host only" in result.output


def test_the_web_ui_shows_a_start_button_and_starts_it(site, tmp_path):
    from support.web import csrf_of, login

    make_plugin(site, "lazy", code=LAZY, manifest=MANIFEST)
    with running_host(tmp_path / "data", "lazy", admin_token=TOKEN) as client:
        login(client)
        page = client.get("/plugins/lazy").text
        assert 'action="/plugins/lazy/start"' in page and 'data-action="start"' in page
        answer = client.post("/plugins/lazy/start", follow_redirects=False,
                             data={"csrf_token": csrf_of(page), "next": "/plugins/lazy"})
        assert answer.status_code == 303
        shown = client.get("/plugins/lazy").text
        assert "lazy is now started." in shown
        assert 'data-action="disable"' in shown
        assert detail(client, "lazy")["state"] == "started"
