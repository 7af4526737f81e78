"""The guide's command fields on plugin CLI commands, with the installed mega_cli plugin.

``plexichat mega policy`` is admin only, ``plexichat mega whoami`` needs a user's token,
``plexichat mega export`` is dangerous, and every command says which mega_cli version
added it. Each test runs ``plexichat`` in a fresh interpreter, as an operator would, and
reads which plugin modules it imported.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from plexichat import command_fields
from plexichat.config import HostSettings
from plexichat.web import create_app

pytest.importorskip("plexichat_mega_cli")

RUN = (
    "import json, sys\n"
    "from plexichat.cli import main\n"
    "try:\n"
    "    main(json.loads(sys.argv[1]), prog_name='plexichat')\n"
    "finally:\n"
    "    print('@@' + json.dumps('plexichat_mega_cli' in sys.modules))\n"
)
ADMIN = "fields-admin-token"


@pytest.fixture
def env(tmp_path):
    """The environment of every run: its own data and cache directories, mega_cli only."""
    (tmp_path / "cwd").mkdir()
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("PLEXICHAT_") or k.startswith("PLEXICHAT_PASSWORD_HASH")}
    return {**base, "PLEXICHAT_CACHE_DIR": str(tmp_path / "cache"),
            "PLEXICHAT_DATA_DIR": str(tmp_path / "data"),
            "PLEXICHAT_LOAD_PLUGINS": "mega_cli"}


def run(env, tmp_path, *args, stdin=subprocess.DEVNULL, **extra):
    proc = subprocess.run([sys.executable, "-c", RUN, json.dumps(list(args))],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path / "cwd",
                          env={**env, **extra}, stdin=stdin)
    out, _, imported = proc.stdout.rpartition("@@")
    return proc.returncode, out, proc.stderr, json.loads(imported)


def _host_with_user(tmp_path, **settings):
    """A host on the test's data directory with one chat user; the user's token."""
    app = create_app(HostSettings(data_dir=tmp_path / "data", load_plugins="", **settings))
    with TestClient(app) as client:
        credentials = {"name": "ada", "password": "password-1"}
        assert client.post("/api/v1/users", json=credentials).status_code == 201
        return client.post("/api/v1/users/login", json=credentials).json()["token"]


def test_version_added_is_shown_from_the_recorded_index(env, tmp_path):
    code, first, _, imported = run(env, tmp_path, "dev", "dev_cmd_1", "--help")
    assert code == 0 and imported  # no index yet: the plugin was imported to record it
    code, out, _, imported = run(env, tmp_path, "dev", "dev_cmd_1", "--help")
    assert code == 0 and not imported, "the recorded help imported the plugin"
    assert out == first
    assert "Added in version 1.0.0." in out
    code, out, _, imported = run(env, tmp_path, "mega", "export", "--help")
    assert not imported
    assert "Added in version 1.0.0." in out
    assert "Dangerous: asks for confirmation (--yes to skip, as scripts must)." in out
    assert "-y, --yes" in out
    index = json.loads(next((tmp_path / "cache").glob("commands-*.json")).read_text())
    mega = next(c["record"] for c in index["commands"] if c["record"]["name"] == "mega")
    policy = next(c for c in mega["commands"] if c["name"] == "policy")
    assert policy["fields"] == {"admin_only": True, "dangerous": False,
                                "requires_auth": False, "version_added": "1.0.0"}


def test_admin_only_needs_the_admin_token(env, tmp_path):
    code, out, err, _ = run(env, tmp_path, "mega", "policy")
    assert code == 1 and out == ""
    assert "'plexichat mega policy' is admin only: give the admin token with --token or " \
           "PLEXICHAT_ADMIN_TOKEN" in err
    _host_with_user(tmp_path, admin_token=ADMIN)
    code, out, err, _ = run(env, tmp_path, "mega", "policy", "--token", "wrong",
                            PLEXICHAT_ADMIN_TOKEN=ADMIN)
    assert code == 1 and "the admin token given is not valid" in err
    code, out, err, _ = run(env, tmp_path, "mega", "policy", PLEXICHAT_ADMIN_TOKEN=ADMIN)
    assert code == 0, err
    assert "plexichat sys " in out  # the commands revealing host facts are listed


def test_admin_only_checks_the_token_the_host_stored(env, tmp_path):
    """Without PLEXICHAT_ADMIN_TOKEN the host generated a token and stored its hash."""
    from plexichat.storage import Database, HostStore
    from plexichat.web.auth import AdminToken

    _host_with_user(tmp_path)  # generates and stores the admin token's hash
    settings = HostSettings(data_dir=tmp_path / "data")
    database = Database(settings.resolved_database_url())
    store = HostStore(database)
    token = "stored-admin-token"
    from plexichat.services.security import hash_token

    store.set_host_value("admin_token_hash", hash_token(token))
    database.dispose()
    assert AdminToken(settings, store).check(token)
    code, _, err, _ = run(env, tmp_path, "mega", "policy", "--token", token)
    assert code == 0, err
    code, _, err, _ = run(env, tmp_path, "mega", "policy", "--token", token + "x")
    assert code == 1 and "not valid" in err


def test_requires_auth_needs_a_user_token(env, tmp_path):
    code, _, err, _ = run(env, tmp_path, "mega", "whoami")
    assert code == 1
    assert "'plexichat mega whoami' needs a user's token: give it with --user-token or " \
           "PLEXICHAT_USER_TOKEN" in err
    token = _host_with_user(tmp_path)
    code, out, err, _ = run(env, tmp_path, "mega", "whoami", PLEXICHAT_USER_TOKEN=token)
    assert (code, out.strip()) == (0, "ada"), err
    code, out, err, _ = run(env, tmp_path, "mega", "whoami", "--user-token", "nope")
    assert code == 1 and "needs a user's token" in err and out == ""


def test_dangerous_refuses_without_a_terminal_unless_yes(env, tmp_path):
    target = tmp_path / "commands.md"
    target.write_text("keep me")
    code, _, err, _ = run(env, tmp_path, "mega", "export", str(target))
    assert code == 1
    assert "is dangerous and there is no terminal to confirm on: run it with --yes" in err
    assert target.read_text() == "keep me"
    code, out, err, _ = run(env, tmp_path, "mega", "export", str(target), "--yes")
    assert code == 0, err
    assert "wrote the help of 420 commands" in out
    assert target.read_text().startswith("## plexichat dev dev_cmd_1")


@pytest.mark.parametrize(("answer", "code"), [(b"n\n", 1), (b"y\n", 0)])
def test_dangerous_asks_on_a_terminal(env, tmp_path, answer, code):
    target = tmp_path / "commands.md"
    target.write_text("keep me")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, json.dumps(["mega", "export", str(target)])],
        stdin=follower, stdout=follower, stderr=follower, env=env, cwd=tmp_path / "cwd")
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    while b"Run it? [y/N]" not in seen:
        assert time.monotonic() < deadline, seen
        seen += os.read(leader, 4096)
    os.write(leader, answer)
    assert proc.wait(timeout=60) == code
    os.close(leader)
    assert (target.read_text() == "keep me") is (code == 1)


def test_an_option_clash_is_refused_when_marking():
    @click.command("x")
    @click.option("--yes", is_flag=True)
    def x(yes):
        """A command with its own --yes."""

    with pytest.raises(ValueError, match="has an option --yes already"):
        command_fields(dangerous=True)(x)


def test_fields_work_on_a_command_run_in_process(monkeypatch):
    @command_fields(admin_only=True, version_added="2.1")
    @click.command("guarded")
    def guarded():
        """Guarded."""
        click.echo("ran")

    result = CliRunner().invoke(guarded, [])
    assert result.exit_code == 1 and "is admin only" in result.output
    assert "Added in version 2.1." in CliRunner().invoke(guarded, ["--help"]).output


def test_mega_cli_keeps_its_420_commands(env, tmp_path):
    code, out, err, _ = run(env, tmp_path, "mega", "stats", "--json")
    assert code == 0, err
    assert json.loads(out)["total"] == 420
    code, out, _, _ = run(env, tmp_path, "dev", "dev_cmd_1", "abc")
    assert code == 0 and out.strip()

