"""Plugin settings: merged schemas, defaults, JSON-path errors, secrets."""

from __future__ import annotations

import pytest

from plexichat.settings import (
    SECRET_MASK,
    SettingsInvalid,
    fill_defaults,
    mask_secrets,
    merge_schemas,
    unmask,
    validate_settings,
)

GUIDE_SCHEMA = {
    "type": "object",
    "properties": {
        "enabled": {"type": "boolean", "default": True},
        "interval": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 60},
    },
    "required": ["enabled"],
}


def test_defaults_are_filled():
    assert fill_defaults(GUIDE_SCHEMA, {}) == {"enabled": True, "interval": 60}


def test_given_values_beat_defaults():
    assert fill_defaults(GUIDE_SCHEMA, {"interval": 5}) == {"enabled": True, "interval": 5}


def test_error_names_json_path_and_rule():
    with pytest.raises(SettingsInvalid) as info:
        validate_settings("awesome", GUIDE_SCHEMA, {"enabled": True, "interval": 0})
    (error,) = info.value.errors
    assert error.path == "$.interval"
    assert error.rule == "minimum"
    assert "awesome" in str(info.value)


def test_nested_array_error_path():
    schema = {"type": "object", "properties": {"words": {"type": "array",
                                                          "items": {"type": "string"}}}}
    with pytest.raises(SettingsInvalid) as info:
        validate_settings("m", schema, {"words": ["ok", 3]})
    assert info.value.errors[0].path == "$.words[1]"
    assert info.value.errors[0].rule == "type"


def test_missing_required_is_reported():
    with pytest.raises(SettingsInvalid) as info:
        validate_settings("awesome", GUIDE_SCHEMA, {"interval": 5})
    assert info.value.errors[0].rule == "required"


def test_valid_settings_pass():
    validate_settings("awesome", GUIDE_SCHEMA, {"enabled": False, "interval": 10})


def test_merge_combines_properties_and_required():
    merged = merge_schemas([GUIDE_SCHEMA, {"properties": {"name": {"type": "string"}},
                                           "required": ["name"]}])
    assert set(merged["properties"]) == {"enabled", "interval", "name"}
    assert merged["required"] == ["enabled", "name"]


def test_merge_later_property_wins():
    merged = merge_schemas([GUIDE_SCHEMA, {"properties": {"interval": {"type": "number"}}}])
    assert merged["properties"]["interval"] == {"type": "number"}


def test_secrets_are_masked_and_restored():
    schema = {"type": "object", "properties": {
        "token": {"type": "string", "writeOnly": True},
        "password": {"type": "string", "format": "password"},
        "name": {"type": "string"}}}
    stored = {"token": "t0k", "password": "pw", "name": "n"}
    masked = mask_secrets(schema, stored)
    assert masked == {"token": SECRET_MASK, "password": SECRET_MASK, "name": "n"}
    assert unmask(schema, {**masked, "name": "m"}, stored) == {**stored, "name": "m"}


def test_nested_secrets_are_masked_and_restored():
    schema = {"type": "object", "properties": {
        "smtp": {"type": "object", "properties": {
            "password": {"type": "string", "writeOnly": True},
            "host": {"type": "string"}}}}}
    stored = {"smtp": {"password": "pw", "host": "mx"}}
    masked = mask_secrets(schema, stored)
    assert masked == {"smtp": {"password": SECRET_MASK, "host": "mx"}}
    assert stored["smtp"]["password"] == "pw"  # the stored copy is untouched
    back = unmask(schema, {"smtp": {**masked["smtp"], "host": "mx2"}}, stored)
    assert back == {"smtp": {"password": "pw", "host": "mx2"}}


def test_secrets_in_arrays_and_maps_are_masked_and_restored_by_position():
    schema = {"type": "object", "properties": {
        "upstreams": {"type": "array", "items": {"type": "object", "properties": {
            "url": {"type": "string"}, "token": {"type": "string", "format": "password"}}}},
        "keys": {"type": "array", "items": {"type": "string", "writeOnly": True}},
        "pair": {"type": "array", "prefixItems": [{"type": "string"},
                                                  {"type": "string", "writeOnly": True}]},
        "headers": {"type": "object",
                    "additionalProperties": {"type": "string", "writeOnly": True}}}}
    stored = {"upstreams": [{"url": "a", "token": "t1"}, {"url": "b", "token": ""}],
              "keys": ["k1", "k2"], "pair": ["user", "pw"], "headers": {"x-api": "h1"}}
    masked = mask_secrets(schema, stored)
    assert masked == {"upstreams": [{"url": "a", "token": SECRET_MASK},
                                    {"url": "b", "token": ""}],  # empty: nothing to hide
                      "keys": [SECRET_MASK, SECRET_MASK], "pair": ["user", SECRET_MASK],
                      "headers": {"x-api": SECRET_MASK}}
    sent = {**masked, "keys": [SECRET_MASK, "new"],
            "upstreams": [*masked["upstreams"], {"url": "c", "token": SECRET_MASK}]}
    back = unmask(schema, sent, stored)
    assert back["keys"] == ["k1", "new"]
    assert back["upstreams"][0]["token"] == "t1"
    # a mask where nothing was stored stays as sent (the schema then decides)
    assert back["upstreams"][2]["token"] == SECRET_MASK
    assert back["pair"] == ["user", "pw"] and back["headers"] == {"x-api": "h1"}


def test_errors_about_a_secret_do_not_repeat_its_value():
    schema = {"type": "object", "properties": {
        "outer": {"type": "object", "properties": {
            "token": {"type": "string", "writeOnly": True, "minLength": 20}}},
        "pin": {"type": "integer", "format": "password"}}}
    with pytest.raises(SettingsInvalid) as err:
        validate_settings("p", schema, {"outer": {"token": "short-secret-value"},
                                        "pin": "pin-secret-value"})
    text = str(err.value)
    assert "short-secret-value" not in text and "pin-secret-value" not in text
    assert "$.outer.token: is too short (minLength)" in text
    assert "$.pin: has the wrong type (type)" in text
