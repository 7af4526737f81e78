"""The plugin manifest: ``plugin.json`` as data, validated before any plugin code runs.

This module does no I/O. :func:`parse_manifest` turns the decoded JSON of one
``plugin.json`` (plus the distribution's own metadata) into a :class:`PluginManifest`,
or raises :class:`ManifestError` whose problems each name the distribution, the file and
the field path.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .markers import ENTRY_POINT_GROUP
from .permissions import KNOWN_PERMISSIONS

__all__ = [
    "ManifestError",
    "ManifestFields",
    "ManifestProblem",
    "PluginManifest",
    "PluginType",
    "TaskDeclaration",
    "UIPage",
    "parse_manifest",
]

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

ESSENTIAL_CAPABLE_HOOKS: tuple[str, ...] = ("message_will_post", "message_will_update")
"""The hooks a manifest may list in ``essential_hooks``."""


class PluginType(str, enum.Enum):
    """The sixteen plugin types of the plugin guide."""

    CORE = "core"
    FEATURE = "feature"
    INTEGRATION = "integration"
    MICRO_APP = "micro_app"
    AI_NODE = "ai_node"
    SECURITY_NODE = "security_node"
    STORAGE_NODE = "storage_node"
    EXTENSION = "extension"
    THEME = "theme"
    AUTH_PROVIDER = "auth_provider"
    NOTIFICATION = "notification"
    ANALYTICS = "analytics"
    BACKUP = "backup"
    MONITORING = "monitoring"
    AUTOMATION = "automation"
    CUSTOM = "custom"


class UIPage(BaseModel):
    """One page a plugin adds to the web UI (``ui_pages`` in the manifest)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    path: str
    title: str
    description: str = ""


class TaskDeclaration(BaseModel):
    """A background task named in the manifest with its placement
    (``{"name": "sweep", "placement": "singleton"}`` in ``background_tasks``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    placement: Literal["singleton", "per_replica"] | None = None


class ManifestFields(BaseModel):
    """The fields of ``plugin.json``, declared once.

    :class:`PluginManifest` adds the checks the host applies before loading a plugin;
    the guide's :class:`~plexichat.interface.PluginMetadata` reuses the same fields.
    """

    model_config = ConfigDict(use_enum_values=False)

    name: str
    version: str = "0"
    description: str = ""
    author: str = ""
    type: PluginType = PluginType.FEATURE
    entry_point: str = ""
    dependencies: list[str] = Field(default_factory=list)
    permissions: list[str] = Field(default_factory=list)
    api_version: str = "1.0"
    min_plexichat_version: str | None = None
    enabled: bool = True
    category: str = ""
    tags: list[str] = Field(default_factory=list)
    homepage: str = ""
    repository: str = ""
    license: str = ""
    icon: str = ""
    ui_pages: list[UIPage] = Field(default_factory=list)
    api_endpoints: list[str] = Field(default_factory=list)
    webhooks: list[str] = Field(default_factory=list)
    settings_schema: dict[str, Any] | None = None
    auto_start: bool = True
    background_tasks: list[str | TaskDeclaration] = Field(default_factory=list)
    """Functions of a module-style plugin to run as background tasks: a name, or
    ``{"name": ..., "placement": "singleton" | "per_replica"}``."""
    essential_hooks: list[str] = Field(default_factory=list)
    """Filter hooks that fail closed: while this plugin cannot run them, messages are
    refused instead of passing unfiltered (see :data:`ESSENTIAL_CAPABLE_HOOKS`)."""


class PluginManifest(ManifestFields):
    """A validated ``plugin.json``.

    Fields the distribution's metadata already holds (version, description, author,
    license, homepage) are filled from it when the manifest leaves them out.
    """

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    @classmethod
    def from_checked(cls, data: Mapping[str, Any]) -> PluginManifest:
        """Rebuild a manifest from the JSON of one that was validated before (the
        discovery index keeps them), without validating it again."""
        values = {key: value for key, value in data.items() if key in cls.model_fields}
        values["type"] = PluginType(values.get("type", PluginType.FEATURE.value))
        values["ui_pages"] = [UIPage.model_construct(**page)
                              for page in values.get("ui_pages") or []]
        return cls.model_construct(**values)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                "must start with a letter and contain only letters, digits and underscores"
            )
        return value

    @field_validator("version", "min_plexichat_version", "api_version")
    @classmethod
    def _valid_version(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from packaging.version import InvalidVersion, Version

        try:
            Version(value)
        except InvalidVersion:
            raise ValueError(f"{value!r} is not a PEP 440 version") from None
        return value

    @field_validator("dependencies")
    @classmethod
    def _valid_dependencies(cls, value: list[str]) -> list[str]:
        from packaging.requirements import InvalidRequirement, Requirement

        for item in value:
            try:
                Requirement(item)
            except InvalidRequirement as exc:
                raise ValueError(f"{item!r} is not a plugin name with an optional "
                                 f"version specifier: {exc}") from None
        return value

    @field_validator("permissions")
    @classmethod
    def _known_permissions(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in KNOWN_PERMISSIONS]
        if unknown:
            raise ValueError(
                f"unknown permission(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(KNOWN_PERMISSIONS))}"
            )
        return value

    @field_validator("essential_hooks")
    @classmethod
    def _filter_hooks_only(cls, value: list[str]) -> list[str]:
        wrong = [h for h in value if h not in ESSENTIAL_CAPABLE_HOOKS]
        if wrong:
            raise ValueError(
                f"{', '.join(map(repr, wrong))} cannot be essential; only the message "
                f"filters can: {', '.join(ESSENTIAL_CAPABLE_HOOKS)}"
            )
        return value

    @field_validator("settings_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None
        return value


@dataclass(frozen=True)
class ManifestProblem:
    """One thing wrong with a manifest, located precisely."""

    distribution: str
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.distribution}: {self.file}: {self.field}: {self.message}"


class ManifestError(Exception):
    """A manifest that cannot be accepted; ``problems`` says every reason."""

    def __init__(self, problems: list[ManifestProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class DistributionFacts:
    """What the distribution's own metadata says (``importlib.metadata``)."""

    name: str
    version: str
    summary: str = ""
    author: str = ""
    license: str = ""
    homepage: str = ""


@dataclass
class ParsedManifest:
    """A manifest accepted, with warnings about metadata disagreements."""

    manifest: PluginManifest
    warnings: list[str] = field(default_factory=list)


# manifest field -> DistributionFacts attribute
_FROM_METADATA = {
    "version": "version",
    "description": "summary",
    "author": "author",
    "license": "license",
    "homepage": "homepage",
}


def parse_manifest(
    data: Any,
    *,
    plugin_name: str,
    dist: DistributionFacts,
    file: str,
) -> ParsedManifest:
    """Validate decoded ``plugin.json`` data for the plugin ``plugin_name``.

    ``data`` is None when the plugin ships no manifest: it then gets the default
    manifest (type feature, no permissions). Raises :class:`ManifestError`.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ManifestError(
            [ManifestProblem(dist.name, file, "(root)", "must be a JSON object")]
        )
    data = dict(data)
    data.setdefault("name", plugin_name)
    warnings: list[str] = []
    for key, attr in _FROM_METADATA.items():
        meta_value = getattr(dist, attr)
        if key not in data:
            if meta_value:
                data[key] = meta_value
        elif (meta_value and isinstance(data[key], str) and data[key] != meta_value
              and not (key == "version" and _same_version(data[key], meta_value))):
            warnings.append(
                f"{dist.name}: {file}: {key}: manifest says {data[key]!r} but the "
                f"distribution metadata says {meta_value!r}"
            )
    try:
        manifest = PluginManifest.model_validate(data)
    except ValidationError as exc:
        problems = [
            ManifestProblem(
                dist.name,
                file,
                ".".join(str(p) for p in err["loc"]) or "(root)",
                _clean_message(err),
            )
            for err in exc.errors()
        ]
        raise ManifestError(problems) from None
    if manifest.name != plugin_name:
        raise ManifestError(
            [
                ManifestProblem(
                    dist.name,
                    file,
                    "name",
                    f"{manifest.name!r} differs from the entry-point name {plugin_name!r} "
                    f"in the {ENTRY_POINT_GROUP!r} group; they must be the same",
                )
            ]
        )
    return ParsedManifest(manifest, warnings)


def _same_version(a: str, b: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def _clean_message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err.get("type") == "extra_forbidden":
        msg = "unknown field (not part of the plugin.json format)"
    return msg
