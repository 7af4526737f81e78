"""Plugin catalogs: what could be installed, and whether it would run on this host.

A catalog is either

- a **JSON index** (a file or URL)::

      {"format": 1,
       "plugins": [{"name": "hello", "distribution": "plexichat-hello",
                    "version": "1.0.0", "type": "feature",
                    "summary": "The smallest PlexiChat plugin",
                    "api_version": "1.0", "min_plexichat_version": "3.0.0",
                    "url": "plexichat_hello-1.0.0-py3-none-any.whl",
                    "sha256": "…", "tags": ["example"], "permissions": []}]}

  ``url`` is the wheel, absolute or relative to the catalog; a bare list of entries is
  accepted too. Every field but ``name`` and ``version`` may be left out. An entry with
  ``"blocked": "why"`` marks that version known-bad: it is never picked for an install,
  and :func:`remember_blocked` writes it to the data directory, where discovery
  rejects it (:mod:`plexichat.kernel.blocklist`).
- a **PEP 503 simple index** (a directory or URL with ``<project>/index.html`` pages):
  the newest wheel of each project is read (``METADATA``, ``entry_points.txt``,
  ``plugin.json``) and every ``plexichat.plugins`` entry point in it becomes an entry.

``python -m plexichat.devkit.catalog -o catalog.json [--simple DIR] WHEEL...`` writes both
from built wheels (``nox -s catalog`` does, for the example plugins).
"""

from __future__ import annotations

import argparse
import hashlib
import html.parser
import json
import re
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__

__all__ = ["Catalog", "CatalogEntry", "CatalogError", "CatalogPick", "build_catalog",
           "load_catalog", "open_catalog", "pick_for_install", "remember_blocked", "search",
           "write_simple_index"]

FORMAT = 1


class CatalogError(Exception):
    """The catalog cannot be read; the message says which and why."""


@dataclass
class CatalogEntry:
    """One plugin version a catalog offers."""

    name: str
    version: str
    distribution: str = ""
    type: str = "feature"
    summary: str = ""
    api_version: str = "1.0"
    min_plexichat_version: str | None = None
    url: str = ""
    sha256: str = ""
    tags: list[str] = field(default_factory=list)
    permissions: list[str] = field(default_factory=list)
    blocked: str = ""
    """Why this version is known-bad (empty: it is not): never installed, and rejected
    by discovery once the catalog was read (:func:`remember_blocked`)."""

    def compatibility(self, host_version: str = __version__) -> tuple[bool, str]:
        """(compatible with this host, why not). A blocked version is not."""
        from packaging.version import InvalidVersion, Version

        from ..kernel.resolver import SUPPORTED_API_VERSIONS, api_version_supported

        if self.blocked:
            return False, f"version {self.version} is blocked: {self.blocked}"
        if not api_version_supported(self.api_version or "1.0"):
            return False, (f"needs plugin API {self.api_version}; this host implements "
                           f"{', '.join(SUPPORTED_API_VERSIONS)}")
        if self.min_plexichat_version:
            try:
                if Version(host_version) < Version(self.min_plexichat_version):
                    return False, (f"needs PlexiChat >= {self.min_plexichat_version}; this "
                                   f"host is {host_version}")
            except InvalidVersion:
                return False, (f"min_plexichat_version {self.min_plexichat_version!r} is "
                               "not a version")
        return True, ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- reading -------------------------------------------------------------------------


def _is_url(source: str) -> bool:
    return urllib.parse.urlparse(source).scheme in ("http", "https", "file")


def _fetch(url: str) -> bytes:
    if urllib.parse.urlparse(url).scheme == "file":
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path)).read_bytes()
    import httpx

    try:
        response = httpx.get(url, timeout=30, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise CatalogError(f"cannot fetch {url}: {exc}") from None
    return response.content


@dataclass
class Catalog:
    """A catalog as read: its entries, and the index pip installs them from."""

    source: str
    entries: list[CatalogEntry]
    index_url: str | None = None
    """For a PEP 503 simple index: its URL (``file:`` for a directory), which pip gets as
    ``--index-url``. ``None`` for a JSON index, whose entries name their wheels."""


def load_catalog(source: str) -> list[CatalogEntry]:
    """Every entry of the catalog at ``source`` (path or URL). Raises
    :class:`CatalogError`."""
    return open_catalog(source).entries


def open_catalog(source: str) -> Catalog:
    """The catalog at ``source`` (path or URL), JSON or simple index. Raises
    :class:`CatalogError`."""
    if _is_url(source):
        if source.endswith(".json"):
            return Catalog(source, _from_json(_fetch(source), source))
        body = _fetch(source)
        if body.lstrip()[:1] in (b"{", b"["):
            return Catalog(source, _from_json(body, source))
        base = source if source.endswith("/") else source + "/"
        return Catalog(source, _from_simple_url(base, body), index_url=base)
    path = Path(source)
    if path.is_dir():
        root = _simple_root(path)
        return Catalog(source, _from_simple_dir(root), index_url=root.resolve().as_uri())
    if not path.is_file():
        raise CatalogError(f"{source}: no such catalog file or directory")
    return Catalog(source, _from_json(path.read_bytes(), str(path.resolve())))


def _resolve(base: str, href: str) -> str:
    if not href or _is_url(href) or Path(href).is_absolute():
        return href
    if _is_url(base):
        return urllib.parse.urljoin(base, href)
    return str((Path(base).parent / href).resolve())


def _from_json(raw: bytes, base: str) -> list[CatalogEntry]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise CatalogError(f"{base}: not JSON: {exc}") from None
    if isinstance(data, dict):
        if data.get("format", FORMAT) != FORMAT:
            raise CatalogError(f"{base}: catalog format {data.get('format')!r}; this host "
                               f"reads format {FORMAT}")
        data = data.get("plugins")
    if not isinstance(data, list):
        raise CatalogError(f'{base}: expected {{"plugins": [...]}} or a list of entries')
    known = {f for f in CatalogEntry.__dataclass_fields__}
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not item.get("name") or not item.get("version"):
            raise CatalogError(f"{base}: entry {i} needs at least a name and a version")
        values = {k: v for k, v in item.items() if k in known}
        if "url" not in values and isinstance(item.get("wheel"), str):
            values["url"] = item["wheel"]
        blocked = values.get("blocked", "")
        if blocked is True:
            values["blocked"] = "marked blocked by the catalog"
        elif not isinstance(blocked, str):
            if blocked not in (False, None):
                raise CatalogError(f"{base}: entry {i} ({item['name']} {item['version']}): "
                                   '"blocked" must be a reason (a string) or true, not '
                                   f"{blocked!r}")
            values["blocked"] = ""
        entry = CatalogEntry(**values)
        entry.name, entry.version = str(entry.name), str(entry.version)
        entry.url = _resolve(base, entry.url)
        out.append(entry)
    return out


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, self._text.strip()))
            self._href = None


def _links(body: bytes) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    return parser.links


def _newest_wheel(links: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """(href without fragment, filename) of the newest wheel among ``links``."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    best = None
    for href, text in links:
        filename = urllib.parse.unquote(href.split("#")[0].rsplit("/", 1)[-1]) or text
        if not filename.endswith(".whl"):
            continue
        try:
            _, version, _, _ = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if best is None or version > best[0]:
            best = (version, href.split("#")[0], filename)
    return (best[1], best[2]) if best else None


def _simple_root(root: Path) -> Path:
    if (root / "simple").is_dir() and not (root / "index.html").is_file():
        return root / "simple"
    return root


def _from_simple_dir(root: Path) -> list[CatalogEntry]:
    projects = [p for p in sorted(root.iterdir()) if p.is_dir() and (p / "index.html").is_file()]
    if not projects:
        raise CatalogError(f"{root}: neither a JSON catalog nor a PEP 503 simple index "
                           "(no <project>/index.html)")
    out = []
    for project in projects:
        page = project / "index.html"
        newest = _newest_wheel(_links(page.read_bytes()))
        if newest is None:
            continue
        href, _ = newest
        wheel = Path(href) if Path(href).is_absolute() else (project / href)
        if wheel.is_file():
            out += entries_from_wheel(wheel.resolve(), str(wheel.resolve()))
    return out


def _from_simple_url(base: str, body: bytes) -> list[CatalogEntry]:
    out = []
    for href, _ in _links(body):
        page_url = urllib.parse.urljoin(base, href)
        newest = _newest_wheel(_links(_fetch(page_url)))
        if newest is None:
            continue
        wheel_url = urllib.parse.urljoin(page_url, newest[0])
        with tempfile.TemporaryDirectory(prefix="plexichat-catalog-") as tmp:
            target = Path(tmp) / newest[1]
            target.write_bytes(_fetch(wheel_url))
            out += entries_from_wheel(target, wheel_url)
    return out


def entries_from_wheel(wheel: Path, url: str = "") -> list[CatalogEntry]:
    """One entry per ``plexichat.plugins`` entry point of ``wheel`` (none for a wheel
    that is not a plugin, such as the host's)."""
    from .distribution_contents import CheckFailed, WheelContents

    try:
        contents = WheelContents(wheel)
    except CheckFailed as exc:
        raise CatalogError(str(exc)) from None
    meta = contents.metadata
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    out = []
    for name, value in contents.entry_points():
        top = value.partition(":")[0].strip().split(".")[0]
        try:
            manifest = json.loads(contents.read_text(f"{top}/plugin.json") or "{}")
        except ValueError:
            manifest = {}
        manifest = manifest if isinstance(manifest, dict) else {}
        out.append(CatalogEntry(
            name=name,
            version=str(meta.get("Version") or manifest.get("version") or "0"),
            distribution=str(meta.get("Name") or ""),
            type=str(manifest.get("type") or "feature"),
            summary=str(meta.get("Summary") or manifest.get("description") or ""),
            api_version=str(manifest.get("api_version") or "1.0"),
            min_plexichat_version=manifest.get("min_plexichat_version"),
            url=url or str(wheel),
            sha256=digest,
            tags=[str(t) for t in manifest.get("tags") or []],
            permissions=[str(p) for p in manifest.get("permissions") or []],
        ))
    return out


# --- searching -----------------------------------------------------------------------


@dataclass
class SearchResult:
    """A plugin matching a search: its newest version, and what this host makes of it."""

    entry: CatalogEntry
    compatible: bool
    reason: str
    installed: str | None = None
    compatible_version: str | None = None
    """When the newest version is not compatible: the newest one that is."""

    def as_dict(self) -> dict[str, Any]:
        return {**self.entry.as_dict(), "compatible": self.compatible, "reason": self.reason,
                "installed": self.installed, "compatible_version": self.compatible_version}


def search(entries: Iterable[CatalogEntry], term: str | None = None, *,
           installed: dict[str, str] | None = None,
           host_version: str = __version__) -> list[SearchResult]:
    """Plugins whose name, distribution, summary, type or tags contain ``term``
    (case-insensitive), one result per plugin, sorted by name."""
    from packaging.version import InvalidVersion, Version

    def key(e: CatalogEntry) -> Any:
        try:
            return (1, Version(e.version))
        except InvalidVersion:
            return (0, e.version)

    needle = (term or "").lower()
    by_name: dict[str, list[CatalogEntry]] = {}
    for e in entries:
        haystack = " ".join([e.name, e.distribution, e.summary, e.type, *e.tags]).lower()
        if needle in haystack:
            by_name.setdefault(e.name, []).append(e)
    results = []
    for name in sorted(by_name):
        versions = sorted(by_name[name], key=key, reverse=True)
        newest = versions[0]
        ok, reason = newest.compatibility(host_version)
        result = SearchResult(newest, ok, reason, (installed or {}).get(name))
        if not ok:
            result.compatible_version = next(
                (e.version for e in versions[1:] if e.compatibility(host_version)[0]), None)
        results.append(result)
    return results


# --- installing ----------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogPick:
    """What pip gets for a plugin name a catalog lists: the newest version this host can
    run."""

    name: str
    distribution: str
    version: str
    spec: str
    """The wheel's URL or path (JSON index; a URL ending in ``#sha256=<digest>`` when
    the catalog lists the digest, which pip checks the wheel against), or
    ``distribution==version`` (simple index, resolved by pip from the catalog's
    ``index_url``, whose links carry their digests)."""
    sha256: str = ""
    """The wheel's digest as the catalog lists it (empty when it lists none)."""

    def verify(self) -> None:
        """Check a wheel on this machine (a path or ``file:`` URL) against the catalog's
        digest; pip checks an http(s) download itself (the ``#sha256=`` fragment). Raises
        :class:`CatalogError` on a mismatch."""
        if not self.sha256:
            return
        parsed = urllib.parse.urlparse(self.spec)
        if parsed.scheme == "file":
            path = Path(urllib.request.url2pathname(parsed.path))
        elif parsed.scheme not in ("http", "https") and Path(self.spec).is_file():
            path = Path(self.spec)
        else:
            return
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != self.sha256.lower():
            raise CatalogError(f"{self.name} {self.version}: {path} does not match the "
                               f"catalog: its sha256 is {digest}, the catalog lists "
                               f"{self.sha256}; refusing to install it")


def pick_for_install(catalog: Catalog, names: Iterable[str],
                     host_version: str = __version__) -> list[CatalogPick]:
    """A :class:`CatalogPick` for each of ``names`` that ``catalog`` lists (names it does
    not list are left out). Raises :class:`CatalogError` for a listed plugin that has no
    version this host can run."""
    wanted = set(names)
    picks = []
    for result in search(catalog.entries, host_version=host_version):
        name = result.entry.name
        if name not in wanted:
            continue
        version = result.entry.version if result.compatible else result.compatible_version
        if version is None:
            raise CatalogError(f"{name} in {catalog.source}: {result.reason}")
        entry = next(e for e in catalog.entries if e.name == name and e.version == version)
        distribution = entry.distribution or name
        if catalog.index_url is not None and entry.distribution:
            spec = f"{entry.distribution}=={version}"
        elif entry.url:
            spec = entry.url
            scheme = urllib.parse.urlparse(spec).scheme
            if entry.sha256 and scheme not in ("http", "https", "file"):
                spec = Path(spec).resolve().as_uri()  # a local wheel, as a URL for the hash
                scheme = "file"
            if entry.sha256 and "#" not in spec and scheme in ("http", "https", "file"):
                spec += f"#sha256={entry.sha256}"  # pip checks the wheel against it
        else:
            raise CatalogError(f"{name} {version} in {catalog.source}: the entry names no "
                               "wheel (url) to install")
        picks.append(CatalogPick(name, distribution, version, spec, entry.sha256))
    return picks


def remember_blocked(catalog: Catalog, data_dir: Path) -> Path:
    """Write the versions ``catalog`` blocks into ``data_dir``'s blocklist (replacing
    what this catalog blocked before), where discovery reads them."""
    from ..kernel.blocklist import BlockedVersion, write_blocklist

    items = [BlockedVersion(e.distribution or e.name, e.version, e.blocked, e.name)
             for e in catalog.entries if e.blocked]
    return write_blocklist(data_dir, catalog.source, items)


# --- writing -------------------------------------------------------------------------


def build_catalog(wheels: Sequence[Path], output: Path) -> dict[str, Any]:
    """Write a JSON catalog of the plugin wheels among ``wheels`` to ``output``; wheel
    URLs are relative to it when the wheels are below its directory."""
    entries = []
    for wheel in wheels:
        wheel = wheel.resolve()
        try:
            url = wheel.relative_to(output.resolve().parent).as_posix()
        except ValueError:
            url = wheel.as_uri()
        entries += entries_from_wheel(wheel, url)
    data = {"format": FORMAT, "generated_by": f"plexichat {__version__}",
            "plugins": [e.as_dict() for e in sorted(entries, key=lambda e: e.name)]}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def write_simple_index(wheels: Sequence[Path], root: Path) -> list[str]:
    """Write a PEP 503 simple index of the plugin wheels among ``wheels`` under ``root``
    (each wheel copied next to its project page); return the project names."""
    projects: dict[str, list[Path]] = {}
    for wheel in wheels:
        for entry in entries_from_wheel(wheel.resolve()):
            projects.setdefault(_normalize(entry.distribution or entry.name), [])
            if wheel not in projects[_normalize(entry.distribution or entry.name)]:
                projects[_normalize(entry.distribution or entry.name)].append(wheel)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for project, files in sorted(projects.items()):
        (root / project).mkdir()
        links = []
        for wheel in files:
            shutil.copy2(wheel, root / project / wheel.name)
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            links.append(f'<a href="{wheel.name}#sha256={digest}">{wheel.name}</a><br/>')
        (root / project / "index.html").write_text(
            "<!DOCTYPE html>\n<html><body>\n" + "\n".join(links) + "\n</body></html>\n",
            encoding="utf-8")
    (root / "index.html").write_text(
        "<!DOCTYPE html>\n<html><body>\n"
        + "\n".join(f'<a href="{p}/">{p}</a><br/>' for p in sorted(projects))
        + "\n</body></html>\n", encoding="utf-8")
    return sorted(projects)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plexichat.devkit.catalog",
                                     description="Write a plugin catalog from built wheels.")
    parser.add_argument("wheels", nargs="+", type=Path, help="wheel files (non-plugin "
                        "wheels, such as the host's, are skipped)")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="the JSON catalog to write")
    parser.add_argument("--simple", type=Path, default=None,
                        help="also write a PEP 503 simple index into this directory")
    args = parser.parse_args(argv)
    try:
        data = build_catalog(args.wheels, args.output)
        print(f"{args.output}: {len(data['plugins'])} plugin(s): "
              + ", ".join(f"{p['name']} {p['version']}" for p in data["plugins"]))
        if args.simple is not None:
            projects = write_simple_index(args.wheels, args.simple)
            print(f"{args.simple}: PEP 503 simple index of {', '.join(projects) or 'nothing'}")
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
