"""Plugin settings: one JSON Schema per plugin, validated with Draft 2020-12.

The schema is the manifest's ``settings_schema`` merged with what the plugin's
``config_schema`` hook returns. Defaults are filled in; errors carry the JSON path and
the rule that was violated; fields marked ``writeOnly`` or ``format: password`` (at any depth) are
secrets (:func:`is_secret`, the one rule): they never leave the host in clear, and
the host database keeps them sealed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

__all__ = [
    "SECRET_MASK",
    "SECRET_MESSAGES",
    "SettingsError",
    "SettingsInvalid",
    "SettingsSchemaInvalid",
    "fill_defaults",
    "is_secret",
    "map_secrets",
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


SECRET_MESSAGES = {
    "minLength": "is too short",
    "maxLength": "is too long",
    "pattern": "does not match the required pattern",
    "type": "has the wrong type",
    "enum": "is not one of the allowed values",
    "required": "is required",
}
"""What an error about a secret says instead of the validator's message (which may
quote the value)."""


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
        rule = str(err.validator)
        # a secret's value is never repeated in an error (they reach logs and clients)
        message = (SECRET_MESSAGES.get(rule, f"is not valid ({rule})")
                   if is_secret(err.schema) else err.message)
        errors.append(SettingsError(path=path, rule=rule, message=message))
    if errors:
        errors.sort(key=lambda e: (e.path, e.rule))
        raise SettingsInvalid(plugin, errors)


def is_secret(prop: Any) -> bool:
    """The one rule for secrets: a (sub-)schema with ``writeOnly: true`` or
    ``format: password``."""
    return isinstance(prop, Mapping) and (prop.get("writeOnly") is True
                                          or prop.get("format") == "password")


def secret_fields(schema: Mapping[str, Any]) -> set[str]:
    """Top-level properties that are secrets (see :func:`is_secret`)."""
    return {name for name, prop in (schema.get("properties") or {}).items()
            if is_secret(prop)}


def map_secrets(schema: Any, data: Any, change: Callable[[Any], Any]) -> Any:
    """A copy of ``data`` whose secret values — at any depth: properties of nested
    objects, ``additionalProperties``, array ``items`` and ``prefixItems`` — are replaced
    by ``change(value)``. Empty secrets (``None``, ``""``) are left as they are."""
    if is_secret(schema):
        return data if data in (None, "") else change(data)
    if isinstance(data, Mapping):
        return {k: map_secrets(_property(schema, k), v, change) for k, v in data.items()}
    if isinstance(data, list):
        return [map_secrets(_item(schema, i), v, change) for i, v in enumerate(data)]
    return data


def mask_secrets(schema: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` whose secrets (at any depth) read as :data:`SECRET_MASK`."""
    return dict(map_secrets(schema, data, lambda _value: SECRET_MASK))


_MISSING: Any = object()


def unmask(schema: Mapping[str, Any], new: Mapping[str, Any],
           old: Mapping[str, Any]) -> dict[str, Any]:
    """Put back stored secrets (at any depth; array elements by position) where a
    client sent the mask (it never saw them)."""
    def walk(prop: Any, value: Any, before: Any) -> Any:
        if is_secret(prop):
            return before if value == SECRET_MASK and before is not _MISSING else value
        if isinstance(value, Mapping):
            return {k: walk(_property(prop, k), v,
                            before.get(k, _MISSING) if isinstance(before, Mapping)
                            else _MISSING)
                    for k, v in value.items()}
        if isinstance(value, list):
            return [walk(_item(prop, i), v,
                         before[i] if isinstance(before, list) and i < len(before)
                         else _MISSING)
                    for i, v in enumerate(value)]
        return value
    return dict(walk(schema, new, old))


def _property(schema: Any, key: str) -> Any:
    """The sub-schema of property ``key`` of an object schema (None: unknown)."""
    if not isinstance(schema, Mapping):
        return None
    props = schema.get("properties")
    if isinstance(props, Mapping) and key in props:
        return props[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _item(schema: Any, index: int) -> Any:
    """The sub-schema of element ``index`` of an array schema (None: unknown)."""
    if not isinstance(schema, Mapping):
        return None
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list) and index < len(prefix):
        return prefix[index]
    items = schema.get("items")
    return items if isinstance(items, Mapping) else None
