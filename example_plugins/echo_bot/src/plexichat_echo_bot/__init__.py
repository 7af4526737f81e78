"""plexichat-echo-bot: two slash commands, answered by the bot user ``bot:echo_bot``.

- ``/echo TEXT`` repeats ``TEXT``.
- ``/roll NdM`` rolls ``N`` dice with ``M`` sides (``/roll d20`` is one die) and answers
  e.g. ``🎲 2d6: 3 + 5 = 8``. ``N`` is 1 to 100, ``M`` 2 to 1000.

A command used wrongly is refused with its usage (400, nothing stored), so the sender
learns how to call it and the channel stays clean.
"""

from __future__ import annotations

import random
import re

from plexichat import hookimpl
from plexichat.chat import CommandCall, Reject, SlashCommand

__all__ = ["MAX_DICE", "MAX_SIDES", "echo", "roll"]

MAX_DICE = 100
MAX_SIDES = 1000
ECHO_USAGE = "usage: /echo TEXT"
ROLL_USAGE = (f"usage: /roll NdM, N dice (1-{MAX_DICE}) with M sides (2-{MAX_SIDES}), "
              "e.g. /roll 2d6")
_DICE = re.compile(r"^(\d{1,6})?[dD](\d{1,9})$")
_random = random.SystemRandom()


def echo(call: CommandCall) -> str | Reject:
    """``/echo TEXT``: the text, as the message filters left it."""
    return call.args if call.args else Reject(ECHO_USAGE)


def roll(call: CommandCall, rng: random.Random = _random) -> str | Reject:
    """``/roll NdM``: N dice with M sides, each shown, and their sum."""
    match = _DICE.match(call.args.strip())
    if match is None:
        return Reject(ROLL_USAGE)
    dice, sides = int(match.group(1) or 1), int(match.group(2))
    if not (1 <= dice <= MAX_DICE and 2 <= sides <= MAX_SIDES):
        return Reject(ROLL_USAGE)
    rolls = [rng.randint(1, sides) for _ in range(dice)]
    spec = f"{dice}d{sides}"
    if dice == 1:
        return f"🎲 {spec}: {rolls[0]}"
    return f"🎲 {spec}: {' + '.join(map(str, rolls))} = {sum(rolls)}"


@hookimpl
def register_slash_commands() -> list[SlashCommand]:
    return [
        SlashCommand("echo", echo, help="/echo TEXT: repeat TEXT"),
        SlashCommand("roll", roll, help="/roll NdM: roll N dice with M sides, e.g. /roll 2d6"),
    ]
