"""Hook results: typed contributions, the guide's legacy shapes converted in one adapter
module, every ``register_*`` hook filed through one consumer table; the guide's
``PluginMetadata`` sharing the manifest's fields."""

from __future__ import annotations

import inspect
import logging
import typing

import pytest
from support.api import detail
from support.dists import make_plugin
from support.host import assert_host_serves, make_healthy, running_host

from plexichat import PluginMetadata, PluginType, adapters, hookspecs
from plexichat.contributions import (
    AnalyticsHook,
    BackgroundTask,
    BackupHandler,
    DocsSpec,
    EventHandler,
    HealthCheck,
    MiddlewareSpec,
    RouterSpec,
    SecurityPolicy,
    SelfTestResult,
    ServiceSpec,
    UIPageSpec,
)
from plexichat.manifest import ManifestFields, PluginManifest
from plexichat.wiring import HOOK_CONSUMERS


def _hookspecs() -> dict[str, typing.Any]:
    return {name: obj for name, obj in vars(hookspecs).items()
            if inspect.isfunction(obj) and getattr(obj, "plexichat_spec", None) is not None}


def fn(*args, **kwargs):
    return None


# --- the consumer table ------------------------------------------------------------------


def test_every_register_hook_has_an_entry_in_the_consumer_table():
    register_hooks = {name for name in _hookspecs() if name.startswith("register_")}
    assert len(register_hooks) >= 15
    missing = register_hooks - set(HOOK_CONSUMERS)
    assert not missing, f"register_* hookspecs without a HOOK_CONSUMERS entry: {missing}"
    assert set(HOOK_CONSUMERS) <= set(_hookspecs()), "table entries for unknown hooks"


def test_every_consumer_uses_an_adapter_of_the_adapter_module():
    for hook, consumer in HOOK_CONSUMERS.items():
        assert consumer.adapt.__module__ == "plexichat.adapters", hook
        assert getattr(adapters, consumer.adapt.__name__) is consumer.adapt, hook


@pytest.mark.parametrize("hook", sorted(_hookspecs()))
def test_every_hookspec_declares_a_result_type(hook):
    annotation = inspect.signature(_hookspecs()[hook]).return_annotation
    results = {part.strip() for part in str(annotation).split("|")}
    assert annotation is not inspect.Signature.empty and "Any" not in results, (
        f"{hook} returns {annotation!r}: declare the typed contribution it returns")


def test_hookspec_modules_stay_small():
    import pathlib

    folder = pathlib.Path(hookspecs.__file__).parent
    for module in folder.glob("*.py"):
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 600, module.name


# --- legacy shapes become typed contributions --------------------------------------------


def test_guide_mappings_become_typed_items():
    handler = logging.NullHandler()
    assert adapters.middleware("p", {"web": [fn], "api": fn}) == [
        MiddlewareSpec("web", fn), MiddlewareSpec("api", fn)]
    assert adapters.event_handlers("p", {"message.posted": fn}) == [
        EventHandler("message.posted", fn)]
    assert adapters.security_policies("p", [{"no_spam": fn}]) == [SecurityPolicy("no_spam", fn)]
    assert adapters.health_checks("p", {"db": fn}) == [HealthCheck("db", fn)]
    assert adapters.backup_handlers("p", {"backup": fn, "restore": fn}) == [
        BackupHandler("p", fn, fn)]
    assert adapters.logging_handlers("p", {"file": handler}) == [handler]
    assert adapters.analytics_hooks("p", {"*": fn}) == [AnalyticsHook("*", fn)]
    assert adapters.services("p", {"ai": 1}) == [ServiceSpec("ai", 1)]
    assert adapters.background_tasks("p", [fn]) == [BackgroundTask("fn", fn)]
    assert adapters.ui_pages("p", {"name": "d", "path": "ui/d"}) == [
        UIPageSpec(name="d", title="d", path="ui/d")]
    assert adapters.docs("p", "docs") == [DocsSpec(directory=__import__("pathlib").Path("docs"))]
    assert adapters.self_test("p", {"passed": True, "tests": ["a"], "message": "ok"}) == (
        SelfTestResult(True, ["a"], "ok"))
    assert adapters.self_test("p", False) == SelfTestResult(False, [], "")


def test_typed_items_pass_unchanged_and_none_is_nothing():
    spec = MiddlewareSpec("api", fn)
    assert adapters.middleware("p", spec) == [spec]
    assert adapters.middleware("p", [spec, spec]) == [spec, spec]
    assert adapters.middleware("p", None) == []


def test_routers_in_every_shape():
    from fastapi import APIRouter

    router = APIRouter()
    assert adapters.routers("p", router) == [RouterSpec(router)]
    assert adapters.routers("p", {"/x": router}) == [RouterSpec(router, prefix="/x")]
    assert adapters.routers("p", [RouterSpec(router, "/y"), [router]]) == [
        RouterSpec(router, "/y"), RouterSpec(router)]


WRONG_SHAPES = [
    (adapters.middleware, "register_middleware", 42, "returned int", "MiddlewareSpec"),
    (adapters.middleware, "register_middleware", {"web": "not callable"},
     "returned dict", "{layer: [middleware]}"),
    (adapters.event_handlers, "register_event_handlers", ["x"], "returned a list holding str",
     "{event: handler}"),
    (adapters.security_policies, "register_security_policies", 3.5, "returned float",
     "SecurityPolicy"),
    (adapters.health_checks, "register_health_checks", {"db": 1}, "returned dict",
     "{name: check}"),
    (adapters.backup_handlers, "register_backup_handlers", {"restore": fn}, "returned dict",
     '{"backup": fn, "restore": fn}'),
    (adapters.logging_handlers, "register_logging_handlers", {"x": "handler"},
     "returned dict", "logging.Handler"),
    (adapters.analytics_hooks, "register_analytics_hooks", "everything", "returned str",
     "{event: fn(event, properties)}"),
    (adapters.services, "register_services", 7, "returned int", "ServiceSpec"),
    (adapters.background_tasks, "register_background_tasks", [1], "returned a list holding int",
     "BackgroundTask"),
    (adapters.slash_commands, "register_slash_commands", "shout", "returned str",
     "SlashCommand"),
    (adapters.routers, "register_routers", {"/x": 1}, "returned dict", "{prefix: router}"),
    (adapters.ui_pages, "register_ui_pages", {"title": "no name"}, "returned dict",
     "UIPageSpec"),
    (adapters.docs, "register_docs", 12, "returned int", "a folder path"),
    (adapters.commands, "register_commands", "hello", "returned str", "click command"),
]


@pytest.mark.parametrize(("adapt", "hook", "value", "got", "expected"), WRONG_SHAPES,
                         ids=[w[1] + "-" + type(w[2]).__name__ for w in WRONG_SHAPES])
def test_a_wrong_shape_names_plugin_hook_and_expected_shape(adapt, hook, value, got, expected):
    with pytest.raises(adapters.ContributionError) as caught:
        adapt("notes", value)
    error = caught.value
    assert (error.plugin, error.hook) == ("notes", hook)
    assert expected in error.expected
    assert str(error).startswith(f"plugin 'notes': {hook} {got}; expected ")
    assert isinstance(error, TypeError)


def test_an_async_register_commands_is_refused_by_name():
    async def later():
        return []

    with pytest.raises(adapters.ContributionError, match="register_commands.*not async"):
        adapters.commands("notes", later())


def test_a_wrong_shape_is_a_warning_on_the_plugin_and_the_host_serves(site, tmp_path):
    data_dir = tmp_path / "data"
    make_healthy(site)
    make_plugin(site, "shapeless", code="""
        from plexichat import hookimpl

        @hookimpl
        def register_event_handlers():
            return ["message.posted"]

        @hookimpl
        def register_health_checks():
            return {"db": lambda: True}
    """)
    with running_host(data_dir, "healthy", "shapeless") as client:
        info = detail(client, "shapeless")
        assert info["state"] == "started"
        assert ("plugin 'shapeless': register_event_handlers returned a list holding str; "
                "expected EventHandler, a list of them or {event: handler}") in info["warnings"]
        assert info["contributions"]["health_checks"] == ["readiness:db"]
        assert_host_serves(client)


# --- PluginMetadata and PluginManifest: one table of fields --------------------------------


def test_plugin_metadata_fields_equal_the_manifest_fields():
    assert issubclass(PluginMetadata, ManifestFields)
    assert issubclass(PluginManifest, ManifestFields)
    assert set(PluginMetadata.model_fields) == set(PluginManifest.model_fields)
    for name, info in PluginManifest.model_fields.items():
        other = PluginMetadata.model_fields[name]
        assert (other.annotation, other.get_default(call_default_factory=True)) == (
            info.annotation, info.get_default(call_default_factory=True)), name


def test_plugin_metadata_takes_the_guides_keywords():
    metadata = PluginMetadata(
        name="my_awesome_plugin", version="1.0.0", plugin_type=PluginType.FEATURE,
        dependencies=["core_system"], permissions=["plugin:read", "plugin:write"],
        ui_pages=[{"name": "dashboard", "path": "ui/dashboard", "title": "Dashboard"}],
        category="utility", something_else=1)
    assert metadata.plugin_type is PluginType.FEATURE is metadata.type
    assert metadata.permissions == ["plugin:read", "plugin:write"]  # not the host's checks
    assert metadata.ui_pages[0].title == "Dashboard"
    assert metadata.something_else == 1
    assert PluginMetadata(name="x", plugin_type="theme").plugin_type is PluginType.THEME
