"""Validation of webhook subscriptions: target URLs, event names and secrets.

Every problem is a :class:`InvalidSubscription` naming the field and saying what to do,
so the API can answer 422 with it and the CLI can print it.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "InvalidSubscription",
    "SECRET_PREFIX",
    "event_matches",
    "generate_secret",
    "mask_secret",
    "validate_events",
    "validate_secret",
    "validate_url",
]

SECRET_PREFIX = "whsec_"
"""Standard Webhooks secrets are ``whsec_`` followed by the base64 of the key."""

MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
MAX_URL_LENGTH = 2000
MAX_EVENTS = 100

_EVENT = re.compile(r"^(\*|[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*(\.\*)?)$")


class InvalidSubscription(ValueError):
    """A subscription field is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


def validate_url(url: str) -> str:
    """The target URL, stripped; it must be an absolute http(s) URL with a host.

    Credentials in the URL are refused (receivers authenticate the sender through the
    signature), as are fragments, which are never sent.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidSubscription("url", "url is required: an http(s) URL such as "
                                         "https://example.com/webhooks")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidSubscription("url", f"url is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidSubscription("url", "url must not contain spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme or "://" not in url:
        raise InvalidSubscription("url", f"url {url!r} is not absolute: give the scheme and "
                                         "host, e.g. https://example.com/webhooks")
    if scheme not in ("http", "https"):
        raise InvalidSubscription("url", f"url must use http or https, not {scheme!r}")
    if not parts.hostname:
        raise InvalidSubscription("url", "url has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidSubscription("url", "url must not contain credentials (user:password@); "
                                         "receivers verify the webhook signature instead")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidSubscription("url", "url has an invalid port") from None
    if parts.fragment or url.endswith("#"):
        raise InvalidSubscription("url", "url must not contain a fragment (#...)")
    return url


def validate_events(events: Iterable[str]) -> list[str]:
    """Event names, de-duplicated in order: exact names, ``prefix.*`` or ``*`` (all)."""
    if isinstance(events, str):
        raise InvalidSubscription("events", "events must be a list of event names")
    names: list[str] = []
    for name in events:
        if not isinstance(name, str) or not _EVENT.match(name) or len(name) > 200:
            raise InvalidSubscription(
                "events", f"event name {name!r} is not valid: use names such as "
                          "'message.posted', a prefix such as 'message.*', or '*' for all")
        if name not in names:
            names.append(name)
    if not names:
        raise InvalidSubscription("events", "events must name at least one event "
                                            "('*' subscribes to all)")
    if len(names) > MAX_EVENTS:
        raise InvalidSubscription("events", f"at most {MAX_EVENTS} event names")
    return names


def event_matches(patterns: Iterable[str], event: str) -> bool:
    """True when ``event`` is one of ``patterns`` (``*`` all, ``a.*`` everything under ``a``)."""
    for pattern in patterns:
        if pattern == "*" or pattern == event:
            return True
        if pattern.endswith(".*") and event.startswith(pattern[:-1]):
            return True
    return False


def generate_secret() -> str:
    """A new random signing secret in the Standard Webhooks form (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def validate_secret(secret: str) -> str:
    """A caller-chosen secret: ``whsec_`` + base64 of 24 to 64 random bytes."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidSubscription("secret", "secret must have the Standard Webhooks form "
                                            "'whsec_<base64>'; omit it to have one generated")
    encoded = secret[len(SECRET_PREFIX):]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSubscription("secret", "secret is not valid base64 after 'whsec_'"
                                  ) from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidSubscription(
            "secret", f"secret must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes "
                      f"(it encodes {len(key)}); omit it to have one generated")
    return secret


def mask_secret(secret: str) -> str:
    """What the API shows of a stored secret: its prefix and last four characters."""
    return f"{SECRET_PREFIX}…{secret[-4:]}" if len(secret) > len(SECRET_PREFIX) + 8 else "…"
