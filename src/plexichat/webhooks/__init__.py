"""Outgoing webhooks: a durable outbox, delivered signed per Standard Webhooks.

- :class:`WebhookEvents` (``host.services.webhooks``) records events — core events such
  as ``message.posted`` and the events plugins declare — and manages subscriptions.
  Recording an event queues one delivery per matching subscription, in the same
  transaction.
- :class:`DeliveryWorker` (started by the web app) sends due deliveries with
  ``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature`` headers and retries
  failures with exponential backoff.
- :class:`TargetGuard` refuses targets on loopback, private, link-local, multicast and
  reserved addresses (at subscription and before each delivery) unless the operator
  allows them.
- ``context.webhooks`` (:class:`PluginWebhooks`) lets a plugin emit only the events its
  ``plugin.json`` declares in ``webhooks``.
"""

from .outbox import (
    Delivery,
    DueDelivery,
    PluginWebhooks,
    Subscription,
    SubscriptionNotFound,
    UndeclaredWebhookEvent,
    WebhookEvents,
)
from .signing import sign_headers
from .target_guard import TargetGuard
from .validation import InvalidSubscription, event_matches, generate_secret, mask_secret
from .worker import DeliveryWorker

__all__ = [
    "Delivery",
    "DeliveryWorker",
    "DueDelivery",
    "InvalidSubscription",
    "PluginWebhooks",
    "Subscription",
    "SubscriptionNotFound",
    "TargetGuard",
    "UndeclaredWebhookEvent",
    "WebhookEvents",
    "event_matches",
    "generate_secret",
    "mask_secret",
    "sign_headers",
]
