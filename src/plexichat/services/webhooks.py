"""``context.webhooks`` and the host's webhook outbox (see :mod:`plexichat.webhooks`).

Kept so ``plexichat.services.webhooks`` goes on naming the same objects.
"""

from __future__ import annotations

from ..webhooks.outbox import PluginWebhooks, UndeclaredWebhookEvent, WebhookEvents

__all__ = ["PluginWebhooks", "UndeclaredWebhookEvent", "WebhookEvents"]
