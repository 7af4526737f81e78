"""The documentation is true to the code: every hook documented, generated pages and the
committed OpenAPI schema current, ``plexichat openapi`` including plugin routes."""

from __future__ import annotations

import importlib.util
import json
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.dists import make_plugin
from support.host import healthy_code

import plexichat
from plexichat import hookspecs
from plexichat.cli import main
from plexichat.config import HostSettings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def script(name: str) -> Any:
    """A module of scripts/, imported by path."""
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_hooks = script("gen_hooks_doc")
gen_config = script("gen_config_doc")
gen_permissions = script("gen_permissions_doc")
gen_benchmarks = script("gen_benchmarks_doc")
gen_reliability = script("gen_reliability_doc")
dump_openapi = script("dump_openapi")
HOOKS = [name for name, _ in gen_hooks.hookspecs(hookspecs)]


# --- hooks -------------------------------------------------------------------------------


def test_hookspecs_are_found():
    assert {"startup", "shutdown", "register_routers", "config_schema"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_a_docstring(hook):
    assert (getattr(hookspecs, hook).__doc__ or "").strip(), (
        f"hookspec {hook} has no docstring: document it in plexichat.hookspecs")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hookspec_has_an_entry_in_hooks_md(hook):
    text = (DOCS / "HOOKS.md").read_text(encoding="utf-8")
    assert f"\n### `{hook}`\n" in text, (
        f"docs/HOOKS.md has no entry for hook {hook}: run python scripts/gen_hooks_doc.py")


def test_hooks_md_is_current():
    assert (DOCS / "HOOKS.md").read_text(encoding="utf-8") == gen_hooks.render(hookspecs), (
        "docs/HOOKS.md is stale: run python scripts/gen_hooks_doc.py")


def test_a_hookspec_without_docstring_is_refused():
    from plexichat.markers import hookspec

    module = types.ModuleType("fake_hookspecs")
    module.__doc__ = "Fake."

    @hookspec
    def documented(context):
        """Documented."""

    @hookspec
    def forgotten(context):
        pass

    module.documented, module.forgotten = documented, forgotten
    assert gen_hooks.undocumented(module) == ["forgotten"]
    with pytest.raises(SystemExit, match="forgotten"):
        gen_hooks.render(module)


def test_hook_docstrings_become_markdown():
    text = gen_hooks.to_markdown(
        """Use :func:`startup` and ``x``, :class:`~plexichat.context.PluginContext`.

        Example::

            @hookimpl
            def startup(): ...
        """, {"startup"})
    assert "[`startup`](#startup)" in text
    first = text.splitlines()[0]
    assert "`x`" in first and "``" not in first
    assert "`PluginContext`" in text
    assert "Example:\n\n```python\n@hookimpl\ndef startup(): ...\n```" in text


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize("field", list(HostSettings.model_fields))
def test_every_setting_is_documented(field):
    text = (DOCS / "CONFIGURATION.md").read_text(encoding="utf-8")
    assert f"| `{field}` | `PLEXICHAT_{field.upper()}` |" in text, (
        f"docs/CONFIGURATION.md lacks {field}: run python scripts/gen_config_doc.py")


def test_configuration_md_is_current():
    text = (DOCS / "CONFIGURATION.md").read_text(encoding="utf-8")
    assert gen_config.update(text, HostSettings) == text, (
        "docs/CONFIGURATION.md is stale: run python scripts/gen_config_doc.py")


# --- permissions -------------------------------------------------------------------------


def test_permissions_md_is_current():
    from plexichat.permissions import PERMISSIONS

    text = (DOCS / "PERMISSIONS.md").read_text(encoding="utf-8")
    assert gen_permissions.update(text, PERMISSIONS) == text, (
        "docs/PERMISSIONS.md is stale: run python scripts/gen_permissions_doc.py")


def test_gen_permissions_doc_check_fails_on_a_stale_table(tmp_path, monkeypatch):
    stale = tmp_path / "PERMISSIONS.md"
    text = (DOCS / "PERMISSIONS.md").read_text(encoding="utf-8")
    stale.write_text(text.replace("| `db:read` |", "| `db:reads` |"), encoding="utf-8")
    monkeypatch.setattr(gen_permissions, "TARGET", stale)
    assert gen_permissions.main(["--check"]) == 1
    assert gen_permissions.main([]) == 0
    assert stale.read_text(encoding="utf-8") == text
    assert gen_permissions.main(["--check"]) == 0


# --- benchmarks --------------------------------------------------------------------------


def test_reliability_md_is_current_with_the_fault_matrix():
    text = (DOCS / "RELIABILITY.md").read_text(encoding="utf-8")
    cases = gen_reliability.load_cases()
    assert len(cases) >= 25
    assert gen_reliability.update(text, cases) == text, (
        "docs/RELIABILITY.md is stale: run python scripts/gen_reliability_doc.py")


def test_gen_reliability_doc_check_fails_on_a_stale_table(tmp_path, monkeypatch):
    stale = tmp_path / "RELIABILITY.md"
    text = (DOCS / "RELIABILITY.md").read_text(encoding="utf-8")
    stale.write_text(text.replace("| `quarantined` |", "| `started` |", 1), encoding="utf-8")
    monkeypatch.setattr(gen_reliability, "TARGET", stale)
    assert gen_reliability.main(["--check"]) == 1
    assert gen_reliability.main([]) == 0
    assert stale.read_text(encoding="utf-8") == text
    assert gen_reliability.main(["--check"]) == 0


def test_benchmarks_md_is_current_with_bench_results():
    results = gen_benchmarks.load_results(gen_benchmarks.RESULTS)
    assert results, "bench/results/ holds no result: run a benchmark (nox -s bench)"
    text = (DOCS / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert gen_benchmarks.update(text, results) == text, (
        "docs/BENCHMARKS.md is stale: run python scripts/gen_benchmarks_doc.py")


# --- OpenAPI -----------------------------------------------------------------------------


def _refs(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for item in value.values():
            found |= _refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item)
    return found


def _examples(model: dict[str, Any]) -> dict[str, Any]:
    """A model's ``examples`` and those of each property: API.md shows them."""
    found = {"": model.get("examples")}
    for name, prop in model.get("properties", {}).items():
        found[name] = prop.get("examples")
    return found


def projection(schema: dict[str, Any], plugins: set[str]) -> dict[str, Any]:
    """What the API promises, for the core and ``plugins``: each operation (owner,
    summary, parameters, request body, responses) and the properties of the models it
    reaches, with their examples. Formatting details that differ between FastAPI
    releases are left out."""
    operations: dict[str, Any] = {}
    for path, item in schema.get("paths", {}).items():
        for method in dump_openapi.METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            owner = op.get("x-plexichat-plugin")
            if owner is not None and owner not in plugins:
                continue
            operations[f"{method.upper()} {path}"] = {
                "owner": owner,
                "summary": op.get("summary"),
                "operationId": op.get("operationId"),
                "tags": sorted(op.get("tags", [])),
                "parameters": sorted((p.get("in"), p.get("name"), bool(p.get("required")))
                                     for p in op.get("parameters", [])),
                "requestBody": sorted(_refs(op.get("requestBody", {}))),
                "responses": {code: sorted(_refs(answer))
                              for code, answer in op.get("responses", {}).items()},
            }
    components = schema.get("components", {}).get("schemas", {})
    wanted: set[str] = set()
    todo: set[str] = set()
    for op in operations.values():
        todo |= set(op["requestBody"]) | {r for refs in op["responses"].values() for r in refs}
    while todo:
        name = todo.pop()
        if name in wanted or name not in components:
            continue
        wanted.add(name)
        todo |= _refs(components[name])
    models = {name: {"properties": sorted(components[name].get("properties", {})),
                     "required": sorted(components[name].get("required", [])),
                     "examples": _examples(components[name])}
              for name in sorted(wanted)}
    info = schema.get("info", {})
    listed = info.get("x-plexichat-plugins", {})
    return {"version": info.get("version"), "operations": operations, "models": models,
            "plugins": {n: v for n, v in listed.items() if n in plugins}}


@pytest.fixture(scope="module")
def committed_schema() -> dict[str, Any]:
    return json.loads((DOCS / "_generated" / "openapi.json").read_text(encoding="utf-8"))


def test_committed_openapi_json_is_current(committed_schema):
    """Regenerate with the example plugins installed here (tox installs them all) and
    compare the core and those plugins with the committed schema."""
    examples = dump_openapi.example_plugins(ROOT)
    installed = sorted(set(examples) & dump_openapi.installed_plugins())
    fresh, problems = dump_openapi.build(",".join(installed))
    assert not problems, f"example plugins did not start: {problems}"
    missing = set(installed) - set(committed_schema["info"].get("x-plexichat-plugins", {}))
    hint = "docs/_generated/openapi.json is stale: run python scripts/dump_openapi.py"
    assert not missing, f"{hint} (it lacks the plugins {sorted(missing)})"
    old, new = projection(committed_schema, set(installed)), projection(fresh, set(installed))
    assert old == new, f"{hint}\n{differences(old, new)}"


def differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What changed between two projections, one line per operation or model."""
    lines = []
    for part in ("operations", "models"):
        for key in sorted(set(old[part]) | set(new[part])):
            if key not in new[part]:
                lines.append(f"  {part[:-1]} {key}: no longer served")
            elif key not in old[part]:
                lines.append(f"  {part[:-1]} {key}: new")
            elif old[part][key] != new[part][key]:
                lines.append(f"  {part[:-1]} {key}: changed")
    for key in ("version", "plugins"):
        if old[key] != new[key]:
            lines.append(f"  {key}: {old[key]} -> {new[key]}")
    return "\n".join(lines)


def test_committed_openapi_json_is_canonical(committed_schema):
    """Sorted keys and a fixed indent, as ``plexichat openapi`` writes it."""
    from plexichat.cli.openapi import dumps

    text = (DOCS / "_generated" / "openapi.json").read_text(encoding="utf-8")
    assert text == dumps(committed_schema)


def test_api_md_lists_the_committed_schema(committed_schema):
    text = (DOCS / "API.md").read_text(encoding="utf-8")
    assert dump_openapi.update_api_page(text, committed_schema) == text, (
        "docs/API.md is stale: run python scripts/dump_openapi.py")
    for _owner, method, path, _op in dump_openapi.operations(committed_schema):
        assert f"| `{method}` | `{path}` |" in text


def test_example_plugins_are_read_from_their_pyproject():
    examples = dump_openapi.example_plugins(ROOT)
    assert examples["hello"] == "hello"


# --- plexichat openapi -------------------------------------------------------------------


def test_plexichat_openapi_includes_installed_plugin_routes(site, tmp_path):
    make_plugin(site, "openapi_fixture", code=healthy_code("/api/v1/openapi-fixture"),
                version="2.5.0")
    out = tmp_path / "out" / "openapi.json"
    result = CliRunner().invoke(main, ["openapi", "-o", str(out),
                                       "--plugins", "openapi_fixture"])
    assert result.exit_code == 0, result.output
    schema = json.loads(out.read_text(encoding="utf-8"))
    operation = schema["paths"]["/api/v1/openapi-fixture"]["get"]
    assert operation["x-plexichat-plugin"] == "openapi_fixture"
    assert schema["info"]["x-plexichat-plugins"] == {"openapi_fixture": "2.5.0"}
    # the core is there too, not attributed to any plugin
    assert "x-plexichat-plugin" not in schema["paths"]["/api/v1/plugins"]["get"]
    assert list(schema) == sorted(schema)  # sorted keys, deterministic


def test_plexichat_openapi_to_stdout_with_every_installed_plugin(site):
    make_plugin(site, "openapi_stdout", code="""
        from fastapi import APIRouter
        from plexichat import hookimpl

        router = APIRouter()

        @router.get("/api/v1/openapi-stdout")
        def ok():
            return {}

        @hookimpl
        def startup():
            print("noise from a plugin")

        @hookimpl
        def register_routers():
            return router
    """)
    result = CliRunner().invoke(main, ["openapi"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert "/api/v1/openapi-stdout" in schema["paths"]


def test_plexichat_openapi_strict_fails_on_a_broken_plugin(site, tmp_path):
    make_plugin(site, "openapi_broken", code="raise RuntimeError('no schema for you')")
    out = tmp_path / "openapi.json"
    args = ["openapi", "-o", str(out), "--plugins", "openapi_broken"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "openapi_broken is not in the schema (failed:" in result.stderr
    assert "RuntimeError: no schema for you" in result.stderr
    strict = CliRunner().invoke(main, [*args, "--strict"])
    assert strict.exit_code == 1
    assert "1 plugin(s) did not start: openapi_broken" in strict.stderr


def test_dump_openapi_script_writes_elsewhere_without_touching_api_md(tmp_path):
    before = (DOCS / "API.md").read_text(encoding="utf-8")
    out = tmp_path / "schema.json"
    dump_openapi.main(["-o", str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["paths"]
    assert (DOCS / "API.md").read_text(encoding="utf-8") == before


# --- the site ----------------------------------------------------------------------------


PAGES = sorted(p.name for p in DOCS.glob("*.md"))


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_resolve(page):
    import re

    text = (DOCS / page).read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert not target.startswith("/"), f"{page}: absolute link {target}"
        assert (DOCS / target).exists(), f"{page}: broken link {target}"


def test_primary_pages_follow_the_naming_convention_and_are_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES:
        stem = page[:-3]
        assert stem == stem.upper(), (
            f"{page}: primary pages are named UPPERCASE_WITH_UNDERSCORES.md")
    for page in ("GETTING_STARTED.md", "PLUGIN_DEVELOPMENT.md", "HOOKS.md", "PERMISSIONS.md",
                 "CONFIGURATION.md", "API.md", "TESTING.md", "PACKAGING.md", "SECURITY.md"):
        assert (DOCS / page).exists(), page
        assert page in nav, f"mkdocs.yml does not list {page}"




# --- the plugin API reference (docs/PLUGIN_API.md, mkdocstrings) -------------------------


def reference_identifiers() -> list[str]:
    """The dotted paths of the ``::: path`` blocks of docs/PLUGIN_API.md."""
    import re

    text = (DOCS / "PLUGIN_API.md").read_text(encoding="utf-8")
    return re.findall(r"^::: (\S+)\s*$", text, flags=re.M)


def resolve(path: str) -> Any:
    """The object a dotted path names: the longest importable module, then attributes."""
    import importlib

    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr)
        return value
    raise ModuleNotFoundError(path)


@pytest.mark.parametrize("identifier", reference_identifiers())
def test_every_reference_entry_names_a_real_object(identifier):
    resolve(identifier)  # raises when a class was renamed or moved


@pytest.mark.parametrize("name", plexichat.__all__)
def test_every_public_name_is_in_the_plugin_api_reference(name):
    text = (DOCS / "PLUGIN_API.md").read_text(encoding="utf-8")
    exported = getattr(plexichat, name)
    documented = [i for i in reference_identifiers() if resolve(i) is exported]
    assert documented, (
        f"plexichat.{name} is exported (__all__) but docs/PLUGIN_API.md has no "
        f"'::: <module>.{name}' entry for it: add one")
    assert any(i.endswith(f".{name}") for i in documented) or f"`{name}`" in text, (
        f"docs/PLUGIN_API.md documents plexichat.{name} as {documented[0]} without "
        f"saying it is also `{name}`")


def _public_members(cls: type) -> list[tuple[str, Any]]:
    return [(name, value) for name, value in vars(cls).items()
            if not name.startswith("_") and (callable(value) or isinstance(value, property))]


@pytest.mark.parametrize("identifier", reference_identifiers())
def test_every_class_and_method_in_the_reference_has_a_docstring(identifier):
    import inspect

    value = resolve(identifier)
    if not (inspect.isclass(value) or inspect.isfunction(value)):
        return  # module attributes: their docstrings are read from the source
    own = inspect.getdoc(value) if inspect.isfunction(value) else value.__dict__.get("__doc__")
    assert (own or "").strip(), f"{identifier} has no docstring: its entry would be empty"
    if inspect.isclass(value) and not issubclass(value, BaseException):
        undocumented = [name for name, member in _public_members(value)
                        if not (getattr(member, "__doc__", None) or "").strip()]
        assert not undocumented, f"{identifier}: no docstring on {undocumented}"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """``mkdocs build --strict`` of the whole site, as ``tox -e docs`` runs it."""
    import subprocess
    import sys

    if importlib.util.find_spec("mkdocs") is None:
        pytest.fail("mkdocs is not installed: pip install -e '.[test]' (or '.[docs]')")
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-6000:]}"
    return site


def test_the_site_builds_with_every_operation_and_its_request_body(built_site,
                                                                  committed_schema):
    import html
    import re

    page = html.unescape((built_site / "API" / "index.html").read_text(encoding="utf-8"))
    headings = dict(re.findall(r'<h3 id="([^"]+)">([^<]+)<', page))
    rendered = set(headings.values())
    for _owner, method, path, _op in dump_openapi.operations(committed_schema):
        assert f"{method} {path}" in rendered, f"API.md does not render {method} {path}"
    # registration: its request body with the example, up to its first response
    anchor = next(i for i, text in headings.items() if text == "POST /api/v1/users")
    register = page[page.index(f'id="{anchor}"'):]
    register = register[:register.index("<h3", 1)]
    assert "Request body" in register and '"name": "ada"' in register, register
    assert "username" not in register


@pytest.mark.parametrize("name", plexichat.__all__)
def test_the_site_renders_each_public_name(built_site, name):
    page = (built_site / "PLUGIN_API" / "index.html").read_text(encoding="utf-8")
    exported = getattr(plexichat, name)
    paths = [i for i in reference_identifiers() if resolve(i) is exported]
    assert any(f'id="{p}"' in page for p in paths), (
        f"the built PLUGIN_API page has no entry for plexichat.{name}")


def _quoted_block(text: str, start: str) -> list[str]:
    """The quoted strings of the bracketed list that begins with ``start``."""
    import re

    block = text[text.index(start):]
    end = re.search(r"^\]", block, flags=re.M)
    assert end is not None, start
    return re.findall(r'^\s*"([^"]+)",', block[:end.start()], flags=re.M)


def test_tox_nox_and_the_docs_extra_install_the_same_docs_tools():
    import configparser

    extra = _quoted_block((ROOT / "pyproject.toml").read_text(encoding="utf-8"), "docs = [")
    nox_deps = _quoted_block((ROOT / "noxfile.py").read_text(encoding="utf-8"),
                             "DOCS_TOOLS = [")
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    tox_deps = tox["testenv:docs"]["deps"].split()
    assert "mkdocstrings[python]>=1.0" in extra
    assert extra == tox_deps == nox_deps
