"""``plexichat plugins migrate``: the guide's folder AwesomePlugin becomes a distribution
that builds, installs and serves ``GET /api/v1/awesome/status``."""

from __future__ import annotations

import ast
import json
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.api import TOKEN
from support.guide_awesome import PLUGIN_JSON, write_folder
from support.host import running_host
from support.venv import clean_env, get, serve, shared_host_venv

from plexichat.cli.migrate import migrate as migrate_command
from plexichat.devkit.migrate import MigrationError, migrate
from plexichat.devkit.packaging_check import build_wheel

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


def test_guide_awesome_plugin(tmp_path):
    folder = write_folder(tmp_path / "plugins" / "my_awesome_plugin")
    report = migrate(folder, tmp_path / "out")

    assert (report.name, report.package, report.distribution, report.version) == (
        "my_awesome_plugin", "my_awesome_plugin", "plexichat-my-awesome-plugin", "1.0.0")
    assert report.entry_point == "my_awesome_plugin.main:plugin"
    assert [str(c) for c in report.changes] == [
        "src/my_awesome_plugin/main.py:6: (no import of json; used at line 115) → import json",
        "src/my_awesome_plugin/main.py:10: from ...infrastructure.modules."
        "enhanced_plugin_manager import ( PluginInterface, PluginType, PluginMetadata ) → "
        "from plexichat import PluginInterface, PluginType, PluginMetadata",
    ]
    assert report.notes == [
        "plugin.json ui_pages.0 points to ui/dashboard, which the folder does not have; add "
        "it or `plexichat plugins check` will flag it"]

    out = tmp_path / "out"
    pyproject = tomllib.loads((out / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert project["dependencies"] == ["plexichat>=3.0.0"]
    assert project["entry-points"]["plexichat.plugins"] == {
        "my_awesome_plugin": "my_awesome_plugin.main:plugin"}
    assert (project["description"], project["license"], project["authors"]) == (
        "An awesome plugin for PlexiChat", "MIT", [{"name": "Your Name"}])
    assert project["urls"]["Homepage"] == "https://github.com/yourusername/my-awesome-plugin"
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "src/my_awesome_plugin"]
    assert (out / "src/my_awesome_plugin/plugin.json").read_text() == PLUGIN_JSON

    main = (out / "src/my_awesome_plugin/main.py").read_text()
    tree = ast.parse(main)
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert "from plexichat import PluginInterface, PluginType, PluginMetadata" in imports
    assert "import json" in imports
    assert "enhanced_plugin_manager" not in main
    assert main.count("\n") == (folder / "main.py").read_text().count("\n") - 1  # 3 → 1 + 1
    assert "from ...infrastructure" in (out / "MIGRATION.md").read_text()


def test_migrated_guide_code_runs_in_a_host(tmp_path, site, monkeypatch):
    """In-process: the migrated wheel unpacked onto ``sys.path`` serves the guide's
    routes. (Renamed, as the development environment may hold an ``awesome`` example
    plugin claiming the guide's name.)"""
    folder = tmp_path / "guide_awesome"
    write_folder(folder)
    (folder / "plugin.json").write_text(PLUGIN_JSON.replace('"my_awesome_plugin"',
                                                            '"guide_awesome"'))
    report = migrate(folder, tmp_path / "out")
    wheel, _ = build_wheel(report.out, tmp_path / "dist")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    monkeypatch.chdir(tmp_path)  # the guide's plugin makes data/plugins/... where it runs
    try:
        with running_host(tmp_path / "data", "guide_awesome", admin_token=TOKEN) as client:
            info = client.get("/api/v1/plugins/guide_awesome").json()
            assert info["state"] == "started", info
            status = client.get("/api/v1/awesome/status").json()
            assert status["status"] == "awesome" and status["config"]["enabled"] is True
            action = client.post("/api/v1/awesome/action").json()
            assert action["success"] is True
            assert client.get("/api/v1/awesome/status").json()["stats"][
                "actions_performed"] == 1
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == "guide_awesome"]:
            del sys.modules[name]


def test_folder_with_requirements_ui_docs_tests_and_helpers(tmp_path):
    folder = tmp_path / "helper_plugin"
    files = {
        "plugin.json": json.dumps({"name": "helper_plugin", "version": "2.1.0",
                                   "entry_point": "main.py", "license": "not a licence",
                                   "dependencies": ["core_system", "other_plugin>=1"]}),
        "main.py": """\
            import utils
            from .helpers import shout
            from ..core.plugin_manager import PluginInterface, SomethingGone

            class Base(PluginInterface):
                pass

            class HelperPlugin(Base):
                def hello(self):
                    return shout(utils.WORD) + str(sys.maxsize > 0) + undefined_thing
            """,
        "utils.py": "WORD = 'hi'\n",
        "helpers.py": "def shout(s):\n    return s.upper()\n",
        "requirements.txt": "# deps\nrequests>=2  # http\n-r other.txt\nnot a requirement!\n",
        "ui/dashboard/index.html": "<h1>hi</h1>",
        "docs/README.md": "# helper",
        "tests/test_main.py": "from main import HelperPlugin\nimport utils\n",
        "README.md": "# Helper plugin\n",
        "__pycache__/junk.pyc": "",
    }
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(textwrap.dedent(text))
    report = migrate(folder, tmp_path / "out")
    out = tmp_path / "out"

    assert report.entry_point == "helper_plugin.main:HelperPlugin"  # no instance: the class
    pkg = out / "src" / "helper_plugin"
    assert sorted(p.relative_to(pkg).as_posix() for p in pkg.rglob("*") if p.is_file()) == [
        "__init__.py", "docs/README.md", "helpers.py", "main.py", "plugin.json",
        "ui/dashboard/index.html", "utils.py"]
    assert (out / "README.md").read_text() == "# Helper plugin\n"
    main = (pkg / "main.py").read_text()
    assert main.startswith("import sys\nfrom . import utils\nfrom .helpers import shout\n"
                           "from plexichat import PluginInterface; from ..core.plugin_manager "
                           "import SomethingGone\n")
    assert (out / "tests/test_main.py").read_text() == (
        "from helper_plugin.main import HelperPlugin\nfrom helper_plugin import utils\n")

    project = tomllib.loads((out / "pyproject.toml").read_text())["project"]
    assert project["version"] == "2.1.0"
    assert project["dependencies"] == ["plexichat>=3.0", "requests>=2"]
    assert "license" not in project
    notes = "\n".join(report.notes)
    assert "main.py:3: `from ..core.plugin_manager import SomethingGone`: no PlexiChat 3 " \
           "equivalent" in notes
    assert "main.py:10: name 'undefined_thing' is used but never defined" in notes
    assert "requirements.txt:3: '-r other.txt' is a pip option" in notes
    assert "requirements.txt:4: 'not a requirement!' skipped" in notes
    assert "license 'not a licence' is not an SPDX expression" in notes
    assert "depends on the plugin 'other_plugin'" in notes
    assert "core_system" not in notes


def test_module_of_hookimpls_and_refusals(tmp_path):
    folder = tmp_path / "hooky"
    folder.mkdir()
    (folder / "plugin.json").write_text('{"name": "hooky"}')
    (folder / "main.py").write_text("from plexichat import hookimpl\n\n@hookimpl\n"
                                    "def startup(context):\n    pass\n")
    assert migrate(folder, tmp_path / "out").entry_point == "hooky.main"

    with pytest.raises(MigrationError, match="not empty"):
        migrate(folder, tmp_path / "out")
    with pytest.raises(MigrationError, match="outside the plugin folder"):
        migrate(folder, folder / "dist")
    (folder / "main.py").write_text("x = 1\n")
    with pytest.raises(MigrationError, match="nothing for the host to load"):
        migrate(folder, tmp_path / "out2")
    (folder / "plugin.json").write_text('{"name": "hooky", "entry_point": "plugin_main"}')
    with pytest.raises(MigrationError, match="names plugin_main.py, which is not in"):
        migrate(folder, tmp_path / "out3")
    (folder / "plugin.json").unlink()
    with pytest.raises(MigrationError, match="has no plugin.json"):
        migrate(folder, tmp_path / "out4")


def test_cli(tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "my_awesome_plugin")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(migrate_command, [str(folder)])
    assert result.exit_code == 0, result.output
    assert f"migrated {folder} → {tmp_path / 'plexichat-my-awesome-plugin'}" in result.output
    assert "changed src/my_awesome_plugin/main.py:10: from ...infrastructure" in result.output
    result = CliRunner().invoke(migrate_command, [str(folder), "--json", "--out",
                                                  str(tmp_path / "second")])
    assert json.loads(result.output)["entry_point"] == "my_awesome_plugin.main:plugin"
    result = CliRunner().invoke(migrate_command, [str(folder)])
    assert result.exit_code == 1 and "already exists and is not empty" in result.output


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    return shared_host_venv(tmp_path_factory)


@pytest.mark.e2e
def test_migrated_guide_plugin_wheel_serves_for_real(venv, tmp_path: Path):
    folder = write_folder(tmp_path / "plugins" / "my_awesome_plugin")
    venv.run("plexichat", "plugins", "migrate", folder, "--out", tmp_path / "project",
             cwd=tmp_path)
    wheel, _ = build_wheel(tmp_path / "project", tmp_path / "dist")
    assert wheel.name == "plexichat_my_awesome_plugin-1.0.0-py3-none-any.whl"
    venv.pip("install", "--quiet", wheel, cwd=tmp_path)
    try:
        env = clean_env(tmp_path / "work")
        with serve(venv, tmp_path / "work", env) as server:
            status, info = get(server.url + "/api/v1/plugins/my_awesome_plugin")
            assert (status, info["state"]) == (200, "started"), (info, server.log())
            status, body = get(server.url + "/api/v1/awesome/status")
            assert status == 200, server.log()
            assert body["status"] == "awesome" and body["stats"]["errors"] == 0
    finally:
        venv.pip("uninstall", "--yes", "--quiet", "plexichat-my-awesome-plugin", cwd=tmp_path)
