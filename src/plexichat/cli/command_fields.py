"""The plugin guide's command fields for plugin CLI commands.

A plugin marks a click command it adds through ``register_commands``::

    from plexichat import command_fields

    @command_fields(admin_only=True, dangerous=True, version_added="1.2.0")
    @click.command("purge")
    def purge() -> None: ...

- ``admin_only``: the command runs only with the host's admin token, given with
  ``--token`` or ``PLEXICHAT_ADMIN_TOKEN`` (checked as the API checks it: the configured
  token, else the hash the host stored in its database); refused otherwise, exit 1.
- ``requires_auth``: the command runs only with a chat user's bearer token (what
  ``POST /api/v1/users/login`` hands out), given with ``--user-token`` or
  ``PLEXICHAT_USER_TOKEN``; the command reads the user's name from
  :func:`current_user`.
- ``dangerous``: the command asks for confirmation first; ``--yes`` answers for
  scripts, and without a terminal to ask on it is refused unless ``--yes`` is given.
- ``version_added``: the plugin version that added the command, shown in its help.

Everything is plain click (options, the help epilog), so the recorded ``--help``
(:mod:`plexichat.cli.recorded`) shows it without importing the plugin; the values
themselves are recorded too (:attr:`CommandFields.as_json`). This module imports click
only; the checks import the host's storage when the command runs.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import click

__all__ = ["CommandFields", "command_fields", "current_user"]

C = TypeVar("C", bound=click.Command)

ATTRIBUTE = "plexichat_fields"
"""Where a marked command keeps its :class:`CommandFields`."""

_ADMIN_PARAM = "plexichat_admin_token"
_USER_PARAM = "plexichat_user_token"
_YES_PARAM = "plexichat_yes"
_USER_KEY = "plexichat.user"


@dataclass(frozen=True)
class CommandFields:
    """The guide's ``UltimateCommand`` fields of one command."""

    admin_only: bool = False
    dangerous: bool = False
    requires_auth: bool = False
    version_added: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The fields as JSON data (the command index records them)."""
        return asdict(self)

    def epilog(self) -> str:
        """The lines the command's help ends with."""
        lines = []
        if self.version_added:
            lines.append(f"Added in version {self.version_added}.")
        if self.admin_only:
            lines.append("Admin only: needs the admin token (--token or "
                         "PLEXICHAT_ADMIN_TOKEN).")
        if self.requires_auth:
            lines.append("Needs a user's token (--user-token or PLEXICHAT_USER_TOKEN).")
        if self.dangerous:
            lines.append("Dangerous: asks for confirmation (--yes to skip, as scripts must).")
        return "\n\n".join(lines)


def command_fields(*, admin_only: bool = False, dangerous: bool = False,
                   requires_auth: bool = False,
                   version_added: str | None = None) -> Callable[[C], C]:
    """Mark a click command with the guide's fields (see the module's help).

    Adds the options the fields need (``--token``, ``--user-token``, ``--yes``) and the
    help lines saying them; raises :class:`ValueError` when the command has an option
    of the same name already.
    """
    fields = CommandFields(admin_only, dangerous, requires_auth, version_added)

    def mark(command: C) -> C:
        wanted: list[click.Option] = []
        if admin_only:
            wanted.append(click.Option(
                ["--token", _ADMIN_PARAM], envvar="PLEXICHAT_ADMIN_TOKEN", default=None,
                help="The host's admin token (this command is admin only)."))
        if requires_auth:
            wanted.append(click.Option(
                ["--user-token", _USER_PARAM], envvar="PLEXICHAT_USER_TOKEN", default=None,
                help="A user's bearer token (from logging in to the chat)."))
        if dangerous:
            wanted.append(click.Option(["--yes", "-y", _YES_PARAM], is_flag=True,
                                       help="Do not ask for confirmation."))
        taken = {opt for p in command.params for opt in getattr(p, "opts", [])}
        for option in wanted:
            clash = taken.intersection(option.opts)
            if clash:
                raise ValueError(f"command {command.name!r} has an option "
                                 f"{sorted(clash)[0]} already; command_fields adds its own")
        command.params.extend(wanted)
        text = fields.epilog()
        if text:
            command.epilog = f"{command.epilog}\n\n{text}" if command.epilog else text
        if command.callback is not None:
            command.callback = _guarded(command, fields, command.callback)
        setattr(command, ATTRIBUTE, fields)
        return command

    return mark


def current_user() -> str:
    """The name of the user whose ``--user-token`` a ``requires_auth`` command was given."""
    return str(click.get_current_context().find_root().meta.get(_USER_KEY, ""))


def _guarded(command: click.Command, fields: CommandFields,
             callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback`` behind the checks ``fields`` ask for, in order: admin, user, confirm."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        shown = ctx.command_path
        admin_token = kwargs.pop(_ADMIN_PARAM, None)
        user_token = kwargs.pop(_USER_PARAM, None)
        yes = kwargs.pop(_YES_PARAM, False)
        if fields.admin_only:
            _check_admin(shown, admin_token)
        if fields.requires_auth:
            ctx.find_root().meta[_USER_KEY] = _check_user(shown, user_token)
        if fields.dangerous and not yes:
            if not sys.stdin.isatty():
                raise click.ClickException(
                    f"'{shown}' is dangerous and there is no terminal to confirm on: "
                    "run it with --yes to confirm")
            if not click.confirm(f"'{shown}' is dangerous. Run it?", default=False):
                raise click.ClickException("not confirmed: nothing was done")
        return callback(*args, **kwargs)

    return run


def _check_admin(shown: str, token: str | None) -> None:
    if not token:
        raise click.ClickException(f"'{shown}' is admin only: give the admin token with "
                                   "--token or PLEXICHAT_ADMIN_TOKEN")
    from ..config import HostSettings
    from ..storage import Database, HostStore
    from ..web.auth import AdminToken
    from .target import require_database

    settings = HostSettings()
    if not settings.admin_token:
        require_database(False)  # a stored token needs the host's database
    database = Database(settings.resolved_database_url())
    try:
        if not AdminToken(settings, HostStore(database)).check(token):
            raise click.ClickException(f"'{shown}' is admin only: the admin token given "
                                       "is not valid")
    finally:
        database.dispose()


def _check_user(shown: str, token: str | None) -> str:
    if not token:
        raise click.ClickException(f"'{shown}' needs a user's token: give it with "
                                   "--user-token or PLEXICHAT_USER_TOKEN")
    from ..chat.errors import Unauthorized
    from ..chat.tokens import TokenStore
    from ..config import HostSettings
    from ..storage import Database
    from .target import require_database

    require_database(False)
    settings = HostSettings()
    database = Database(settings.resolved_database_url())
    try:
        row = TokenStore(database, ttl=settings.token_ttl).user_row(token)
    except Unauthorized as exc:
        raise click.ClickException(f"'{shown}' needs a user's token: {exc}") from None
    except Exception as exc:  # no users table yet: nobody has logged in
        raise click.ClickException(f"'{shown}' needs a user's token: it cannot be "
                                   f"checked ({type(exc).__name__})") from None
    finally:
        database.dispose()
    return str(row.name)
