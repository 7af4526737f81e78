"""``plexichat_entry_point`` / ``installed_entry_point``: the plugin under test as the
host finds it, through installed metadata, or a failure saying how to declare it."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from plexichat.testing import EntryPointMissing, entry_point_snippet, installed_entry_point

pytest_plugins = ["pytester"]

SNIPPET = '[project.entry-points."plexichat.plugins"]\nlost = "plx_lost"'


def install_without_entry_point(site, distribution="plx-lost", package="plx_lost"):
    """A distribution as pip leaves it after its entry-point table was deleted."""
    (site / package).mkdir()
    (site / package / "__init__.py").write_text("")
    info = site / f"{distribution.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n")
    importlib.invalidate_caches()


def test_the_installed_entry_point_is_returned(plexichat_make_plugin, plexichat_entry_point):
    plexichat_make_plugin("found")
    entry_point = plexichat_entry_point("found", distribution="plx_found")  # any spelling
    assert (entry_point.group, entry_point.name, entry_point.value) == (
        "plexichat.plugins", "found", "plx_found")
    assert entry_point.dist.metadata["Name"] == "plx-found"


def test_an_installed_distribution_without_it_gets_the_snippet(site):
    install_without_entry_point(site)
    with pytest.raises(EntryPointMissing) as caught:
        installed_entry_point("lost", distribution="plx-lost", target="plx_lost")
    message = str(caught.value)
    assert message.startswith("plx-lost 0.1.0 is installed, but it declares no entry point "
                              "in the 'plexichat.plugins' group")
    assert f"Add to its pyproject.toml:\n\n{SNIPPET}\n\nthen reinstall" in message
    assert "pip install -e '.[test]'" in message


def test_an_entry_point_of_another_distribution_does_not_count(site, plexichat_make_plugin):
    install_without_entry_point(site)
    plexichat_make_plugin("lost", distribution="plx-impostor")
    with pytest.raises(EntryPointMissing, match="declares no entry point") as caught:
        installed_entry_point("lost", distribution="plx-lost")
    assert "installed by plx-impostor, which is not this project" in str(caught.value)
    assert installed_entry_point("lost").dist.metadata["Name"] == "plx-impostor"


def editable(site, project, pyproject: str) -> None:
    """Mark plx-found as installed in editable mode from ``project`` (PEP 610)."""
    project.mkdir()
    (project / "pyproject.toml").write_text(pyproject)
    [info] = site.glob("plx_found-*.dist-info")
    (info / "direct_url.json").write_text(json.dumps(
        {"url": project.as_uri(), "dir_info": {"editable": True}}))


def test_an_editable_install_whose_pyproject_still_declares_it_passes(
        tmp_path, plexichat_make_plugin):
    plexichat_make_plugin("found")
    editable(plexichat_make_plugin.site, tmp_path / "project",
             '[project]\nname = "plx-found"\n\n'
             '[project.entry-points."plexichat.plugins"]\nfound = "plx_found"\n')
    assert installed_entry_point("found", distribution="plx-found").value == "plx_found"


def test_an_editable_install_whose_pyproject_dropped_it_fails(tmp_path, plexichat_make_plugin):
    """The table deleted but the project not reinstalled: a fresh install would lack it."""
    plexichat_make_plugin("found")
    editable(plexichat_make_plugin.site, tmp_path / "project",
             '[project]\nname = "plx-found"\n')
    with pytest.raises(EntryPointMissing) as caught:
        installed_entry_point("found", distribution="plx-found")
    message = str(caught.value)
    assert f"installed in editable mode from {tmp_path / 'project'}" in message
    assert "no longer declares it, so a fresh install would not be found" in message
    assert ('Add back to its pyproject.toml:\n\n[project.entry-points."plexichat.plugins"]\n'
            'found = "plx_found"\n') in message
    assert "reinstall it: pip install -e '.[test]'" in message


def test_a_project_that_is_not_installed_is_told_to_install(site):
    with pytest.raises(EntryPointMissing) as caught:
        installed_entry_point("nowhere", distribution="plx-nowhere")
    assert str(caught.value) == (
        f"plx-nowhere is not installed in this Python ({sys.executable}), so PlexiChat "
        "cannot find plugin 'nowhere'. Install the project (from its directory): "
        "pip install -e '.[test]'")
    with pytest.raises(EntryPointMissing, match="no installed distribution declares plugin"
                       " 'nowhere'") as caught:
        installed_entry_point("nowhere")
    assert entry_point_snippet("nowhere", "<your package>") in str(caught.value)


def test_the_fixture_fails_the_test_with_the_message_alone(pytester, monkeypatch):
    site = pytester.mkdir("site")
    install_without_entry_point(site)
    monkeypatch.setenv("PYTHONPATH", str(site))
    pytester.makepyfile(test_inner='''
        def test_lost(plexichat_entry_point):
            plexichat_entry_point("lost", distribution="plx-lost", target="plx_lost")
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*plx-lost 0.1.0 is installed, but it declares no entry point*",
        '[[]project.entry-points."plexichat.plugins"[]]',
        'lost = "plx_lost"',
        "*reinstall it*pip install -e '.[[]test[]]'",
    ])
    assert "During handling" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
