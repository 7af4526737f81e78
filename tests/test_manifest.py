"""plugin.json validation: what is accepted, and how every refusal is located."""

from __future__ import annotations

import copy
import json

import pytest
from support.dists import make_plugin
from support.guide_awesome import PLUGIN_JSON

from plexichat import PluginManifest, PluginType
from plexichat.kernel.discovery import discover
from plexichat.manifest import DistributionFacts, ManifestError, parse_manifest

# The example manifest of the original plugin guide, verbatim.
GUIDE_MANIFEST = json.loads(PLUGIN_JSON)

DIST = DistributionFacts(name="plexichat-awesome", version="1.0.0")
FILE = "plexichat_awesome/plugin.json"


def guide(**changes):
    data = copy.deepcopy(GUIDE_MANIFEST)
    data.update(changes)
    return data


def parse(data, *, plugin_name="my_awesome_plugin", dist=DIST):
    return parse_manifest(data, plugin_name=plugin_name, dist=dist, file=FILE)


def problems_of(data, **kwargs):
    with pytest.raises(ManifestError) as info:
        parse(data, **kwargs)
    return info.value.problems


def candidate(name):
    [found] = [c for c in discover() if c.name == name]
    return found


# --- accepted --------------------------------------------------------------------------


def test_guide_example_manifest_is_accepted():
    parsed = parse(guide())
    m = parsed.manifest
    assert isinstance(m, PluginManifest)
    assert m.type is PluginType.FEATURE
    assert m.min_plexichat_version == "3.0.0"
    assert m.dependencies == ["core_system"]
    assert m.ui_pages[0].title == "Awesome Dashboard"
    assert m.settings_schema["required"] == ["enabled"]
    assert parsed.warnings == []


def test_guide_example_manifest_is_available_when_installed(site):
    # Renamed: the example plugin distribution of the guide's plugin may be installed.
    make_plugin(site, "guide_example", manifest={**GUIDE_MANIFEST, "name": "guide_example"})
    c = candidate("guide_example")
    assert c.problems == []
    assert c.manifest.min_plexichat_version == "3.0.0"


def test_all_sixteen_guide_types_are_known():
    assert {t.value for t in PluginType} == {
        "core", "feature", "integration", "micro_app", "ai_node", "security_node",
        "storage_node", "extension", "theme", "auth_provider", "notification",
        "analytics", "backup", "monitoring", "automation", "custom",
    }


# --- refused, and located --------------------------------------------------------------


def test_invalid_nested_field_is_reported_with_its_path():
    data = guide()
    del data["ui_pages"][0]["title"]
    [problem] = problems_of(data)
    assert problem.field == "ui_pages.0.title"
    assert problem.distribution == "plexichat-awesome"
    assert problem.file == FILE


def test_invalid_field_error_names_distribution_file_and_field(site):
    manifest = {"name": "broken", "ui_pages": [{"name": "x", "path": "ui/x"}]}
    make_plugin(site, "broken", manifest=manifest)
    [problem] = candidate("broken").problems
    assert problem.startswith("plx-broken: plx_broken/plugin.json: ui_pages.0.title: ")


def test_unknown_plugin_type_is_refused():
    [problem] = problems_of(guide(type="gadget"))
    assert problem.field == "type"


def test_unknown_field_is_refused():
    [problem] = problems_of(guide(colour="red"))
    assert problem.field == "colour"
    assert "unknown field" in problem.message


def test_unknown_permission_is_refused():
    [problem] = problems_of(guide(permissions=["plugin:read", "root"]))
    assert problem.field == "permissions"
    assert "'root'" in problem.message


def test_dependency_that_is_not_a_requirement_is_refused():
    [problem] = problems_of(guide(dependencies=["awesome >= = 1"]))
    assert problem.field == "dependencies"


def test_settings_schema_that_is_not_a_json_schema_is_refused():
    [problem] = problems_of(guide(settings_schema={"type": "bogus"}))
    assert problem.field == "settings_schema"
    assert "JSON Schema" in problem.message


def test_settings_schema_with_bad_nested_keyword_is_refused():
    schema = {"type": "object", "properties": {"interval": {"minimum": "one"}}}
    [problem] = problems_of(guide(settings_schema=schema))
    assert problem.field == "settings_schema"
    assert "properties/interval/minimum" in problem.message


def test_non_pep440_min_plexichat_version_is_refused():
    [problem] = problems_of(guide(min_plexichat_version="three"))
    assert problem.field == "min_plexichat_version"


def test_every_problem_is_reported_not_just_the_first():
    problems = problems_of(guide(type="gadget", colour="red", enabled="maybe"))
    assert {p.field for p in problems} == {"type", "colour", "enabled"}


def test_manifest_that_is_not_an_object_is_refused():
    [problem] = problems_of(["name", "x"])
    assert problem.field == "(root)"


def test_name_differing_from_entry_point_name_is_refused():
    [problem] = problems_of(guide(), plugin_name="awesome")
    assert problem.field == "name"
    assert "'my_awesome_plugin'" in problem.message and "'awesome'" in problem.message


def test_name_differing_from_entry_point_name_is_rejected_at_discovery(site):
    make_plugin(site, "real", manifest={"name": "other"})
    [problem] = candidate("real").problems
    assert "plx_real/plugin.json: name:" in problem
    assert candidate("real").manifest is None


def test_invalid_json_reports_line_and_column(site):
    make_plugin(site, "badjson", manifest='{\n  "name": "badjson",\n  "type": \n}\n')
    [problem] = candidate("badjson").problems
    assert "plx-badjson: plx_badjson/plugin.json" in problem
    assert "line 4 column 1" in problem


# --- defaults and distribution metadata ------------------------------------------------


def test_missing_manifest_gives_default_manifest(site):
    make_plugin(site, "bare", manifest=None)
    c = candidate("bare")
    assert c.problems == []
    assert c.manifest_file is None
    assert c.manifest.type.value == "feature"
    assert c.manifest.permissions == []
    assert c.manifest.name == "bare"


def test_version_and_description_come_from_distribution_metadata(site):
    make_plugin(site, "meta", manifest={"name": "meta"}, version="1.5.0",
                summary="Says things")
    c = candidate("meta")
    assert c.manifest.version == "1.5.0"
    assert c.manifest.description == "Says things"
    assert c.warnings == []


def test_author_license_and_homepage_come_from_distribution_metadata():
    dist = DistributionFacts(name="plexichat-awesome", version="1.0.0", author="Ada",
                             license="MIT", homepage="https://example.invalid/awesome")
    data = {k: v for k, v in guide().items() if k not in ("author", "license", "homepage")}
    m = parse(data, dist=dist).manifest
    assert (m.author, m.license, m.homepage) == ("Ada", "MIT", "https://example.invalid/awesome")


def test_manifest_disagreeing_with_metadata_is_a_warning(site):
    make_plugin(site, "meta", manifest={"name": "meta", "version": "2.0.0"}, version="1.5.0")
    c = candidate("meta")
    assert c.problems == []
    assert c.manifest.version == "2.0.0"
    [warning] = c.warnings
    assert "plx-meta" in warning and "version" in warning
    assert "'2.0.0'" in warning and "'1.5.0'" in warning


def test_manifest_agreeing_with_metadata_is_not_a_warning():
    assert parse(guide(), dist=DistributionFacts(name="d", version="1.0.0")).warnings == []


def test_manifest_round_trips_through_json():
    m = parse(guide()).manifest
    again = PluginManifest.model_validate(json.loads(json.dumps(m.model_dump(mode="json"))))
    assert again == m


def test_author_email_metadata_gives_the_author_name(site):
    make_plugin(site, "authored", manifest={"name": "authored"},
                metadata={"Author-email": "Ada Lovelace <ada@example.org>"})
    assert candidate("authored").manifest.author == "Ada Lovelace"


def test_manifest_author_matching_author_email_name_is_not_a_warning(site):
    make_plugin(site, "authored", manifest={"name": "authored", "author": "Ada Lovelace"},
                metadata={"Author-email": "Ada Lovelace <ada@example.org>"})
    assert candidate("authored").warnings == []


def test_equal_versions_spelt_differently_are_not_a_warning(site):
    make_plugin(site, "spelt", manifest={"name": "spelt", "version": "1.0"}, version="1.0.0")
    assert candidate("spelt").warnings == []
