"""``plexichat plugins install --verify`` against a real ``plexichat serve`` (uvicorn on
127.0.0.1) running from a fresh virtual environment with the host wheel, where pip
installs: a plugin whose startup raises is rolled back, the environment as before."""

from __future__ import annotations

import pytest
from support.venv import clean_env, get, serve, shared_host_venv
from support.wheels import write_wheel

pytestmark = pytest.mark.e2e

BROKEN = '''
from plexichat import hookimpl


@hookimpl
def startup(context):
    raise RuntimeError("the frobnicator credentials are missing")
'''


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    return shared_host_venv(tmp_path_factory)


def plugins(server) -> dict[str, dict]:
    status, listed = get(server.url + "/api/v1/plugins")
    assert status == 200, listed
    return {p["name"]: p for p in listed}


def test_a_plugin_that_fails_to_start_is_rolled_back(venv, tmp_path):
    links = tmp_path / "links"
    broken = write_wheel(links, "plx-verify-broken", "1.0", plugin="verify_broken",
                         code=BROKEN)
    fine = write_wheel(links, "plx-verify-fine", "1.0", plugin="verify_fine")
    work = tmp_path / "work"
    env = clean_env(work, {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(links)})
    with serve(venv, work, env) as server:
        before = venv.run("python", "-m", "pip", "freeze", "--all", cwd=work, env=env).stdout
        # no --url: the CLI finds the host serving the data directory, as an operator's
        result = venv.run("plexichat", "plugins", "install", "--verify", broken, cwd=work,
                          env=env, check=False)
        assert result.returncode == 1, result.stdout + result.stderr
        assert ("verify_broken did not start at " + server.url) in result.stderr
        assert "the frobnicator credentials are missing" in result.stderr, result.stderr
        assert ("the environment was rolled back to the plugin set before the install "
                "(history step 1)") in result.stderr
        assert "removed plx-verify-broken" in result.stdout
        after = venv.run("python", "-m", "pip", "freeze", "--all", cwd=work, env=env).stdout
        assert after == before
        assert "verify_broken" not in plugins(server)
        history = venv.run("plexichat", "plugins", "history", "--json", cwd=work,
                           env=env).stdout
        assert '"action": "rollback"' in history

        # a plugin that starts, is healthy and passes its self-test stays
        try:
            ok = venv.run("plexichat", "plugins", "install", "--verify", fine, cwd=work,
                          env=env)
            assert f"{server.url}: verify_fine verified: started, healthy, self-test " \
                   "passed" in ok.stdout, ok.stdout
            assert plugins(server)["verify_fine"]["state"] == "started"
        finally:
            venv.run("plexichat", "plugins", "uninstall", "verify_fine", "-q", cwd=work,
                     env=env)


def test_verify_without_a_running_host_changes_nothing(venv, tmp_path):
    links = tmp_path / "links"
    fine = write_wheel(links, "plx-verify-fine", "1.0", plugin="verify_fine")
    work = tmp_path / "work"
    work.mkdir()
    env = clean_env(work, {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(links)})
    result = venv.run("plexichat", "plugins", "install", "--verify", fine, cwd=work,
                      env=env, check=False)
    assert result.returncode == 1
    assert "--verify needs a running host using this environment" in result.stderr
    assert "plx-verify-fine" not in venv.dists(work)
