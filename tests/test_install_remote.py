"""``plexichat plugins install`` from a real index server on 127.0.0.1: a JSON catalog
(wheel URLs relative to it), a PEP 503 simple index and a direct wheel URL, each into
the shared venv where the host is installed, live against a running host; and the exit
status of installs that did nothing useful.

pip is given only the local server: its configuration files are ignored
(``PIP_CONFIG_FILE`` = ``os.devnull``), ``PIP_INDEX_URL`` is an empty index on the
server (so a plugin comes only from where the install sends pip), no find-links, no
extra index; each test checks from pip's own output where it looked and from the
server's log what it fetched. The fixture plugins depend only on ``plexichat``,
already installed in the venv, so nothing else needs resolving.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.venv import Served, Venv, clean_env, get, serve, shared_host_venv

from plexichat.devkit.catalog import build_catalog, write_simple_index
from plexichat.devkit.packaging_check import build_wheel
from plexichat.devkit.scaffold import scaffold

TOKEN = "remote-admin-token"

pytestmark = pytest.mark.e2e


def plugin_wheel(work: Path, out: Path, name: str, *, entry_point: bool = True,
                 startup: str = "", **manifest: object) -> Path:
    """A scaffolded plugin's wheel (``manifest`` merged into its plugin.json; without
    its entry-point table when ``entry_point`` is false; ``startup`` replacing the body
    of its startup hook)."""
    root, _ = scaffold(name, work / name)
    if startup:
        init = next(root.glob("src/*/__init__.py"))
        line = f'    context.logger.info("{name} started")'
        assert line in init.read_text()
        init.write_text(init.read_text().replace(line, f"    {startup}"))
    if not entry_point:
        pyproject = root / "pyproject.toml"
        lines = pyproject.read_text().splitlines()
        at = lines.index('[project.entry-points."plexichat.plugins"]')
        del lines[at:at + 2]
        pyproject.write_text("\n".join(lines) + "\n")
    plugin_json = next(root.glob("src/*/plugin.json"))
    plugin_json.write_text(json.dumps({**json.loads(plugin_json.read_text()), **manifest}))
    wheel, _ = build_wheel(root, out)
    return wheel


@dataclass
class IndexServer:
    """A directory served over HTTP on 127.0.0.1: catalog.json, simple/, wheels/."""

    url: str
    root: Path
    requests: list[str] = field(default_factory=list)

    def wheel_url(self, name: str) -> str:
        [wheel] = (self.root / "wheels").glob(f"plexichat_{name}-*.whl")
        return f"{self.url}/wheels/{wheel.name}"


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Iterator[IndexServer]:
    tmp = tmp_path_factory.mktemp("index")
    root = tmp / "site"
    wheels = [plugin_wheel(tmp / "src", root / "wheels", name)
              for name in ("from_json", "from_simple", "from_url")]
    wheels.append(plugin_wheel(tmp / "src", root / "wheels", "too_new", api_version="2.0"))
    wheels.append(plugin_wheel(tmp / "src", root / "wheels", "bad_start",
                               startup='raise RuntimeError("no mail server configured")'))
    plugin_wheel(tmp / "src", root / "wheels", "no_entry", entry_point=False)
    build_catalog(wheels, root / "catalog.json")  # wheel URLs relative: wheels/…
    write_simple_index(wheels, root / "simple")
    assert json.loads((root / "catalog.json").read_text())["plugins"][0]["url"].startswith(
        "wheels/")

    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            seen.append(f"{self.command} {self.path}")

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield IndexServer(f"http://127.0.0.1:{server.server_address[1]}", root, seen)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    return shared_host_venv(tmp_path_factory)


@pytest.fixture(scope="module")
def env(index, tmp_path_factory) -> dict[str, str]:
    """The venv's environment, with pip seeing the local server and nothing else."""
    work = tmp_path_factory.mktemp("remote-work")
    env = {k: v for k, v in clean_env(work, {"PLEXICHAT_ADMIN_TOKEN": TOKEN}).items()
           if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=f"{index.url}/no-index/",
               PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    return env


@pytest.fixture(scope="module")
def host(venv, env, tmp_path_factory) -> Iterator[Served]:
    with serve(venv, tmp_path_factory.mktemp("remote-host"), env) as server:
        yield server


def install(venv: Venv, env: dict[str, str], tmp_path: Path, *args: str):
    return venv.run("plexichat", "plugins", "install", *args, cwd=tmp_path, env=env,
                    check=False)


def uninstall(venv: Venv, env: dict[str, str], tmp_path: Path, name: str,
              host: Served) -> None:
    """Leave the shared venv as it was (nothing to do when the install failed)."""
    venv.run("plexichat", "plugins", "uninstall", name, "--url", host.url, "-q",
             cwd=tmp_path, env=env, check=False)


def assert_local_only(out: str, index: IndexServer, path: str = "/no-index/") -> None:
    """pip looked in the local server's index at ``path`` and nowhere else."""
    assert f"Looking in indexes: {index.url}{path}\n" in out, out
    assert "Looking in links" not in out and "pypi.org" not in out, out


def assert_served(name: str, host: Served, out: str) -> None:
    assert f"{host.url}: {name} started" in out, out
    assert get(f"{host.url}/api/v1/{name}/status") == (
        200, {"plugin": name, "status": "ok"}), host.log()


def test_json_catalog_over_http(venv, env, index, host, tmp_path):
    proc = install(venv, env, tmp_path, "from_json", "--catalog",
                   f"{index.url}/catalog.json", "--url", host.url)
    out = proc.stdout + proc.stderr
    try:
        assert proc.returncode == 0, out
        assert f"from_json: plexichat-from-json 0.1.0 from {index.url}/catalog.json" in out
        wheel = Path(index.wheel_url("from_json")).name
        assert f"{index.url}/wheels/{wheel}#sha256=" in out, out  # relative URL resolved
        assert_local_only(out, index)
        assert f"GET /wheels/{wheel}" in index.requests
        assert "from_json (plexichat-from-json 0.1.0): installed, checks passed" in out, out
        assert_served("from_json", host, out)
    finally:
        uninstall(venv, env, tmp_path, "from_json", host)


def test_simple_index_catalog_over_http(venv, env, index, host, tmp_path):
    proc = install(venv, env, tmp_path, "from_simple", "--catalog", f"{index.url}/simple/",
                   "--url", host.url)
    out = proc.stdout + proc.stderr
    try:
        assert proc.returncode == 0, out
        assert f"--index-url {index.url}/simple/ plexichat-from-simple==0.1.0" in out, out
        assert_local_only(out, index, "/simple/")
        assert "GET /simple/plexichat-from-simple/" in index.requests, index.requests
        assert_served("from_simple", host, out)
    finally:
        uninstall(venv, env, tmp_path, "from_simple", host)


def test_wheel_url(venv, env, index, host, tmp_path):
    proc = install(venv, env, tmp_path, index.wheel_url("from_url"), "--url", host.url)
    out = proc.stdout + proc.stderr
    try:
        assert proc.returncode == 0, out
        assert_local_only(out, index)
        assert "from_url (plexichat-from-url 0.1.0): installed, checks passed" in out, out
        assert_served("from_url", host, out)
    finally:
        uninstall(venv, env, tmp_path, "from_url", host)


def test_a_distribution_without_the_entry_point_fails_with_the_table_to_add(
        venv, env, index, tmp_path):
    proc = install(venv, env, tmp_path, index.wheel_url("no_entry"))
    try:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert ("plexichat-no-entry 0.1.0 was installed but is not a PlexiChat plugin: it "
                "has no entry point in the 'plexichat.plugins' group") in proc.stderr
        assert ('    [project.entry-points."plexichat.plugins"]\n'
                '    no_entry = "plexichat_no_entry"\n') in proc.stderr, proc.stderr
    finally:
        venv.run("python", "-m", "pip", "uninstall", "--yes", "plexichat-no-entry",
                 cwd=tmp_path, env=env, check=False)


def test_a_plugin_that_would_not_start_fails_the_install(venv, env, index, host, tmp_path):
    proc = install(venv, env, tmp_path, index.wheel_url("too_new"), "--url", host.url)
    try:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert ("Error: too_new (plexichat-too-new 0.1.0) is installed but would not "
                "start: rejected: needs plugin API 2.0") in proc.stderr, proc.stderr
        assert f"{host.url}: too_new not started: rejected" in proc.stdout, proc.stdout
    finally:
        uninstall(venv, env, tmp_path, "too_new", host)


def test_a_plugin_that_does_not_start_in_the_running_host_fails_the_install(
        venv, env, index, host, tmp_path):
    proc = install(venv, env, tmp_path, index.wheel_url("bad_start"), "--url", host.url)
    try:
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "bad_start (plexichat-bad-start 0.1.0): installed, checks passed" in \
            proc.stdout, proc.stdout  # the static check cannot know
        assert f"Error: bad_start did not start at {host.url}: failed: " in proc.stderr, \
            proc.stderr
        assert "no mail server configured" in proc.stderr, proc.stderr
    finally:
        uninstall(venv, env, tmp_path, "bad_start", host)
