"""The permission vocabulary a plugin may request in its manifest.

Each permission unlocks one capability of :class:`~plexichat.context.PluginContext`.
The guide's ``plugin:read`` / ``plugin:write`` are kept. Nothing here is a sandbox:
permissions decide what the host *hands* a plugin, not what in-process Python can reach.
"""

from __future__ import annotations

KNOWN_PERMISSIONS: dict[str, str] = {
    "plugin:read": "read the host's plugin registry (names, states, manifests)",
    "plugin:write": "change plugin state or settings of other plugins",
    "db:read": "read the host database through context.db",
    "db:write": "write the host database through context.db",
    "ai:use": "call the AI service (context.ai)",
    "analytics:write": "record analytics events (context.analytics)",
    "backup:run": "run backups and register backup targets (context.backup)",
    "security:policy": "use the security service and register policies (context.security)",
    "events:emit": "emit host events (context.events)",
    "webhooks:emit": "emit the webhook events the manifest declares (context.webhooks)",
    "chat:read": "read users, channels and messages (context.chat)",
    "chat:write": "post and change messages (context.chat)",
}
