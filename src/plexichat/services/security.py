"""Security: policies contributed by plugins, and checks against them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

__all__ = ["SecurityService", "hash_token", "verify_token"]


def hash_token(token: str) -> str:
    """A salted SHA-256 hash of a bearer token, for storage."""
    salt = secrets.token_hex(16)
    digest = hashlib.sha256((salt + token).encode()).hexdigest()
    return f"sha256${salt}${digest}"


def verify_token(token: str, stored: str) -> bool:
    """Compare ``token`` with a hash made by :func:`hash_token`, in constant time."""
    try:
        scheme, salt, digest = stored.split("$", 2)
    except ValueError:
        return False
    if scheme != "sha256":
        return False
    candidate = hashlib.sha256((salt + token).encode()).hexdigest()
    return hmac.compare_digest(candidate, digest)


class SecurityService:
    """Named policies; :meth:`check` asks every policy that applies."""

    def __init__(self) -> None:
        self._policies: dict[str, tuple[str, Callable[..., Any]]] = {}

    def add_policy(self, plugin: str, name: str, check: Callable[..., Any]) -> None:
        """Register a policy; a name already taken by another plugin is refused."""
        owner = self._policies.get(name)
        if owner is not None and owner[0] != plugin:
            raise ValueError(f"security policy {name!r} is already registered by {owner[0]!r}")
        self._policies[name] = (plugin, check)

    def remove_plugin(self, plugin: str) -> None:
        """Forget the policies of ``plugin``."""
        self._policies = {k: v for k, v in self._policies.items() if v[0] != plugin}

    def policies(self) -> dict[str, str]:
        """``{policy name: plugin}``."""
        return {name: owner for name, (owner, _) in self._policies.items()}

    def check(self, subject: Any, action: str, policy: str | None = None) -> bool:
        """True when every (or the named) callable policy allows ``action``."""
        chosen = [self._policies[policy]] if policy else list(self._policies.values())
        return all(bool(check(subject, action)) for _, check in chosen if callable(check))

    @staticmethod
    def new_token() -> str:
        """A fresh random bearer token."""
        return secrets.token_urlsafe(32)
