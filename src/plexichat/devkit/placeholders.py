"""Placeholder metadata: what ``plexichat plugins new`` writes for the author to replace,
and how ``plexichat plugins check`` recognises it.

The scaffold fills ``pyproject.toml`` with :data:`AUTHOR_NAME`, :data:`AUTHOR_EMAIL`,
:data:`HOMEPAGE` and :data:`DESCRIPTION`; :func:`find_placeholders` finds those values
(and any other ``example.com``-style address) in a distribution's core metadata, so what
the scaffold writes is exactly what the check points at. Data and pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from urllib.parse import urlsplit

__all__ = [
    "AUTHOR_EMAIL",
    "AUTHOR_NAME",
    "DESCRIPTION",
    "EXAMPLE_DOMAINS",
    "HOMEPAGE",
    "URL_PLACEHOLDER_SEGMENTS",
    "Placeholder",
    "find_placeholders",
    "is_placeholder_description",
    "is_placeholder_email",
    "is_placeholder_name",
    "is_placeholder_url",
]

AUTHOR_NAME = "Your Name"
"""The author name the scaffold writes in ``[project] authors``."""

AUTHOR_EMAIL = "you@example.com"
"""The author email the scaffold writes in ``[project] authors``."""

HOMEPAGE = "https://example.com/{distribution}"
"""The ``[project.urls]`` Homepage the scaffold writes (``{distribution}`` filled in)."""

DESCRIPTION = "{name}: a PlexiChat plugin."
"""The ``[project] description`` the scaffold writes (``{name}``: the plugin name)."""

EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net", "example", "invalid", "test")
"""Domains reserved for examples and tests (RFC 2606): never a real author's or
project's."""

URL_PLACEHOLDER_SEGMENTS = ("yourusername", "your-username", "your_username", "yourname",
                            "your-name", "your_name", "youraccount", "your-org")
"""Path segments of template URLs (the plugin guide's
``https://github.com/yourusername/...``): never a real account."""


@dataclass(frozen=True)
class Placeholder:
    """One placeholder value found in a distribution's metadata."""

    field: str
    """Where the author sets it, e.g. ``[project] authors``."""
    metadata: str
    """The core-metadata field it reached, e.g. ``Author-email``."""
    value: str
    fix: str
    """What to write instead."""

    @property
    def what(self) -> str:
        """One sentence for a report."""
        return (f"{self.field} is a placeholder ({self.metadata}: {self.value}); "
                "package indexes and the host's plugin listing show it as it is")


def is_placeholder_name(value: str) -> bool:
    """True for the scaffold's author name (any case and spacing)."""
    return " ".join(value.split()).casefold() == AUTHOR_NAME.casefold()


def _example_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)


def is_placeholder_email(value: str) -> bool:
    """True for an address at an example domain (``you@example.com``)."""
    _, at, domain = value.strip().rpartition("@")
    return bool(at) and _example_host(domain)


def is_placeholder_url(value: str) -> bool:
    """True for a URL whose host is an example domain (``https://example.com/…``) or
    whose path names a template account (``https://github.com/yourusername/…``)."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        return False
    if host is None:
        return False
    segments = {s.casefold() for s in parts.path.split("/")}
    return _example_host(host) or bool(segments & set(URL_PLACEHOLDER_SEGMENTS))


def is_placeholder_description(value: str, plugin_names: Iterable[str] = ()) -> bool:
    """True for the scaffold's description of one of ``plugin_names``, or a ``TODO``."""
    text = " ".join(value.split())
    if re.match(r"^(todo|tbd|fixme)\b", text, re.IGNORECASE):
        return True
    return any(text == DESCRIPTION.format(name=name) for name in plugin_names)


_PEOPLE = {
    "Author": "[project] authors",
    "Author-email": "[project] authors",
    "Maintainer": "[project] maintainers",
    "Maintainer-email": "[project] maintainers",
}


def find_placeholders(metadata: Message, plugin_names: Iterable[str] = ()) -> list[Placeholder]:
    """Every placeholder in a distribution's core metadata (``METADATA``).

    Looked at: ``Author``/``Author-email``, ``Maintainer``/``Maintainer-email`` (the
    scaffold's name, example-domain addresses), ``Summary`` (the scaffold's description
    of one of ``plugin_names``, or one starting with TODO), ``Home-page`` and every
    ``Project-URL`` (example-domain hosts).
    """
    found: list[Placeholder] = []
    for header, field in _PEOPLE.items():
        who = "maintainer" if header.startswith("Maintainer") else "author"
        for raw in metadata.get_all(header) or ():
            pairs = getaddresses([raw]) if header.endswith("-email") else [(raw, "")]
            for name, email in pairs:
                bad = [v for v in (name, email) if v and (
                    is_placeholder_name(v) or is_placeholder_email(v))]
                if bad:
                    found.append(Placeholder(
                        field, header, raw,
                        f"put the real {who}'s name and email in {field} of "
                        'pyproject.toml: { name = "<name>", email = "<address>" }'))
    summary = metadata.get("Summary") or ""
    if summary and is_placeholder_description(summary, plugin_names):
        found.append(Placeholder(
            "[project] description", "Summary", summary,
            "say in one sentence what the plugin does for its users, in [project] "
            "description of pyproject.toml"))
    urls = [("Home-page", "Homepage", metadata.get("Home-page") or "")]
    for entry in metadata.get_all("Project-URL") or ():
        label, _, url = entry.partition(",")
        urls.append(("Project-URL", label.strip(), url.strip()))
    for header, label, url in urls:
        if url and is_placeholder_url(url):
            found.append(Placeholder(
                f"[project.urls] {label}", header, url,
                f"point {label} in [project.urls] of pyproject.toml at the project's real "
                "page (e.g. its repository), or remove it"))
    return found
