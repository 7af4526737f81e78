"""Commands plugins add to the ``plexichat`` CLI through ``register_commands``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from support.dists import make_plugin

import plexichat
from plexichat.cli import main

SRC = str(Path(plexichat.__file__).resolve().parents[1])

GREETER = '''
import click
from plexichat import hookimpl

@hookimpl
def register_commands():
    @click.command("greet", help="Say hello from the greeter plugin.")
    @click.argument("who")
    def greet(who):
        click.echo(f"hello {who}")
    return greet
'''

CLASHING = '''
import click
from plexichat import hookimpl

@hookimpl
def register_commands():
    return [click.Command("serve", callback=lambda: None),
            click.Command("greet", callback=lambda: click.echo("second greeter"))]
'''


def test_plugin_command_runs(site):
    make_plugin(site, "greeter", code=GREETER)
    result = CliRunner().invoke(main, ["greet", "Ada"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "hello Ada"


def test_plugin_command_is_listed_in_help(site):
    make_plugin(site, "greeter", code=GREETER)
    result = CliRunner().invoke(main, ["--help"])
    assert "greet" in result.output
    assert "Say hello from the greeter plugin." in result.output


def test_core_and_taken_names_are_refused(site):
    make_plugin(site, "greeter", code=GREETER)
    make_plugin(site, "zzclash", code=CLASHING)
    result = CliRunner().invoke(main, ["greet", "Ada"])
    assert result.exit_code == 0
    assert "hello Ada" in result.output
    assert "command 'serve' refused: it is a core command" in result.output
    assert "command 'greet' refused: already added by plugin 'greeter'" in result.output


def test_broken_plugin_does_not_break_the_cli(site):
    make_plugin(site, "broken", code="raise RuntimeError('no import for you')")
    make_plugin(site, "greeter", code=GREETER)
    result = CliRunner().invoke(main, ["greet", "Ada"])
    assert result.exit_code == 0
    assert "plugin broken: not loaded: RuntimeError: no import for you" in result.output
    assert "hello Ada" in result.output


def test_disabled_plugin_adds_no_command(site, monkeypatch):
    make_plugin(site, "greeter", code=GREETER)
    monkeypatch.setenv("PLEXICHAT_DISABLE_PLUGINS", "greeter")
    result = CliRunner().invoke(main, ["greet", "Ada"])
    assert result.exit_code != 0
    assert "No such command 'greet'" in result.output


def test_core_commands_do_not_import_plugins(site):
    marker = site / "imported.txt"
    make_plugin(site, "greeter", code=GREETER + f"\nopen({str(marker)!r}, 'w').close()\n")
    result = CliRunner().invoke(main, ["plugins", "list", "--json"])
    assert result.exit_code == 0
    assert not marker.exists()


def test_raising_register_commands_is_reported(site):
    make_plugin(site, "boom", code='''
from plexichat import hookimpl

@hookimpl
def register_commands():
    raise RuntimeError("no commands today")
''')
    make_plugin(site, "greeter", code=GREETER)
    result = CliRunner().invoke(main, ["greet", "Ada"])
    assert result.exit_code == 0, result.output
    assert "plugin boom: register_commands raised RuntimeError: no commands today" \
        in result.output
    assert "hello Ada" in result.output


def test_plugin_exiting_at_import_does_not_end_the_cli(site):
    make_plugin(site, "quitter", code="raise SystemExit('configuration missing')")
    make_plugin(site, "greeter", code=GREETER)
    result = CliRunner().invoke(main, ["greet", "Ada"])
    assert result.exit_code == 0, result.output
    assert "plugin quitter: not loaded: PluginExit: SystemExit: configuration missing" \
        in result.output
    assert "hello Ada" in result.output


def test_class_entry_point_is_instantiated(site):
    make_plugin(site, "classy", entry_point="plx_classy:Commands", code='''
import click
from plexichat import hookimpl

class Commands:
    @hookimpl
    def register_commands(self):
        return click.Command("classy", callback=lambda: click.echo("from a class"))
''')
    result = CliRunner().invoke(main, ["classy"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "from a class"


HEAVY = ("pydantic", "sqlalchemy", "fastapi", "asyncio", "jsonschema",
         "plexichat.host", "plexichat.kernel.lifecycle", "plexichat.kernel.dispatch",
         "plexichat.config")


def test_help_imports_no_host_machinery(site, tmp_path):
    """`plexichat --help` lists plugin commands with light modules only (it has to stay
    fast: bench/bench_cli_help.py); the second run reads the discovery index."""
    make_plugin(site, "greeter", code=GREETER)
    code = (
        "import json, sys\n"
        "from plexichat.cli import main\n"
        "try:\n"
        "    main(['--help'], standalone_mode=False)\n"
        "finally:\n"
        f"    print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {"PLEXICHAT_CACHE_DIR": str(tmp_path / "cache"),
           "PLEXICHAT_DATA_DIR": str(tmp_path / "data"),
           "PLEXICHAT_LOAD_PLUGINS": "greeter", "PATH": "",
           # this tree's plexichat, not whichever the interpreter has installed
           "PYTHONPATH": os.pathsep.join([str(site), SRC])}
    cwd = tmp_path / "cwd"  # on sys.path (''): its modification time must not change
    cwd.mkdir()
    for _ in range(2):  # the first run builds the discovery index (that needs pydantic)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=60, env=env, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "Say hello from the greeter plugin." in proc.stdout
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
