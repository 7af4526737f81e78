"""A plugin's settings form, generated from its JSON Schema.

:func:`build_fields` turns the schema's top-level properties into form fields: strings
(text or, for secrets, password inputs), numbers and integers (with their minimum and
maximum), booleans (checkboxes), enums (selects), arrays of strings or numbers (one item
a line; an enum of items becomes checkboxes), and anything else as JSON. Required fields
are marked; descriptions become help text. :func:`parse_form` reads a submitted form
back into a settings document for :meth:`plexichat.host.PluginHost.update_settings`,
which validates it; :func:`errors_by_field` puts the errors it reports next to their
fields.

Secrets (``writeOnly`` or ``format: password``) are never rendered: their input is
empty, and leaving it empty keeps the stored value (the form sends
:data:`~plexichat.settings.SECRET_MASK`, which the host replaces with the stored secret).
Their error messages are rewritten so that a value never comes back in one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..settings import SECRET_MASK, SECRET_MESSAGES, SettingsError, mask_secrets, secret_fields

__all__ = ["FormField", "build_fields", "errors_by_field", "missing_required", "parse_form"]

FIELD_PREFIX = "setting."
CLEAR_PREFIX = "clear."

_REQUIRED_RE = re.compile(r"^'(?P<name>.+)' is a required property$")
_PATH_RE = re.compile(r"^\$\.(?P<name>[^.\[]+)(?P<rest>.*)$")


@dataclass
class FormField:
    """One input of the generated form."""

    name: str
    label: str
    kind: str
    """``text``, ``password``, ``number``, ``integer``, ``checkbox``, ``select``,
    ``lines``, ``checkboxes``, ``json`` or ``readonly``."""
    required: bool = False
    help: str = ""
    value: Any = ""
    """What the input shows: a string, a bool (checkbox) or a set of option values."""
    options: list[tuple[str, str]] = field(default_factory=list)
    minimum: float | int | None = None
    maximum: float | int | None = None
    step: str = ""
    min_length: int | None = None
    max_length: int | None = None
    pattern: str = ""
    secret_set: bool = False
    """For a secret: a value is stored (it is not shown)."""
    constraints: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def input_name(self) -> str:
        """The name of the form control."""
        return FIELD_PREFIX + self.name

    @property
    def clear_name(self) -> str:
        """The name of a secret's "clear the stored value" checkbox."""
        return CLEAR_PREFIX + self.name

    @property
    def described_by(self) -> str:
        """The ids of the field's help text and error list."""
        ids = []
        if self.help or self.constraints:
            ids.append(self.dom_id + "-help")
        if self.errors:
            ids.append(self.dom_id + "-error")
        return " ".join(ids)

    @property
    def dom_id(self) -> str:
        """An HTML id for the control."""
        return "setting-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


def _type_of(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "enum" in prop:
        return "enum"
    if kind is None and "const" in prop:
        return "enum"
    return str(kind or "")


def _kind(name: str, prop: Mapping[str, Any], secrets: set[str]) -> str:
    if prop.get("readOnly") is True:
        return "readonly"
    kind = _type_of(prop)
    if "enum" in prop and isinstance(prop["enum"], list) and kind != "array":
        return "select"
    if name in secrets:
        return "password"
    if kind == "string":
        return "text"
    if kind in ("number", "integer"):
        return kind
    if kind == "boolean":
        return "checkbox"
    if kind == "array":
        items = prop.get("items")
        if isinstance(items, Mapping):
            if isinstance(items.get("enum"), list):
                return "checkboxes"
            if _type_of(items) in ("string", "number", "integer"):
                return "lines"
    return "json"


def _fmt_number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _constraints(prop: Mapping[str, Any]) -> str:
    parts = []
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        parts.append(f"from {_fmt_number(low)} to {_fmt_number(high)}")
    elif low is not None:
        parts.append(f"at least {_fmt_number(low)}")
    elif high is not None:
        parts.append(f"at most {_fmt_number(high)}")
    if prop.get("exclusiveMinimum") is not None:
        parts.append(f"more than {_fmt_number(prop['exclusiveMinimum'])}")
    if prop.get("exclusiveMaximum") is not None:
        parts.append(f"less than {_fmt_number(prop['exclusiveMaximum'])}")
    if prop.get("minLength") is not None:
        parts.append(f"at least {prop['minLength']} characters")
    if prop.get("maxLength") is not None:
        parts.append(f"at most {prop['maxLength']} characters")
    if prop.get("pattern"):
        parts.append(f"matching {prop['pattern']}")
    if prop.get("minItems") is not None:
        parts.append(f"at least {prop['minItems']} items")
    if prop.get("maxItems") is not None:
        parts.append(f"at most {prop['maxItems']} items")
    if "default" in prop and prop.get("writeOnly") is not True:
        default = prop["default"]
        if not isinstance(default, (dict, list)) or default:
            parts.append(f"default {json.dumps(default)}")
    return "; ".join(parts)


def _display(kind: str, value: Any) -> Any:
    """The value an input shows for a stored setting."""
    if kind == "checkbox":
        return bool(value)
    if kind == "select":
        return json.dumps(value) if value is not None else ""
    if kind == "checkboxes":
        return {json.dumps(v) for v in value} if isinstance(value, list) else set()
    if kind == "lines":
        return "\n".join(_fmt_number(v) if not isinstance(v, str) else v
                         for v in value) if isinstance(value, list) else ""
    if kind in ("number", "integer"):
        return _fmt_number(value) if isinstance(value, (int, float)) else (
            "" if value is None else str(value))
    if kind in ("json", "readonly"):
        return "" if value is None else json.dumps(value, indent=2)
    if kind == "password":
        return ""
    return "" if value is None else str(value)


def build_fields(
    schema: Mapping[str, Any],
    current: Mapping[str, Any],
    submitted: Mapping[str, list[str]] | None = None,
) -> list[FormField]:
    """The form fields of ``schema`` showing ``current`` settings (secrets in clear are
    fine here: they are never rendered) or, after a refused submission, what the
    operator ``submitted``."""
    secrets = secret_fields(schema)
    shown = mask_secrets(schema, current)  # nested secrets too (JSON and lines fields)
    required = set(schema.get("required") or [])
    fields: list[FormField] = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            prop = {}
        kind = _kind(name, prop, secrets)
        f = FormField(
            name=name,
            label=str(prop.get("title") or name),
            kind=kind,
            required=name in required,
            help=str(prop.get("description") or ""),
            constraints=_constraints(prop),
            secret_set=name in secrets and current.get(name) not in (None, ""),
        )
        if kind in ("number", "integer"):
            f.minimum = prop.get("minimum")
            f.maximum = prop.get("maximum")
            f.step = "1" if kind == "integer" else "any"
        if kind in ("text", "password"):
            f.min_length = prop.get("minLength")
            f.max_length = prop.get("maxLength")
            f.pattern = str(prop.get("pattern") or "")
        if kind == "select":
            f.options = [(json.dumps(v), str(v)) for v in prop["enum"]]
        if kind == "checkboxes":
            f.options = [(json.dumps(v), str(v)) for v in prop["items"]["enum"]]
        if submitted is not None and kind not in ("password", "readonly"):
            raw = submitted.get(f.input_name, [])
            if kind == "checkbox":
                f.value = bool(raw)
            elif kind == "checkboxes":
                f.value = set(raw)
            else:
                f.value = raw[0] if raw else ""
        else:
            f.value = _display(kind, shown[name] if name in shown
                               else prop.get("default"))
        fields.append(f)
    return fields


def _number(raw: str, integer: bool) -> Any:
    """A number from its text; text that is not one is passed on for the schema to refuse."""
    try:
        if integer and re.fullmatch(r"[+-]?\d+", raw):
            return int(raw)
        value = float(raw)
    except ValueError:
        return raw
    if not math.isfinite(value):
        return raw
    return value


def parse_form(
    schema: Mapping[str, Any],
    form: Mapping[str, list[str]],
    current: Mapping[str, Any],
) -> dict[str, Any]:
    """The settings document a submitted form describes.

    Starts from the stored settings (secrets masked, so keys the form does not show
    survive and secrets are put back by the host), then applies each field. An empty
    optional field is left out, so its default applies.
    """
    required = set(schema.get("required") or [])
    out: dict[str, Any] = mask_secrets(schema, current)
    for f in build_fields(schema, current):
        raw_list = form.get(f.input_name, [])
        raw = raw_list[0].strip() if raw_list and f.kind not in ("text", "password") else (
            raw_list[0] if raw_list else "")
        optional = f.name not in required
        if f.kind == "readonly":
            continue
        if f.kind == "checkbox":
            out[f.name] = bool(raw_list)
            continue
        if f.kind == "checkboxes":
            chosen = []
            for value in raw_list:
                try:
                    chosen.append(json.loads(value))
                except ValueError:
                    chosen.append(value)
            out[f.name] = chosen
            continue
        if f.kind == "password":
            if form.get(f.clear_name):
                out.pop(f.name, None)
            elif raw == "":
                if f.secret_set:
                    out[f.name] = SECRET_MASK
                elif optional:
                    out.pop(f.name, None)
                else:
                    out[f.name] = ""
            else:
                out[f.name] = raw
            continue
        if raw == "" and f.kind != "text" and f.kind != "lines":
            out.pop(f.name, None)  # an empty number, select or JSON field: not given
            continue
        if f.kind == "text":
            if raw == "" and optional:
                out.pop(f.name, None)
            else:
                out[f.name] = raw
        elif f.kind in ("number", "integer"):
            out[f.name] = _number(raw, f.kind == "integer")
        elif f.kind == "select":
            try:
                out[f.name] = json.loads(raw)
            except ValueError:
                out[f.name] = raw
        elif f.kind == "lines":
            items_schema = (schema["properties"][f.name].get("items") or {})
            numeric = _type_of(items_schema) in ("number", "integer")
            lines = [line.strip() for line in raw.splitlines() if line.strip()]
            out[f.name] = ([_number(line, _type_of(items_schema) == "integer")
                            for line in lines] if numeric else lines)
        else:  # json
            try:
                out[f.name] = json.loads(raw)
            except ValueError:
                out[f.name] = raw  # the schema says what is wrong with it
    return out


def missing_required(schema: Mapping[str, Any], form: Mapping[str, list[str]],
                     current: Mapping[str, Any]) -> list[SettingsError]:
    """Required fields the operator emptied.

    Left out of the document, the host would quietly put their default back; the form
    says they are required instead. A secret that is stored counts as given.
    """
    errors = []
    for f in build_fields(schema, current):
        if not f.required or f.kind in ("checkbox", "checkboxes", "readonly"):
            continue
        raw = (form.get(f.input_name) or [""])[0].strip()
        if raw == "" and not (f.kind == "password" and f.secret_set
                              and not form.get(f.clear_name)):
            errors.append(SettingsError(path=f"$.{f.name}", rule="required",
                                        message="is required"))
    return errors


def errors_by_field(
    errors: Iterable[SettingsError], fields: list[FormField], schema: Mapping[str, Any]
) -> list[str]:
    """Attach each error to its field (``FormField.errors``); return the rest.

    ``$.interval`` belongs to ``interval``; ``$.tags[2]`` to ``tags`` (as "item 3");
    a ``required`` error at ``$`` to the property it names.
    """
    by_name = {f.name: f for f in fields}
    secrets = secret_fields(schema)
    general: list[str] = []
    for error in errors:
        name, rest = None, ""
        match = _PATH_RE.match(error.path)
        if match:
            name, rest = match.group("name"), match.group("rest")
        elif error.rule == "required":
            required = _REQUIRED_RE.match(error.message)
            if required:
                name = required.group("name")
        target = by_name.get(name) if name else None
        if target is None:
            general.append(f"{error.path}: {error.message}")
            continue
        message = error.message
        if name in secrets:
            message = SECRET_MESSAGES.get(error.rule, f"is not valid ({error.rule})")
        elif error.rule == "required" and not match:
            message = "is required"
        item = re.match(r"^\[(\d+)\]", rest)
        if item:
            message = f"item {int(item.group(1)) + 1}: {message}"
        target.errors.append(message)
    return general
