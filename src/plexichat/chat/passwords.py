"""Password hashing with Argon2id (``argon2-cffi``), and bearer tokens for users.

The cost comes from the host settings (``password_hash_time_cost``,
``password_hash_memory_kib``); a stored hash made with other parameters is upgraded the
next time its user logs in. Tokens are random and stored only as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["PasswordHasher", "new_token", "token_digest"]


class PasswordHasher:
    """Hashes and verifies passwords; all calls are CPU-bound (run them off the loop)."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4):
        from argon2 import PasswordHasher as Argon2

        self._argon2 = Argon2(time_cost=time_cost, memory_cost=memory_kib,
                              parallelism=parallelism)

    def hash(self, password: str) -> str:
        """An Argon2id hash of ``password`` (salt and parameters included)."""
        return self._argon2.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """True when ``password`` matches ``stored``."""
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self._argon2.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """True when ``stored`` was made with other parameters than the current ones."""
        return bool(self._argon2.check_needs_rehash(stored))


def new_token() -> str:
    """A fresh bearer token for a user."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """How a token is stored and looked up (tokens are random: no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
