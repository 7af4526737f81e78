"""``plexichat plugins install|uninstall|upgrade`` and the installer underneath: specs,
the pip command, the static check after pip. pip itself is replaced by a stand-in that
writes fixture distributions, so these are fast; tests/test_install_live.py runs the
real thing against a served host."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.guide_awesome import write_folder

import plexichat.devkit.installer as installer
from plexichat.cli.install import install, uninstall, upgrade
from plexichat.devkit.installer import (
    InstallError,
    changes,
    distributions_for,
    pip_command,
    prepare_specs,
    snapshot,
    static_check,
)

TESTS = Path(__file__).parent


def test_pip_command_prefers_pip_then_uv(monkeypatch):
    assert pip_command("install", ["x"]) == [sys.executable, "-m", "pip", "install", "x"]
    assert pip_command("uninstall", ["x"]) == [sys.executable, "-m", "pip", "uninstall",
                                               "--yes", "x"]
    real = installer.importlib.util.find_spec
    monkeypatch.setattr(installer.importlib.util, "find_spec",
                        lambda name: None if name == "pip" else real(name))
    monkeypatch.setattr(installer.shutil, "which", lambda name: "/opt/bin/uv")
    assert pip_command("uninstall", ["x"]) == ["/opt/bin/uv", "pip", "uninstall", "--python",
                                               sys.executable, "x"]
    monkeypatch.setattr(installer.shutil, "which", lambda name: None)
    with pytest.raises(InstallError, match="neither pip nor uv"):
        pip_command("install", ["x"])


def test_specs(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    wheel = tmp_path / "x-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    args, notes = prepare_specs([str(project), str(wheel), "plexichat-hello>=1"],
                                tmp_path / "work")
    assert args == [str(project.resolve()), str(wheel.resolve()), "plexichat-hello>=1"]
    assert notes == []
    for bad, message in ((str(tmp_path / "nope.whl"), "no such file"),
                         (str(tmp_path), "neither pyproject.toml nor plugin.json"),
                         (str(project / "pyproject.toml"), "neither a wheel")):
        with pytest.raises(InstallError, match=message):
            prepare_specs([bad], tmp_path / "work")


def _zip(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.rglob("*"):
            zf.write(path, prefix + path.relative_to(folder).as_posix())
    return archive


def test_guide_zip_and_folder_are_migrated_first(tmp_path):
    folder = write_folder(tmp_path / "my_awesome_plugin")
    for spec in (_zip(folder, tmp_path / "flat.zip"),  # as the guide zips it: `zip -r . `
                 _zip(folder, tmp_path / "nested.zip", "my_awesome_plugin/"),
                 folder):
        work = tmp_path / f"work-{Path(spec).stem}"
        [arg], notes = prepare_specs([str(spec)], work)
        assert (Path(arg) / "src/my_awesome_plugin/main.py").is_file()
        assert Path(arg).is_relative_to(work)
        assert notes[0] == (f"{spec}: folder plugin 'my_awesome_plugin' converted to the "
                            "distribution plexichat-my-awesome-plugin (entry point "
                            "my_awesome_plugin.main:plugin)")
        assert any("changed src/my_awesome_plugin/main.py:6:" in n for n in notes)


def test_zip_refusals(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("plugin.json", "{}")
        zf.writestr("../escaped.py", "")
    with pytest.raises(InstallError, match="outside the extraction directory"):
        prepare_specs([str(evil)], tmp_path / "work")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("a/b/readme.txt", "")
    with pytest.raises(InstallError, match="holds no plugin.json"):
        prepare_specs([str(empty)], tmp_path / "work2")


FAKE_PIP = """
import shutil, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from support.dists import make_plugin
site = Path({site!r})
if "--dry-run" in sys.argv:  # the plan: pip's report of an install changing nothing
    print('{{"version": "1", "install": []}}')
    sys.exit(0)
action, args = sys.argv[1], [a for a in sys.argv[2:] if not a.startswith("-")]
print(f"fake pip {{action}} {{' '.join(args)}}", flush=True)
for spec in args:
    name = spec.removeprefix("plx-").replace("-", "_")
    if "==" in spec and list(site.glob(f"plx_{{name.split('==')[0]}}-*.dist-info")):
        print(f"Requirement already satisfied: {{spec}}")
    elif name == "noop":
        print("Requirement already satisfied: something-else")
    elif name == "bare":  # a distribution of a plugin, without its entry point
        (site / "plx_bare").mkdir()
        (site / "plx_bare" / "__init__.py").write_text("")
        (site / "plx_bare" / "plugin.json").write_text('{{"name": "bare"}}')
        (site / "plx_bare" / "main.py").write_text(
            "from plexichat import PluginInterface\\n"
            "class BarePlugin(PluginInterface):\\n    pass\\n")
        info = site / "plx_bare-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\\nName: plx-bare\\n"
                                       "Version: 1.0\\nRequires-Dist: plexichat>=3.0\\n")
        (info / "RECORD").write_text("plx_bare/__init__.py,,\\nplx_bare/plugin.json,,\\n"
                                     "plx_bare/main.py,,\\nplx_bare-1.0.dist-info/METADATA,,\\n")
    elif action == "uninstall":
        shutil.rmtree(site / f"plx_{{name}}")
        for info in site.glob(f"plx_{{name}}-*.dist-info"):
            shutil.rmtree(info)
    elif name == "broken":
        print("ERROR: no matching distribution"); sys.exit(1)
    else:
        for info in site.glob(f"plx_{{name}}-*.dist-info"):
            shutil.rmtree(info)
        manifest = {{"name": name}}
        if name == "needy":
            manifest["dependencies"] = ["absent_plugin"]
        make_plugin(site, name, manifest=manifest, version="2.0" if "--upgrade" in sys.argv
                    else "1.0")
"""


@pytest.fixture
def fake_pip(site, monkeypatch):
    script = FAKE_PIP.format(tests=str(TESTS), site=str(site))
    calls = []

    def command(action, args):
        if "--dry-run" not in args:  # the plan before each install is not recorded here
            calls.append([action, *args])
        return [sys.executable, "-c", textwrap.dedent(script), action, *args]

    monkeypatch.setattr(installer, "pip_command", command)
    return calls


def test_cli_install_streams_pip_and_checks_what_changed(fake_pip):
    result = CliRunner().invoke(install, ["plx-fresh", "plx-needy"])
    assert fake_pip == [["install", "plx-fresh", "plx-needy"]]
    assert "  fake pip install plx-fresh plx-needy" in result.output
    assert ("fresh (plx-fresh 1.0): installed, checks passed: a host starting now would "
            "start it") in result.output
    assert ("needy (plx-needy 1.0): installed, but it will not be started: rejected: "
            "requires 'absent_plugin', which is not installed") in result.output
    assert "POST /api/v1/plugins/rescan" in result.output
    # a plugin that would not start fails the install, saying why
    assert result.exit_code == 1, result.output
    assert result.output.rstrip().endswith(
        "Error: needy (plx-needy 1.0) is installed but would not start: rejected: "
        "requires 'absent_plugin', which is not installed"), result.output

    result = CliRunner().invoke(upgrade, ["fresh", "-q", "--index-url",
                                          "http://127.0.0.1:9/simple/"])
    assert result.exit_code == 0, result.output
    assert fake_pip[-1] == ["install", "--upgrade", "--index-url",
                            "http://127.0.0.1:9/simple/", "plx-fresh"]
    assert "  fake pip install" not in result.output  # -q: pip's output not shown
    assert "fresh (plx-fresh 1.0 → 2.0): upgraded, checks passed" in result.output

    result = CliRunner().invoke(uninstall, ["fresh", "plx-needy"])
    assert result.exit_code == 0, result.output
    assert fake_pip[-1] == ["uninstall", "plx-fresh", "plx-needy"]
    assert "fresh (plx-fresh 2.0): removed" in result.output
    assert "needy (plx-needy 1.0): removed" in result.output


def test_install_fails_when_nothing_useful_was_installed(fake_pip):
    result = CliRunner().invoke(install, ["plx-noop"])
    assert result.exit_code == 1, result.output
    assert result.output.rstrip().endswith(
        "Error: nothing was installed: no plugin was added or changed (pip installed or "
        "changed: nothing)"), result.output

    result = CliRunner().invoke(install, ["plx-bare"])
    assert result.exit_code == 1, result.output
    assert ("Error: plx-bare 1.0 was installed but is not a PlexiChat plugin: it has no "
            "entry point in the 'plexichat.plugins' group, so no host will find it. Add "
            "this to its pyproject.toml and install it again:\n\n"
            '    [project.entry-points."plexichat.plugins"]\n'
            '    bare = "plx_bare.main:BarePlugin"\n') in result.output, result.output


def test_install_of_what_is_installed_already_succeeds(fake_pip):
    assert CliRunner().invoke(install, ["plx-fresh"]).exit_code == 0
    result = CliRunner().invoke(install, ["plx-fresh==1.0"])
    assert result.exit_code == 0, result.output
    assert "already installed, nothing changed: fresh (--upgrade for a newer" in result.output
    result = CliRunner().invoke(install, ["plx-fresh"])  # pip wrote it anew
    assert result.exit_code == 0, result.output
    assert "fresh (plx-fresh 1.0): reinstalled, checks passed" in result.output


def test_cli_failures(fake_pip):
    result = CliRunner().invoke(install, ["plx-broken"])
    assert result.exit_code == 1
    assert "ERROR: no matching distribution" in result.output
    assert "pip install failed (exit status 1)" in result.output
    result = CliRunner().invoke(uninstall, ["not_a_plugin"])
    assert result.exit_code == 1
    assert "no plugin or distribution named 'not_a_plugin' is installed" in result.output
    result = CliRunner().invoke(uninstall, ["plexichat"])
    assert "the PlexiChat host itself" in result.output
    result = CliRunner().invoke(install, ["plx-x", "--url", "http://127.0.0.1:9",
                                          "--token", ""])
    assert fake_pip[-1] == ["install", "plx-x"]  # pip ran; telling the host needs a token
    assert result.exit_code == 1 and "--token" in result.output


def test_snapshot_changes_and_static_check(site):
    from support.dists import make_plugin

    before = snapshot()
    make_plugin(site, "one")
    make_plugin(site, "two", manifest={"name": "two", "api_version": "2.0"})
    found = static_check(changes(before, snapshot()))
    by_name = {c.name: c for c in found}
    assert (by_name["one"].change, by_name["one"].state) == ("installed", "available")
    assert by_name["two"].state == "rejected"
    assert "needs plugin API 2.0" in by_name["two"].reason
    assert json.loads(json.dumps(by_name["one"].as_dict()))["distribution"] == "plx-one"
    assert distributions_for(["one", "plx-two", "one"]) == ["plx-one", "plx-two"]
    middle = snapshot()
    shutil.rmtree(site / "plx_one")
    for info in site.glob("plx_one-*.dist-info"):
        shutil.rmtree(info)
    assert [(c.name, c.change) for c in changes(middle, snapshot())] == [("one", "removed")]


def _bare_dist(site: Path, name: str, requires: str = "plexichat>=3.0") -> None:
    """A distribution with a package but no plexichat.plugins entry point."""
    (site / f"plx_{name}").mkdir()
    (site / f"plx_{name}" / "__init__.py").write_text("from plexichat import hookimpl\n")
    info = site / f"plx_{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: plx-{name}\nVersion: 1.0\n"
                                   f"Requires-Dist: {requires}\n")
    (info / "RECORD").write_text(f"plx_{name}/__init__.py,,\n")


def test_unnamed_installs_blame_new_distributions_that_depend_on_plexichat(site):
    from support.dists import make_plugin

    from plexichat.devkit.install_outcome import assess, distributions

    before = distributions()
    _bare_dist(site, "helper", requires="plexichat")
    _bare_dist(site, "other", requires="requests")
    outcome = assess([], [], before, distributions())  # e.g. a URL with no file name
    assert [n.distribution for n in outcome.not_plugins] == ["plx-helper"]
    assert outcome.not_plugins[0].snippet == (
        '[project.entry-points."plexichat.plugins"]\nplx_helper = "plx_helper"')

    before, plugins_before = distributions(), snapshot()
    make_plugin(site, "real")
    _bare_dist(site, "lib", requires="plexichat")  # a dependency of the plugin
    found = static_check(changes(plugins_before, snapshot()))
    assert [c.name for c in found] == ["real"]
    outcome = assess(found, [], before, distributions())
    assert outcome.ok, outcome.problems  # a plugin came; its helpers are not blamed
