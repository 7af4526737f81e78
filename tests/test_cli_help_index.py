"""The command index: plugin commands' help without importing the plugins.

Every test runs ``plexichat`` in a fresh interpreter against real (throwaway)
distributions, and reads which plugin modules that interpreter imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.dists import backdate, make_plugin

import plexichat

TOOL = '''
import click
from plexichat import hookimpl

@click.group("tool", help="Tools of the tool plugin.\\n\\nA longer paragraph about what "
             "the tools do, long enough to be wrapped by the help formatter of click.",
             epilog="See the tool plugin's documentation.")
@click.option("--verbose/--quiet", default=False, help="Say more, or less.")
def tool(verbose):
    """Unused: help= wins."""

@tool.command("fetch", help="Fetch ITEM from somewhere.\\n\\nAnd keep EXTRA for later.")
@click.argument("item")
@click.argument("extra", nargs=-1)
@click.option("-n", "--count", type=int, default=3, show_default=True, help="How many.")
@click.option("--mode", type=click.Choice(["fast", "slow"]), help="How to fetch.")
@click.option("-v", count=True, help="Verbosity.")
@click.option("--tag", multiple=True, help="Tags to add.")
@click.option("--pair", nargs=2, help="A pair of words.")
@click.option("--token", envvar="TOOL_TOKEN", show_envvar=True, required=True,
              help="The access token.")
def fetch(item, extra, count, mode, v, tag, pair, token):
    click.echo(f"fetched {item} x{count} with {token}")

@tool.command("old", deprecated=True, help="The old way.")
def old():
    click.echo("old")

@tool.command("secret", hidden=True)
def secret():
    click.echo("secret")

@click.command("solo", short_help="One alone.", help="A command alone, with a name.")
@click.option("--name", default="world", help="Who to greet.")
def solo(name):
    click.echo(f"solo {name}")

@hookimpl
def register_commands():
    return [tool, solo]
'''

OTHER = '''
import click
from plexichat import hookimpl

@hookimpl
def register_commands():
    return click.Command("other", help="Another plugin's command.")
'''

SRC = str(Path(plexichat.__file__).resolve().parents[1])
RUN = (
    "import json, sys\n"
    "from plexichat.cli import main\n"
    "try:\n"
    "    main(json.loads(sys.argv[1]), prog_name='plexichat')\n"
    "finally:\n"
    "    print('@@' + json.dumps(sorted(m for m in sys.modules if m.startswith('plx_'))))\n"
)


@dataclass
class Run:
    """What one ``plexichat`` invocation printed and imported."""

    code: int
    out: str
    err: str
    plugins: list[str]

    @property
    def shown(self) -> tuple[int, str, str]:
        return self.code, self.out, self.err


@pytest.fixture
def cli(site, tmp_path):
    """Run ``plexichat ARGS`` in a fresh interpreter that sees ``site``."""
    cwd = tmp_path / "cwd"  # on sys.path (''): it must not change between runs
    cwd.mkdir()
    env = {"PLEXICHAT_CACHE_DIR": str(tmp_path / "cache"),
           "PLEXICHAT_DATA_DIR": str(tmp_path / "data"),
           "PLEXICHAT_LOAD_PLUGINS": "tool,broken",
           "PYTHONPATH": os.pathsep.join([str(site), SRC]), "PATH": ""}

    def run(*args: str, **extra_env: str) -> Run:
        proc = subprocess.run([sys.executable, "-c", RUN, json.dumps(list(args))],
                              capture_output=True, text=True, timeout=120, cwd=cwd,
                              env={**env, **extra_env})
        out, _, modules = proc.stdout.rpartition("@@")
        return Run(proc.returncode, out, proc.stderr, json.loads(modules))

    return run


def index_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("commands-*.json"))


HELP_REQUESTS = [
    ["--help"],
    ["tool", "--help"],
    ["tool"],
    ["tool", "fetch", "--help"],
    ["tool", "--quiet", "fetch", "-h"],
    ["tool", "old", "--help"],
    ["solo", "--help"],
]


@pytest.mark.parametrize("args", HELP_REQUESTS, ids=" ".join)
def test_recorded_help_is_the_real_help(site, cli, tmp_path, args):
    make_plugin(site, "tool", code=TOOL)
    real = cli(*args)  # no index yet: the plugin is imported, and the index written
    assert real.plugins == ["plx_tool"]
    assert index_files(tmp_path)
    recorded = cli(*args)
    assert recorded.plugins == []
    assert recorded.shown == real.shown
    assert "Usage: plexichat" in recorded.out + recorded.err


def test_help_shows_the_plugin_commands_details(site, cli):
    make_plugin(site, "tool", code=TOOL)
    cli("--help")
    top = cli("--help")
    rows = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in top.out.splitlines()
            if line.startswith("  ") and len(line.split(None, 1)) == 2}
    assert rows["tool"] == "Tools of the tool plugin."
    assert rows["solo"] == "One alone."
    fetch = cli("tool", "fetch", "--help")
    assert fetch.plugins == []
    assert "Usage: plexichat tool fetch [OPTIONS] ITEM [EXTRA]..." in fetch.out
    assert "-n, --count INTEGER" in fetch.out and "[default: 3]" in fetch.out
    assert "[env var: TOOL_TOKEN; required]" in fetch.out
    group = cli("tool", "--help")
    assert "fetch" in group.out and "old" in group.out and "secret" not in group.out
    assert "See the tool plugin's documentation." in group.out


def test_running_a_command_imports_its_plugin(site, cli):
    make_plugin(site, "tool", code=TOOL)
    make_plugin(site, "other", code=OTHER)
    assert cli("--help", PLEXICHAT_LOAD_PLUGINS="tool,other").plugins == ["plx_other",
                                                                           "plx_tool"]
    ran = cli("tool", "fetch", "thing", "--token", "abc",
              PLEXICHAT_LOAD_PLUGINS="tool,other")
    assert ran.code == 0, ran.err
    assert ran.out.strip() == "fetched thing x3 with abc"
    assert ran.plugins == ["plx_tool"]  # its own plugin only
    solo = cli("solo", "--name", "Ada", PLEXICHAT_LOAD_PLUGINS="tool,other")
    assert (solo.code, solo.out.strip(), solo.plugins) == (0, "solo Ada", ["plx_tool"])


@pytest.mark.parametrize("args", [["tool", "fetch"], ["tool", "fetch", "x", "--mode", "no"],
                                  ["tool", "nope", "--help"], ["tool", "--bogus"]],
                         ids=" ".join)
def test_usage_errors_are_the_real_commands(site, cli, args):
    make_plugin(site, "tool", code=TOOL)
    real = cli(*args)
    again = cli(*args)
    assert real.code == 2
    assert again.shown == real.shown


def test_a_new_version_rebuilds_the_index(site, cli):
    make_plugin(site, "tool", code=TOOL)
    cli("--help")
    assert cli("--help").plugins == []
    backdate(site)
    shutil.rmtree(site / "plx_tool-1.0.0.dist-info")
    make_plugin(site, "tool", version="2.0.0",
                code=TOOL.replace("Tools of the tool plugin.", "Tools, second edition."))
    rebuilt = cli("--help")
    assert rebuilt.plugins == ["plx_tool"]
    assert "Tools, second edition." in rebuilt.out
    again = cli("--help")
    assert again.plugins == []
    assert again.out == rebuilt.out


def test_an_edited_entry_point_module_rebuilds_the_index(site, cli):
    package = make_plugin(site, "tool", code=TOOL)
    cli("--help")
    backdate(site)
    (package / "__init__.py").write_text(TOOL.replace("One alone.", "Still alone."))
    rebuilt = cli("--help")
    assert rebuilt.plugins == ["plx_tool"]
    assert "Still alone." in rebuilt.out


def test_disabling_a_plugin_removes_its_commands(site, cli):
    make_plugin(site, "tool", code=TOOL)
    cli("--help")
    disabled = cli("--help", PLEXICHAT_DISABLE_PLUGINS="tool")
    assert "tool " not in disabled.out and "solo" not in disabled.out
    assert "solo" in cli("--help").out


@pytest.mark.parametrize("damage", ["garbage", "wrong shape", "truncated"])
def test_a_damaged_index_is_ignored_and_rebuilt(site, cli, tmp_path, damage):
    make_plugin(site, "tool", code=TOOL)
    first = cli("tool", "--help")
    (path,) = index_files(tmp_path)
    text = path.read_text()
    if damage == "garbage":
        path.write_text("{not json")
    elif damage == "wrong shape":
        data = json.loads(text)
        data["commands"] = [{"plugin": "tool", "record": {"bogus": 1}}]
        path.write_text(json.dumps(data))
    else:
        path.write_text(text[: len(text) // 2])
    rebuilt = cli("tool", "--help")
    assert rebuilt.plugins == ["plx_tool"]
    assert rebuilt.shown == first.shown
    assert json.loads(path.read_text())["commands"]
    served = cli("tool", "--help")
    assert served.plugins == []
    assert served.shown == first.shown


def test_broken_plugins_are_reported_from_the_index_too(site, cli):
    make_plugin(site, "tool", code=TOOL)
    make_plugin(site, "broken", code="raise RuntimeError('no import for you')")
    report = "plugin broken: not loaded: RuntimeError: no import for you"
    first = cli("--help")
    assert report in first.err
    served = cli("--help")
    assert served.plugins == []
    assert report in served.err
    assert served.shown == first.shown


def test_no_index_without_the_discovery_index(site, cli, tmp_path):
    make_plugin(site, "tool", code=TOOL)
    cli("--help", PLEXICHAT_DISCOVERY_INDEX="0")
    assert index_files(tmp_path) == []
    assert cli("--help", PLEXICHAT_DISCOVERY_INDEX="0").plugins == ["plx_tool"]


def test_a_plugin_that_failed_is_tried_again(site, cli):
    make_plugin(site, "tool", code=TOOL)
    make_plugin(site, "broken", code=(
        "import os\n"
        "if 'BROKEN_FIXED' not in os.environ:\n"
        "    raise SystemExit('configuration missing')\n" + OTHER))
    assert "configuration missing" in cli("--help").err
    assert "configuration missing" in cli("--help").err  # from the index, tried again
    fixed = cli("--help", BROKEN_FIXED="1")
    assert fixed.err == ""
    assert "Another plugin's command." in fixed.out
    assert fixed.plugins == ["plx_broken", "plx_tool"]  # the index was rebuilt
    served = cli("--help", BROKEN_FIXED="1")
    assert served.plugins == []
    assert served.out == fixed.out


def test_running_a_command_imports_the_plugins_it_depends_on(site, cli):
    make_plugin(site, "base", code="")
    make_plugin(site, "tool", code=TOOL,
                manifest={"name": "tool", "type": "feature", "dependencies": ["base"]})
    make_plugin(site, "other", code=OTHER)
    plugins = "tool,base,other"
    assert cli("--help", PLEXICHAT_LOAD_PLUGINS=plugins).plugins == [
        "plx_base", "plx_other", "plx_tool"]
    ran = cli("solo", PLEXICHAT_LOAD_PLUGINS=plugins)
    assert (ran.code, ran.out.strip()) == (0, "solo world")
    assert ran.plugins == ["plx_base", "plx_tool"]


FANCY = '''
import click
from plexichat import hookimpl

class Fancy(click.Command):
    def format_help(self, ctx, formatter):
        formatter.write_text("*** fancy help of " + ctx.command_path + " ***")

@hookimpl
def register_commands():
    return Fancy("fancy", help="A command with its own help.",
                 callback=lambda: click.echo("fancy ran"))
'''


def test_a_command_that_renders_its_own_help_is_asked_for_it(site, cli):
    make_plugin(site, "tool", code=FANCY)
    cli("--help")
    listing = cli("--help")
    assert listing.plugins == []
    assert "A command with its own help." in listing.out
    own = cli("fancy", "--help")
    assert own.plugins == ["plx_tool"]
    assert own.out.strip() == "*** fancy help of plexichat fancy ***"
    assert cli("fancy").out.strip() == "fancy ran"
