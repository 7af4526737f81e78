"""``plexichat plugins new``: the generated project is valid; its tests find the plugin
through the installed distribution's entry point, so they pass once it is installed as
its README says and fail, saying how to fix it, when the entry point is missing (e2e, in
a fresh virtual environment with the host wheel)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from support.venv import clean_env, shared_host_venv

from plexichat.cli.new import new
from plexichat.devkit import placeholders
from plexichat.devkit.packaging_check import check_path
from plexichat.devkit.scaffold import scaffold
from plexichat.manifest import DistributionFacts, PluginType, parse_manifest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

FILES = {
    "pyproject.toml", "README.md", ".gitignore",
    "src/plexichat_demo_plugin/__init__.py",
    "src/plexichat_demo_plugin/plugin.json",
    "src/plexichat_demo_plugin/docs/README.md",
    "tests/test_demo_plugin.py",
    ".github/workflows/ci.yml", ".github/workflows/release.yml",
}


def test_generated_files_are_valid(tmp_path):
    root, written = scaffold("demo_plugin", tmp_path / "demo_plugin", "integration")
    assert {p.relative_to(root).as_posix() for p in written} == FILES

    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "hatchling.build"
    project = pyproject["project"]
    assert project["name"] == "plexichat-demo-plugin"
    assert project["dependencies"] == ["plexichat>=3.0"]
    assert {"pytest>=8.0", "httpx>=0.27"} <= set(project["optional-dependencies"]["test"])
    assert project["entry-points"]["plexichat.plugins"] == {
        "demo_plugin": "plexichat_demo_plugin"}
    # the placeholders come from the one list plugins check knows
    assert project["authors"] == [{"name": placeholders.AUTHOR_NAME,
                                   "email": placeholders.AUTHOR_EMAIL}]
    assert project["description"] == placeholders.DESCRIPTION.format(name="demo_plugin")
    assert project["urls"] == {"Homepage": placeholders.HOMEPAGE.format(
        distribution="plexichat-demo-plugin")}
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "src/plexichat_demo_plugin"]

    data = json.loads((root / "src/plexichat_demo_plugin/plugin.json").read_text())
    parsed = parse_manifest(data, plugin_name="demo_plugin",
                            dist=DistributionFacts("plexichat-demo-plugin", "0.1.0"),
                            file="plugin.json")
    assert parsed.manifest.type is PluginType.INTEGRATION and not parsed.warnings

    for rel in ("src/plexichat_demo_plugin/__init__.py", "tests/test_demo_plugin.py"):
        ast.parse((root / rel).read_text(), rel)
    code = (root / "src/plexichat_demo_plugin/__init__.py").read_text()
    assert "def startup(" in code and "def register_routers(" in code
    assert '@router.get("/status")' in code and '"/api/v1/demo_plugin"' in code
    test = (root / "tests/test_demo_plugin.py").read_text()
    assert "plexichat_client(plugins=[NAME])" in test  # the testing kit
    assert 'DISTRIBUTION = "plexichat-demo-plugin"' in test
    assert "plexichat_entry_point(NAME, distribution=DISTRIBUTION" in test
    assert '"/api/v1/demo_plugin/status"' in test

    ci = (root / ".github/workflows/ci.yml").read_text()
    assert "push:" in ci and "python -m pytest" in ci
    release = (root / ".github/workflows/release.yml").read_text()
    assert "pypa/gh-action-pypi-publish@release/v1" in release
    assert "id-token: write" in release and "python -m build" in release
    assert "https://pypi.org/p/plexichat-demo-plugin" in release

    report = check_path(str(root))
    # publishable, but every placeholder is pointed at, field by field
    assert report.ok, [str(p) for p in report.problems]
    assert [(p.level, p.file, p.what.split(" is a placeholder")[0])
            for p in report.problems] == [
        ("warning", "pyproject.toml", "[project] authors"),
        ("warning", "pyproject.toml", "[project] description"),
        ("warning", "pyproject.toml", "[project.urls] Homepage"),
    ]


def test_generated_project_checks_clean_once_placeholders_are_replaced(tmp_path):
    root, _ = scaffold("demo_plugin", tmp_path / "demo_plugin")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    for placeholder, real in [(placeholders.AUTHOR_NAME, "Ada Lovelace"),
                     (placeholders.AUTHOR_EMAIL, "ada@lovelace.dev"),
                     ("https://example.com/", "https://github.com/ada/"),
                     (placeholders.DESCRIPTION.format(name="demo_plugin"),
                      "Answers how the demo is doing.")]:
        assert placeholder in text
        text = text.replace(placeholder, real)
    pyproject.write_text(text)
    report = check_path(str(root))
    assert report.ok and not report.problems, [str(p) for p in report.problems]


def test_generated_tests_say_to_install_the_project_first(tmp_path):
    """``plexichat plugins new x && cd x && pytest`` without installing: nothing invents
    the entry point, so the tests fail and say how to install the project."""
    root, _ = scaffold("demo_plugin", tmp_path / "demo_plugin")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=root, env=clean_env(tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "plexichat-demo-plugin is not installed in this Python" in proc.stdout
    assert "pip install -e '.[test]'" in proc.stdout


@pytest.mark.parametrize("name, message", [
    ("2fast", "must start with a letter"),
    ("demo-plugin", "only letters, digits and underscores"),
    ("demo plugin", "only letters, digits and underscores"),
    ("core_system", "reserved by the PlexiChat host"),
])
def test_invalid_names_are_refused_clearly(tmp_path, name, message):
    result = CliRunner().invoke(new, [name, "--dir", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x").exists()


def test_existing_directory_is_not_overwritten(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(new, ["demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 2 and "not empty" in result.output
    result = CliRunner().invoke(new, ["demo", "--type", "theme", "--dir",
                                      str(tmp_path / "demo"), "--force"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "keep.txt").read_text() == "mine"
    assert json.loads((tmp_path / "demo/src/plexichat_demo/plugin.json").read_text())[
        "type"] == "theme"


def test_default_directory_and_next_steps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(new, ["demo_plugin"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo_plugin" / "pyproject.toml").is_file()
    assert "cd demo_plugin" in result.output and "pytest" in result.output
    assert "pip install -e '.[test]'" in result.output


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    return shared_host_venv(tmp_path_factory)


ENTRY_POINT_TABLE = re.compile(
    r'^\[project\.entry-points\."plexichat\.plugins"\]\n(?:[^\[\n].*\n)*', re.MULTILINE)

SNIPPET = '[project.entry-points."plexichat.plugins"]\ndemo_plugin = "plexichat_demo_plugin"'


@pytest.mark.e2e
def test_generated_tests_use_the_installed_entry_point(venv, tmp_path):
    """The author's path: new, install as the README says, pytest (passes); delete the
    entry-point table, reinstall, pytest (fails with the snippet that adds it back)."""
    started = time.monotonic()
    venv.run("plexichat", "plugins", "new", "demo_plugin", cwd=tmp_path)
    root = tmp_path / "demo_plugin"
    readme = (root / "README.md").read_text()
    assert 'pip install -e ".[test]"' in readme
    venv.pip("install", "--quiet", "-e", ".[test]", cwd=root)
    try:
        assert "plexichat-demo-plugin" in venv.dists(tmp_path)
        proc = venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=root)
        assert "3 passed" in proc.stdout, proc.stdout

        pyproject = root / "pyproject.toml"
        text, removed = ENTRY_POINT_TABLE.subn("", pyproject.read_text())
        assert removed == 1 and "entry-points" not in text
        pyproject.write_text(text)
        # not reinstalled yet: the stale installed metadata does not hide the change
        proc = venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=root,
                        check=False)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "no longer declares it, so a fresh install would not be found" in proc.stdout
        assert f"Add back to its pyproject.toml:\n\n{SNIPPET}\n" in proc.stdout, proc.stdout

        venv.pip("install", "--quiet", "-e", ".", cwd=root)
        proc = venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=root,
                        check=False)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "1 failed, 2 errors" in proc.stdout, proc.stdout
        assert ("plexichat-demo-plugin 0.1.0 is installed, but it declares no entry point "
                "in the 'plexichat.plugins' group") in proc.stdout, proc.stdout
        assert f"Add to its pyproject.toml:\n\n{SNIPPET}\n" in proc.stdout, proc.stdout
        assert "reinstall it" in proc.stdout and "pip install -e '.[test]'" in proc.stdout
        assert "During handling" not in proc.stdout  # one clear message, no traceback
    finally:
        venv.pip("uninstall", "--yes", "--quiet", "plexichat-demo-plugin", cwd=tmp_path)
    print(f"new + install + pytest, twice, in the venv: {time.monotonic() - started:.1f} s")
