"""An install is planned before pip touches the environment, and refused when the plan
would break what is installed: ``plexichat plugins install`` and ``POST
/api/v1/plugins/install``, with real pip and real wheels, in a throwaway environment.

pip never reaches an index: ``PIP_NO_INDEX=1`` and a local find-links directory holding
``plexichat-test-lib`` 1.0 and 2.0, plugin A (``plexichat-test-lib>=2``) and plugin B
(``plexichat-test-lib<2``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
from pathlib import Path

import pytest
from support.api import AUTH, TOKEN
from support.host import running_host
from support.wheels import Env, make_env, write_wheel

import plexichat.web.install_runner
from plexichat.devkit.install_plan import PlanChange, find_conflicts, read_report

LIB = "plexichat-test-lib"
REFUSAL = f"{LIB} 1.0 would replace 2.0, but plx-plan-a 1.0 requires {LIB}>=2"


@pytest.fixture(scope="module")
def links(tmp_path_factory) -> Path:
    """The find-links directory: the library in two versions, plugins A and B, and a
    plugin requiring a version of a host dependency the host excludes."""
    links = tmp_path_factory.mktemp("links")
    write_wheel(links, LIB, "1.0")
    write_wheel(links, LIB, "2.0")
    write_wheel(links, "plx-plan-a", "1.0", requires=[f"{LIB}>=2"], plugin="plan_a")
    write_wheel(links, "plx-plan-b", "1.0", requires=[f"{LIB}<2"], plugin="plan_b")
    write_wheel(links, "rich", "12.6.0")
    write_wheel(links, "plx-old-rich", "1.0", requires=["rich<13"], plugin="old_rich")
    return links


@pytest.fixture
def env(tmp_path, links) -> Env:
    """A throwaway environment with plugin A (and the library 2.0) installed."""
    env = make_env(tmp_path / "venv", links)
    env.pip("install", "--quiet", "plx-plan-a")
    return env


def cli(env: Env, *args: str):
    """``plexichat plugins ARGS`` in the environment."""
    return env.run("-m", "plexichat", "plugins", *args, check=False)


def test_a_plan_breaking_an_installed_plugin_is_refused_and_nothing_changes(env):
    before = env.freeze()
    assert f"{LIB}==2.0" in before
    result = cli(env, "install", "plx-plan-b")
    assert result.returncode == 1, result.stdout + result.stderr
    assert REFUSAL in result.stderr, result.stderr
    assert "nothing was changed (--force installs anyway)" in result.stderr
    assert "downgraded" in result.stdout and "plx-plan-b (requested)" in result.stdout
    assert env.freeze() == before


def test_the_json_plan_parses_and_names_the_conflict(env):
    before = env.freeze()
    result = cli(env, "install", "plx-plan-b", "--json")
    assert result.returncode == 1
    plan = json.loads(result.stdout)
    assert plan["ok"] is False
    assert {(c["distribution"], c["change"], c["previous"], c["version"])
            for c in plan["changes"]} == {(LIB, "downgraded", "2.0", "1.0"),
                                          ("plx-plan-b", "new", None, "1.0")}
    [conflict] = plan["conflicts"]
    assert (conflict["requirer"], conflict["requirement"]) == ("plx-plan-a", f"{LIB}>=2")
    assert conflict["message"] == REFUSAL
    assert env.freeze() == before


def test_force_installs_despite_the_conflict_with_a_warning(env):
    result = cli(env, "install", "plx-plan-b", "--force")
    assert f"warning: --force: {REFUSAL}" in result.stderr, result.stderr
    assert "plan_b (plx-plan-b 1.0): installed" in result.stdout, result.stdout
    frozen = env.freeze()
    assert f"{LIB}==1.0" in frozen and "plx-plan-b==1.0" in frozen


def test_a_plan_breaking_the_host_requirement_is_refused(env):
    host = md.version("plexichat")
    before = env.freeze()
    result = cli(env, "install", "plx-old-rich")
    assert result.returncode == 1
    installed_rich = md.version("rich")
    assert (f"rich 12.6.0 would replace {installed_rich}, but plexichat {host} requires "
            "rich>=13.7") in result.stderr, result.stderr
    assert env.freeze() == before


def test_a_plan_within_every_range_proceeds(env, links):
    write_wheel(links, "plx-plan-c", "1.0", requires=[f"{LIB}>=1"], plugin="plan_c")
    result = cli(env, "install", "plx-plan-c")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "plx-plan-c (requested)" in result.stdout
    assert "plan_c (plx-plan-c 1.0): installed, checks passed" in result.stdout


def test_the_api_refuses_with_409_and_the_conflict(env, tmp_path, monkeypatch):
    before = env.freeze()
    monkeypatch.setattr(plexichat.web.install_runner, "job_command",
                        lambda: [str(env.python), "-m", "plexichat.devkit.install_job"])
    for key, value in env.environ().items():
        if key.startswith("PIP_"):
            monkeypatch.setenv(key, value)
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        response = client.post("/api/v1/plugins/install", headers=AUTH,
                               json={"specs": ["plx-plan-b"]})
        audited = client.get("/api/v1/audit", params={"action": "plugins.install"},
                             headers=AUTH).json()["entries"]
    assert response.status_code == 409, response.text
    body = response.json()
    assert [c["message"] for c in body["conflicts"]] == [REFUSAL]
    assert body["plan"]["ok"] is False
    assert REFUSAL in body["detail"] and "force: true" in body["detail"]
    assert env.freeze() == before
    # the audit trail keeps what the API was asked and what it answered
    [entry] = audited
    assert entry["actor"] == "admin:admin-token" and entry["target"] == "plx-plan-b"
    assert entry["details"]["request"]["specs"] == ["plx-plan-b"]
    assert entry["details"]["request"]["force"] is False
    assert entry["details"]["status"] == 409
    assert entry["details"]["plan"] == body["plan"]
    assert [c["message"] for c in entry["details"]["conflicts"]] == [REFUSAL]


def test_the_api_installs_despite_the_conflict_with_force(env, tmp_path, monkeypatch,
                                                           caplog):
    monkeypatch.setattr(plexichat.web.install_runner, "job_command",
                        lambda: [str(env.python), "-m", "plexichat.devkit.install_job"])
    for key, value in env.environ().items():
        if key.startswith("PIP_"):
            monkeypatch.setenv(key, value)
    with running_host(tmp_path / "data", admin_token=TOKEN) as client:
        response = client.post("/api/v1/plugins/install", headers=AUTH,
                               json={"specs": ["plx-plan-b"], "force": True})
    assert response.status_code == 200, response.text
    assert [c["message"] for c in response.json()["plan"]["conflicts"]] == [REFUSAL]
    assert f"plugin install forced despite a conflict: {REFUSAL}" in caplog.text
    frozen = env.freeze()
    assert f"{LIB}==1.0" in frozen and "plx-plan-b==1.0" in frozen


def test_conflicts_are_checked_against_installed_requirements():
    """Unit level: the host's own requirement on rich, with versions made up."""
    report = {"install": [{"metadata": {"name": "rich", "version": "12.6.0"},
                           "requested": False},
                          {"metadata": {"name": "Newcomer", "version": "1.0"},
                           "requested": True}]}
    changes = read_report(report, {"rich": "15.0.0"})
    assert changes == [PlanChange("Newcomer", "1.0", "new", None, True),
                       PlanChange("rich", "12.6.0", "downgraded", "15.0.0", False)]
    messages = [c.message() for c in find_conflicts(changes)]
    assert (f"rich 12.6.0 would replace 15.0.0, but plexichat {md.version('plexichat')} "
            "requires rich>=13.7") in messages
    assert find_conflicts([PlanChange("rich", "99.0", "upgraded", "15.0.0")]) == []


def test_a_catalog_wheel_not_matching_its_sha256_is_refused(links, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from plexichat.cli.install import install
    from plexichat.devkit.catalog import open_catalog, pick_for_install

    wheel = links / "plx_plan_b-1.0-py3-none-any.whl"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    entry = {"name": "plan_b", "version": "1.0", "distribution": "plx-plan-b",
             "url": str(wheel), "sha256": digest}
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps([entry]))
    bad.write_text(json.dumps([{**entry, "sha256": "0" * 64}]))
    [pick] = pick_for_install(open_catalog(str(good)), ["plan_b"])
    pick.verify()  # the wheel is the one the catalog lists

    monkeypatch.setenv("PIP_NO_INDEX", "1")  # were the check missing, pip asks no index
    result = CliRunner().invoke(install, ["plan_b", "--catalog", str(bad)])
    assert result.exit_code == 1
    assert (f"plan_b 1.0: {wheel} does not match the catalog: its sha256 is {digest}, the "
            f"catalog lists {'0' * 64}; refusing to install it") in result.output, \
        result.output


def test_an_installed_plugin_asked_for_is_not_pinned(env, links, tmp_path):
    """A newer wheel of plugin A, given as a path, replaces it: only the plugins the
    install does not name are pinned."""
    wheel = write_wheel(tmp_path / "newer", "plx-plan-a", "2.0", requires=[f"{LIB}>=2"],
                        plugin="plan_a")
    result = cli(env, "install", str(wheel))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "plan_a (plx-plan-a 1.0 → 2.0): upgraded" in result.stdout
    assert f"plx-plan-a @ {wheel.as_uri()}" in env.freeze()


@pytest.mark.parametrize("field, value", [
    ("index_url", "ftp://example.invalid/simple"),
    ("extra_index_urls", ["http://ok.invalid/simple", "bad\u0000url"]),
    ("extra_index_urls", ["not a url"]),
])
def test_the_api_refuses_index_urls_pip_cannot_use(tmp_path, field, value):
    from support.api import AUTH, TOKEN
    from support.host import running_host

    with running_host(tmp_path / "data", "hello", admin_token=TOKEN) as client:
        answer = client.post("/api/v1/plugins/install", headers=AUTH,
                             json={"specs": ["plexichat-hello"], field: value})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"][:2] == ["body", field]
