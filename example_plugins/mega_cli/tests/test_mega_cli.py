"""The mega_cli plugin: its 420 commands through ``plexichat``, and its router, table,
security policy and self-test in a real host with only mega_cli loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from plexichat_mega_cli import CATEGORIES, POLICY, register_commands

from plexichat.cli import main

NAME = "mega_cli"
GROUPS = ("dev", "net", "sys", "user", "file", "chat", "ai")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """``plexichat`` as an operator runs it, with only mega_cli enabled."""
    monkeypatch.setenv("PLEXICHAT_LOAD_PLUGINS", NAME)
    monkeypatch.setenv("PLEXICHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PLEXICHAT_CACHE_DIR", str(tmp_path / "cache"))

    def invoke(*args: str):
        result = CliRunner().invoke(main, list(args), prog_name="plexichat")
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.output
        return result

    return invoke


@pytest.fixture
def client(plexichat_client):
    return plexichat_client(plugins=[NAME])


# --- the command line --------------------------------------------------------------------


def test_420_commands_in_7_categories():
    groups = {g.name: g for g in register_commands()}
    assert set(GROUPS) <= set(groups) and tuple(CATEGORIES) == GROUPS
    counts = {name: len(groups[name].list_commands(None)) for name in GROUPS}
    assert counts == {name: 60 for name in GROUPS}
    assert sum(counts.values()) >= 400
    assert groups["dev"].list_commands(None)[:3] == ["dev_cmd_1", "dev_cmd_2", "dev_cmd_3"]


def test_every_command_has_its_own_help():
    helps = {}
    for group in register_commands():
        if group.name not in GROUPS:
            continue
        for name in group.list_commands(None):
            command = group.get_command(None, name)
            assert command.short_help and len(command.help) > 80, name
            assert "Example:" in command.help and "error:" not in command.help, name
            helps[command.help] = name
    assert len(helps) == 420  # no two commands share a help text


def test_top_level_help_lists_the_groups(cli):
    result = cli("--help")
    assert result.exit_code == 0, result.output
    for group, text in CATEGORIES.items():
        assert f"  {group} " in result.output and text in result.output


def test_dev_cmd_1_help(cli):
    result = cli("dev", "dev_cmd_1", "--help")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Usage: plexichat dev dev_cmd_1 [OPTIONS] TEXT" in out
    assert "Sha256 digest of TEXT, first 12 hex digits." in out
    assert "--length INTEGER" in out and "[default: 12]" in out and "--json" in out
    assert "$ plexichat dev dev_cmd_1 hello" in out and "2cf24dba5fb0" in out


def test_group_help_lists_its_60_commands(cli):
    out = cli("net", "--help").output
    assert out.count("_cmd_") >= 60
    assert "net_cmd_1 " in out and "net_cmd_60 " in out
    assert "The network address of NETWORK" in out


def test_a_command_runs_and_prints_its_result(cli):
    assert cli("dev", "dev_cmd_1", "hello").output == "2cf24dba5fb0\n"
    assert cli("dev", "dev_cmd_1", "hello", "--length", "4").output == "2cf2\n"
    assert cli("net", "net_cmd_8", "10.1.2.3/16").output == "10.1.255.255\n"
    assert json.loads(cli("sys", "sys_cmd_2", "93784", "--json").output) == {
        "command": "sys sys_cmd_2", "arguments": {"seconds": 93784}, "result": "1d2h3m4s"}


def test_a_bad_argument_is_a_usage_error(cli):
    result = cli("net", "net_cmd_1", "not-a-network")
    assert result.exit_code == 2
    assert "Invalid value for NETWORK" in result.output


def test_file_commands_read_files(cli, tmp_path):
    sample = tmp_path / "sample.txt"
    sample.write_text("one\ntwo words\n\n")
    assert cli("file", "file_cmd_5", str(sample)).output == "3\n"  # lines
    assert cli("file", "file_cmd_16", str(sample)).output == "3\n"  # words


def test_mega_search_and_stats(cli):
    assert "plexichat dev dev_cmd_1 " in cli("mega", "search", "sha256").output
    stats = json.loads(cli("mega", "stats", "--json").output)
    assert stats["total"] == 420 and stats["categories"] == {g: 60 for g in GROUPS}


def test_disabled_plugin_adds_no_groups(cli, monkeypatch):
    monkeypatch.setenv("PLEXICHAT_DISABLE_PLUGINS", NAME)
    result = cli("dev", "dev_cmd_1", "hello")
    assert result.exit_code != 0
    assert "No such command 'dev'" in result.output


def test_listing_commands_builds_none_and_imports_no_web_stack():
    """What ``plexichat --help`` does with the plugin: import it, ask for its groups and
    their one-line help. None of the 420 commands is built; nothing heavy is imported."""
    code = (
        "import json, sys\n"
        "import plexichat_mega_cli as m\n"
        "groups = m.register_commands()\n"
        "shown = [g.get_short_help_str(45) for g in groups]\n"
        "heavy = ['fastapi', 'sqlalchemy', 'pydantic', 'asyncio', 'plexichat_mega_cli.commands']\n"
        "print(json.dumps({'imported': [h for h in heavy if h in sys.modules],"
        " 'built': sum(len(g.commands) for g in groups), 'groups': len(groups)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert json.loads(out) == {"imported": [], "built": 0, "groups": 8}


# --- in a running host -------------------------------------------------------------------


def test_router_answers(client):
    assert client.plugin_state(NAME) == "started"
    body = client.get("/api/v1/mega/commands").json()
    assert body["total"] == 420
    assert body["categories"] == {g: 60 for g in GROUPS}
    listed = client.get("/api/v1/mega/commands/chat").json()
    assert [c["name"] for c in listed][:2] == ["chat_cmd_1", "chat_cmd_2"]
    assert client.get("/api/v1/mega/commands/nope").status_code == 404
    helped = client.get("/api/v1/mega/commands/dev/dev_cmd_1").json()
    assert "Usage: plexichat dev dev_cmd_1 [OPTIONS] TEXT" in helped["help"]


def test_run_is_logged_in_the_usage_table(client):
    ran = client.post("/api/v1/mega/run/dev/dev_cmd_1", json={"args": ["hello"]})
    assert ran.status_code == 200, ran.text
    assert ran.json() == {"command": "plexichat dev dev_cmd_1", "result": "2cf24dba5fb0"}
    bad = client.post("/api/v1/mega/run/net/net_cmd_1", json={"args": ["nope"]})
    assert bad.status_code == 400 and "NETWORK" in bad.json()["detail"]
    usage = client.get("/api/v1/mega/usage").json()
    assert usage["total"] == 2
    assert usage["by_command"] == {"dev dev_cmd_1": {"ok": 1}, "net net_cmd_1": {"error": 1}}
    assert usage["recent"][0]["command"] == "net_cmd_1"


def test_the_table_exists(client):
    engine = client.host.database.engine
    assert "mega_cli_usage" in sa.inspect(engine).get_table_names()
    assert client.plugin(NAME)["contributions"]["tables"] == ["mega_cli_usage"]


def test_security_policy_guards_file_commands(client, tmp_path):
    assert client.plugin(NAME)["contributions"]["security_policies"] == [POLICY]
    sample = tmp_path / "secret.txt"
    sample.write_text("top secret\n")
    url = "/api/v1/mega/run/file/file_cmd_4"  # the size of FILE: reads the server's files
    refused = client.post(url, json={"args": [str(sample)]})
    assert refused.status_code == 403 and POLICY in refused.json()["detail"]
    wrong = client.post(url, json={"args": [str(sample)]},
                        headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 403
    allowed = client.post(url, json={"args": [str(sample)]}, headers=client.admin_headers)
    assert allowed.json()["result"] == "11"
    assert client.host.services.security.check({"admin": False}, "mega_cli.run:sys/sys_cmd_8") \
        is False
    by_command = client.get("/api/v1/mega/usage").json()["by_command"]
    assert by_command["file file_cmd_4"] == {"ok": 1, "refused": 1}


def test_self_test_passes(client):
    response = client.post(f"/api/v1/plugins/{NAME}/self-test", headers=client.admin_headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["passed"] is True, result["message"]
    assert "420 commands in 7 categories" in result["tests"]
    assert "usage table readable" in result["tests"]
