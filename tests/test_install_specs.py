"""Install specs are classified by what they are — a URL by its scheme, an existing path,
a requirement — and anything else is refused naming the spec and what was expected."""

from __future__ import annotations

import os

import pytest

from plexichat.devkit.install_specs import SpecError, SpecKind, classify_spec


@pytest.mark.parametrize(("spec", "distribution"), [
    ("http://127.0.0.1:8098/plexichat_hello-1.0.0-py3-none-any.whl", "plexichat-hello"),
    ("https://example.org/dist/plexichat-hello-1.0.0.tar.gz", "plexichat-hello"),
    ("http://127.0.0.1:8098/download?id=3", None),
    ("git+https://example.org/plexichat-hello.git", None),
])
def test_urls_by_scheme(spec, distribution):
    item = classify_spec(spec)
    assert (item.kind, item.target, item.distribution) == (SpecKind.URL, spec, distribution)


@pytest.mark.parametrize(("spec", "distribution"), [
    ("plexichat-hello", "plexichat-hello"),
    ("Plexichat_Hello>=1.0,<2", "plexichat-hello"),
    ("plexichat-hello @ https://example.org/plexichat_hello-1.0.0-py3-none-any.whl",
     "plexichat-hello"),
    ("plexichat-hello[extra]==1.0; python_version >= '3.10'", "plexichat-hello"),
])
def test_requirements_by_parsing(spec, distribution):
    item = classify_spec(spec)
    assert (item.kind, item.target, item.distribution) == (
        SpecKind.REQUIREMENT, spec, distribution)


def test_existing_paths_by_what_is_there(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'My_Project'\n")
    folder = tmp_path / "folder_plugin"
    folder.mkdir()
    (folder / "plugin.json").write_text("{}")
    wheel = tmp_path / "plexichat_x-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    sdist = tmp_path / "plexichat-x-1.0.tar.gz"
    sdist.write_bytes(b"")
    archive = tmp_path / "plugin.zip"
    archive.write_bytes(b"")
    found = {p.name: classify_spec(str(p)) for p in (project, folder, wheel, sdist, archive)}
    assert {n: i.kind for n, i in found.items()} == {
        "project": SpecKind.PROJECT, "folder_plugin": SpecKind.FOLDER_PLUGIN,
        wheel.name: SpecKind.ARCHIVE, sdist.name: SpecKind.ARCHIVE,
        "plugin.zip": SpecKind.ZIP}
    assert found["project"].distribution == "my-project"
    assert found[wheel.name].distribution == found[sdist.name].distribution == "plexichat-x"
    assert found[wheel.name].target == str(wheel.resolve())
    assert classify_spec(wheel.as_uri()).kind is SpecKind.ARCHIVE  # file: URL = its path

    monkeypatch.chdir(tmp_path)
    assert classify_spec("project").kind is SpecKind.PROJECT  # relative, no "/" in it
    (tmp_path / "plexichat-hello").mkdir()  # a stray folder named like a distribution
    assert classify_spec("plexichat-hello").kind is SpecKind.REQUIREMENT


@pytest.mark.parametrize(("spec", "message"), [
    ("./no/such/plugin.whl", "./no/such/plugin.whl: no such file or directory; expected "),
    ("plexichat_hello-1.0.0-py3-none-any.whl", "no such file or directory"),
    ("file:///no/such/plugin.whl", "no such file or directory (/no/such/plugin.whl)"),
    ("http:///plugin.whl", "a URL with no host"),
    ("not a ^ requirement", "'not a ^ requirement' is not installable: not a URL, not an "
                            "existing path, and not a valid requirement; expected "),
    ("", "an empty install spec"),
])
def test_anything_else_is_refused_saying_what_was_expected(spec, message):
    with pytest.raises(SpecError) as info:
        classify_spec(spec)
    assert message in str(info.value)
    assert "http(s):// or file:// URL, an existing wheel, sdist" in str(info.value)


def test_directories_and_files_that_are_not_installable(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(SpecError, match="neither pyproject.toml nor plugin.json"):
        classify_spec(str(tmp_path))
    with pytest.raises(SpecError, match="neither a wheel, an sdist nor a .zip"):
        classify_spec(str(tmp_path / "notes.txt"))
    assert os.sep in str(tmp_path)
