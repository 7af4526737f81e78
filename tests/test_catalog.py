"""Plugin catalogs and ``plexichat plugins search``: JSON index files and PEP 503 simple
indexes (a directory, or served over HTTP on 127.0.0.1), compatibility with this host,
term filtering."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from plexichat.cli.search import search as search_command
from plexichat.devkit.catalog import (
    CatalogEntry,
    CatalogError,
    build_catalog,
    load_catalog,
    search,
    write_simple_index,
)
from plexichat.devkit.packaging_check import build_wheel
from plexichat.devkit.scaffold import scaffold


def plugin_wheel(tmp_path: Path, name: str, version: str = "0.1.0",
                 **manifest: object) -> Path:
    root, _ = scaffold(name, tmp_path / "src" / f"{name}-{version}")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"',
                                                       f'version = "{version}"'))
    path = next(root.glob("src/*/plugin.json"))
    path.write_text(json.dumps({**json.loads(path.read_text()), **manifest}))
    wheel, _ = build_wheel(root, tmp_path / "dist")
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("catalog")
    return [
        plugin_wheel(tmp, "alpha", tags=["chat", "example"]),
        plugin_wheel(tmp, "beta", "1.0.0", min_plexichat_version="99.0", type="theme"),
        plugin_wheel(tmp, "gamma", api_version="2.0"),
        plugin_wheel(tmp, "delta", "1.0.0"),
        plugin_wheel(tmp, "delta", "2.0.0", min_plexichat_version="99.0"),
    ]


def test_json_catalog_from_wheels(wheels, tmp_path):
    catalog = tmp_path / "site" / "catalog.json"
    data = build_catalog(wheels, catalog)
    assert data["format"] == 1
    assert [(p["name"], p["version"]) for p in data["plugins"]] == [
        ("alpha", "0.1.0"), ("beta", "1.0.0"), ("delta", "1.0.0"), ("delta", "2.0.0"),
        ("gamma", "0.1.0")]
    alpha = data["plugins"][0]
    assert alpha["distribution"] == "plexichat-alpha"
    assert alpha["summary"] == "alpha: a PlexiChat plugin."
    assert (alpha["type"], alpha["api_version"], alpha["min_plexichat_version"]) == (
        "feature", "1.0", "3.0.0")
    assert alpha["url"].startswith("file://") and alpha["url"].endswith(
        "plexichat_alpha-0.1.0-py3-none-any.whl")
    assert len(alpha["sha256"]) == 64 and alpha["tags"] == ["chat", "example"]

    beside = build_catalog(wheels, wheels[0].parent / "catalog.json")  # as nox -s catalog
    assert beside["plugins"][0]["url"] == "plexichat_alpha-0.1.0-py3-none-any.whl"
    assert load_catalog(str(wheels[0].parent / "catalog.json"))[0].url == str(wheels[0])

    results = {r.entry.name: r for r in search(load_catalog(str(catalog)))}
    assert results["alpha"].compatible and results["alpha"].reason == ""
    assert not results["beta"].compatible
    assert results["beta"].reason == "needs PlexiChat >= 99.0; this host is 3.0.0"
    assert results["gamma"].reason == "needs plugin API 2.0; this host implements 1.0"
    delta = results["delta"]  # newest shown; an older compatible one is named
    assert (delta.entry.version, delta.compatible, delta.compatible_version) == (
        "2.0.0", False, "1.0.0")


def test_term_filters_names_summaries_types_and_tags(wheels, tmp_path):
    catalog = tmp_path / "catalog.json"
    build_catalog(wheels, catalog)
    entries = load_catalog(str(catalog))
    assert [r.entry.name for r in search(entries, "ALPHA")] == ["alpha"]
    assert [r.entry.name for r in search(entries, "theme")] == ["beta"]
    assert [r.entry.name for r in search(entries, "chat")] == [  # tag, and every summary
        "alpha", "beta", "delta", "gamma"]
    assert [r.entry.name for r in search(entries, "example")] == ["alpha"]
    assert search(entries, "nothing-like-it") == []


def test_hand_written_catalog_with_relative_urls(tmp_path):
    catalog = tmp_path / "index" / "catalog.json"
    catalog.parent.mkdir()
    catalog.write_text(json.dumps([
        {"name": "tiny", "version": "1.2", "wheel": "wheels/tiny-1.2-py3-none-any.whl",
         "summary": "Tiny", "unknown_field": "ignored"},
    ]))
    [entry] = load_catalog(str(catalog))
    assert entry.url == str(tmp_path / "index" / "wheels" / "tiny-1.2-py3-none-any.whl")
    assert entry.compatibility() == (True, "")
    catalog.write_text('{"format": 7, "plugins": []}')
    with pytest.raises(CatalogError, match="format 7"):
        load_catalog(str(catalog))
    catalog.write_text('{"plugins": [{"name": "x"}]}')
    with pytest.raises(CatalogError, match="entry 0 needs at least a name and a version"):
        load_catalog(str(catalog))
    with pytest.raises(CatalogError, match="no such catalog"):
        load_catalog(str(tmp_path / "missing.json"))


def test_simple_index_directory_and_url(wheels, tmp_path, monkeypatch):
    root = tmp_path / "simple"
    host_like = tmp_path / "other-1.0-py3-none-any.whl"  # not a plugin: skipped
    assert write_simple_index(wheels, root) == [
        "plexichat-alpha", "plexichat-beta", "plexichat-delta", "plexichat-gamma"]
    assert (root / "plexichat-delta" / "plexichat_delta-2.0.0-py3-none-any.whl").is_file()
    assert not host_like.exists()

    for source in (str(root), str(tmp_path)):  # the index itself, or its parent
        by_name = {e.name: e for e in load_catalog(source)}
        assert sorted(by_name) == ["alpha", "beta", "delta", "gamma"]
        assert by_name["delta"].version == "2.0.0"  # the newest wheel of each project
        assert by_name["beta"].type == "theme"

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        by_name = {e.name: e for e in load_catalog(url)}
        assert sorted(by_name) == ["alpha", "beta", "delta", "gamma"]
        assert by_name["alpha"].url == f"{url}plexichat-alpha/" \
                                       "plexichat_alpha-0.1.0-py3-none-any.whl"
    finally:
        server.shutdown()
        server.server_close()


def test_search_command(wheels, tmp_path, monkeypatch):
    catalog = tmp_path / "catalog.json"
    build_catalog(wheels, catalog)
    runner = CliRunner()

    result = runner.invoke(search_command, ["--catalog", str(catalog), "--json"])
    assert result.exit_code == 0, result.output
    shown = {r["name"]: r for r in json.loads(result.output)}
    assert shown["alpha"]["compatible"] is True and shown["beta"]["compatible"] is False
    assert shown["alpha"]["installed"] is None

    monkeypatch.setenv("PLEXICHAT_CATALOG", str(catalog))
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(search_command, ["alp"])
    assert result.exit_code == 0, result.output
    assert "alpha" in result.output and "beta" not in result.output
    assert "yes" in result.output and "alpha: a PlexiChat plugin." in result.output
    result = runner.invoke(search_command, ["beta"])
    assert "no: needs PlexiChat >= 99.0; this host is 3.0.0" in result.output
    result = runner.invoke(search_command, ["zzz"])
    assert "no plugin in" in result.output and "matches 'zzz'" in result.output

    monkeypatch.delenv("PLEXICHAT_CATALOG")
    result = runner.invoke(search_command, [])
    assert result.exit_code == 2 and "PLEXICHAT_CATALOG" in result.output


def test_installed_version_is_shown(site, tmp_path):
    from support.dists import make_plugin

    make_plugin(site, "alpha", version="0.0.9")
    results = search([CatalogEntry(name="alpha", version="0.1.0")],
                     installed={"alpha": "0.0.9"})
    assert results[0].installed == "0.0.9"
    from plexichat.cli.search import _installed

    assert _installed()["alpha"] == "0.0.9"


def test_install_takes_catalog_names_from_the_catalog(wheels, tmp_path):
    import click

    from plexichat.cli.install import _from_catalog

    catalog = tmp_path / "catalog.json"
    build_catalog(wheels, catalog)
    by_name = {(w.name.split("-")[0], w.name.split("-")[1]): w for w in wheels}
    specs = _from_catalog(("alpha", "delta", "requests>=2", "not_listed"), str(catalog))

    def checked(wheel):  # pip gets the catalog's digest with the wheel, and checks it
        return f"{wheel.as_uri()}#sha256={hashlib.sha256(wheel.read_bytes()).hexdigest()}"

    assert specs == (checked(by_name["plexichat_alpha", "0.1.0"]),
                     checked(by_name["plexichat_delta", "1.0.0"]),  # 2.0.0 needs a newer host
                     "requests>=2", "not_listed")
    with pytest.raises(click.ClickException, match="beta in .*: needs PlexiChat >= 99.0"):
        _from_catalog(("beta",), str(catalog))
    assert _from_catalog(("alpha",), None) == ("alpha",)  # no catalog configured


def test_install_reads_plexichat_catalog_and_says_what_it_leaves_to_pip(
        wheels, tmp_path, monkeypatch, capsys):
    from plexichat.cli.install import _from_catalog

    catalog = tmp_path / "catalog.json"
    build_catalog(wheels, catalog)
    monkeypatch.setenv("PLEXICHAT_CATALOG", str(catalog))
    specs = _from_catalog(("alpha", "requests"), None)
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    assert specs[0] == f"{wheels[0].as_uri()}#sha256={digest}" and specs[1] == "requests"
    out = capsys.readouterr().out
    assert f"alpha: plexichat-alpha 0.1.0 from {catalog}" in out
    assert f"requests: not in {catalog}; pip resolves it as a requirement" in out


def test_install_from_a_simple_index_catalog_uses_it_as_pips_index(wheels, tmp_path):
    from plexichat.cli.install import PipIndex, _from_catalog

    write_simple_index(wheels, tmp_path / "simple")
    index = PipIndex()
    specs = _from_catalog(("alpha", "./x.whl"), str(tmp_path / "simple"), index)
    assert specs == ("plexichat-alpha==0.1.0", "./x.whl")
    assert index.args() == ["--index-url", (tmp_path / "simple").as_uri()]

    own = PipIndex("http://127.0.0.1:1/simple/", ["http://127.0.0.1:2/simple/"])
    _from_catalog(("alpha",), str(tmp_path), own)  # the index's parent directory
    assert own.args() == ["--index-url", "http://127.0.0.1:1/simple/",
                          "--extra-index-url", "http://127.0.0.1:2/simple/",
                          "--extra-index-url", (tmp_path / "simple").as_uri()]


def test_a_json_catalog_over_http_names_wheels_by_absolute_url(wheels, tmp_path, monkeypatch):
    """The wheel URLs of a served catalog resolve against the catalog's URL, and carry the
    catalog's sha256 for pip to check."""
    from plexichat.devkit.catalog import open_catalog, pick_for_install

    site = tmp_path / "site"
    (site / "wheels").mkdir(parents=True)
    for wheel in wheels:
        (site / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
    data = build_catalog(sorted((site / "wheels").glob("*.whl")), site / "catalog.json")
    (site / "nested").mkdir()
    (site / "nested" / "catalog.json").write_text(json.dumps([
        {**data["plugins"][0], "url": "../" + data["plugins"][0]["url"]}]))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for source in (f"{url}/catalog.json", f"{url}/nested/catalog.json"):
            catalog = open_catalog(source)
            assert catalog.index_url is None  # a JSON catalog names its wheels
            [alpha] = pick_for_install(catalog, ["alpha"])
            assert alpha.spec == (f"{url}/wheels/plexichat_alpha-0.1.0-py3-none-any.whl"
                                  f"#sha256={data['plugins'][0]['sha256']}")
    finally:
        server.shutdown()
        server.server_close()
