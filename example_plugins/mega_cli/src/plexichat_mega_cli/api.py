"""The plugin's routes, under ``/api/v1/mega``: the command catalogue, each command's
help, running a command, and the usage log."""

from __future__ import annotations

from typing import Any

import click
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from plexichat.contributions import RouterSpec

from . import CATEGORIES, POLICY
from .commands import MegaCommand, all_commands, counts, find_command
from .policy import action_for
from .storage import record, summary

__all__ = ["MAX_INPUT_CHARS", "make_router"]

MAX_INPUT_CHARS = 1000
"""Characters of arguments one run may pass (the text measures are quadratic)."""


class CommandCounts(BaseModel):
    """How many commands each category has."""

    total: int = Field(examples=[420])
    categories: dict[str, int] = Field(examples=[{"dev": 60, "net": 60}])
    descriptions: dict[str, str] = Field(examples=[{
        "dev": "Developer helpers: digests, case styles, versions, UUIDs."}])


class CommandInfo(BaseModel):
    """One command, as listed."""

    name: str = Field(examples=["dev_cmd_1"])
    category: str = Field(examples=["dev"])
    summary: str = Field(examples=["Sha256 digest of TEXT, first 12 hex digits"])
    operation: str = Field(examples=["digest"])
    admin_only: bool = Field(description="over the API, only an admin may run it",
                             examples=[False])


class CommandHelp(CommandInfo):
    """One command with its full ``--help`` text."""

    help: str = Field(examples=["Usage: plexichat dev dev_cmd_1 [OPTIONS] TEXT\n\n"
                                "  Sha256 digest of TEXT, first 12 hex digits.\n…"])


class RunRequest(BaseModel):
    """The command line after the command's name, as the CLI takes it."""

    args: list[str] = Field(default_factory=list, examples=[["hello", "--length", "8"]])


class RunResult(BaseModel):
    """What the command printed."""

    command: str = Field(examples=["plexichat dev dev_cmd_1"])
    result: str = Field(examples=["2cf24dba5fb0"])


class UsageEntry(BaseModel):
    """One logged run."""

    at: float = Field(examples=[1767322800.0])
    category: str = Field(examples=["dev"])
    command: str = Field(examples=["dev_cmd_1"])
    admin: bool = Field(examples=[True])
    outcome: str = Field(examples=["ok"])
    detail: str = Field(examples=["2cf24dba5fb0"])


class UsageReport(BaseModel):
    """The usage log of the ``mega_cli_usage`` table."""

    total: int = Field(examples=[1])
    by_command: dict[str, dict[str, int]] = Field(examples=[{"dev dev_cmd_1": {"ok": 1}}])
    recent: list[UsageEntry]


def _info(command: MegaCommand) -> dict[str, Any]:
    return {"name": command.name, "category": command.category, "summary": command.summary,
            "operation": command.operation.key, "admin_only": command.admin_only}


def _command(category: str, name: str) -> MegaCommand:
    command = find_command(category, name)
    if command is None:
        known = "" if category in CATEGORIES else f"; categories: {', '.join(CATEGORIES)}"
        raise HTTPException(404, f"no mega_cli command {category} {name}{known}")
    return command


def _is_admin(request: Request) -> bool:
    """No Authorization header: not an admin. A header: it must hold the admin token."""
    if not request.headers.get("authorization"):
        return False
    from plexichat import require_admin

    require_admin(request)  # 401 / 403 for a malformed or wrong token
    return True


def make_router(context: Any) -> RouterSpec:
    """The router, bound to the plugin's context (security service, usage table)."""
    router = APIRouter(tags=["mega_cli"])

    @router.get("/commands", response_model=CommandCounts)
    def command_counts() -> dict[str, Any]:
        """How many commands each category has (420 in all)."""
        table = counts()
        return {"total": sum(table.values()), "categories": table,
                "descriptions": dict(CATEGORIES)}

    @router.get("/commands/{category}", response_model=list[CommandInfo],
                responses={404: {"description": "no such category"}})
    def category_commands(category: str) -> list[dict[str, Any]]:
        """The commands of one category, in number order."""
        if category not in CATEGORIES:
            raise HTTPException(404, f"no category {category!r}; categories: "
                                f"{', '.join(CATEGORIES)}")
        return [_info(c) for c in all_commands()[category]]

    @router.get("/commands/{category}/{name}", response_model=CommandHelp,
                responses={404: {"description": "no such command"}})
    def command_help(category: str, name: str) -> dict[str, Any]:
        """One command's ``--help`` text."""
        command = _command(category, name)
        ctx = click.Context(command, info_name=f"plexichat {category} {name}",
                            terminal_width=100, max_content_width=100)
        return {**_info(command), "help": command.get_help(ctx)}

    @router.post("/run/{category}/{name}", response_model=RunResult, responses={
        400: {"description": "the arguments are wrong (click's message)"},
        401: {"description": "an Authorization header that is not a bearer token"},
        403: {"description": "refused by mega_cli.command_guard, or a wrong admin token"},
        404: {"description": "no such command"},
        413: {"description": "more than 1000 characters of arguments"}})
    def run_command(category: str, name: str, request: Request,
                    body: RunRequest | None = None) -> RunResult:
        """Run a command with the arguments of its command line; the run is logged.

        Commands that read files or reveal host facts need the admin token
        (security policy ``mega_cli.command_guard``).
        """
        command = _command(category, name)
        args = list(body.args) if body else []
        if sum(len(a) for a in args) > MAX_INPUT_CHARS:
            raise HTTPException(413, f"arguments longer than {MAX_INPUT_CHARS} characters")
        admin = _is_admin(request)
        allowed = context.security.check({"admin": admin, "via": "api"},
                                         action_for(category, name), policy=POLICY)
        if not allowed:
            record(context, category, name, admin=admin, outcome="refused",
                   detail=f"refused by {POLICY}")
            raise HTTPException(403, f"{category} {name} reads files or reveals host facts: "
                                f"only an admin may run it over the API ({POLICY})")
        try:
            ctx = command.make_context(f"{category} {name}", args, help_option_names=[])
            values = {k: v for k, v in ctx.params.items() if k != "as_json"}
            result = command.compute(**values)
        except click.ClickException as exc:
            record(context, category, name, admin=admin, outcome="error",
                   detail=exc.format_message())
            raise HTTPException(400, exc.format_message()) from None
        except click.exceptions.Exit:  # older click: no arguments shows the help
            raise HTTPException(400, f"{category} {name} needs arguments; see "
                                f"GET /api/v1/mega/commands/{category}/{name}") from None
        record(context, category, name, admin=admin, outcome="ok", detail=result)
        return RunResult(command=f"plexichat {category} {name}", result=result)

    @router.get("/usage", response_model=UsageReport)
    def usage(limit: int = 20) -> dict[str, Any]:
        """The usage log: runs per command and outcome, and the latest runs."""
        return summary(context, limit=max(0, min(limit, 200)))

    return RouterSpec(router, prefix="/api/v1/mega")
