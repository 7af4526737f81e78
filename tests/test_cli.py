"""The ``plexichat`` command line: the static view of installed plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from support.dists import make_plugin

from plexichat import __version__
from plexichat.cli import main

FIELDS = {"name", "version", "type", "state", "reason", "distribution"}


@pytest.fixture
def installed(site):
    """A healthy plugin, one that raises at import, and one with an invalid manifest."""
    make_plugin(site, "fine", version="1.2.3", manifest={"name": "fine", "type": "theme"})
    make_plugin(site, "boom", code="raise RuntimeError('imported!')\n")
    make_plugin(site, "invalid",
                manifest={"name": "invalid", "ui_pages": [{"name": "x", "path": "ui/x"}]})
    return site


def invoke(*args, env=None):
    result = CliRunner().invoke(main, list(args), env=env)
    return result


def listed(*args, env=None):
    result = invoke("plugins", "list", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    return {item["name"]: item for item in json.loads(result.output)}


@pytest.fixture
def run(tmp_path):
    """``run(*args)``: ``python *args`` in a subprocess with this test's ``sys.path``."""
    workdir = tmp_path / "cwd"  # a quiet working directory: sys.path[0] of ``-c``
    workdir.mkdir()

    def run(*args):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        return subprocess.run([sys.executable, *args], env=env, cwd=workdir,
                              capture_output=True, text=True, timeout=60)

    return run


# --- version ---------------------------------------------------------------------------


def test_version_option_prints_the_host_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"plexichat, version {__version__}"


def test_version_in_a_real_process(run):
    done = run("-m", "plexichat", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"plexichat, version {__version__}"


# --- plugins list ----------------------------------------------------------------------


def test_list_json_has_the_documented_fields(installed):
    items = listed()
    assert {"fine", "boom", "invalid"} <= set(items)
    for item in items.values():
        assert FIELDS <= set(item), item
    assert {k: items["fine"][k] for k in FIELDS} == {
        "name": "fine", "version": "1.2.3", "type": "theme", "state": "available",
        "reason": "", "distribution": "plx-fine",
    }


def test_list_shows_plugin_raising_at_import_as_available(installed):
    boom = listed()["boom"]
    assert (boom["state"], boom["reason"]) == ("available", "")


def test_list_shows_invalid_manifest_rejected_with_field_path(installed):
    invalid = listed()["invalid"]
    assert invalid["state"] == "rejected"
    assert "plx_invalid/plugin.json: ui_pages.0.title:" in invalid["reason"]


def test_list_shows_disabled_plugins(installed):
    items = listed(env={"PLEXICHAT_DISABLE_PLUGINS": "fine"})
    assert items["fine"]["state"] == "disabled"
    assert "PLEXICHAT_DISABLE_PLUGINS" in items["fine"]["reason"]


def test_list_table_names_every_plugin(installed):
    result = CliRunner().invoke(main, ["plugins", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("fine", "boom", "invalid", "rejected", "available"):
        assert name in result.output


def test_list_json_in_a_real_process(installed, run):
    done = run("-m", "plexichat", "plugins", "list", "--json")
    assert done.returncode == 0, done.stderr
    items = {i["name"]: i for i in json.loads(done.stdout)}
    assert items["boom"]["state"] == "available"
    assert items["invalid"]["state"] == "rejected"


NO_IMPORTS = """
import json, sys
from plexichat.cli import main
try:
    main({args!r}, standalone_mode=False)
finally:
    sys.stdout.flush()
loaded = [m for m in ("fastapi", "starlette", "plx_boom", "plx_fine") if m in sys.modules]
sys.stderr.write("LOADED=" + json.dumps(loaded))
"""


def loaded_modules(done):
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.rpartition("LOADED=")[2])


def test_list_imports_neither_fastapi_nor_plugin_code(installed, run):
    done = run("-c", NO_IMPORTS.format(args=["plugins", "list", "--json"]))
    assert loaded_modules(done) == []
    assert {i["name"] for i in json.loads(done.stdout)} >= {"boom", "fine"}


def test_table_list_imports_neither_fastapi_nor_plugin_code(installed, run):
    done = run("-c", NO_IMPORTS.format(args=["plugins", "list"]))
    assert loaded_modules(done) == []


def test_info_imports_neither_fastapi_nor_plugin_code(installed, run):
    done = run("-c", NO_IMPORTS.format(args=["plugins", "info", "boom", "--json"]))
    assert loaded_modules(done) == []


def test_list_with_warm_index_needs_no_validation_libraries(installed, run):
    code = NO_IMPORTS.format(args=["plugins", "list", "--json"]).replace(
        '("fastapi", "starlette", "plx_boom", "plx_fine")', '("pydantic", "jsonschema")'
    )
    assert loaded_modules(run("-c", code)) != []  # cold: manifests are validated
    assert loaded_modules(run("-c", code)) == []  # warm: the index answers


# --- plugins info ----------------------------------------------------------------------


def test_info_json_shows_one_plugin_with_its_manifest(installed):
    result = invoke("plugins", "info", "fine", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert FIELDS <= set(info)
    assert (info["name"], info["state"], info["distribution"]) == ("fine", "available",
                                                                   "plx-fine")
    assert info["manifest"]["type"] == "theme"
    assert info["manifest_file"].endswith(os.path.join("plx_fine", "plugin.json"))


def test_info_json_of_rejected_plugin_gives_the_reason(installed):
    info = json.loads(invoke("plugins", "info", "invalid", "--json").output)
    assert info["state"] == "rejected"
    assert "ui_pages.0.title" in info["reason"]
    assert info["manifest"] is None


def test_info_text_shows_state_and_distribution(installed):
    result = invoke("plugins", "info", "fine")
    assert result.exit_code == 0, result.output
    assert "fine" in result.output and "state: available" in result.output
    assert "plx-fine 1.2.3" in result.output


def test_info_of_unknown_plugin_fails_clearly(installed):
    result = invoke("plugins", "info", "nope")
    assert result.exit_code != 0
    assert "no plugin named 'nope' is installed" in result.output


def test_info_of_unknown_plugin_fails_in_a_real_process(installed, run):
    done = run("-m", "plexichat", "plugins", "info", "nope")
    assert done.returncode != 0
    assert "no plugin named 'nope' is installed" in done.stderr
    assert "Traceback" not in done.stderr
