"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each request carries ``webhook-id`` (the same on every retry of one delivery),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the secret's bytes.
The reference ``standardwebhooks`` package computes it, so any receiver using a
Standard Webhooks library verifies what PlexiChat sends.
"""

from __future__ import annotations

from datetime import datetime, timezone

from standardwebhooks import Webhook

__all__ = ["sign_headers"]


def sign_headers(secret: str, message_id: str, body: str,
                 when: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for sending ``body`` now (or at ``when``)."""
    when = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    timestamp = int(when.timestamp())
    signature = Webhook(secret).sign(
        msg_id=message_id, timestamp=datetime.fromtimestamp(timestamp, timezone.utc),
        data=body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
