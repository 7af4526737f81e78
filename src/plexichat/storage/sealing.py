"""Secrets at rest: values sealed with Fernet under the host's secret keys.

What the host database keeps of a secret (a plugin setting its schema marks secret, a
webhook signing secret) is a *sealed* string: :data:`SEALED_PREFIX` followed by a Fernet
token (AES-128-CBC + HMAC-SHA256, from ``cryptography``) of the value's JSON. Reading
unseals it; a value without the prefix is clear text from an older database and is read
as it is (the host seals it on start).

The keys, newest first (the newest seals, every one unseals — :class:`MultiFernet`):

* ``PLEXICHAT_SECRET_KEY``: one Fernet key, or several comma-separated, newest first;
* otherwise the key file ``secret.key`` in the data directory, one key per line, newest
  first. The first start creates it (mode 0600, atomically: a file that exists is never
  overwritten). ``plexichat secrets rotate`` puts a new key on top of it.

Backups carry the sealed values, never the keys: keep the key (file) apart from them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = [
    "KEY_FILE_NAME",
    "SEALED_PREFIX",
    "SECRET_KEY_ENV",
    "KeySource",
    "SecretBox",
    "SecretKeyError",
    "create_key_file",
    "load_keys",
    "new_key",
    "parse_keys",
    "write_key_file",
]

SEALED_PREFIX = "plexichat-sealed:v1:"
"""What every sealed value starts with."""
KEY_FILE_NAME = "secret.key"
"""The key file's name in the data directory."""
SECRET_KEY_ENV = "PLEXICHAT_SECRET_KEY"
"""The environment variable whose keys replace the key file."""


class SecretKeyError(Exception):
    """A secret key is missing, malformed, or does not open a stored value."""


def new_key() -> bytes:
    """A fresh random Fernet key (url-safe base64 of 32 bytes)."""
    return Fernet.generate_key()


def parse_keys(text: str, where: str) -> list[bytes]:
    """The Fernet keys in ``text`` (one per line or comma-separated), newest first.

    Raises :class:`SecretKeyError` naming ``where`` for a key that is not a Fernet key.
    """
    keys: list[bytes] = []
    for n, item in enumerate(filter(None, (i.strip() for i in
                                           text.replace(",", "\n").splitlines())), 1):
        try:
            Fernet(item.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise SecretKeyError(
                f"{where}: key {n} is not a Fernet key (url-safe base64 of 32 bytes); "
                "create one with 'plexichat secrets generate-key'") from None
        keys.append(item.encode("ascii"))
    if not keys:
        raise SecretKeyError(f"{where}: holds no key")
    return keys


@dataclass(frozen=True)
class KeySource:
    """Where the keys come from: the environment, or a key file."""

    keys: list[bytes]
    """Newest first."""
    origin: str
    """``PLEXICHAT_SECRET_KEY`` or the key file's path (for messages)."""
    path: Path | None
    """The key file (None: the keys come from the environment)."""


def load_keys(data_dir: Path, env_value: str | None) -> KeySource:
    """The host's keys: ``env_value`` (``PLEXICHAT_SECRET_KEY``) when set, else the key
    file in ``data_dir``, created with one new key when there is none."""
    if env_value and env_value.strip():
        return KeySource(parse_keys(env_value, SECRET_KEY_ENV), SECRET_KEY_ENV, None)
    path = Path(data_dir) / KEY_FILE_NAME
    if not path.exists():
        create_key_file(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretKeyError(f"{path}: cannot read the secret key file ({exc})") from None
    return KeySource(parse_keys(text, str(path)), str(path), path)


def _write_new(path: Path, keys: Sequence[bytes]) -> Path:
    """A new file next to ``path`` (mode 0600) holding ``keys``, flushed to disk."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, b"".join(k + b"\n" for k in keys))
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def create_key_file(path: Path) -> bool:
    """Create the key file ``path`` with one new key (mode 0600); True when this call
    created it. Atomic: the complete file appears at once, and a file that exists
    (another process was first) is kept as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_new(path, [new_key()])
    try:
        os.link(tmp, path)  # fails when path exists: never overwritten
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def write_key_file(path: Path, keys: Sequence[bytes]) -> None:
    """Replace the key file with ``keys`` (newest first) atomically, mode 0600."""
    tmp = _write_new(path, keys)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class SecretBox:
    """Seals and unseals values with the host's keys (the first one seals)."""

    def __init__(self, keys: Sequence[bytes], *, origin: str = "an in-memory key",
                 reload: Callable[[], Sequence[bytes]] | None = None) -> None:
        if not keys:
            raise SecretKeyError(f"{origin}: holds no key")
        self.origin = origin
        """Where the keys come from (for messages)."""
        self._reload = reload
        self._lock = threading.Lock()
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def ephemeral(cls) -> SecretBox:
        """A box with one random key that lives as long as the process (for tools and
        tests that never reopen what they seal)."""
        return cls([new_key()])

    @classmethod
    def load(cls, data_dir: Path, env_value: str | None) -> SecretBox:
        """The host's box: keys from ``PLEXICHAT_SECRET_KEY`` or the key file (see
        :func:`load_keys`). A value the keys do not open makes it read the key file
        again, so a host keeps reading what ``plexichat secrets rotate`` re-sealed."""
        source = load_keys(data_dir, env_value)
        reload = None
        if source.path is not None:
            def reload() -> Sequence[bytes]:
                return load_keys(data_dir, None).keys
        return cls(source.keys, origin=source.origin, reload=reload)

    @staticmethod
    def is_sealed(value: Any) -> bool:
        """True for a sealed value (a string with :data:`SEALED_PREFIX`)."""
        return isinstance(value, str) and value.startswith(SEALED_PREFIX)

    def seal(self, value: Any) -> str:
        """``value`` (anything JSON can hold) sealed under the newest key."""
        token = self._fernet.encrypt(json.dumps(value).encode("utf-8"))
        return SEALED_PREFIX + token.decode("ascii")

    def unseal(self, value: Any) -> Any:
        """The clear value of a sealed one; anything else is returned as it is.

        Raises :class:`SecretKeyError` when no key opens it.
        """
        if not self.is_sealed(value):
            return value
        token = value[len(SEALED_PREFIX):].encode("ascii")
        try:
            return json.loads(self._open(token))
        except InvalidToken:
            raise SecretKeyError(
                f"a stored secret cannot be decrypted with the keys of {self.origin}: "
                "the key it was sealed with is missing (restore the key file, or list the "
                f"old key after the new one in {SECRET_KEY_ENV})") from None

    def reseal(self, value: Any) -> Any:
        """A sealed value sealed again under the newest key; clear values get sealed;
        ``None`` stays ``None``."""
        if value is None:
            return None
        return self.seal(self.unseal(value))

    def unseal_tree(self, value: Any) -> Any:
        """``value`` with every sealed string inside it (dicts, lists) unsealed."""
        if isinstance(value, dict):
            return {k: self.unseal_tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unseal_tree(v) for v in value]
        return self.unseal(value)

    def reseal_tree(self, value: Any) -> Any:
        """``value`` with every sealed string inside it sealed again under the newest key."""
        if isinstance(value, dict):
            return {k: self.reseal_tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.reseal_tree(v) for v in value]
        return self.reseal(value) if self.is_sealed(value) else value

    def _open(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            if self._reload is None:
                raise
        with self._lock:  # the key file may have been rotated since we read it
            self._fernet = MultiFernet([Fernet(k) for k in self._reload()])
        return self._fernet.decrypt(token)
