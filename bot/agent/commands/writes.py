"""Writes stay strict in command mode: only an exact command, typed as one, changes PagerDuty.

What command mode will not run gets an answer saying why and the exact command to type, and nothing
is sent to PagerDuty:

* a write command typed as a question, "ack 1252?" (:func:`question_hint`): "That reads as a question:
  to acknowledge #1252, type `ack 1252`.";
* a write missing what it needs, "note 1248", "ack", "override Platform Primary" (:func:`write_hint`):
  what is missing, with an example;
* a write inside a sentence, "please ack 1252", "… and resolve all incidents" (:func:`write_hint`).
"""

from __future__ import annotations

import re

from bot.agent.commands.grammar import (
    Command,
    as_name,
    leading_numbers,
    one_line,
    parse_command,
    schedule_and_user,
    split_window,
)
from bot.agent.commands.models import AckCommand, NoteCommand, ResolveCommand, WriteCommand
from bot.present.words import join_and

VERBS = {"ack": "ack", "acknowledge": "ack", "resolve": "resolve", "note": "note", "override": "override"}
"""The words that start a write command, and the command they start."""
MAX_ECHO_CHARS = 80
"""Longer note text is not repeated in the example."""
NOTHING_DONE = "Nothing was changed:"

_LEAD = frozenset({"please", "pls", "plz", "kindly", "can", "could", "would", "will", "you", "alex", "hey", "hi",
                   "ok", "okay", "so", "now", "then", "go", "ahead", "and", "just", "also", "plus", "but"})
"""Words that may come before a write verb at the start of a clause ("please ack", "… and resolve")."""
_TRAILING_POLITENESS = re.compile(r"(?:[\s,]+(?:please|pls|plz|thanks|thank you|for me))+[\s.!]*$", re.IGNORECASE)
_NOTE_NUMBER = re.compile(r"#?(\d{1,10})(?=[\s,:]|$)")
_OVERRIDE_EXAMPLE = '`override "Platform Primary" me tomorrow`'
_VERB_WORDS = {"ack": "acknowledge", "resolve": "resolve"}


def question_hint(command: Command) -> str | None:
    """For a write command typed as a question ("ack 1252?"): why it is not run and what to type."""
    if not isinstance(command.args, WriteCommand) or not command.question:
        return None
    return f"That reads as a question: to {_doing(command.args)}, type `{_exact(command.args)}`."


def write_hint(text: str) -> str | None:
    """For a text that names a write but is no exact write command: what is missing or what to type
    instead. None when no clause of ``text`` starts with a write verb."""
    line = one_line(text)
    if line is None:
        return None
    words = line.split()
    at_start = True
    for index, word in enumerate(words):
        key = word.lower().strip(",;:.!")
        verb = VERBS.get(key) if at_start else None
        if verb is not None:
            rest = " ".join(words[index + 1:]).split(";")[0]
            return _hint(verb, _TRAILING_POLITENESS.sub("", rest).strip())
        at_start = key in _LEAD or word.endswith((",", ";"))
    return None


def _hint(verb: str, rest: str) -> str:
    command = parse_command(f"{verb} {rest}")
    if command is not None and isinstance(command.args, WriteCommand):
        return (f"{NOTHING_DONE} in command mode I run exact commands only, one per message. "
                f"To {_doing(command.args)}, type `{_exact(command.args)}`.")
    if verb in ("ack", "resolve"):
        numbers, _ = leading_numbers(rest)
        if numbers:  # numbers followed by more than a command takes
            refs = " ".join(map(str, numbers))
            return (f"{NOTHING_DONE} `{verb}` takes incident numbers only, one command per message. "
                    f"To {_VERB_WORDS[verb]} {_refs(numbers)}, type `{verb} {refs}`.")
        example = "`ack 1204` or `ack 1204 1205`" if verb == "ack" else \
            "`resolve 1204` or `resolve 1204 rolled back the deploy`"
        return (f"{NOTHING_DONE} which incidents? `{verb}` needs incident numbers, e.g. {example} "
                "(`incidents` lists the open ones).")
    if verb == "note":
        return _note_hint(rest)
    return _override_hint(rest)


def _note_hint(rest: str) -> str:
    match = _NOTE_NUMBER.match(rest)
    if match is None:
        return (f"{NOTHING_DONE} `note` needs the incident number and the text, "
                "e.g. `note 1204 rollback in progress`.")
    number = match.group(1)
    return (f"{NOTHING_DONE} what should the note on #{number} say? Type it after the number, "
            f"e.g. `note {number} rollback in progress`.")


def _override_hint(rest: str) -> str:
    body, window = split_window(rest.replace("`", "'"))
    words = body.split()
    schedule = as_name(body) if 0 < len(words) < 3 else None
    who = schedule_and_user(body) if len(words) >= 3 else None
    if who is not None:
        schedule, user = who
        return (f"{NOTHING_DONE} say when: e.g. `override \"{schedule}\" \"{user}\" tomorrow`, "
                "or two ISO times such as `… 2026-03-11T09:00 2026-03-11T17:00`.")
    if schedule is not None and window is not None:
        return f"{NOTHING_DONE} say who: e.g. `override \"{schedule}\" me {window}`."
    if schedule is not None:
        return (f"{NOTHING_DONE} say who and when: e.g. `override \"{schedule}\" me tomorrow` or "
                f"`override \"{schedule}\" \"Ben Carter\" 2026-03-11T09:00 2026-03-11T17:00`.")
    return f"{NOTHING_DONE} an override needs the schedule, who and when, e.g. {_OVERRIDE_EXAMPLE}."


def _refs(numbers: list[int]) -> str:
    return join_and([f"#{number}" for number in numbers])


def _doing(args: WriteCommand) -> str:
    """What the command would do: "acknowledge #1252", "add that note to #1248"."""
    if isinstance(args, AckCommand | ResolveCommand):
        return f"{_VERB_WORDS[args.word]} {_refs(args.incidents)}"
    if isinstance(args, NoteCommand):
        return f"add that note to #{args.incident}"
    user = "yourself" if args.user == "me" else args.user
    return f"put {user} on call for {args.schedule}"


def _exact(args: WriteCommand) -> str:
    """The command as it runs when typed: ``ack 1252 1253``, ``note 1248 <text>``."""
    if isinstance(args, AckCommand):
        return "ack " + " ".join(map(str, args.incidents))
    if isinstance(args, ResolveCommand):
        note = f" {args.note}" if args.note else ""
        return "resolve " + " ".join(map(str, args.incidents)) + _clip(note)
    if isinstance(args, NoteCommand):
        return f"note {args.incident} {_clip(args.text).strip()}"
    when = f"{args.start} {args.end}" if args.start else args.window
    return f"override \"{args.schedule}\" \"{args.user}\" {when}".replace('"me"', "me").replace("`", "'")


def _clip(text: str) -> str:
    """Typed text repeated inside an example: without backticks, and a placeholder when long (a note)."""
    return text.replace("`", "'") if len(text) <= MAX_ECHO_CHARS else " <your note>"
