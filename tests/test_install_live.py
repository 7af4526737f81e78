"""Installing into, and uninstalling from, a running ``plexichat serve`` (real uvicorn on
127.0.0.1) in a fresh virtual environment with the host wheel: the plugin's routes
appear and disappear without a restart."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from support.guide_awesome import write_folder
from support.venv import clean_env, get, serve, shared_host_venv

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "e2e-admin-token"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    return shared_host_venv(tmp_path_factory)


def plugins(server) -> dict[str, dict]:
    status, listed = get(server.url + "/api/v1/plugins")
    assert status == 200, listed
    return {p["name"]: p for p in listed}


def test_new_pytest_install_flow(venv, tmp_path):
    """``plexichat plugins new demo_plugin``, then ``plexichat plugins install
    ./demo_plugin --url …``: served without a restart; and its tests, which find it
    through the installed entry point, pass."""
    env = clean_env(tmp_path / "work", {"PLEXICHAT_ADMIN_TOKEN": TOKEN})
    with serve(venv, tmp_path / "work", env) as server:
        started = time.monotonic()
        venv.run("plexichat", "plugins", "new", "demo_plugin", cwd=tmp_path, env=env)
        installed = venv.run("plexichat", "plugins", "install", "./demo_plugin",
                             "--url", server.url, cwd=tmp_path, env=env)
        try:
            tests = venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             cwd=tmp_path / "demo_plugin", env=env)
            took = time.monotonic() - started
            assert "3 passed" in tests.stdout, tests.stdout
            assert f"{server.url}: demo_plugin started" in installed.stdout, installed.stdout
            assert get(server.url + "/api/v1/demo_plugin/status") == (
                200, {"plugin": "demo_plugin", "status": "ok"}), server.log()
            print(f"new → pytest → install live: {took:.1f} s")
            assert took < 60
        finally:
            venv.run("plexichat", "plugins", "uninstall", "demo_plugin", "--url", server.url,
                     "-q", cwd=tmp_path, env=env)
        assert "demo_plugin" not in plugins(server)


def test_install_and_uninstall_while_serving(venv, tmp_path):
    env = clean_env(tmp_path / "work", {"PLEXICHAT_ADMIN_TOKEN": TOKEN})
    guide_zip = tmp_path / "my_awesome_plugin.zip"
    folder = write_folder(tmp_path / "my_awesome_plugin")
    with zipfile.ZipFile(guide_zip, "w") as zf:  # as the guide packages it
        for path in folder.rglob("*"):
            zf.write(path, path.relative_to(folder).as_posix())

    with serve(venv, tmp_path / "work", env) as server:
        assert "hello" not in plugins(server)
        assert get(server.url + "/api/v1/hello")[0] == 404

        out = venv.run("plexichat", "plugins", "install", ROOT / "example_plugins" / "hello",
                       guide_zip, "--url", server.url, cwd=tmp_path, env=env).stdout
        assert "hello (plexichat-hello 1.0.0): installed, checks passed" in out, out
        assert "folder plugin 'my_awesome_plugin' converted" in out
        assert f"{server.url}: hello started" in out and \
            f"{server.url}: my_awesome_plugin started" in out, out
        assert get(server.url + "/api/v1/hello") == (
            200, {"message": "Hello from PlexiChat!"}), server.log()
        status, awesome = get(server.url + "/api/v1/awesome/status")
        assert status == 200 and awesome["status"] == "awesome", server.log()

        out = venv.run("plexichat", "plugins", "uninstall", "hello", "my_awesome_plugin",
                       "--url", server.url, cwd=tmp_path, env=env).stdout
        assert f"{server.url}: hello removed" in out, out
        listed = plugins(server)
        assert "hello" not in listed and "my_awesome_plugin" not in listed
        assert get(server.url + "/api/v1/hello")[0] == 404
        assert get(server.url + "/api/v1/awesome/status")[0] == 404
        assert get(server.url + "/api/v1/health/ready")[0] == 200
