"""Resolution: compatibility, dependencies, load order and the operator's filters."""

from __future__ import annotations

from plexichat.config import HostSettings
from plexichat.kernel.discovery import PluginCandidate
from plexichat.kernel.resolver import PluginFilter, resolve
from plexichat.manifest import PluginManifest


def cand(name, *, deps=(), version="1.0.0", problems=(), **manifest):
    data = {"name": name, "version": version, "type": "feature",
            "dependencies": list(deps), "api_version": "1.0", "enabled": True}
    data.update(manifest)
    return PluginCandidate(
        name=name,
        distribution=f"plx-{name}",
        distribution_version=version,
        entry_point=f"plx_{name}",
        manifest=None if problems else PluginManifest.from_checked(data),
        problems=list(problems),
    )


def names(resolution):
    return [c.name for c in resolution.order]


# --- dependencies ----------------------------------------------------------------------


def test_missing_dependency_is_rejected_by_name():
    r = resolve([cand("app", deps=["awesome"])])
    assert names(r) == []
    assert r.rejected["app"] == "requires 'awesome', which is not installed"


def test_version_mismatched_dependency_is_rejected():
    r = resolve([cand("app", deps=["awesome>=1.2"]), cand("awesome", version="1.1")])
    assert names(r) == ["awesome"]
    assert "awesome>=1.2" in r.rejected["app"]
    assert "awesome 1.1 is installed" in r.rejected["app"]


def test_version_matched_dependency_is_accepted():
    r = resolve([cand("app", deps=["awesome>=1.2"]), cand("awesome", version="1.2.1")])
    assert r.rejected == {}
    assert names(r) == ["awesome", "app"]


def test_dependency_cycle_rejects_each_member_by_name():
    r = resolve([cand("a", deps=["b"]), cand("b", deps=["c"]), cand("c", deps=["a"]),
                 cand("free")])
    assert names(r) == ["free"]
    for member in "abc":
        reason = r.rejected[member]
        assert reason.startswith("dependency cycle: ")
        assert all(f"{m}" in reason.split(": ", 1)[1].split(" -> ") for m in "abc")


def test_self_dependency_is_a_cycle():
    r = resolve([cand("narcissus", deps=["narcissus"])])
    assert r.rejected["narcissus"].startswith("dependency cycle")


def test_dependents_of_a_rejected_plugin_are_rejected_with_the_chain():
    r = resolve([
        cand("base", problems=["plx-base: plx_base/plugin.json: type: bad"]),
        cand("middle", deps=["base"]),
        cand("top", deps=["middle"]),
    ])
    assert names(r) == []
    assert r.rejected["middle"].startswith("requires 'base', which was rejected: plx-base")
    assert r.rejected["top"].startswith(
        "requires 'middle', which was rejected: requires 'base', which was rejected: plx-base"
    )


def test_dependents_of_a_cycle_are_rejected_whatever_their_names():
    # "b" sorts before "c", so a single pass would still see "c" alive when checking "b".
    r = resolve([cand("x", deps=["y"]), cand("y", deps=["x"]),
                 cand("c", deps=["x"]), cand("b", deps=["c"]), cand("free")])
    assert names(r) == ["free"]
    assert r.rejected["c"].startswith("requires 'x', which was rejected: dependency cycle")
    assert r.rejected["b"].startswith("requires 'c', which was rejected: requires 'x'")


def test_builtin_core_system_satisfies_a_dependency():
    r = resolve([cand("app", deps=["core_system", "core_system>=3.0"])])
    assert r.rejected == {}
    assert names(r) == ["app"]


def test_builtin_version_is_checked():
    r = resolve([cand("app", deps=["core_system>=99"])])
    assert "core_system>=99" in r.rejected["app"]


def test_plugin_may_not_claim_a_builtin_name():
    r = resolve([cand("core_system")])
    assert "built into the host" in r.rejected["core_system"]


def test_dependencies_load_first():
    r = resolve([cand("top", deps=["middle", "base"]), cand("middle", deps=["base"]),
                 cand("base"), cand("alone")])
    order = names(r)
    assert sorted(order) == ["alone", "base", "middle", "top"]
    assert order.index("base") < order.index("middle") < order.index("top")


def test_dependency_on_a_disabled_plugin_refuses_the_dependent():
    r = resolve([cand("app", deps=["extra"]), cand("extra")],
                PluginFilter.from_values(None, "extra"))
    assert names(r) == []
    assert r.disabled == {"extra": "listed in PLEXICHAT_DISABLE_PLUGINS"}
    assert r.rejected["app"].startswith("requires 'extra', which is disabled")


# --- compatibility ---------------------------------------------------------------------


def test_incompatible_min_plexichat_version_is_rejected():
    r = resolve([cand("future", min_plexichat_version="4.0")], host_version="3.0.0")
    assert r.rejected["future"] == "needs PlexiChat >= 4.0, but this host is 3.0.0"


def test_min_plexichat_version_3_0_0_loads_on_this_host():
    r = resolve([cand("guide", min_plexichat_version="3.0.0")])
    assert names(r) == ["guide"]


def test_unsupported_api_version_is_rejected():
    r = resolve([cand("new", api_version="2.0"), cand("newer_minor", api_version="1.1")])
    assert "needs plugin API 2.0" in r.rejected["new"]
    assert "needs plugin API 1.1" in r.rejected["newer_minor"]


def test_candidate_with_manifest_problems_is_rejected_with_them():
    r = resolve([cand("bad", problems=["one", "two"])])
    assert r.rejected["bad"] == "one; two"


# --- the operator's filters ------------------------------------------------------------


def test_load_plugins_loads_only_those_listed():
    f = PluginFilter.from_env({"PLEXICHAT_LOAD_PLUGINS": "a, c"})
    r = resolve([cand("a"), cand("b"), cand("c")], f)
    assert names(r) == ["a", "c"]
    assert r.disabled == {"b": "not listed in PLEXICHAT_LOAD_PLUGINS"}


def test_empty_load_plugins_loads_none():
    f = PluginFilter.from_env({"PLEXICHAT_LOAD_PLUGINS": ""})
    r = resolve([cand("a"), cand("b")], f)
    assert names(r) == []
    assert set(r.disabled) == {"a", "b"}


def test_unset_load_plugins_loads_all():
    r = resolve([cand("a"), cand("b")], PluginFilter.from_env({}))
    assert names(r) == ["a", "b"]


def test_disable_plugins_keeps_those_listed_from_loading():
    f = PluginFilter.from_env({"PLEXICHAT_DISABLE_PLUGINS": "b,c"})
    r = resolve([cand("a"), cand("b"), cand("c")], f)
    assert names(r) == ["a"]
    assert r.disabled == {n: "listed in PLEXICHAT_DISABLE_PLUGINS" for n in "bc"}


def test_manifest_enabled_false_is_disabled():
    r = resolve([cand("off", enabled=False)])
    assert "enabled" in r.disabled["off"]


def test_host_settings_read_empty_load_plugins_as_none(monkeypatch):
    monkeypatch.setenv("PLEXICHAT_LOAD_PLUGINS", "")
    assert HostSettings().plugin_filter().load_only == frozenset()


def test_host_settings_read_disable_plugins(monkeypatch):
    monkeypatch.setenv("PLEXICHAT_DISABLE_PLUGINS", "x,y")
    assert set(HostSettings().plugin_filter().disabled) == {"x", "y"}


def test_an_invalid_dependency_is_rejected_with_the_parser_reason():
    r = resolve([cand("app", deps=["awesome >>= 1"]), cand("awesome")])
    assert names(r) == ["awesome"]
    assert r.rejected["app"].startswith("dependency 'awesome >>= 1' is not valid: ")


def test_dependencies_by_plain_name_need_no_requirement_parser():
    # `plugins list` resolves on every run; plain names (what manifests almost always
    # hold) must not pay for importing packaging.requirements.
    code = (
        "import sys\n"
        "from tests.test_resolver import cand, names\n"
        "from plexichat.kernel.resolver import resolve\n"
        "r = resolve([cand('app', deps=['awesome', 'core_system']), cand('awesome')])\n"
        "assert names(r) == ['awesome', 'app'], names(r)\n"
        "print('packaging.requirements' in sys.modules)\n"
    )
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
