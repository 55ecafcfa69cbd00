"""What command mode does with a message: run an exact command, run a question read as one, or say why
nothing runs and what to type (never the whole command list).

The order keeps writes strict: an exact command first, except a write typed as a question ("ack 1252?");
then a write named in other words, which never runs (the answer says what to type); then a read question
in other words (:mod:`.understand`); then the closest command (:mod:`.suggest`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.agent.commands.grammar import Command, parse_command
from bot.agent.commands.suggest import closest_commands
from bot.agent.commands.understand import understand
from bot.agent.commands.writes import question_hint, write_hint

MISSED = "I couldn't match that to a command."
NO_SUGGESTION = "Try `incidents`, `oncall <service>` or `gaps all`; `help` lists every command."


@dataclass(frozen=True, slots=True)
class Reading:
    """How command mode takes one message."""

    command: Command | None
    """What to run; None: nothing runs, and ``reply`` says why and what to type."""
    read_as: str | None = None
    """The exact command a question was read as; None when it was typed as one."""
    reply: str = ""


def read_message(text: str) -> Reading:
    """How command mode answers ``text`` (no LLM, no PagerDuty request)."""
    return read_parsed(text, parse_command(text))


def read_parsed(text: str, command: Command | None) -> Reading:
    """:func:`read_message` for a text already parsed: ``command`` is what :func:`parse_command` made of it."""
    if command is not None:
        hint = question_hint(command)
        return Reading(None, reply=hint) if hint else Reading(command)
    hint = write_hint(text)
    if hint is not None:
        return Reading(None, reply=hint)
    understood = understand(text)
    if understood is not None:
        return Reading(understood, read_as=understood.text)
    return Reading(None, reply=miss_reply(text))


def miss_reply(text: str) -> str:
    """"I couldn't match that to a command. Did you mean `oncall platform-engineering`?" """
    suggestions = [s.replace("`", "'") for s in closest_commands(text)]
    if not suggestions:
        return f"{MISSED} {NO_SUGGESTION}"
    shown = " or ".join(f"`{s}`" for s in suggestions)
    return f"{MISSED} Did you mean {shown}? (`help` lists every command.)"
