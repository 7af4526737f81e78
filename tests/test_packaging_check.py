"""``plexichat plugins check``: projects, wheels and installed distributions before
publishing. Wheels are built in-process with hatchling, so these are fast."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.dists import make_plugin

from plexichat.cli.check import check as check_command
from plexichat.devkit import placeholders
from plexichat.devkit.packaging_check import CheckFailed, build_wheel, check_path
from plexichat.devkit.scaffold import scaffold


def project(tmp_path: Path, name: str = "demo_plugin", **changes: str) -> Path:
    """A fresh ``plexichat plugins new`` project with its placeholder metadata replaced
    (as its author would before publishing; test_scaffold checks the placeholders are
    flagged); ``changes`` maps relative paths to new contents (``""`` deletes the file)."""
    root, _ = scaffold(name, tmp_path / name)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text()
                         .replace(placeholders.AUTHOR_NAME, "Ada Lovelace")
                         .replace(placeholders.AUTHOR_EMAIL, "ada@lovelace.dev")
                         .replace("https://example.com/", "https://github.com/ada/")
                         .replace(placeholders.DESCRIPTION.format(name=name),
                                  f"{name}: answers how the demo is doing."))
    for rel, text in changes.items():
        target = root / rel
        if text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text), encoding="utf-8")
        else:
            target.unlink()
    return root


def manifest(root: Path, **fields: object) -> None:
    path = next(root.glob("src/*/plugin.json"))
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


def lines(report) -> list[str]:
    return [str(p) for p in report.problems]


def test_a_new_project_passes_clean(tmp_path):
    report = check_path(str(project(tmp_path)))
    assert report.ok and report.problems == [], lines(report)
    assert (report.kind, report.distribution, report.version, report.plugins) == (
        "project", "plexichat-demo-plugin", "0.1.0", ["demo_plugin"])
    assert report.wheel == "plexichat_demo_plugin-0.1.0-py3-none-any.whl"


def test_a_wheel_that_forgot_plugin_json_is_flagged(tmp_path):
    root = project(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'packages = ["src/plexichat_demo_plugin"]',
        'packages = ["src/plexichat_demo_plugin"]\nexclude = ["plugin.json"]'))
    wheel, how = build_wheel(root, tmp_path / "dist")
    assert how == "hatchling (in-process)"

    report = check_path(str(wheel))
    assert not report.ok
    [problem] = report.errors
    assert str(problem) == (
        "error: plexichat_demo_plugin/plugin.json: plugin.json is not inside the built wheel; "
        "the host will use default manifest values — add plugin.json at the root of the "
        "package plexichat_demo_plugin/ (`plexichat plugins new` shows one)")

    # checked as a project, the fix names the exclusion
    [problem] = check_path(str(root)).errors
    assert problem.file == "src/plexichat_demo_plugin/plugin.json"
    assert "stop excluding it from the wheel" in problem.fix


def test_entry_point_name_must_equal_manifest_name(tmp_path):
    root = project(tmp_path)
    manifest(root, name="something_else")
    report = check_path(str(root))
    [problem] = report.errors
    assert str(problem) == (
        "error: src/plexichat_demo_plugin/plugin.json: name 'something_else' differs from "
        "the entry-point name 'demo_plugin'; the host refuses the plugin — make them equal: "
        'rename the entry point in pyproject.toml or set "name": "demo_plugin" in '
        "plugin.json")


def test_unknown_permission(tmp_path):
    root = project(tmp_path)
    manifest(root, permissions=["db:read", "root:everything"])
    [problem] = check_path(str(root)).errors
    assert problem.what == "unknown permission 'root:everything'"
    assert problem.fix.startswith("use one of: ai:use, analytics:write")


def test_versions_must_agree_and_other_fields_must_be_valid(tmp_path):
    root = project(tmp_path)
    manifest(root, version="9.9", type="spaceship", ui_pages=[
        {"name": "dash", "path": "ui/dash", "title": "Dash"}])
    found = {(p.level, p.what.split(":")[0]) for p in check_path(str(root)).problems}
    assert ("error", "version '9.9' disagrees with the distribution's version '0.1.0'") in found
    assert ("error", "type") in found  # pydantic's message for an unknown type

    manifest(root, version="0.1.0", type="feature")
    [problem] = check_path(str(root)).errors
    assert problem.what == "ui_pages.0 ('dash') points to ui/dash, which is not inside the package"
    ui = root / "src" / "plexichat_demo_plugin" / "ui" / "dash"
    ui.mkdir(parents=True)
    (ui / "index.html").write_text("<h1>dash</h1>")
    assert check_path(str(root)).ok


def test_entry_point_must_name_shipped_code(tmp_path):
    root = project(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'demo_plugin = "plexichat_demo_plugin"', 'demo_plugin = "plexichat_demo_plugin:nothing"'))
    [problem] = check_path(str(root)).errors
    assert problem.file == "src/plexichat_demo_plugin/__init__.py"
    assert "names 'nothing', which the module does not define" in problem.what

    pyproject.write_text(pyproject.read_text().replace(
        '"plexichat_demo_plugin:nothing"', '"plexichat_typo"'))
    [problem] = check_path(str(root)).errors
    assert problem.file == "pyproject.toml"
    assert "names module 'plexichat_typo', which the built wheel does not contain" in problem.what


def test_missing_docs_and_host_dependency_are_warnings(tmp_path):
    root = project(tmp_path, **{"src/plexichat_demo_plugin/docs/README.md": ""})
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = ["plexichat>=3.0"]',
                                                       "dependencies = []"))
    report = check_path(str(root))
    assert report.ok
    assert sorted(p.what for p in report.warnings) == [
        "no docs/ inside the package", "the distribution does not depend on plexichat"]


def test_installed_distribution_by_plugin_or_distribution_name(site):
    make_plugin(site, "checked", code="", manifest={"name": "checked", "type": "theme"},
                files={"docs/README.md": "# checked"})
    for target in ("checked", "plx-checked"):
        report = check_path(target)
        assert report.kind == "installed" and report.plugins == ["checked"]
        # the fixture distribution declares no Requires-Dist and no summary
        assert report.ok and {p.what for p in report.warnings} == {
            "the distribution does not depend on plexichat",
            "no description: listings and catalogs show nothing"}, lines(report)
    with pytest.raises(CheckFailed, match="no distribution or plugin of that name"):
        check_path("plx-not-installed")


def test_cli_lines_json_and_exit_status(tmp_path):
    good = project(tmp_path / "good")
    bad = project(tmp_path / "bad")
    manifest(bad, permissions=["nope"])
    runner = CliRunner()

    result = runner.invoke(check_command, [str(good)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok: {good}: plexichat-demo-plugin 0.1.0 (wheel ")

    result = runner.invoke(check_command, [str(good), str(bad)])
    assert result.exit_code == 1
    assert "error: src/plexichat_demo_plugin/plugin.json: unknown permission 'nope' — " \
           "use one of:" in result.output
    assert f"FAILED: {bad}:" in result.output

    result = runner.invoke(check_command, ["--json", str(bad)])
    assert result.exit_code == 1
    [report] = json.loads(result.output)
    assert report["ok"] is False
    assert report["problems"][0]["level"] == "error"
    assert report["problems"][0]["what"] == "unknown permission 'nope'"

    result = runner.invoke(check_command, [str(tmp_path / "nowhere" / "x.whl")])
    assert result.exit_code == 2
