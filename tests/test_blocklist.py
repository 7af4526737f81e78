"""Known-bad versions: a catalog entry marked ``"blocked": "why"`` is never installed,
and once the catalog was read, an installed blocked version is ``rejected`` with that
reason (``plexichat plugins list``, ``GET /api/v1/plugins``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.dists import make_plugin
from support.host import plugins_by_name, running_host
from support.wheels import Env, make_env, write_wheel

from plexichat.cli import main
from plexichat.kernel.blocklist import BLOCKLIST_FILE, read_blocklist

REASON = "writes the admin token to the log"


def catalog(path: Path, wheels: Path | None = None) -> Path:
    """A JSON catalog offering ``hist`` 1.0 (blocked) and 2.0."""
    entries = [{"name": "hist", "distribution": "plx-hist", "version": v,
                **({"url": str(wheels / f"plx_hist-{v}-py3-none-any.whl")} if wheels else {})}
               for v in ("1.0", "2.0")]
    entries[0]["blocked"] = REASON
    path.write_text(json.dumps({"format": 1, "plugins": entries}))
    return path


def test_an_installed_blocked_version_is_rejected_with_the_catalogs_reason(site, tmp_path):
    make_plugin(site, "hist", version="1.0")
    source = catalog(tmp_path / "catalog.json")
    runner = CliRunner()
    found = runner.invoke(main, ["plugins", "search", "--catalog", str(source), "--json"])
    assert found.exit_code == 0, found.output
    [result] = json.loads(found.output)
    assert (result["version"], result["compatible"], result["compatible_version"]) == (
        "2.0", True, None)
    [blocked] = read_blocklist(tmp_path / "data")[str(source)]
    assert (blocked.distribution, blocked.version, blocked.reason) == ("plx-hist", "1.0",
                                                                      REASON)
    expected = f"plx-hist 1.0 is blocked by the plugin catalog ({source}): {REASON}"

    listed = runner.invoke(main, ["plugins", "list", "--json"])
    [hist] = [p for p in json.loads(listed.output) if p["name"] == "hist"]
    assert (hist["state"], hist["reason"]) == ("rejected", expected)

    with running_host(tmp_path / "data", "hist") as client:
        served = plugins_by_name(client)["hist"]
        assert (served["state"], served["reason"]) == ("rejected", expected)
        assert client.get("/api/v1/plugins/hist").json()["reason"] == expected

    # the catalog no longer blocks it: read again, the block is gone
    source.write_text(json.dumps([{"name": "hist", "distribution": "plx-hist",
                                   "version": "1.0"}]))
    assert runner.invoke(main, ["plugins", "search", "--catalog", str(source)]).exit_code == 0
    assert read_blocklist(tmp_path / "data") == {}
    with running_host(tmp_path / "data", "hist") as client:
        assert plugins_by_name(client)["hist"]["state"] == "started"


def test_a_damaged_blocklist_blocks_nothing_and_is_logged(site, tmp_path, caplog):
    make_plugin(site, "hist", version="1.0")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / BLOCKLIST_FILE).write_text("{not json")
    with running_host(tmp_path / "data", "hist") as client:
        assert plugins_by_name(client)["hist"]["state"] == "started"
    assert f"{tmp_path / 'data' / BLOCKLIST_FILE} is not a blocked-versions file" in \
        caplog.text


def test_a_catalog_with_a_bad_blocked_field_is_named(tmp_path):
    source = tmp_path / "catalog.json"
    source.write_text(json.dumps([{"name": "hist", "version": "1.0", "blocked": 3}]))
    result = CliRunner().invoke(main, ["plugins", "search", "--catalog", str(source)])
    assert result.exit_code == 1
    assert 'entry 0 (hist 1.0): "blocked" must be a reason (a string) or true' in \
        result.output


@pytest.fixture
def env(tmp_path) -> Env:
    links = tmp_path / "links"
    for version in ("1.0", "2.0"):
        write_wheel(links, "plx-hist", version, plugin="hist")
    return make_env(tmp_path / "venv", links)


def test_install_refuses_a_blocked_version_and_picks_the_newest_unblocked(env, tmp_path):
    source = catalog(tmp_path / "catalog.json", env.find_links)
    before = env.freeze()
    for force in ([], ["--force"]):
        refused = env.run("-m", "plexichat", "plugins", "install", "plx-hist==1.0",
                          "--catalog", str(source), *force, check=False)
        assert refused.returncode == 1
        assert "hist: not in" not in refused.stdout
        assert (f"plx-hist 1.0 is blocked by the plugin catalog ({source}): {REASON}\n"
                "refused: the host would reject it; nothing was changed (--force does not "
                "override a blocked version)") in refused.stderr, refused.stderr
        assert env.freeze() == before

    installed = env.run("-m", "plexichat", "plugins", "install", "hist", "--catalog",
                        str(source))
    assert f"hist: plx-hist 2.0 from {source}" in installed.stdout
    assert "plx-hist==2.0" in env.freeze() or "plx-hist @ file:" in env.freeze()


def test_the_api_refuses_a_blocked_version(env, tmp_path, monkeypatch):
    from support.api import AUTH, TOKEN

    import plexichat.web.install_runner
    from plexichat.kernel.blocklist import BlockedVersion, write_blocklist

    write_blocklist(tmp_path / "data", "catalog.json",
                    [BlockedVersion("plx-hist", "1.0", REASON, "hist")])
    monkeypatch.setattr(plexichat.web.install_runner, "job_command",
                        lambda: [str(env.python), "-m", "plexichat.devkit.install_job"])
    for key, value in env.environ().items():
        if key.startswith("PIP_"):
            monkeypatch.setenv(key, value)
    before = env.freeze()
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        response = client.post("/api/v1/plugins/install", headers=AUTH,
                               json={"specs": ["plx-hist==1.0"], "force": True})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == (
        f"refused: plx-hist 1.0 is blocked by the plugin catalog (catalog.json): {REASON}; "
        "nothing was changed (force does not override a blocked version)")
    assert env.freeze() == before
