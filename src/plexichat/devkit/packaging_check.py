"""Pre-publication checks of a plugin distribution (``plexichat plugins check``).

A target is a project directory (its wheel is built into a temporary directory and
inspected), a built ``.whl`` or the name of an installed distribution (or plugin). What
is checked is what the host will see: the ``plexichat.plugins`` entry points, the module
each names (found in the files, never imported), ``plugin.json`` inside the package and
valid (:func:`plexichat.manifest.parse_manifest`), the entry-point name equal to the
manifest's, the manifest's version equal to the distribution's, known permissions,
``ui``/``docs`` shipped inside the package, and no placeholder metadata left from the
scaffold (:mod:`plexichat.devkit.placeholders`).

Every finding is a :class:`Problem`, printed as
``error|warning: <file>: <what> — <how to fix>``.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from .. import __version__
from ..markers import ENTRY_POINT_GROUP
from .distribution_contents import (
    CheckFailed,
    Contents,
    InstalledContents,
    WheelContents,
    build_wheel,
)
from .placeholders import (
    find_placeholders,
    is_placeholder_description,
    is_placeholder_email,
    is_placeholder_name,
    is_placeholder_url,
)

__all__ = ["CheckFailed", "CheckReport", "Problem", "build_wheel", "check", "check_path",
           "render"]

GROUP = ENTRY_POINT_GROUP
MANIFEST = "plugin.json"


@dataclass
class Problem:
    """One finding: ``level`` is ``error`` (blocks publishing) or ``warning``."""

    level: str
    file: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.level}: {self.file}: {self.what} — {self.fix}"


@dataclass
class CheckReport:
    """Everything found about one target."""

    target: str
    kind: str
    """``project``, ``wheel`` or ``installed``."""
    distribution: str = ""
    version: str = ""
    wheel: str | None = None
    plugins: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def ok(self) -> bool:
        """True when nothing blocks publishing."""
        return not self.errors

    def error(self, file: str, what: str, fix: str) -> None:
        self.problems.append(Problem("error", file, what, fix))

    def warning(self, file: str, what: str, fix: str) -> None:
        self.problems.append(Problem("warning", file, what, fix))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


# --- the checks ------------------------------------------------------------------------


def check_path(target: str) -> CheckReport:
    """Check a project directory, a ``.whl`` or an installed distribution/plugin name."""
    path = Path(target)
    if path.is_dir():
        if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
            hint = (" — it looks like a folder plugin: convert it with "
                    f"`plexichat plugins migrate {target}`"
                    if (path / MANIFEST).is_file() else "")
            raise CheckFailed(f"{target} has no pyproject.toml: not a project{hint}")
        with tempfile.TemporaryDirectory(prefix="plexichat-check-") as tmp:
            wheel, _ = build_wheel(path.resolve(), Path(tmp))
            report = CheckReport(target, "project", wheel=wheel.name)
            check(WheelContents(wheel), report, project=path)
            return report
    if path.suffix == ".whl":
        if not path.is_file():
            raise CheckFailed(f"{target}: no such file")
        report = CheckReport(target, "wheel", wheel=path.name)
        check(WheelContents(path), report)
        return report
    if path.exists() or os.sep in target or target.endswith((".tar.gz", ".zip")):
        raise CheckFailed(f"{target} is neither a project directory, a .whl file nor an "
                          "installed distribution; for an sdist, build its wheel first")
    dist = _installed(target)
    report = CheckReport(target, "installed")
    check(InstalledContents(dist), report)
    return report


def _installed(name: str) -> md.Distribution:
    try:
        return md.distribution(name)
    except md.PackageNotFoundError:
        pass
    for ep in md.entry_points(group=GROUP):
        if ep.name == name and ep.dist is not None:
            return ep.dist
    raise CheckFailed(f"{name!r} is not a path, and no distribution or plugin of that name "
                      "is installed")


def check(contents: Contents, report: CheckReport, *, project: Path | None = None) -> None:
    """Run every check on ``contents``, appending to ``report``."""
    meta = contents.metadata
    report.distribution = meta.get("Name") or ""
    report.version = meta.get("Version") or ""
    source = _SourceMap(project)
    ep_file = source.label(contents.entry_points_file, "pyproject.toml")

    entry_points = contents.entry_points()
    if not entry_points:
        report.error(ep_file, f"no entry point in the {GROUP!r} group, so the host will "
                     "never find this plugin",
                     f'add [project.entry-points."{GROUP}"] <name> = "<package>" to '
                     "pyproject.toml")
    requires = [r.split(";")[0] for r in meta.get_all("Requires-Dist") or []]
    if entry_points and not any(re.match(r"^\s*plexichat\b(?![-_.\w])", r, re.I)
                                for r in requires):
        report.warning(ep_file, "the distribution does not depend on plexichat",
                       f'add "plexichat>={__version__.rsplit(".", 1)[0]}" to [project] '
                       "dependencies")
    if entry_points and not (meta.get("Summary") or "").strip():
        report.warning(ep_file, "no description: listings and catalogs show nothing",
                       "set [project] description in pyproject.toml")
    if entry_points:
        meta_file = source.label(contents.metadata_file, "pyproject.toml")
        for found in find_placeholders(meta, [name for name, _ in entry_points]):
            report.warning(meta_file, found.what, found.fix)
    for name, value in entry_points:
        report.plugins.append(name)
        _check_plugin(contents, report, source, ep_file, name, value)


class _SourceMap:
    """Maps files of the built wheel back to the project's source, for messages."""

    def __init__(self, project: Path | None) -> None:
        self.project = project

    def package_dir(self, top: str) -> Path | None:
        if self.project is None:
            return None
        for candidate in (self.project / "src" / top, self.project / top):
            if candidate.is_dir():
                return candidate
        return None

    def label(self, wheel_path: str, project_label: str | None = None) -> str:
        """How to name ``wheel_path`` in a message: its source path in a project."""
        if self.project is None:
            return wheel_path
        if project_label is not None:
            return project_label
        top, _, rest = wheel_path.partition("/")
        pkg = self.package_dir(top)
        if pkg is not None:
            return (pkg / rest).relative_to(self.project).as_posix() if rest else \
                pkg.relative_to(self.project).as_posix()
        return wheel_path


def _check_plugin(contents: Contents, report: CheckReport, source: _SourceMap,
                  ep_file: str, name: str, value: str) -> None:
    module, _, attr = (part.strip() for part in value.partition(":"))
    top = module.split(".")[0]
    mod_path = module.replace(".", "/")
    module_file = next((f for f in (f"{mod_path}.py", f"{mod_path}/__init__.py")
                        if f in contents.names), None)
    where = "the built wheel" if report.kind != "installed" else "the installed files"

    if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", name):
        report.error(ep_file, f"entry-point name {name!r} is not a valid plugin name",
                     "use letters, digits and underscores, starting with a letter")
    if module_file is None:
        report.error(ep_file, f"entry point {name} = {value!r} names module {module!r}, "
                     f"which {where} does not contain",
                     f'ship the package (hatchling: packages = ["src/{top}"] under '
                     "[tool.hatch.build.targets.wheel]) or correct the entry point")
        if not contents.has_dir(top):
            return  # no package, so no manifest to look for either
    elif attr:
        _check_attribute(contents, report, source, module_file, value, attr)

    manifest_path = f"{top}/{MANIFEST}"
    manifest_label = source.label(manifest_path)
    text = contents.read_text(manifest_path)
    if manifest_path not in contents.names or text is None:
        pkg = source.package_dir(top)
        if pkg is not None and (pkg / MANIFEST).is_file():
            report.error(manifest_label, f"plugin.json is not inside {where} "
                         f"({report.wheel}); the host will use default manifest values",
                         "stop excluding it from the wheel (check exclude/only-include "
                         "under [tool.hatch.build.targets.wheel] and .gitignore)")
        else:
            report.error(manifest_label, f"plugin.json is not inside {where}; the host "
                         "will use default manifest values",
                         f"add plugin.json at the root of the package {top}/ "
                         "(`plexichat plugins new` shows one)")
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        report.error(manifest_label, f"invalid JSON at line {exc.lineno} column {exc.colno}: "
                     f"{exc.msg}", "fix the JSON syntax")
        return
    if not isinstance(data, dict):
        report.error(manifest_label, "must be a JSON object", "write plugin.json as {...}")
        return
    _check_manifest(contents, report, source, data, name, top, manifest_label, ep_file)


def _check_attribute(contents: Contents, report: CheckReport, source: _SourceMap,
                     module_file: str, value: str, attr: str) -> None:
    label = source.label(module_file)
    try:
        tree = ast.parse(contents.read_text(module_file) or "", filename=label)
    except SyntaxError as exc:
        report.error(label, f"syntax error at line {exc.lineno}: {exc.msg}",
                     "fix the module; the host cannot import it")
        return
    first = attr.split(".")[0]
    bound, dynamic = _top_level_names(tree)
    if first in bound:
        return
    if dynamic:
        report.warning(label, f"cannot tell whether {first!r} (entry point {value!r}) "
                       "exists without importing the module",
                       f"define {first} at module level so it can be checked")
    else:
        report.error(label, f"entry point {value!r} names {first!r}, which the module "
                     "does not define", f"define {first} at module level or correct the "
                     "entry point")


def _top_level_names(tree: ast.Module) -> tuple[set[str], bool]:
    """Names bound at module level; True when some may come from elsewhere (``*``
    imports, a module ``__getattr__``)."""
    names: set[str] = set()
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    dynamic = True
                else:
                    names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names, dynamic or "__getattr__" in names


def _check_manifest(contents: Contents, report: CheckReport, source: _SourceMap,
                    data: dict[str, Any], name: str, top: str, label: str,
                    ep_file: str) -> None:
    from ..kernel.resolver import SUPPORTED_API_VERSIONS, api_version_supported
    from ..manifest import DistributionFacts, ManifestError, parse_manifest
    from ..permissions import KNOWN_PERMISSIONS

    meta = contents.metadata
    declared = data.get("name", name)
    if declared != name:
        report.error(label, f"name {declared!r} differs from the entry-point name {name!r}; "
                     "the host refuses the plugin",
                     f"make them equal: rename the entry point in {ep_file} or set "
                     f'"name": "{name}" in plugin.json')
    permissions = data.get("permissions")
    if isinstance(permissions, list):
        for permission in permissions:
            if permission not in KNOWN_PERMISSIONS:
                report.error(label, f"unknown permission {permission!r}",
                             f"use one of: {', '.join(sorted(KNOWN_PERMISSIONS))}")
    version = meta.get("Version") or ""
    if isinstance(data.get("version"), str) and version and not _same_version(
            data["version"], version):
        report.error(label, f"version {data['version']!r} disagrees with the distribution's "
                     f"version {version!r}",
                     'remove "version" from plugin.json (the distribution\'s version is '
                     f'used) or set it to "{version}"')

    _check_manifest_placeholders(report, data, name, label)

    checked = dict(data)
    checked["name"] = name
    if isinstance(permissions, list):
        checked["permissions"] = [p for p in permissions if p in KNOWN_PERMISSIONS]
    if version:  # a disagreement is reported above, as an error
        checked.pop("version", None)
    author = meta.get("Author") or _names(meta.get("Author-email") or "")
    facts = DistributionFacts(name=meta.get("Name") or "", version=version,
                              summary=meta.get("Summary") or "", author=author,
                              license=meta.get("License-Expression") or meta.get("License")
                              or "", homepage=_homepage(meta))
    try:
        parsed = parse_manifest(checked, plugin_name=name, dist=facts, file=label)
    except ManifestError as exc:
        for problem in exc.problems:
            report.error(label, f"{problem.field}: {problem.message}",
                         "correct this field (format: plexichat.manifest.PluginManifest)")
        return
    prefix = f"{facts.name}: {label}: "
    for warning in parsed.warnings:
        report.warning(label, warning.removeprefix(prefix),
                       "remove the field from plugin.json (the distribution metadata "
                       "applies) or make both say the same")
    manifest = parsed.manifest

    if not api_version_supported(manifest.api_version):
        report.warning(label, f"api_version {manifest.api_version} is not implemented by "
                       f"this host (it implements {', '.join(SUPPORTED_API_VERSIONS)})",
                       "target an api_version this host supports, or expect it to be "
                       "rejected here")
    if manifest.min_plexichat_version and _older(__version__, manifest.min_plexichat_version):
        report.warning(label, f"needs PlexiChat >= {manifest.min_plexichat_version}, but "
                       f"this host is {__version__}",
                       "fine if you target a newer host; otherwise lower "
                       "min_plexichat_version")

    from ..kernel.endpoints import declared_path_problems

    for endpoint_problem in declared_path_problems(manifest.api_endpoints):
        report.warning(label, endpoint_problem, "list each path once, as its route declares it "
                       "(e.g. /api/v1/items/{item_id}); the host compares them with the "
                       "routes the plugin serves when it starts")
    for i, page in enumerate(manifest.ui_pages):
        path = f"{top}/{page.path.strip('/')}"
        if not contents.has(path):
            report.error(label, f"ui_pages.{i} ({page.name!r}) points to {page.path}, which "
                         "is not inside the package", f"ship {source.label(path)} inside "
                         f"the package, or correct ui_pages.{i}.path")
    pkg = source.package_dir(top)
    shipped = {folder: pkg is not None and (pkg / folder).is_dir() and any(
        p.is_file() for p in (pkg / folder).rglob("*")) for folder in ("ui", "docs")}
    for folder, in_source in shipped.items():
        if in_source and not contents.has_dir(f"{top}/{folder}"):
            report.error(source.label(f"{top}/{folder}"), f"{folder}/ is in the project but "
                         "not in the built wheel",
                         "stop excluding it (check [tool.hatch.build.targets.wheel] and "
                         ".gitignore)")
    if not contents.has_dir(f"{top}/docs") and not shipped["docs"]:
        outside = report.kind == "project" and source.project is not None and \
            (source.project / "docs").is_dir()
        report.warning(source.label(f"{top}/docs"),
                       "no docs/ inside the package" + (" (the project's docs/ is outside "
                                                        "it, so it does not ship)"
                                                        if outside else ""),
                       f"add {source.label(f'{top}/docs')}/README.md; the host shows it in "
                       "its /docs viewer")


def _check_manifest_placeholders(report: CheckReport, data: dict[str, Any], name: str,
                                 label: str) -> None:
    """Placeholder values written into plugin.json (which override the metadata)."""
    checks = {
        "author": lambda v: is_placeholder_name(v) or any(
            is_placeholder_email(part.strip("<> ")) for part in v.split()),
        "homepage": is_placeholder_url,
        "repository": is_placeholder_url,
        "description": lambda v: is_placeholder_description(v, [name]),
    }
    for key, is_placeholder in checks.items():
        value = data.get(key)
        if isinstance(value, str) and value.strip() and is_placeholder(value):
            report.warning(label, f"{key} is a placeholder ({value!r}); the host shows it "
                           "as it is",
                           f'remove "{key}" from plugin.json (the distribution metadata in '
                           "pyproject.toml applies) or give the real value")


def _same_version(a: str, b: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _older(have: str, wanted: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(have) < Version(wanted)
    except InvalidVersion:
        return False


def _homepage(meta: Message) -> str:
    homepage = meta.get("Home-page") or ""
    for url in meta.get_all("Project-URL") or ():
        label, _, value = url.partition(",")
        if label.strip().lower() in ("homepage", "home", "home-page") and not homepage:
            homepage = value.strip()
    return homepage


def _names(addresses: str) -> str:
    from email.utils import getaddresses

    return ", ".join(name or addr for name, addr in getaddresses([addresses]) if name or addr)


def render(reports: Iterable[CheckReport]) -> str:
    """The human-readable report: one line per problem, then a verdict per target."""
    lines = []
    for report in reports:
        for problem in report.problems:
            lines.append(str(problem))
        what = f"{report.distribution} {report.version}".strip() or report.target
        built = f" (wheel {report.wheel})" if report.kind == "project" and report.wheel else ""
        plugins = ", ".join(report.plugins) or "no plugin"
        verdict = "ok" if report.ok else "FAILED"
        lines.append(f"{verdict}: {report.target}: {what}{built}: {plugins}; "
                     f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return "\n".join(lines)
