"""The permission table: every permission a plugin may request, and what it opens.

This is the one place permissions are defined. :class:`~plexichat.context.PluginContext`
reads it to gate its services and word its :class:`~plexichat.context.PermissionDenied`
messages; the guide-style :class:`~plexichat.interface.PluginInterface` reads it to turn
``get_services()`` names into permission requests; manifest validation, ``plexichat
plugins check``, ``plexichat plugins grant`` and ``POST /api/v1/plugins/{name}/grants``
read it to refuse unknown names; ``scripts/gen_permissions_doc.py`` writes the table of
docs/PERMISSIONS.md from it.

Nothing here is a sandbox: permissions decide what the host *hands* a plugin, not what
in-process Python can reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "KNOWN_PERMISSIONS",
    "PERMISSIONS",
    "UNGATED_SERVICES",
    "Permission",
    "context_gates",
    "guide_service_permissions",
]

Access = Literal["read", "write", "use"]


@dataclass(frozen=True)
class Permission:
    """One permission: its name, what it opens on the context, and how it is documented."""

    name: str
    """What a manifest writes in ``"permissions"`` (``db:read``)."""
    services: tuple[str, ...]
    """The ``PluginContext`` attributes it opens (``("db",)``); empty when no context
    service checks it yet."""
    access: Access
    """What it allows on those services: ``read``, ``write`` or ``use`` (all of it)."""
    description: str
    """One line for docs/PERMISSIONS.md and error messages (Markdown allowed)."""
    guide_services: tuple[str, ...] = ()
    """The guide's ``get_services()`` names whose request implies this permission."""


PERMISSIONS: tuple[Permission, ...] = (
    Permission("plugin:read", (), "read",
               "reading the plugin registry (names, states, manifests); accepted and "
               "grantable, but no context service checks it yet"),
    Permission("plugin:write", (), "write",
               "changing other plugins' state or settings; accepted and grantable, but no "
               "context service checks it yet"),
    # Within one service the read permission comes first: a denial names it, the least
    # a plugin needs to reach the service at all.
    Permission("db:read", ("db",), "read",
               "`context.db.connect()`: read connections to the host database"),
    Permission("db:write", ("db",), "write",
               "`context.db.begin()`: transactions on the host database (and everything "
               "`db:read` opens)", guide_services=("db",)),
    Permission("ai:use", ("ai", "ai_provider"), "use",
               "`context.ai` (and the guide's `ai_provider`): the host's AI service",
               guide_services=("ai", "ai_provider")),
    Permission("analytics:write", ("analytics",), "write",
               "`context.analytics.record(...)`: record analytics events",
               guide_services=("analytics",)),
    Permission("backup:run", ("backup",), "use",
               "`context.backup`: run backups and register backup targets",
               guide_services=("backup",)),
    Permission("security:policy", ("security",), "use",
               "`context.security`: the security service and security policies",
               guide_services=("security",)),
    Permission("events:emit", ("events",), "write",
               "`context.events.emit(...)`: emit host events", guide_services=("events",)),
    Permission("webhooks:emit", ("webhooks",), "write",
               "`context.webhooks.emit(...)` for the webhook events the manifest declares",
               guide_services=("webhooks",)),
    Permission("chat:read", ("chat",), "read",
               "`context.chat`: read users, channels and messages"),
    Permission("chat:write", ("chat",), "write",
               "`context.chat`: post and change messages (and everything `chat:read` "
               "opens)", guide_services=("chat",)),
)
"""Every permission, in documentation order."""

KNOWN_PERMISSIONS: dict[str, Permission] = {p.name: p for p in PERMISSIONS}
"""The permissions by name; membership is what manifests and grants are checked against."""

UNGATED_SERVICES: tuple[str, ...] = ("logger", "kv", "ephemeral")
"""Context services (and guide ``get_services()`` names) that need no permission."""


def context_gates() -> dict[str, tuple[str, ...]]:
    """Context service -> the permissions any of which opens it, in table order."""
    gates: dict[str, tuple[str, ...]] = {}
    for permission in PERMISSIONS:
        for service in permission.services:
            gates[service] = (*gates.get(service, ()), permission.name)
    return gates


def guide_service_permissions() -> dict[str, str | None]:
    """Guide ``get_services()`` name -> the permission requesting it implies (``None``
    for the services every plugin has)."""
    mapping: dict[str, str | None] = dict.fromkeys(UNGATED_SERVICES)
    for permission in PERMISSIONS:
        for service in permission.guide_services:
            if service in mapping:
                raise RuntimeError(f"guide service {service!r} is implied by two permissions")
            mapping[service] = permission.name
    return mapping
