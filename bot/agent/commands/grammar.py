"""The command grammar: exact commands people type, parsed by code (no LLM), in the spirit of hubot-pager-me.

A message is a command only when it is *exactly* one (case-insensitive; extra spaces, a trailing "?"
or "." and a leading ``pager``/``pd`` are tolerated). Anything else, including a command followed by
free text ("ack 12 and resolve the rest"), parses to ``None`` so it goes to the LLM. Names are checked
to look like names, not sentences: "who is currently on-call for the platform-engineering service?"
is a question for the model, "who is on call for platform-engineering?" is a command. Without a model,
:mod:`bot.agent.commands.understand` reads such questions onto the read commands (through this grammar).

Windows ("next week", "tomorrow", "next 3 days", ISO ``START/END``) are split off the end of a name by
trying the phrases :func:`bot.analysis.windows.resolve_window` understands.

What a command says is typed: one model per command (:mod:`bot.agent.commands.models`), which builds
the arguments of the tool it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.agent.commands.models import (
    AckCommand,
    AnyCommand,
    GapsCommand,
    HelpCommand,
    IncidentCommand,
    IncidentsCommand,
    NoteCommand,
    OncallCommand,
    OverrideCommand,
    OverridesCommand,
    PolicyCommand,
    ResolveCommand,
    ScheduleCommand,
    ServicesCommand,
    WriteCommand,
)
from bot.analysis.windows import WindowError, WindowOutOfRange, parse_instant, resolve_window

MAX_COMMAND_CHARS = 2_100
"""Longer than any command (a note is at most 2,000 characters)."""
MAX_NAME_CHARS = 100
MAX_NAME_WORDS = 6
MAX_WINDOW_WORDS = 4
ME = frozenset({"me", "myself", "i"})

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_NUMBER = r"#?(\d{1,10})(?=[\s,:]|$)"
_FIRST_NUMBER = re.compile(_NUMBER)
_NEXT_NUMBER = re.compile(r"(?:\s*,\s*|\s*&\s*|\s+and\s+|\s+)" + _NUMBER, re.IGNORECASE)
_QUOTED_DOUBLE = re.compile(r'"([^"]+)"\s+(?:"([^"]+)"|(\S.*))')
_QUOTED_SINGLE = re.compile(r"'([^']+)'\s+(?:'([^']+)'|(\S.*))")
_NOTE_LEAD = " \t,:-\u2013\u2014"
_CONNECTORS = frozenset({"for", "in", "during", "over", "from", "on", "of"})
_QUESTION_WORDS = frozenset({"who", "who's", "whos", "what", "what's", "when", "which", "how", "where", "am", "is",
                             "are", "any", "do", "does", "can", "could"})
_PROBE_NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
_PROBE_ZONE = ZoneInfo("UTC")
_SENTENCE_CHARS = set("?!;,{}<>\n\r\t")
# Words that make an argument a sentence rather than a name: the text is left to the model.
_FREE_TEXT = frozenset({
    "and", "or", "the", "with", "please", "find", "identify", "list", "show", "tell", "give", "which", "what",
    "why", "how", "who", "when", "where", "should", "could", "would", "can", "is", "are", "ignore", "previous",
    "instructions", "all", "everything", "every", "any", "their", "currently", "patterns", "this", "that",
    "these", "those", "my", "your", "our", "me",
})


@dataclass(frozen=True, slots=True)
class Command:
    """One parsed command: what it says (its typed model) and the text typed."""

    args: AnyCommand
    text: str

    @property
    def name(self) -> str:
        """The command word: ``oncall``, ``ack``, ``help``."""
        return self.args.word

    @property
    def is_write(self) -> bool:
        """Whether it changes PagerDuty."""
        return isinstance(self.args, WriteCommand)

    @property
    def question(self) -> bool:
        """Typed as a question ("who is on call for X?"), not as a command ("oncall X"): with a model
        configured, a question is the model's to answer (it may need more than the one command)."""
        words = self.text.strip().lower().split()
        return self.text.strip().endswith("?") or bool(words) and words[0] in _QUESTION_WORDS


def parse_command(text: str) -> Command | None:
    """The command ``text`` is exactly, or None when it is anything else (free text for the model)."""
    line = one_line(text)
    if not line:
        return None
    for pattern, build in _GRAMMAR:
        match = pattern.fullmatch(line)
        if match is None:
            continue
        args = build((match.groupdict().get("rest") or "").strip())
        return None if args is None else Command(args, text.strip())
    return None


def help_text() -> str:
    """The command list with one example each (demo names)."""
    return "\n".join([
        "Commands (exact, no AI needed):",
        "• incidents [mine|<service>]: open incidents and their patterns, e.g. `incidents platform-engineering`",
        "• incident <n>: one incident in detail, e.g. `incident 1204`",
        "• ack <n> [<n>…]: acknowledge, e.g. `ack 1204 1205`",
        "• resolve <n> [<n>…] [note]: resolve, with an optional note, e.g. `resolve 1204 rolled back the deploy`",
        "• note <n> <text>: add a note, e.g. `note 1204 rollback in progress`",
        "• oncall [<service>|<schedule>|<policy>|me] [<window>]: who is on call, e.g. "
        "`oncall platform-engineering`, `oncall me`, `who's on call for Platform Primary`",
        "• services: services with open incidents and their status",
        "• policy <name>: an escalation policy's levels and who is on call, e.g. `policy Platform Engineering`",
        "• schedule <name> [<window>]: shifts, handoffs and gaps, e.g. `schedule Platform Primary next week`",
        "• gaps <name|all> [<window>]: coverage gaps, e.g. `gaps Platform Secondary`, `gaps all next week`",
        "• overrides <name> [<window>]: overrides on a schedule, e.g. `overrides Platform Primary`",
        "• override <schedule> <user> <from> <to>: put someone on call, e.g. "
        "`override \"Platform Primary\" \"Ben Carter\" 2026-03-11T09:00 2026-03-11T17:00` or "
        "`override \"Platform Primary\" me tomorrow`",
        "• help: this list",
        "Windows: now, today, tomorrow, this week, next week, next 3 days, ISO-8601 or START/END. "
        "Times are shown in your time zone.",
        "ack, resolve, note and override act at once, as you, within your PagerDuty role.",
    ])


# --------------------------------------------------------------------------- the commands


def _help(rest: str) -> HelpCommand:
    return HelpCommand()


def _incidents(rest: str) -> IncidentsCommand | None:
    words = rest.lower().split()
    if words in ([], ["open"]):
        return IncidentsCommand(mine=False, service=None)
    if words in (["mine"], ["me"], ["for", "me"], ["assigned", "to", "me"]):
        return IncidentsCommand(mine=True, service=None)
    service = as_name(_drop_connector(rest))
    return None if service is None else IncidentsCommand(mine=False, service=service)


def _my_incidents(rest: str) -> IncidentsCommand:
    return IncidentsCommand(mine=True, service=None)


def _incident(rest: str) -> IncidentCommand | None:
    numbers, remainder = leading_numbers(rest)
    if len(numbers) != 1 or remainder:
        return None
    return IncidentCommand(incident=numbers[0])


def _ack(rest: str) -> AckCommand | None:
    numbers, remainder = leading_numbers(rest)
    if not numbers or remainder:
        return None
    return AckCommand(incidents=numbers)


def _resolve(rest: str) -> ResolveCommand | None:
    numbers, remainder = leading_numbers(rest)
    if not numbers:
        return None
    note = remainder.lstrip(_NOTE_LEAD).strip()
    return ResolveCommand(incidents=numbers, note=note or None)


def _note(rest: str) -> NoteCommand | None:
    match = _FIRST_NUMBER.match(rest)
    if match is None:
        return None
    text = rest[match.end():].lstrip(_NOTE_LEAD).strip()
    return None if not text else NoteCommand(incident=int(match.group(1)), text=text)


def _oncall(rest: str) -> OncallCommand | None:
    rest = _drop_connector(rest)
    if rest.lower().endswith("right now"):
        rest = rest[: -len("right now")].strip()
    name, window = split_window(rest)
    if window is not None and window.lower() == "now":
        window = None
    if not name:
        return OncallCommand(target=None, window=window)
    if name.lower() in ME:
        return OncallCommand(target="me", window=window)
    target = as_name(name)
    return None if target is None else OncallCommand(target=target, window=window)


def _am_i_on_call(rest: str) -> OncallCommand | None:
    if not rest:
        return OncallCommand(target="me", window=None)
    name, window = split_window(rest)
    return None if name or window is None else OncallCommand(target="me", window=window)


def _services(rest: str) -> ServicesCommand:
    return ServicesCommand(all=bool(rest))


def _policy(rest: str) -> PolicyCommand | None:
    name = as_name(_drop_connector(rest))
    return None if name is None else PolicyCommand(name=name)


def _name_and_window(rest: str, *, everything: bool) -> tuple[str | None, str | None] | None:
    """``<name> [<window>]`` as (name, window): name None when left out (or ``all``, when ``everything``);
    None when the name reads as a sentence."""
    text, window = split_window(_drop_connector(rest))
    text = _drop_connector(text)
    if not text or (everything and text.lower() in ("all", "*")):
        return None, window
    name = as_name(text)
    return None if name is None else (name, window)


def _everything_or_named(command: type[ScheduleCommand | GapsCommand],
                         ) -> Callable[[str], ScheduleCommand | GapsCommand | None]:
    """``<command> [<name>|all] [<window>]``."""

    def build(rest: str) -> ScheduleCommand | GapsCommand | None:
        found = _name_and_window(rest, everything=True)
        return None if found is None else command(name=found[0], window=found[1])

    return build


def _overrides(rest: str) -> OverridesCommand | None:
    found = _name_and_window(rest, everything=False)
    return None if found is None or found[0] is None else OverridesCommand(name=found[0], window=found[1])


def _override(rest: str) -> OverrideCommand | None:
    words = rest.split()
    start: str | None = None
    end: str | None = None
    window: str | None = None
    if len(words) >= 4 and _is_instant(words[-1]) and (_is_instant(words[-2]) or words[-2].lower() == "now"):
        start, end = words[-2], words[-1]
        body = " ".join(words[:-2])
    else:
        body, window = split_window(rest)
        if window is None:
            return None
    who = schedule_and_user(_drop_connector(body, at_end=True))
    if who is None:
        return None
    schedule, user = who
    return OverrideCommand(schedule=schedule, user=user, start=start, end=end, window=window)


# Order matters: the first pattern that matches the whole line decides.
_GRAMMAR: tuple[tuple[re.Pattern[str], Callable[[str], AnyCommand | None]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), build) for pattern, build in (
        (r"help|commands", _help),
        (r"(?:open\s+)?incidents(?:\s+(?P<rest>.+))?", _incidents),
        (r"my\s+(?:open\s+)?incidents", _my_incidents),
        (r"(?:incident|inc)\s+(?P<rest>.+)", _incident),
        (r"(?:ack|acknowledge)\s+(?P<rest>.+)", _ack),
        (r"resolve\s+(?P<rest>.+)", _resolve),
        (r"note\s+(?P<rest>.+)", _note),
        (r"(?:on[- ]?call|who(?:'s|s|\s+is)\s+on[- ]?call)(?:\s+(?P<rest>.+))?", _oncall),
        (r"am\s+i\s+on[- ]?call(?:\s+(?P<rest>.+))?", _am_i_on_call),
        (r"services(?:\s+(?P<rest>all))?", _services),
        (r"(?:escalation\s+)?policy\s+(?P<rest>.+)", _policy),
        (r"schedules?(?:\s+(?P<rest>.+))?", _everything_or_named(ScheduleCommand)),
        (r"(?:coverage\s+)?gaps(?:\s+(?P<rest>.+))?", _everything_or_named(GapsCommand)),
        (r"overrides\s+(?P<rest>.+)", _overrides),
        (r"override\s+(?P<rest>.+)", _override),
    ))


# --------------------------------------------------------------------------- pieces


def one_line(text: str) -> str | None:
    """One line, single spaces, without the trailing "?"/"." and a hubot-style ``pager`` prefix."""
    line = text.translate(_INVISIBLE).translate(_QUOTES).strip()
    if not line or len(line) > MAX_COMMAND_CHARS or "\n" in line or "\r" in line:
        return None
    line = " ".join(line.split()).rstrip("?.! ").strip()
    return re.sub(r"^(?:pager|pd)\s+", "", line, flags=re.IGNORECASE)


def leading_numbers(text: str) -> tuple[list[int], str]:
    """Incident numbers at the start of ``text`` ("12 13", "#12, #13", "12 and 13") and the rest."""
    match = _FIRST_NUMBER.match(text)
    if match is None:
        return [], text.strip()
    numbers = [int(match.group(1))]
    position = match.end()
    while (more := _NEXT_NUMBER.match(text, position)) is not None:
        numbers.append(int(more.group(1)))
        position = more.end()
    return list(dict.fromkeys(numbers)), text[position:].strip()


def split_window(text: str) -> tuple[str, str | None]:
    """``"Platform Secondary next week"`` -> ``("Platform Secondary", "next week")``: the longest ending
    that is a window phrase, and what comes before it; ``(text, None)`` when it ends in none."""
    words = text.split()
    for size in range(min(len(words), MAX_WINDOW_WORDS), 0, -1):
        phrase = " ".join(words[-size:])
        if is_window(phrase):
            return _drop_connector(" ".join(words[:-size]), at_end=True), window_phrase(phrase)
    return text.strip(), None


def window_phrase(phrase: str) -> str:
    """``"for next week"`` -> ``"next week"``: a window without a leading connector word."""
    rest = _drop_connector(phrase)
    return rest if rest != phrase and rest and is_window(rest) else phrase


def is_window(phrase: str) -> bool:
    """Whether ``phrase`` is a time window :func:`~bot.analysis.windows.resolve_window` understands."""
    try:
        resolve_window(phrase, _PROBE_NOW, _PROBE_ZONE)
    except WindowOutOfRange:
        return True  # a window, only too long or too far: the tool answers with the limit
    except (WindowError, ValueError):
        return False
    return True


def _is_instant(word: str) -> bool:
    if not word[:1].isdigit():
        return False
    try:
        parse_instant(word, _PROBE_ZONE)
    except ValueError:
        return False
    return True


def _drop_connector(text: str, *, at_end: bool = False) -> str:
    """Without a leading (or trailing) "for"/"in"/"from"/…: "gaps for X", "schedule X for next week"."""
    words = text.split()
    if words and words[-1 if at_end else 0].lower() in _CONNECTORS:
        words = words[:-1] if at_end else words[1:]
    return " ".join(words)


def as_name(text: str) -> str | None:
    """``text`` as a PagerDuty name, or None when it reads like a sentence (then the model answers)."""
    name = text.strip().strip("\"'`").strip()
    words = name.lower().split()
    if not name or len(name) > MAX_NAME_CHARS or len(words) > MAX_NAME_WORDS:
        return None
    if _SENTENCE_CHARS & set(name) or _FREE_TEXT & set(words):
        return None
    return name


def schedule_and_user(body: str) -> tuple[str, str] | None:
    """``"Platform Primary" "Ben Carter"``, ``Platform Primary with Ben Carter``, ``Platform Primary me``,
    ``Platform Primary ben@acme.example``; unquoted multi-word names: the last two words (of four or more)
    or the last word are the person."""
    quoted = _QUOTED_DOUBLE.fullmatch(body) or _QUOTED_SINGLE.fullmatch(body)
    if quoted:
        schedule, user = quoted.group(1), quoted.group(2) or quoted.group(3)
    elif (parts := re.split(r"\s+with\s+", body, flags=re.IGNORECASE)) and len(parts) == 2:
        schedule, user = parts
    else:
        words = body.split()
        if len(words) < 2:
            return None
        last = words[-1]
        take = 1 if "@" in last or last.lower() in ME or len(words) < 4 else 2
        schedule, user = " ".join(words[:-take]), " ".join(words[-take:])
    if user.strip().lower() in ME:
        user = "me"
    else:
        checked = as_name(user)
        if checked is None:
            return None
        user = checked
    checked_schedule = as_name(schedule)
    return None if checked_schedule is None else (checked_schedule, user)
