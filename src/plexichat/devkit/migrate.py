"""Folder plugins of the original guide → pip-installable distributions.

A guide-style plugin is a folder: ``plugin.json`` + ``main.py`` (a ``PluginInterface``
subclass and, at module level, ``plugin = AwesomePlugin()``), optionally ``ui/``,
``docs/``, ``tests/`` and ``requirements.txt``. :func:`migrate` writes a hatchling
project around it::

    <out>/pyproject.toml                 entry point <name> = "<name>.main:plugin"
    <out>/README.md, MIGRATION.md
    <out>/src/<name>/plugin.json, main.py, ui/, docs/, other modules
    <out>/tests/                         the folder's tests, imports adjusted

and says what it changed: imports of the old plugin manager (``from
...infrastructure.modules.enhanced_plugin_manager import PluginInterface``) become
``from plexichat import ...``, standard-library modules used without being imported
(the guide's ``json``) are imported, and names it cannot resolve are reported
(:mod:`plexichat.devkit.migrate_source`). The code is parsed with :mod:`ast`, never run.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..markers import ENTRY_POINT_GROUP
from .migrate_source import Change, convert_source

__all__ = ["MigrationError", "MigrationReport", "migrate"]

_SKIP = {"__pycache__", ".git", ".hg", ".svn", ".venv", "venv", "build", "dist",
         ".pytest_cache", ".mypy_cache", ".ruff_cache", ".DS_Store"}
_ROOT_FILES = re.compile(r"^(README|CHANGELOG|LICEN[CS]E|COPYING|NOTICE)(\.\w+)?$", re.I)
class MigrationError(ValueError):
    """The folder cannot be migrated; the message says why."""


@dataclass
class MigrationReport:
    """What :func:`migrate` produced and changed."""

    name: str
    package: str
    distribution: str
    version: str
    out: Path
    entry_point: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things to look at by hand (unresolved names, skipped requirements ...)."""
    files: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "package": self.package, "distribution": self.distribution,
            "version": self.version, "out": str(self.out), "entry_point": self.entry_point,
            "changes": [vars(c) for c in self.changes], "notes": list(self.notes),
            "files": [str(f.relative_to(self.out)) for f in self.files],
        }


def migrate(folder: Path, out: Path | None = None, *, force: bool = False) -> MigrationReport:
    """Convert the folder plugin at ``folder`` into a distribution project at ``out``
    (default ``./plexichat-<name>``). Raises :class:`MigrationError`."""
    folder = Path(folder).resolve()
    manifest = _read_manifest(folder)
    name = manifest["name"]
    package = name
    distribution = "plexichat-" + name.lower().replace("_", "-").removeprefix("plexichat-")
    out = (Path(out) if out is not None else Path.cwd() / distribution).resolve()
    if out == folder or folder in out.parents:
        raise MigrationError(f"the output directory {out} must be outside the plugin folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise MigrationError(f"{out} already exists and is not empty; choose another with "
                             "--out (or --force to write into it)")

    module, obj = _entry_point_parts(folder, manifest)
    report = MigrationReport(name, package, distribution,
                             str(manifest.get("version") or "0.1.0"), out, "")
    if not manifest.get("version"):
        report.notes.append("plugin.json has no version; the distribution is 0.1.0")
    siblings = _sibling_modules(folder)

    main_source = (folder / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
    if obj is None:
        obj = _find_plugin_object(main_source, f"{module}.py", report)
    report.entry_point = f"{package}.{module}" + (f":{obj}" if obj else "")

    pkg_dir = out / "src" / package
    pkg_dir.mkdir(parents=True, exist_ok=True)
    for item in sorted(folder.iterdir()):
        if item.name in _SKIP or item.name.startswith(".") or item.suffix in (".pyc", ".zip"):
            continue
        if item.name in ("tests", "requirements.txt", "pyproject.toml", "setup.py",
                         "setup.cfg", "MANIFEST.in") or _ROOT_FILES.match(item.name):
            continue
        _copy(item, pkg_dir / item.name, report, siblings, package, in_tests=False)
    if not (pkg_dir / "__init__.py").exists():
        _write(report, pkg_dir / "__init__.py",
               f'"""{name}: migrated from a folder plugin by `plexichat plugins '
               f'migrate`.\n\nThe host loads ``{report.entry_point}`` (the entry point in '
               'pyproject.toml)."""\n')
    if (folder / "tests").is_dir():
        _copy(folder / "tests", out / "tests", report, siblings, package, in_tests=True)
    for item in sorted(folder.iterdir()):
        if item.is_file() and _ROOT_FILES.match(item.name):
            shutil.copy2(item, out / item.name)
            report.files.append(out / item.name)
    if not (out / "README.md").exists():
        _write(report, out / "README.md", _readme(report, manifest))

    requirements = _requirements(folder, manifest, report)
    test_deps = ["pytest>=8.0", "httpx>=0.27"]
    tests = sorted((out / "tests").rglob("*.py")) if (out / "tests").is_dir() else []
    if any("asyncio" in p.read_text(encoding="utf-8", errors="replace") for p in tests):
        test_deps.append("pytest-asyncio>=0.23")
    _write(report, out / "pyproject.toml",
           _pyproject(report, manifest, requirements, test_deps))
    _check_declared_paths(folder, manifest, report)
    _write(report, out / "MIGRATION.md", _migration_notes(report, folder))
    return report


# --- reading the folder ----------------------------------------------------------------


def _read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise MigrationError(f"{folder} is not a directory")
    path = folder / "plugin.json"
    if not path.is_file():
        raise MigrationError(f"{folder} has no plugin.json: not a folder plugin")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MigrationError(f"{path}: invalid JSON at line {exc.lineno} column "
                             f"{exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise MigrationError(f"{path}: must be a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", name):
        raise MigrationError(f"{path}: name {name!r} is not a valid plugin name (a letter, "
                             "then letters, digits and underscores); it becomes the "
                             "package and entry-point name")
    return data


def _entry_point_parts(folder: Path, manifest: dict[str, Any]) -> tuple[str, str | None]:
    raw = str(manifest.get("entry_point") or "main").strip()
    module, _, obj = raw.partition(":")
    module = module.removesuffix(".py").replace("/", ".").strip(".")
    path = folder / (module.replace(".", "/") + ".py")
    if not path.is_file():
        raise MigrationError(f"plugin.json's entry_point {raw!r} names {path.name}, which "
                             f"is not in {folder}")
    return module, obj.strip() or None


def _sibling_modules(folder: Path) -> set[str]:
    names = set()
    for item in folder.iterdir():
        if item.suffix == ".py":
            names.add(item.stem)
        elif item.is_dir() and (item / "__init__.py").exists():
            names.add(item.name)
    return names


def _is_plugin_base(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ("PluginInterface", "Plugin")
    if isinstance(node, ast.Attribute):
        return node.attr in ("PluginInterface", "Plugin")
    return False


def _find_plugin_object(source: str, filename: str, report: MigrationReport) -> str | None:
    """The module-level instance of the plugin class (``plugin = AwesomePlugin()``), else
    the class itself, else None (a module of ``@hookimpl`` functions)."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise MigrationError(f"{filename}: syntax error at line {exc.lineno}: {exc.msg}") \
            from None
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    plugin_classes: set[str] = set()
    changed = True
    while changed:
        changed = False
        for c in classes:
            if c.name not in plugin_classes and any(
                    _is_plugin_base(b) or (isinstance(b, ast.Name) and b.id in plugin_classes)
                    for b in c.bases):
                plugin_classes.add(c.name)
                changed = True
    instances = []
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if (isinstance(target, ast.Name) and isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name) and value.func.id in plugin_classes):
            instances.append(target.id)
    if instances:
        if len(instances) > 1:
            report.notes.append(f"{filename} creates several plugin objects "
                                f"({', '.join(instances)}); the entry point uses the first")
        return instances[0]
    if plugin_classes:
        bases = {b.id for c in classes if c.name in plugin_classes for b in c.bases
                 if isinstance(b, ast.Name)}
        leaves = [c.name for c in classes if c.name in plugin_classes and c.name not in bases]
        chosen = leaves[0] if leaves else next(c.name for c in classes
                                               if c.name in plugin_classes)
        if len(leaves) > 1:
            report.notes.append(f"{filename} defines several plugin classes "
                                f"({', '.join(leaves)}); the entry point uses the first")
        report.notes.append(f"{filename} creates no plugin instance at module level; the "
                            f"entry point names the class {chosen} (the host instantiates it)")
        return chosen
    if "hookimpl" in source:
        return None
    raise MigrationError(f"{filename} defines no PluginInterface subclass and no @hookimpl "
                         "functions: nothing for the host to load")


# --- copying and rewriting -------------------------------------------------------------


def _write(report: MigrationReport, path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    report.files.append(path)


def _copy(src: Path, dst: Path, report: MigrationReport, siblings: set[str], package: str,
          *, in_tests: bool) -> None:
    if src.is_dir():
        for item in sorted(src.iterdir()):
            if item.name in _SKIP or item.suffix == ".pyc":
                continue
            _copy(item, dst / item.name, report, siblings, package, in_tests=in_tests)
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix != ".py":
        shutil.copy2(src, dst)
        report.files.append(dst)
        return
    shown = dst.relative_to(report.out).as_posix()
    source = src.read_text(encoding="utf-8")
    try:
        source = convert_source(source, shown, siblings, package if in_tests else None,
                                report)
    except SyntaxError as exc:
        report.notes.append(f"{shown}: not rewritten: syntax error at line {exc.lineno}: "
                            f"{exc.msg}")
    _write(report, dst, source)


# --- the project files -----------------------------------------------------------------


def _requirements(folder: Path, manifest: dict[str, Any], report: MigrationReport) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    minimum = manifest.get("min_plexichat_version")
    host = f"plexichat>={minimum}" if minimum else "plexichat>={}.{}".format(
        *__version__.split(".")[:2])
    out = [host]
    path = folder / "requirements.txt"
    if path.is_file():
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = re.sub(r"(^|\s)#.*$", "", raw).strip()
            if not line:
                continue
            if line.startswith("-"):
                report.notes.append(f"requirements.txt:{number}: {line!r} is a pip option, "
                                    "not a dependency; not carried over")
                continue
            try:
                req = Requirement(line)
            except InvalidRequirement as exc:
                report.notes.append(f"requirements.txt:{number}: {line!r} skipped: {exc}")
                continue
            if req.name.lower() == "plexichat":
                out[0] = str(req)
            elif str(req) not in out:
                out.append(str(req))
    from ..kernel.resolver import BUILTIN_PLUGINS

    for dep in manifest.get("dependencies") or []:
        try:
            dep_name = Requirement(str(dep)).name
        except InvalidRequirement:
            continue
        if dep_name not in BUILTIN_PLUGINS:
            report.notes.append(f"plugin.json depends on the plugin {dep_name!r}: add the "
                                "distribution that provides it to [project] dependencies "
                                "so that pip installs it too")
    return out


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _license(value: Any, report: MigrationReport) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
    except ImportError:  # packaging < 24.2
        return value if re.match(r"^[A-Za-z0-9.\-+ ()]+$", value) else None
    try:
        return str(canonicalize_license_expression(value))
    except InvalidLicenseExpression:
        report.notes.append(f"license {value!r} is not an SPDX expression; left out of "
                            "pyproject.toml")
        return None


def _pyproject(report: MigrationReport, manifest: dict[str, Any], requirements: list[str],
               test_deps: list[str]) -> str:
    lines = [
        "[build-system]",
        'requires = ["hatchling>=1.21"]',
        'build-backend = "hatchling.build"',
        "",
        "[project]",
        f"name = {_toml(report.distribution)}",
        f"version = {_toml(report.version)}",
        f"description = {_toml(str(manifest.get('description') or report.name))}",
        'readme = "README.md"',
        'requires-python = ">=3.10"',
    ]
    license_expr = _license(manifest.get("license"), report)
    if license_expr:
        lines.append(f"license = {_toml(license_expr)}")
    if isinstance(manifest.get("author"), str) and manifest["author"]:
        lines.append(f"authors = [{{ name = {_toml(manifest['author'])} }}]")
    tags = [t for t in manifest.get("tags") or [] if isinstance(t, str)]
    if tags:
        lines.append("keywords = [" + ", ".join(_toml(t) for t in tags) + "]")
    lines.append("dependencies = [" + ", ".join(_toml(r) for r in requirements) + "]")
    lines += ["", "[project.optional-dependencies]",
              "test = [" + ", ".join(_toml(d) for d in test_deps) + "]"]
    urls: dict[str, str] = {}
    for label, key in (("Homepage", "homepage"), ("Repository", "repository")):
        if isinstance(manifest.get(key), str) and manifest[key]:
            urls[label] = manifest[key]
    if urls:
        lines += ["", "[project.urls]", *(f"{k} = {_toml(v)}" for k, v in urls.items())]
    lines += [
        "",
        "# The entry-point name is the plugin's name; it equals \"name\" in plugin.json.",
        f'[project.entry-points."{ENTRY_POINT_GROUP}"]',
        f"{report.name} = {_toml(report.entry_point)}",
        "",
        "[tool.hatch.build.targets.wheel]",
        f'packages = ["src/{report.package}"]',
        "",
        "[tool.pytest.ini_options]",
        'testpaths = ["tests"]',
        "",
    ]
    return "\n".join(lines)


def _check_declared_paths(folder: Path, manifest: dict[str, Any], report: MigrationReport) -> None:
    for i, page in enumerate(manifest.get("ui_pages") or []):
        path = page.get("path") if isinstance(page, dict) else None
        if isinstance(path, str) and not (folder / path).exists():
            report.notes.append(f"plugin.json ui_pages.{i} points to {path}, which the folder "
                                "does not have; add it or `plexichat plugins check` will "
                                "flag it")
    try:
        from ..manifest import DistributionFacts, ManifestError, parse_manifest

        parse_manifest(manifest, plugin_name=report.name,
                       dist=DistributionFacts(report.distribution, report.version),
                       file="plugin.json")
    except ManifestError as exc:
        for problem in exc.problems:
            report.notes.append(f"plugin.json: {problem.field}: {problem.message} (the host "
                                "rejects the plugin until this is fixed)")


def _readme(report: MigrationReport, manifest: dict[str, Any]) -> str:
    return (f"# {report.distribution}\n\n{manifest.get('description') or report.name}\n\n"
            "A PlexiChat plugin, converted from a folder plugin by `plexichat plugins "
            "migrate` (see MIGRATION.md).\n\n```bash\npip install .\nplexichat plugins info "
            f"{report.name}\n```\n")


def _migration_notes(report: MigrationReport, folder: Path) -> str:
    out = [f"# Migration of {folder.name}\n",
           f"Converted by `plexichat plugins migrate` (PlexiChat {__version__}).\n",
           f"- distribution: `{report.distribution}` {report.version}",
           f"- package: `src/{report.package}/`",
           f"- entry point: `{report.name} = \"{report.entry_point}\"` in the "
           "`plexichat.plugins` group\n"]
    if report.changes:
        out.append("## Changes to the code (lines of the original files)\n")
        out += [f"- `{c.file}:{c.line}`: `{c.old}` → `{c.new}`" for c in report.changes]
        out.append("")
    if report.notes:
        out.append("## To look at\n")
        out += [f"- {n}" for n in report.notes]
        out.append("")
    return "\n".join(out)
