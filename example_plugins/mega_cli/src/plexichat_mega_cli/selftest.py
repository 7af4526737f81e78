"""The plugin's self-test (``plexichat plugins selftest mega_cli``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plexichat.contributions import SelfTestResult

from . import CATEGORIES, COMMANDS_PER_CATEGORY, POLICY

__all__ = ["GOLDEN", "run_self_test"]

GOLDEN: list[tuple[str, str, list[str], str]] = [
    ("dev", "dev_cmd_1", ["hello"], "2cf24dba5fb0"),
    ("net", "net_cmd_1", ["192.168.10.77/24"], "192.168.10.0"),
    ("sys", "sys_cmd_2", ["93784"], "1d2h3m4s"),
    ("user", "user_cmd_1", ["Ada King Lovelace"], "ada.lovelace"),
    ("chat", "chat_cmd_1", ["ship it"], "**ship it**"),
    ("ai", "ai_cmd_1", ["One. Two. Three."], "One."),
]
"""Commands with known input and output: (category, command, arguments, result)."""


def _counts() -> str:
    from .commands import all_commands

    table = all_commands()
    wrong = {c: len(table.get(c, [])) for c in CATEGORIES
             if len(table.get(c, [])) != COMMANDS_PER_CATEGORY}
    if wrong:
        return f"categories with a wrong number of commands: {wrong}"
    return ""


def _helps() -> str:
    from .commands import iter_commands

    seen: dict[str, str] = {}
    for command in iter_commands():
        text = command.help or ""
        if len(text) < 80:
            return f"{command.name}: help text too short"
        if text in seen:
            return f"{command.name} has the same help as {seen[text]}"
        seen[text] = command.name or ""
    return ""


def _golden() -> str:
    from .commands import find_command

    for category, name, args, expected in GOLDEN:
        command = find_command(category, name)
        if command is None:
            return f"{category} {name} is missing"
        ctx = command.make_context(name, list(args))
        got = command.compute(**{k: v for k, v in ctx.params.items() if k != "as_json"})
        if got != expected:
            return f"{category} {name} {args}: got {got!r}, expected {expected!r}"
    return ""


def _policy(context: Any) -> str:
    from .policy import action_for, command_guard

    if not command_guard({"admin": False}, action_for("dev", "dev_cmd_1")):
        return "the policy refuses a harmless command"
    if command_guard({"admin": False}, action_for("file", "file_cmd_4")):
        return "the policy lets a non-admin read files over the API"
    if not command_guard({"admin": True}, action_for("file", "file_cmd_4")):
        return "the policy refuses an admin"
    if command_guard({"admin": True}, action_for("dev", "no_such_cmd")):
        return "the policy allows an unknown command"
    if context is not None and context.has_permission("security:policy"):
        owner = context.security.policies().get(POLICY)
        if owner != "mega_cli":
            return f"policy {POLICY} is not registered by mega_cli (owner: {owner})"
    return ""


def _table(context: Any) -> str:
    if context is None:
        return ""
    import sqlalchemy as sa

    from .storage import usage_table

    table = usage_table(context)
    with context.db.connect() as conn:
        conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return ""


def run_self_test(context: Any) -> SelfTestResult:
    """Run every check; the result names each check run and the first failure."""
    checks: list[tuple[str, Callable[[], str]]] = [
        ("420 commands in 7 categories", _counts),
        ("every command has its own help", _helps),
        ("known commands print known results", _golden),
        (f"security policy {POLICY}", lambda: _policy(context)),
        ("usage table readable", lambda: _table(context)),
    ]
    tests, failures = [], []
    for name, check in checks:
        tests.append(name)
        try:
            problem = check()
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            failures.append(f"{name}: {problem}")
    if failures:
        return SelfTestResult(False, tests, "; ".join(failures))
    return SelfTestResult(True, tests, f"{len(tests)} checks passed")
