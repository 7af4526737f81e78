"""The ``/docs`` viewer: core docs and every plugin's ``docs/`` folder, rendered and
sanitized (plugin HTML included), searchable with highlighted hits."""

from __future__ import annotations

import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.api import TOKEN
from support.dists import make_plugin
from support.host import running_host
from support.ui_plugins import DOCS_PHRASE, install_panel
from support.web import raw_get

from plexichat.web.docs_viewer import core_docs_dir, highlight, sanitize

ROOT = Path(__file__).resolve().parents[1]

HOSTILE_MD = """\
# Hostile notes

Plain text before.

<script>alert('md-script')</script>
<img src="x.png" onerror="alert('md-onerror')">
<a href="javascript:alert('md-js')">raw link</a>

[markdown link](javascript:alert('md-link'))

<div onclick="alert(1)" onmouseover="alert(2)">hover me</div>
<a href="JaVaScRiPt:alert(3)">mixed case</a>
<a href="&#106;avascript:alert(4)">entity</a>
<iframe src="https://evil.example"></iframe>
<svg><script>alert(5)</script></svg>
<style>body { display: none }</style>

Kept: [a safe link](USAGE.md) and **bold**.
"""

HOSTILE_HTML = """\
<!DOCTYPE html>
<html><head><title>Hostile page</title><script>alert('head')</script></head>
<body onload="alert('body')">
<h1>Hostile page</h1>
<p onclick="alert('p')">Paragraph with a
<a href="javascript:alert('html-js')">bad link</a> and an
<img src="pic.png" onerror="alert('html-onerror')" alt="pic">.</p>
<script>document.write('html-script')</script>
<form action="javascript:alert(1)"><input name="x"></form>
<p>The safe words survive.</p>
</body></html>
"""


class _Audit(HTMLParser):
    """Collects every tag and attribute of rendered markup."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((k, v or "") for k, v in attrs)


def assert_harmless(html: str) -> None:
    """No script element, no event handler attribute, no javascript: URL — anywhere."""
    audit = _Audit()
    audit.feed(html)
    assert "script" not in audit.tags and "iframe" not in audit.tags
    assert "svg" not in audit.tags and "style" not in audit.tags
    assert not [k for k, _ in audit.attributes if k.lower().startswith("on")]
    assert not [v for _, v in audit.attributes if "script:" in v.lower().replace(" ", "")]
    lowered = html.lower()
    assert "<script" not in lowered
    assert "onerror=" not in lowered and "onclick=" not in lowered and "onload=" not in lowered
    assert "javascript:" not in lowered


@pytest.fixture
def plugins(site):
    install_panel(site)
    make_plugin(site, "hostile", files={
        "docs/NOTES.md": HOSTILE_MD,
        "docs/page.html": HOSTILE_HTML,
        "docs/sub/DEEP.md": "# Deep\n\nNested document.\n",
        "docs/.hidden.md": "# Hidden\n",
    })
    make_plugin(site, "hooked", code="""
        from pathlib import Path
        from plexichat import hookimpl
        from plexichat.contributions import DocsSpec

        @hookimpl
        def register_docs():
            return [DocsSpec(Path(__file__).parent / "manual", title="Hooked manual")]
    """, files={"manual/GUIDE.md": "# Hooked guide\n\nThe periwinkle lighthouse.\n"})
    make_plugin(site, "sleeper", code="raise RuntimeError('must never be imported')\n",
                files={"docs/README.md": "# Sleeper\n\nThe dormant aardvark ledger.\n"})


@pytest.fixture
def client(plugins, tmp_path):
    # sleeper is installed but not loaded: its docs are read without importing it
    with running_host(tmp_path / "data", "panel", "hostile", "hooked",
                      admin_token=TOKEN) as client:
        yield client


def test_the_index_lists_core_docs_and_every_plugins_docs(client):
    html = client.get("/docs").text
    assert 'href="/docs/core/ARCHITECTURE.md"' in html
    assert 'href="/docs/plugins/panel/README.md"' in html and "Panel guide" in html
    assert 'href="/docs/plugins/panel/USAGE.md"' in html
    assert 'href="/docs/plugins/hostile/page.html"' in html
    assert 'href="/docs/plugins/hostile/sub/DEEP.md"' in html
    assert ".hidden.md" not in html
    assert 'href="/docs/plugins/hooked~1/GUIDE.md"' in html and "Hooked manual" in html
    assert 'href="/docs/plugins/sleeper/README.md"' in html
    assert "plx_sleeper" not in sys.modules


def test_a_core_document_is_rendered(client):
    response = client.get("/docs/core/ARCHITECTURE.md")
    assert response.status_code == 200
    assert "<h1" in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_markdown_is_rendered_with_relative_links_kept(client):
    html = client.get("/docs/plugins/panel/README.md").text
    assert '<h1 id="panel-guide">Panel guide</h1>' in html
    assert '<a href="USAGE.md" rel="noopener noreferrer">usage</a>' in html


def test_a_hostile_markdown_doc_renders_without_script_handlers_or_js_urls(client):
    response = client.get("/docs/plugins/hostile/NOTES.md")
    assert response.status_code == 200
    body = response.text.split('<div class="plx-doc-body">', 1)[1]
    assert_harmless(body)
    assert "Plain text before." in body and "<strong>bold</strong>" in body
    assert '<a href="USAGE.md"' in body
    assert "hover me" in body


def test_plugin_supplied_html_is_sanitized_too(client):
    response = client.get("/docs/plugins/hostile/page.html")
    assert response.status_code == 200
    body = response.text.split('<div class="plx-doc-body">', 1)[1]
    assert_harmless(body)
    assert "html-script" not in body and "<form" not in body
    assert "The safe words survive." in body
    assert '<img src="pic.png" alt="pic">' in body
    assert "<title>Hostile page · PlexiChat</title>" in response.text


def test_sanitize_directly():
    assert_harmless(sanitize('<a href="javascript:x()">a</a><img src=x onerror=y()>'
                             "<script>z()</script>"))


def test_search_finds_a_phrase_from_a_plugins_docs_and_marks_it(client):
    response = client.get("/docs/search", params={"q": DOCS_PHRASE})
    assert response.status_code == 200
    html = response.text
    assert 'href="/docs/plugins/panel/README.md"' in html
    assert f"<mark>{DOCS_PHRASE}</mark>" in html
    assert "1 document match" in html


def test_search_covers_hook_folders_and_plugins_that_are_not_loaded(client):
    assert "<mark>periwinkle lighthouse</mark>" in client.get(
        "/docs/search", params={"q": "periwinkle lighthouse"}).text
    assert "<mark>dormant aardvark</mark>" in client.get(
        "/docs/search", params={"q": "dormant aardvark"}).text


def test_search_matches_every_word_when_the_phrase_is_absent(client):
    html = client.get("/docs/search", params={"q": "marmalade channels"}).text
    assert "<mark>marmalade</mark>" in html and "<mark>channels</mark>" in html


def test_search_escapes_the_query_and_the_hits(client):
    html = client.get("/docs/search", params={"q": "<b>alert</b>"}).text
    assert "<b>alert</b>" not in html
    assert "&lt;b&gt;alert&lt;/b&gt;" in html
    html = client.get("/docs/search", params={"q": "hover"}).text
    assert "<mark>hover</mark> me" in html
    assert_harmless(html.split('<article class="plx-doc">', 1)[1])


def test_highlight_escapes_around_marks():
    assert str(highlight("a <b> & Marmalade", ["marmalade"])) == (
        "a &lt;b&gt; &amp; <mark>Marmalade</mark>")


def test_search_without_hits(client):
    html = client.get("/docs/search", params={"q": "zzzyzx-nothing"}).text
    assert "No document matches" in html


@pytest.mark.parametrize("path", [
    "/docs/plugins/panel/../plugin.json",
    "/docs/plugins/panel/%2e%2e/plugin.json",
    "/docs/plugins/panel/..%2f__init__.py",
    "/docs/plugins/panel//etc/passwd",
    "/docs/plugins/panel/..%5cplugin.json",
    "/docs/core/../pyproject.toml",
    "/docs/core/%2e%2e/README.md",
    "/docs/plugins/nope/README.md",
    "/docs/plugins/panel/missing.md",
])
def test_documents_outside_a_docs_folder_are_404(client, path):
    status, body = raw_get(client, path)
    assert status == 404, (path, body[:200])


def test_the_wheel_ships_the_core_docs(tmp_path):
    pytest.importorskip("hatchling", reason="hatchling (in the test extra) builds the wheel")
    from hatchling.builders.wheel import WheelBuilder

    [wheel] = list(WheelBuilder(str(ROOT)).build(directory=str(tmp_path),
                                                   versions=["standard"]))
    names = set(zipfile.ZipFile(wheel).namelist())
    core = core_docs_dir()
    assert core is not None
    for doc in sorted(core.glob("*.md")):
        assert f"plexichat/docs/{doc.name}" in names
    assert "plexichat/web/templates/base.html" in names
    assert "plexichat/web/static/plexichat.css" in names


def test_site_only_directives_are_shown_as_pointers(client):
    api = client.get("/docs/core/API.md").text
    assert "[OAD(" not in api
    assert '<a href="/api/docs" rel="noopener noreferrer">Swagger UI</a>' in api
    reference = client.get("/docs/core/PLUGIN_API.md").text
    assert ":::" not in reference and "show_root_heading" not in reference
    assert "<code>plexichat.context.PluginContext</code>" in reference
