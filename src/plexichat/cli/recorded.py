"""Plugin commands as recorded data, so ``--help`` needs no plugin code.

:func:`record_command` turns a click command a plugin added into a
:class:`CommandRecord`: the texts click renders for its help (usage pieces, help text,
option and argument rows, epilog, the one-line help of each subcommand) and the shape of
its parameters (which option takes how many values), recursively for groups. The
record is plain JSON data (:mod:`plexichat.cli.command_index` keeps it on disk).

:func:`recorded_command` turns a record back into a click command whose help click
renders from the record with its own formatter, so ``plexichat --help``, ``plexichat
GROUP --help`` and ``plexichat GROUP SUB --help`` read exactly as with the real
command. Any other invocation (running the command, a usage error, a group invoked
without a subcommand) loads the real command and hands it the arguments untouched:
the recorded one parses them only to see whether they ask for help.

A command whose class renders its own help (it overrides one of click's ``format_*``
or ``get_help*`` methods, or parses its own arguments) is recorded as *opaque*: it is
listed from the record, but its own help is the real command's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import click

__all__ = ["CommandRecord", "ParamShape", "record_command", "recorded_command"]

# click 8.2+ raises this for a command that shows its help when given no arguments
# (8.1 prints the help and exits instead, which needs no special case).
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())
_RENDERING = ("format_help", "format_usage", "format_help_text", "format_options",
              "format_epilog", "format_commands", "get_help", "get_usage",
              "collect_usage_pieces", "parse_args", "make_context", "invoke")


@dataclass
class ParamShape:
    """What the option parser needs to know of one parameter."""

    kind: str
    """``option`` or ``argument``."""
    opts: list[str]
    secondary_opts: list[str] = field(default_factory=list)
    nargs: int = 1
    is_flag: bool = False
    count: bool = False
    multiple: bool = False


@dataclass
class CommandRecord:
    """One command as its help shows it (and, for a group, its subcommands)."""

    name: str
    help: str | None = None
    short_help: str | None = None
    epilog: str | None = None
    hidden: bool = False
    deprecated: bool | str = False
    add_help_option: bool = True
    no_args_is_help: bool = False
    context_settings: dict[str, Any] = field(default_factory=dict)
    usage: list[str] = field(default_factory=list)
    """``collect_usage_pieces``: what follows the command path on the usage line."""
    options: list[list[str]] = field(default_factory=list)
    """The rows of the Options section, without the help option (click adds it)."""
    arguments: list[list[str]] | None = None
    """The rows of the Positional arguments section; None: click shows none."""
    params: list[ParamShape] = field(default_factory=list)
    short_help_str: str | None = None
    """The one-line help, kept only when the command's class computes its own."""
    opaque: bool = False
    """The command renders its own help: its help needs the real command."""
    commands: list[CommandRecord] | None = None
    """A group's subcommands in its listing order; None for a plain command."""
    subcommand_metavar: str | None = None
    fields: dict[str, Any] | None = None
    """The guide's command fields (:mod:`plexichat.cli.command_fields`) when the plugin
    marked the command; the help shows them through its epilog and options."""

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommandRecord:
        """The record ``to_json`` gave; raises TypeError/KeyError on other data."""
        values = dict(data)
        values["params"] = [ParamShape(**p) for p in values.get("params", [])]
        if values.get("commands") is not None:
            values["commands"] = [cls.from_json(c) for c in values["commands"]]
        record = cls(**values)
        if not isinstance(record.name, str) or not isinstance(record.usage, list):
            raise TypeError("not a command record")
        return record


# --- recording -------------------------------------------------------------------------


def record_command(command: click.Command, parent: click.Context,
                   name: str | None = None) -> CommandRecord:
    """Record ``command`` (listed as ``name``) as its help shows it under ``parent``."""
    name = name or command.name or ""
    record = CommandRecord(
        name=name, help=command.help, short_help=command.short_help, epilog=command.epilog,
        hidden=command.hidden, deprecated=command.deprecated,
        add_help_option=command.add_help_option, no_args_is_help=command.no_args_is_help,
    )
    marked = getattr(command, "plexichat_fields", None)
    if marked is not None:
        record.fields = marked.as_json()
    base = click.Group if isinstance(command, click.Group) else click.Command
    if _overrides(command, "get_short_help_str", base):
        record.short_help_str = command.get_short_help_str()
    try:
        json.dumps(command.context_settings)
        settings = dict(command.context_settings)
    except (TypeError, ValueError):
        settings = None
    chained = isinstance(command, click.Group) and command.chain
    if (settings is None or chained or any(_overrides(command, m, base) for m in _RENDERING)
            or not all(_parses_plainly(p) for p in command.params)):
        record.opaque = True
        return record
    record.context_settings = settings
    ctx = click.Context(command, info_name=name, parent=parent, **settings)
    help_option = command.get_help_option(ctx)
    record.usage = list(command.collect_usage_pieces(ctx))
    params = [p for p in command.get_params(ctx) if p is not help_option]
    for param in params:
        if isinstance(param, click.Argument):
            continue
        row = param.get_help_record(ctx)
        if row is not None:
            record.options.append(list(row))
    arguments = [p for p in params if isinstance(p, click.Argument)]
    if any(getattr(a, "help", None) is not None for a in arguments):
        record.arguments = [list(a.get_help_record(ctx) or ("", "")) for a in arguments]
    record.params = [_shape(p) for p in params]
    if isinstance(command, click.Group):
        record.subcommand_metavar = command.subcommand_metavar
        record.commands = []
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is not None:
                record.commands.append(record_command(sub, ctx, sub_name))
    return record


def _overrides(command: click.Command, method: str, base: type[click.Command]) -> bool:
    return getattr(type(command), method, None) is not getattr(base, method, None)


def _parses_plainly(param: click.Parameter) -> bool:
    """Whether ``param`` reaches the parser as click's own options and arguments do."""
    for base in (click.Option, click.Argument):
        if isinstance(param, base):
            return all(getattr(type(param), m) is getattr(base, m)
                       for m in ("add_to_parser", "handle_parse_result"))
    return False


def _shape(param: click.Parameter) -> ParamShape:
    if isinstance(param, click.Option):
        return ParamShape("option", list(param.opts), list(param.secondary_opts),
                          param.nargs, bool(param.is_flag), bool(param.count),
                          bool(param.multiple))
    return ParamShape("argument", list(param.opts), nargs=param.nargs,
                      multiple=bool(param.multiple))


# --- serving ---------------------------------------------------------------------------


def recorded_command(record: CommandRecord,
                     load: Callable[[], click.Command] | None = None) -> click.Command:
    """A click command that shows ``record``'s help and runs the command ``load`` gives.

    ``load`` (for a top-level command) returns the real command: it is called only
    when the invocation is something other than a request for help.
    """
    if record.commands is not None:
        return RecordedGroup(record, load)
    return RecordedCommand(record, load)


class RecordedCommand(click.Command):
    """A plugin command shown from its record; the real one runs it."""

    def __init__(self, record: CommandRecord,
                 load: Callable[[], click.Command] | None = None) -> None:
        super().__init__(record.name, context_settings=dict(record.context_settings),
                         add_help_option=record.add_help_option,
                         no_args_is_help=record.no_args_is_help)
        self.help = record.help
        self.short_help = record.short_help
        self.epilog = record.epilog
        self.hidden = record.hidden
        self.deprecated = record.deprecated
        self.record = record
        self._load = load
        self._real: click.Command | None = None
        self.params = [_probe_param(i, shape) for i, shape in enumerate(record.params)]

    def real(self) -> click.Command:
        """The real command (loads its plugin, once)."""
        if self._real is None:
            if self._load is None:
                raise RuntimeError(f"recorded command {self.name!r} cannot run on its own")
            self._real = self._load()
        return self._real

    def serve_help(self, info_name: str | None, args: list[str],
                   parent: click.Context | None) -> None:
        """Show the help if ``args`` ask for it (click then exits); else return."""
        if self.record.opaque:
            return
        try:
            click.Command.make_context(self, info_name, list(args), parent=parent)
        except _NO_ARGS_IS_HELP:
            raise
        except click.UsageError:
            return

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        if not extra.get("resilient_parsing"):
            self.serve_help(info_name, args, parent)
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.real().invoke(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.record.short_help_str is not None:
            return self.record.short_help_str
        return super().get_short_help_str(limit)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return list(self.record.usage)

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.record.arguments is not None:
            with formatter.section("Positional arguments"):
                formatter.write_dl([(term, text) for term, text in self.record.arguments])

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(term, text) for term, text in self.record.options]
        help_option = self.get_help_option(ctx)
        if help_option is not None:
            row = help_option.get_help_record(ctx)
            if row is not None:
                rows.append(row)
        if rows:
            with formatter.section("Options"):
                formatter.write_dl(rows)


class RecordedGroup(RecordedCommand, click.Group):
    """A plugin command group shown from its record, subcommands included."""

    def __init__(self, record: CommandRecord,
                 load: Callable[[], click.Command] | None = None) -> None:
        super().__init__(record, load)
        self.subcommand_metavar = record.subcommand_metavar or self.subcommand_metavar
        self._records = {sub.name: sub for sub in record.commands or []}

    def serve_help(self, info_name: str | None, args: list[str],
                   parent: click.Context | None) -> None:
        if self.record.opaque:
            return
        try:
            ctx = click.Command.make_context(self, info_name, list(args), parent=parent)
        except _NO_ARGS_IS_HELP:
            raise
        except click.UsageError:
            return
        protected = getattr(ctx, "_protected_args", None)
        if protected is None:  # click 8.1
            protected = getattr(ctx, "protected_args", [])
        rest = [*protected, *ctx.args]
        if not rest:
            return
        try:
            name, sub, sub_args = self.resolve_command(ctx, rest)
        except click.UsageError:
            return
        if isinstance(sub, RecordedCommand):
            sub.serve_help(name, sub_args, ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self._records)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self._records:
            command = self.commands[cmd_name] = recorded_command(self._records[cmd_name])
        return command

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        RecordedCommand.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)


def _probe_param(index: int, shape: ParamShape) -> click.Parameter:
    """A parameter that parses like the recorded one and checks nothing else."""
    name = f"recorded_{index}"
    if shape.kind == "argument":
        return click.Argument([name], nargs=shape.nargs, required=False)
    decls = [f"{o}/{s}" for o, s in zip(shape.opts, shape.secondary_opts, strict=False)]
    decls += shape.opts[len(decls):]
    if shape.is_flag:
        return click.Option([name, *decls], is_flag=True, multiple=shape.multiple)
    if shape.count:
        return click.Option([name, *decls], count=True)
    return click.Option([name, *decls], nargs=shape.nargs, multiple=shape.multiple)
