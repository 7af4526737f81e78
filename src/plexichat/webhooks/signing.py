"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each request carries ``webhook-id`` (the same on every retry of one delivery),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the secret's
bytes; after a rotation, during the overlap the operator chose, one signature per
secret, space-separated.
The reference ``standardwebhooks`` package computes it, so any receiver using a
Standard Webhooks library verifies what PlexiChat sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from standardwebhooks import Webhook

__all__ = ["sign_headers"]


def sign_headers(secrets: str | Sequence[str], message_id: str, body: str,
                 when: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for sending ``body`` now (or at ``when``).

    With several secrets (a rotation's overlap: the new one first, then the previous),
    ``webhook-signature`` holds one signature per secret, space-separated, as the
    standard allows: a receiver holding either secret verifies the request.
    """
    when = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    timestamp = int(when.timestamp())
    signed_at = datetime.fromtimestamp(timestamp, timezone.utc)
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    signatures = [Webhook(key).sign(msg_id=message_id, timestamp=signed_at, data=body)
                  for key in keys]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }
