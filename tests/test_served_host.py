"""A real server (``python -m plexichat serve``) with broken plugins installed.

The host must answer, report each broken plugin's state and reason, and serve the
healthy one. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from support.dists import make_plugin
from support.host import healthy_code

BROKEN = ("import_error", "invalid_manifest", "missing_dep", "never_returns",
          "raising_startup")
PLUGINS = ("healthy", *BROKEN)

# Never through a proxy: this talks to the server it started, nothing else.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(port, path, timeout=5.0):
    """``(status, decoded JSON)`` of ``GET http://127.0.0.1:<port><path>``."""
    try:
        with _opener.open(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_fixture_plugins(site):
    make_plugin(site, "healthy", code=healthy_code())
    make_plugin(site, "import_error", code="import plx_this_module_does_not_exist\n")
    make_plugin(site, "invalid_manifest",
                manifest={"name": "invalid_manifest", "ui_pages": [{"name": "x", "path": "x"}]})
    make_plugin(site, "missing_dep",
                manifest={"name": "missing_dep", "dependencies": ["awesome>=1.2"]})
    make_plugin(site, "never_returns", code="""
        import threading
        from plexichat import hookimpl

        @hookimpl
        def startup(context):
            threading.Event().wait()
    """)
    make_plugin(site, "raising_startup", code="""
        from plexichat import hookimpl

        @hookimpl
        async def startup(context):
            raise RuntimeError("cannot start")
    """)


@pytest.fixture
def server(site, tmp_path):
    """A ``plexichat serve`` subprocess; yields its port and kills it afterwards."""
    install_fixture_plugins(site)
    port = free_port()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
        PLEXICHAT_STARTUP_TIMEOUT="2",
        PLEXICHAT_LOAD_PLUGINS=",".join(PLUGINS),
        PLEXICHAT_DATA_DIR=str(tmp_path / "served-data"),
    )
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plexichat", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
        )
        try:
            yield port, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    # shown by pytest when the test fails
    sys.stdout.write((tmp_path / "server.log").read_text(errors="replace"))


def wait_for(port, path, proc, *, status=200, within=30.0):
    deadline = time.monotonic() + within
    while True:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            code, body = get(port, path)
            if code == status:
                return body
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{path} did not answer {status} in {within} s"
        time.sleep(0.1)


def test_served_host_with_broken_plugins(server):
    port, proc = server
    assert wait_for(port, "/api/v1/health/live", proc)["status"] == "ok"
    assert wait_for(port, "/api/v1/health/ready", proc)["status"] == "ok"

    code, listed = get(port, "/api/v1/plugins")
    assert code == 200
    plugins = {p["name"]: p for p in listed}
    states = {name: (plugins[name]["state"], plugins[name]["reason"]) for name in PLUGINS}

    assert states["healthy"] == ("started", "")
    assert states["import_error"] == (
        "failed",
        "import failed: ModuleNotFoundError: No module named 'plx_this_module_does_not_exist'",
    )
    state, reason = states["invalid_manifest"]
    assert state == "rejected"
    assert "plx-invalid-manifest: plx_invalid_manifest/plugin.json: ui_pages.0.title" in reason
    assert states["missing_dep"] == ("rejected", "requires 'awesome', which is not installed")
    assert states["never_returns"] == (
        "failed", "startup did not finish within 2 s (PLEXICHAT_STARTUP_TIMEOUT)"
    )
    assert states["raising_startup"] == ("failed", "startup raised RuntimeError: cannot start")

    assert get(port, "/api/v1/healthy") == (200, {"ok": "healthy"})
    assert get(port, "/api/v1/plugins/never_returns")[1]["state"] == "failed"
