"""``/docs``: the documentation viewer over the core docs and every plugin's docs.

Sources:

* the core documentation: the repository's ``docs/*.md``, shipped inside the wheel as
  ``plexichat/docs`` (read from the source tree in a development checkout);
* each installed plugin's ``docs/`` folder inside its package, found through the
  discovery candidate's ``package_dir`` — the plugin is never imported for it, so the
  docs of disabled plugins are there too;
* folders a started plugin returns from the ``register_docs`` hook.

Markdown is rendered with markdown-it-py; every document, plugin-supplied HTML
included, goes through nh3 before it is shown: no ``<script>``, no event-handler
attributes, no ``javascript:`` (or any non-http(s)/mailto) URLs. ``/docs/search?q=``
searches the text of every document and shows each hit in context with the matches
in ``<mark>`` (the rest escaped).

URLs: ``/docs/core/<file>``, ``/docs/plugins/<plugin>/<file>`` (``<plugin>~<n>`` for
the n-th folder from ``register_docs``).
"""

from __future__ import annotations

import html
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape

from .. import adapters
from ..contributions import DocsSpec
from ..kernel.lifecycle import PluginRecord
from .safe_paths import clean_relative, is_inside, resolve_inside
from .ui_render import error_page, plugin_hook_values, render

log = logging.getLogger("plexichat.web.docs")

__all__ = ["Document", "DocSource", "core_docs_dir", "render_document", "router",
           "sanitize", "search_documents"]

router = APIRouter(include_in_schema=False)

DOC_SUFFIXES = {".md", ".html", ".htm"}
ASSET_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
MAX_QUERY = 200
MAX_HITS = 50

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
    "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul", "var",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "code": {"class"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}


def sanitize(markup: str) -> str:
    """``markup`` with everything that could run script removed (nh3)."""
    import nh3

    return nh3.clean(
        markup,
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style", "title"},
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


_SCRIPTISH = re.compile(r"(?i)\b(javascript|vbscript|data)(:)|(\bon[a-z]+)(\s*=)")


def defuse(markup: str) -> str:
    """Sanitized HTML whose *text* still mentions ``javascript:`` or ``onerror=`` with the
    colon or equals sign written as a character reference: it reads the same, and no
    later step that strips or re-parses the markup can turn it back into a URL or an
    attribute."""

    def encode(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1) + "&#58;"
        return match.group(3) + match.group(4).replace("=", "&#61;")

    return _SCRIPTISH.sub(encode, markup)


_markdown: Any = None


def _md() -> Any:
    global _markdown
    if _markdown is None:
        from markdown_it import MarkdownIt

        md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
        # Every URL becomes a real attribute so that nh3 (not markdown-it's escaping into
        # text) decides: a javascript: link then loses its href instead of showing it.
        md.validateLink = lambda url: True  # type: ignore[method-assign]
        _markdown = md
    return _markdown


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    used.add(slug)
    return slug


# Directives of the MkDocs site's plugins (mkdocs.yml), which only a site build expands:
# ``[OAD(file)]`` (neoteroi.mkdocsoad) and ``::: dotted.path`` with its indented options
# (mkdocstrings).
_OAD_RE = re.compile(r"^\[OAD\([^)\n]*\)\]\s*$", re.M)
_AUTODOC_RE = re.compile(r"^::: *(?P<path>[\w.]+)[ \t]*\n(?:[ \t]+\S.*(?:\n|$))*", re.M)
OAD_NOTE = ("*Every operation with its request and response bodies: this host's "
            "[Swagger UI](/api/docs) or [ReDoc](/api/redoc) (the built documentation "
            "site lists them here).*")


def site_directives(text: str) -> str:
    """``text`` with the site-only directives replaced by what the viewer can show: a
    pointer to ``/api/docs`` for the OpenAPI operations, the dotted name of each object
    the site documents from its docstring."""
    text = _OAD_RE.sub(OAD_NOTE, text)
    return _AUTODOC_RE.sub(lambda m: f"- `{m.group('path')}`\n\n", text)


def markdown_to_html(text: str) -> str:
    """Markdown → HTML (not yet sanitized), headings given ids for anchors."""
    md = _md()
    env: dict[str, Any] = {}
    tokens = md.parse(site_directives(text), env)
    used: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and i + 1 < len(tokens):
            token.attrSet("id", _slug(tokens[i + 1].content, used))
    return str(md.renderer.render(tokens, md.options, env))


_BODY_RE = re.compile(r"<body[^>]*>(?P<body>.*)</body\s*>", re.I | re.S)
_TITLE_RE = re.compile(r"<title[^>]*>(?P<t>.*?)</title\s*>", re.I | re.S)
_H1_HTML_RE = re.compile(r"<h1[^>]*>(?P<t>.*?)</h1\s*>", re.I | re.S)
_H1_MD_RE = re.compile(r"^#\s+(?P<t>.+?)\s*#*\s*$", re.M)


@dataclass(frozen=True)
class DocSource:
    """A folder of documents: the core docs or one plugin's."""

    key: str
    """URL segment(s) after ``/docs/``: ``core`` or ``plugins/<name>[~n]``."""
    title: str
    root: Path
    plugin: str | None = None


@dataclass(frozen=True)
class Document:
    """One Markdown or HTML file of a source."""

    source: DocSource
    rel: str
    path: Path

    @property
    def url(self) -> str:
        """Where the viewer shows it."""
        return f"/docs/{self.source.key}/{urllib.parse.quote(self.rel)}"

    @property
    def is_markdown(self) -> bool:
        """Markdown (else HTML)."""
        return self.path.suffix.lower() == ".md"


def core_docs_dir() -> Path | None:
    """The core documentation: ``plexichat/docs`` in a wheel, ``docs/`` in a checkout."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "docs", package.parents[1] / "docs"):
        if candidate.is_dir() and any(candidate.glob("*.md")):
            return candidate
    return None


def _host(request: Request) -> Any:
    return request.app.state.host


async def _plugin_sources(request: Request, record: PluginRecord) -> list[DocSource]:
    sources: list[DocSource] = []
    package = record.candidate.package_dir
    seen: set[Path] = set()
    if package:
        folder = resolve_inside(package, "docs")
        if folder is not None and folder.is_dir():
            sources.append(DocSource(f"plugins/{record.name}", record.name, folder,
                                     record.name))
            seen.add(folder)
    extra = 0
    specs: list[DocsSpec] = []
    for value in await plugin_hook_values(request, record, "register_docs"):
        try:
            specs.extend(adapters.docs(record.name, value))
        except adapters.ContributionError as exc:
            log.warning("%s", exc)
    for spec in specs:
        directory, title = Path(spec.directory), spec.title
        if not directory.is_absolute() and package:
            directory = Path(package) / directory
        try:
            directory = directory.resolve()
        except OSError:
            continue
        if not directory.is_dir() or directory in seen:
            continue
        seen.add(directory)
        extra += 1
        sources.append(DocSource(f"plugins/{record.name}~{extra}",
                                 title or f"{record.name} ({directory.name})", directory,
                                 record.name))
    return sources


async def doc_sources(request: Request) -> list[DocSource]:
    """The core docs, then each plugin's (sorted by plugin name)."""
    sources = []
    core = core_docs_dir()
    if core is not None:
        sources.append(DocSource("core", "PlexiChat", core))
    host = _host(request)
    for name in sorted(host.records):
        sources.extend(await _plugin_sources(request, host.records[name]))
    return sources


def documents(source: DocSource) -> list[Document]:
    """The ``.md`` / ``.html`` files of a source (hidden and ``_`` folders skipped)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(source.root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if filename.startswith(".") or path.suffix.lower() not in DOC_SUFFIXES:
                continue
            if not is_inside(source.root, path):  # a symlink pointing elsewhere
                continue
            out.append(Document(source, path.relative_to(source.root).as_posix(), path))
    out.sort(key=lambda d: (d.rel.count("/"), d.rel.upper() != "README.MD", d.rel.lower()))
    return out


@dataclass
class _Rendered:
    title: str
    html: str
    text: str


_cache: dict[Path, tuple[tuple[int, int], _Rendered]] = {}
_cache_lock = threading.Lock()


def _text_of(safe_html: str) -> str:
    import nh3

    text = nh3.clean(re.sub(r"<(br|/p|/h\d|/li|/tr|/pre|/div)[^>]*>", " \\g<0>", safe_html),
                     tags=set())
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def render_document(doc: Document) -> _Rendered:
    """The document's title, sanitized HTML and plain text (cached by mtime and size)."""
    stat = doc.path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        hit = _cache.get(doc.path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    source = doc.path.read_text(encoding="utf-8", errors="replace")
    if doc.is_markdown:
        match = _H1_MD_RE.search(source)
        raw_title = match.group("t") if match else ""
        raw_html = markdown_to_html(source)
    else:
        match = _TITLE_RE.search(source) or _H1_HTML_RE.search(source)
        raw_title = match.group("t") if match else ""
        body = _BODY_RE.search(source)
        raw_html = body.group("body") if body else source
    safe_html = defuse(sanitize(raw_html))
    title = _text_of(sanitize(raw_title)) or doc.path.stem.replace("_", " ")
    rendered = _Rendered(title=title, html=safe_html, text=_text_of(safe_html))
    with _cache_lock:
        _cache[doc.path] = (stamp, rendered)
    return rendered


# --- search -----------------------------------------------------------------------------


@dataclass
class Hit:
    """A document that matches a query, with highlighted snippets."""

    doc: Document
    title: Markup
    snippets: list[Markup]
    score: float


def _terms(query: str) -> list[str]:
    return [t for t in re.split(r"\s+", query.strip()) if t]


def highlight(text: str, needles: Iterable[str]) -> Markup:
    """``text`` escaped, each occurrence of a needle (case-insensitive) in ``<mark>``."""
    wanted = sorted({n for n in needles if n}, key=len, reverse=True)
    if not wanted:
        return Markup(defuse(str(escape(text))))
    pattern = re.compile("|".join(re.escape(n) for n in wanted), re.I)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[last:match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup(defuse("".join(out)))


def _snippets(text: str, positions: list[tuple[int, int]], needles: list[str],
              width: int = 90, limit: int = 3) -> list[Markup]:
    out: list[Markup] = []
    covered = -1
    for start, end in sorted(positions):
        if start < covered:
            continue
        left = max(0, start - width)
        right = min(len(text), end + width)
        if left > 0:
            space = text.find(" ", left, start)
            left = space + 1 if space != -1 else left
        if right < len(text):
            space = text.rfind(" ", end, right)
            right = space if space != -1 else right
        piece = highlight(text[left:right], needles)
        out.append(Markup(("… " if left > 0 else "") + piece
                          + (" …" if right < len(text) else "")))
        covered = right
        if len(out) >= limit:
            break
    return out


def search_documents(docs: Iterable[Document], query: str) -> list[Hit]:
    """Documents containing the phrase (best) or every word of ``query``."""
    query = query.strip()[:MAX_QUERY]
    terms = _terms(query)
    if not terms:
        return []
    phrase = " ".join(terms).lower()
    hits: list[Hit] = []
    for doc in docs:
        try:
            rendered = render_document(doc)
        except OSError:
            continue
        text = rendered.text
        lower = text.lower()
        title_lower = rendered.title.lower()
        positions = [(m.start(), m.end()) for m in re.finditer(re.escape(phrase), lower)]
        needles = [phrase]
        score = 0.0
        if positions:
            score = 10.0 + len(positions)
        elif all(t.lower() in lower or t.lower() in title_lower for t in terms):
            needles = [t.lower() for t in terms]
            for needle in needles:
                found = lower.find(needle)
                if found != -1:
                    positions.append((found, found + len(needle)))
            score = 1.0 + len(positions) / 10
        else:
            continue
        if phrase in title_lower:
            score += 20
        hits.append(Hit(doc, highlight(rendered.title, needles),
                        _snippets(text, positions, needles), score))
    hits.sort(key=lambda h: (-h.score, h.doc.source.key, h.doc.rel))
    return hits[:MAX_HITS]


# --- pages ------------------------------------------------------------------------------


async def _listing(request: Request) -> list[tuple[DocSource, list[tuple[Document, str]]]]:
    out = []
    for source in await doc_sources(request):
        docs = []
        for doc in documents(source):
            try:
                docs.append((doc, render_document(doc).title))
            except OSError:
                continue
        if docs:
            out.append((source, docs))
    return out


async def plugin_documents(request: Request, record: PluginRecord) -> list[tuple[str, str]]:
    """``(title, url)`` of each document of one plugin, for its detail page."""
    out = []
    for source in await _plugin_sources(request, record):
        for doc in documents(source):
            try:
                out.append((render_document(doc).title, doc.url))
            except OSError:
                continue
    return out


@router.get("/docs", response_class=HTMLResponse)
async def docs_index(request: Request) -> Response:
    """Every document, core first, then each plugin's."""
    return await render(request, "docs_index.html", title="Documentation",
                        listing=await _listing(request), query="")


@router.get("/docs/", response_class=HTMLResponse)
async def docs_index_slash() -> Response:
    """``/docs/`` → ``/docs``."""
    return RedirectResponse("/docs", status_code=307)


@router.get("/docs/search", response_class=HTMLResponse)
async def docs_search(request: Request, q: str = "") -> Response:
    """Search every document; hits in context, matches highlighted."""
    sources = await doc_sources(request)
    docs = [doc for source in sources for doc in documents(source)]
    hits = search_documents(docs, q)
    return await render(request, "docs_search.html", title=f"Search: {q}" if q else "Search",
                        query=q[:MAX_QUERY], hits=hits, searched=bool(_terms(q)),
                        listing=await _listing(request))


async def _show(request: Request, key: str, path: str) -> Response:
    source = next((s for s in await doc_sources(request) if s.key == key), None)
    target = resolve_inside(source.root, path) if source is not None and path else None
    if source is None or target is None or not target.is_file():
        return await error_page(request, 404, "No such document.")
    suffix = target.suffix.lower()
    if suffix in ASSET_SUFFIXES:
        return FileResponse(target, headers={"X-Content-Type-Options": "nosniff"})
    if suffix not in DOC_SUFFIXES:
        return await error_page(request, 404, "No such document.")
    doc = Document(source, target.relative_to(Path(os.path.realpath(source.root))).as_posix(),
                   target)
    rendered = render_document(doc)
    return await render(request, "docs_page.html", title=rendered.title, doc=doc,
                        source=source, content=Markup(rendered.html),
                        listing=await _listing(request), query="")


@router.get("/docs/core/{path:path}", response_class=HTMLResponse)
async def core_doc(request: Request, path: str) -> Response:
    """One core document."""
    if clean_relative(path) is None:
        return await error_page(request, 404, "No such document.")
    return await _show(request, "core", path)


@router.get("/docs/plugins/{plugin}/{path:path}", response_class=HTMLResponse)
async def plugin_doc(request: Request, plugin: str, path: str) -> Response:
    """One document of a plugin."""
    if clean_relative(path) is None:
        return await error_page(request, 404, "No such document.")
    return await _show(request, f"plugins/{plugin}", path)
