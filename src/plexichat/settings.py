"""Plugin settings: one JSON Schema per plugin, validated with Draft 2020-12.

The schema is the manifest's ``settings_schema`` merged with what the plugin's
``config_schema`` hook returns. Defaults are filled in; errors carry the JSON path and
the rule that was violated; fields marked ``writeOnly`` or ``format: password`` are
secrets and never leave the host in clear.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

__all__ = [
    "SECRET_MASK",
    "SettingsError",
    "SettingsInvalid",
    "SettingsSchemaInvalid",
    "fill_defaults",
    "mask_secrets",
    "merge_schemas",
    "secret_fields",
    "unmask",
    "validate_settings",
]

SECRET_MASK = "********"
"""What a secret's value looks like when read back."""


@dataclass(frozen=True)
class SettingsError:
    """One violated rule: where (JSON path), which rule, and what it says."""

    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} ({self.rule})"


class SettingsInvalid(ValueError):
    """Settings that do not match the plugin's schema."""

    def __init__(self, plugin: str, errors: list[SettingsError]) -> None:
        self.plugin = plugin
        self.errors = errors
        super().__init__(f"invalid settings for plugin {plugin!r}: "
                         + "; ".join(str(e) for e in errors))


class SettingsSchemaInvalid(SettingsInvalid):
    """The plugin's settings schema (manifest ``settings_schema`` + ``config_schema``) is
    not a valid JSON Schema: a fault of the plugin, not of the settings."""

    def __init__(self, plugin: str, error: SchemaError) -> None:
        path = "$schema" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                                   for p in error.absolute_path)
        super().__init__(plugin, [SettingsError(path=path, rule="schema",
                                                message=error.message)])
        self.args = (f"the settings schema of plugin {plugin!r} is not a valid JSON Schema "
                     f"(Draft 2020-12; from its manifest's settings_schema and its "
                     f"config_schema hook): {path}: {error.message}",)


def merge_schemas(schemas: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Combine object schemas: properties merged (later wins), ``required`` united."""
    merged: dict[str, Any] = {"type": "object", "properties": {}}
    required: list[str] = []
    for schema in schemas:
        if not schema:
            continue
        for key, value in schema.items():
            if key == "properties":
                merged["properties"].update(copy.deepcopy(dict(value)))
            elif key == "required":
                required.extend(r for r in value if r not in required)
            else:
                merged[key] = copy.deepcopy(value)
    if required:
        merged["required"] = required
    return merged


def fill_defaults(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every missing top-level (and nested object) default filled in."""
    out = copy.deepcopy(dict(data))
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        if name not in out and "default" in prop:
            out[name] = copy.deepcopy(prop["default"])
        if prop.get("type") == "object" and isinstance(out.get(name), Mapping):
            out[name] = fill_defaults(prop, out[name])
    return out


def validate_settings(plugin: str, schema: Mapping[str, Any], data: Any) -> None:
    """Raise :class:`SettingsInvalid` listing every error, sorted by path.

    A ``schema`` that is itself no valid JSON Schema (Draft 2020-12) raises
    :class:`SettingsSchemaInvalid`, naming where in the schema it is wrong: no settings
    can be checked against it.
    """
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as bad:
        raise SettingsSchemaInvalid(plugin, bad) from None
    validator = Draft202012Validator(schema)
    errors = []
    for err in validator.iter_errors(data):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                             for p in err.absolute_path)
        errors.append(SettingsError(path=path, rule=str(err.validator), message=err.message))
    if errors:
        errors.sort(key=lambda e: (e.path, e.rule))
        raise SettingsInvalid(plugin, errors)


def secret_fields(schema: Mapping[str, Any]) -> set[str]:
    """Top-level properties that are secrets (``writeOnly`` or ``format: password``)."""
    return {
        name for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, Mapping)
        and (prop.get("writeOnly") is True or prop.get("format") == "password")
    }


def mask_secrets(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` whose secrets (also in nested objects) read as
    :data:`SECRET_MASK`."""
    secrets = secret_fields(schema)
    out: dict[str, Any] = {k: (SECRET_MASK if k in secrets and v not in (None, "") else v)
                           for k, v in data.items()}
    for key, prop in _object_properties(schema, out):
        out[key] = mask_secrets(prop, out[key])
    return out


def unmask(schema: Mapping[str, Any], new: Mapping[str, Any],
           old: Mapping[str, Any]) -> dict[str, Any]:
    """Put back stored secrets (also in nested objects) where a client sent the mask
    (it never saw them)."""
    secrets = secret_fields(schema)
    out = dict(new)
    for key in secrets:
        if out.get(key) == SECRET_MASK and key in old:
            out[key] = old[key]
    for key, prop in _object_properties(schema, out):
        if isinstance(old.get(key), Mapping):
            out[key] = unmask(prop, out[key], old[key])
    return out


def _object_properties(schema: Mapping[str, Any],
                       data: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(key, sub-schema)`` of the nested objects in ``data`` that have properties."""
    return [(k, prop) for k, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, Mapping) and prop.get("properties")
            and isinstance(data.get(k), Mapping)]
