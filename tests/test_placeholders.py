"""Placeholder metadata: the values ``plexichat plugins new`` writes are the values
``plexichat plugins check`` points at, field by field; real values pass."""

from __future__ import annotations

from email.message import Message

import pytest

from plexichat.devkit.packaging_check import check_path
from plexichat.devkit.placeholders import (
    AUTHOR_EMAIL,
    AUTHOR_NAME,
    DESCRIPTION,
    HOMEPAGE,
    find_placeholders,
    is_placeholder_email,
    is_placeholder_url,
)


def metadata(**headers: str | list[str]) -> Message:
    message = Message()
    for key, value in headers.items():
        for item in value if isinstance(value, list) else [value]:
            message[key.replace("_", "-")] = item
    return message


def fields(found) -> list[tuple[str, str]]:
    return [(p.field, p.metadata) for p in found]


def test_the_scaffolds_values_are_each_found():
    meta = metadata(Author_email=f"{AUTHOR_NAME} <{AUTHOR_EMAIL}>",
                    Summary=DESCRIPTION.format(name="demo"),
                    Project_URL=[f"Homepage, {HOMEPAGE.format(distribution='plexichat-demo')}",
                                 "Source, https://github.com/ada/plexichat-demo"])
    found = find_placeholders(meta, ["demo"])
    assert fields(found) == [("[project] authors", "Author-email"),
                             ("[project] description", "Summary"),
                             ("[project.urls] Homepage", "Project-URL")]
    assert all(p.fix for p in found)
    assert "pyproject.toml" in found[0].fix


def test_an_author_name_alone_and_maintainers_are_looked_at():
    meta = metadata(Author="your  name", Maintainer_email="Ops <ops@lists.example.org>")
    assert fields(find_placeholders(meta)) == [("[project] authors", "Author"),
                                               ("[project] maintainers", "Maintainer-email")]


def test_real_metadata_passes():
    meta = metadata(Author_email="Ada Lovelace <ada@lovelace.dev>",
                    Summary="Masks blocked words in chat messages.",
                    Home_page="https://examples.com.au/x",
                    Project_URL="Homepage, https://myexample.com/demo")
    assert find_placeholders(meta, ["demo"]) == []


@pytest.mark.parametrize("value, expected", [
    ("you@example.com", True), ("a@sub.example.net", True), ("a@example", True),
    ("a@myexample.com", False), ("example.com", False),
])
def test_placeholder_emails(value, expected):
    assert is_placeholder_email(value) is expected


@pytest.mark.parametrize("value, expected", [
    ("https://example.com/x", True), ("http://www.EXAMPLE.org", True),
    ("https://example.invalid/plexichat", True), ("https://plugins.test/x", True),
    ("https://github.com/yourusername/my-awesome-plugin", True),
    ("https://github.com/YourName", True), ("https://github.com/yourusernames/x", False),
    ("https://example.com.evil.io", False), ("https://github.com/example.com", False),
    ("not a url", False),
])
def test_placeholder_urls(value, expected):
    assert is_placeholder_url(value) is expected


def test_check_of_an_installed_plugin_names_metadata_and_manifest_placeholders(
        plexichat_make_plugin):
    plexichat_make_plugin(
        "ph", summary="TODO: describe",
        metadata={"Author": AUTHOR_NAME, "Requires-Dist": "plexichat>=3.0"},
        manifest={"name": "ph", "type": "feature", "homepage": "https://example.com/ph"},
        files={"docs/README.md": "# ph"})
    report = check_path("plx-ph")
    assert report.ok
    assert [(p.level, p.file, p.what.split(" is a placeholder")[0]) for p in report.problems] == [
        ("warning", "plx_ph-1.0.0.dist-info/METADATA", "[project] authors"),
        ("warning", "plx_ph-1.0.0.dist-info/METADATA", "[project] description"),
        ("warning", "plx_ph/plugin.json", "homepage"),
    ]
