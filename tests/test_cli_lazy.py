"""The plugin distribution commands are registered under ``plexichat plugins`` but their
modules (and the packaging tools they use) load only when one of them runs."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from plexichat.cli import main

COMMANDS = ("new", "check", "migrate", "install", "uninstall", "upgrade", "search")
MODULES = ("plexichat.cli.new", "plexichat.cli.check", "plexichat.cli.migrate",
           "plexichat.cli.install", "plexichat.cli.search", "plexichat.devkit.packaging_check",
           "plexichat.devkit.migrate", "plexichat.devkit.installer", "plexichat.devkit.catalog",
           "plexichat.devkit.install_specs", "plexichat.devkit.install_outcome",
           "plexichat.devkit.scaffold", "plexichat.devkit.placeholders", "plexichat.devkit")


def test_listed_with_their_short_help():
    result = CliRunner().invoke(main, ["plugins", "--help"])
    assert result.exit_code == 0, result.output
    for command in COMMANDS:
        assert f"  {command} " in result.output
    assert "Create a plugin project ready to test, check and publish." in result.output


def test_own_help_comes_from_the_real_command():
    result = CliRunner().invoke(main, ["plugins", "new", "--help"])
    assert result.exit_code == 0
    assert "--type [core|feature|" in result.output and "--dir DIRECTORY" in result.output
    result = CliRunner().invoke(main, ["plugins", "check", "--help"])
    assert "error|warning: FILE: WHAT — FIX" in result.output


def test_not_imported_by_the_cli_or_plugins_list(tmp_path):
    code = (
        "import json, sys\n"
        "from plexichat.cli import main\n"
        "try:\n"
        "    main(['plugins', 'list', '--json'], standalone_mode=False)\n"
        "finally:\n"
        f"    print(json.dumps([m for m in {MODULES!r} if m in sys.modules]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={"PLEXICHAT_CACHE_DIR": str(tmp_path / "cache"),
                                           "PLEXICHAT_DATA_DIR": str(tmp_path / "data"),
                                           "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
