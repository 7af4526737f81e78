"""Commands plugins add to the ``plexichat`` CLI through ``register_commands``."""

from __future__ import annotations

from click.testing import CliRunner
from support.dists import make_plugin

from plexichat.cli import main

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
