"""Read questions matched onto the read commands, by code (no LLM): the answer path without a model.

"who is currently on call for the platform-engineering service?", "payments-api on call", "escalation for
payments-api", "when am I next on call", "what's firing", "any incidents on search": each is read as the
exact command it asks for ("oncall platform-engineering", "policy payments-api", ...), which the grammar
then parses like a typed one. Both answer alike, and the person is shown the command it was read as.

How, predictably:

* The text is cut into words ("on call" and "on-call" become one word; "next week's" loses its "'s")
  and into clauses at "and", "," and ";". Politeness ("can you tell me", "please") goes, and a window
  phrase ("next week", "tonight") is taken from wherever it stands.
* Each read command is tried in a fixed order (:data:`INTENTS`, most specific first) on each clause that
  holds one of its keywords. Filler words ("currently", "the", "for"…), the kind of thing named
  ("service", "team", "schedule") and the command's own words are dropped; what is left must be nothing
  or one run of at most :data:`MAX_NAME_WORDS` words that the grammar accepts as a name, so a sentence
  never becomes a name. Other clauses ("… and identify patterns") are left out, which the shown
  command makes visible.
* Never a write: a text with a negation, an instruction-like word or a write verb is not read at all
  (:mod:`bot.agent.commands.writes` answers those).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.agent.commands.grammar import (
    MAX_WINDOW_WORDS,
    Command,
    as_name,
    is_window,
    one_line,
    parse_command,
    window_phrase,
)

MAX_QUESTION_WORDS = 40
"""Longer texts are not read as one command."""
MAX_NAME_WORDS = 4
"""A name left over from a question is at most this long (typed commands allow more)."""
ONCALL = "oncall"

_EDGE = "\"'`()[]{}:.!?*"
_CLAUSES = re.compile(r"\s*[,;]\s*|\s+(?:and|but|then|also|plus)\s+", re.IGNORECASE)
_CONTRACTION = re.compile(r"(?:'s|'re|'m|'d|'ll|'ve)$")
_NUMBER = re.compile(r"#?(\d{1,10})")

POLITE: tuple[tuple[str, ...], ...] = (
    ("i", "would", "like", "to", "know"), ("i", "want", "to", "know"), ("i", "need", "to", "know"),
    ("i", "like", "to", "know"), ("do", "you", "know"), ("let", "me", "know"), ("at", "the", "moment"),
    ("can", "you"), ("could", "you"), ("would", "you"), ("will", "you"), ("tell", "me"), ("show", "me"),
    ("give", "me"), ("right", "now"),
)
"""Phrases dropped before anything else: "can you tell me who is on call"."""
FILLER = frozenset({
    "please", "pls", "plz", "kindly", "hi", "hey", "hello", "alex", "thanks", "thank", "you", "ok", "okay", "so",
    "just", "quick", "quickly", "question", "currently", "current", "presently", "now", "right", "next",
    "who", "whom", "what", "whats", "which", "when", "where", "is", "are", "was", "were", "be", "been", "am",
    "do", "does", "did", "has", "have", "had", "there", "here", "it", "a", "an", "the", "any", "anything",
    "anyone", "anybody", "someone", "somebody", "all", "show", "list", "display", "get", "gets", "find",
    "check", "see", "tell", "give", "know", "look", "view", "identify", "spot", "highlight", "of", "for", "on",
    "in", "at", "to", "from", "with", "about", "by", "over", "during", "our", "we", "us", "up",
})
"""Words that never name anything and never change which command is meant."""
FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself"})
KINDS = frozenset({"service", "team", "teams", "schedule", "policy", "escalation", "rota", "rotation"})
"""The kind of thing named ("the platform-engineering service"): the tools work out the kind."""
BLOCKERS = frozenset({
    "not", "no", "never", "don't", "dont", "doesn't", "doesnt", "isn't", "isnt", "aren't", "wasn't", "without",
    "except", "unless", "instead", "why", "should", "ignore", "disregard", "forget", "pretend", "instructions",
    "previous", "system", "prompt",
})
"""A text holding one of these is not read as a command (a negation would be dropped, not obeyed)."""
WRITE_VERBS = frozenset({
    "ack", "acknowledge", "unacknowledge", "resolve", "note", "snooze", "reassign", "trigger", "create", "delete",
    "remove", "merge", "add", "put", "set", "change", "update", "assign", "silence", "mute", "close", "cancel",
    "run", "execute",
})
_NOW = frozenset({"now", "today", "tonight"})
"""Windows that a command without one (incidents, services, policy) can ignore: they answer for now."""


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a question: ``text`` as typed (names keep their case), ``key`` for matching."""

    text: str
    key: str


@dataclass(frozen=True, slots=True)
class Intent:
    """One read command as people ask for it."""

    command: str
    keywords: frozenset[str]
    """A clause holding one of these may mean this command."""
    drop: frozenset[str] = frozenset()
    """Words this command also leaves out ("open" for incidents)."""
    refuse: frozenset[str] = frozenset()
    """A clause holding one of these means another command ("who" is on call, not a schedule)."""
    name: Literal["none", "optional", "required"] = "optional"
    windowed: bool = False
    personal: bool = False
    """"my"/"me"/"I" with no name means the asker ("oncall me", "incidents mine")."""


INTENTS: tuple[Intent, ...] = (
    Intent("gaps", frozenset({"gap", "gaps", "coverage", "uncovered", "covered", "hole", "holes"}),
           drop=KINDS | {ONCALL, "schedules", "nobody"}, windowed=True),
    Intent("overrides", frozenset({"override", "overrides"}), drop=KINDS | {ONCALL, "schedules"},
           name="required", windowed=True),
    Intent("schedule", frozenset({"schedule", "schedules", "rota", "rotas", "rotation", "rotations"}),
           drop=KINDS | {ONCALL, "shift", "shifts", "handoff", "handoffs", "like"},
           refuse=FIRST_PERSON | {"who", "anyone", "anybody"}, windowed=True),
    Intent("policy", frozenset({"escalation", "escalations", "policy", "policies", "escalate", "escalates"}),
           drop=KINDS | {"path", "chain", "rules", "levels", "level", "paged"}, refuse=frozenset({ONCALL}),
           name="required"),
    Intent("oncall", frozenset({ONCALL, "shift", "shifts", "covering", "covers"}), drop=KINDS | {"schedules"},
           windowed=True, personal=True),
    Intent("services", frozenset({"services", "health", "healthy", "unhealthy"}),
           drop=frozenset({"service", "active", "open", "incident", "incidents", "status", "statuses", "their",
                           "triggered", "acknowledged", "impacted", "affected", "broken", "having", "issues",
                           "problems", "ongoing", "state"}), name="none"),
    Intent("incidents", frozenset({"incident", "incidents", "open", "firing", "triggered", "acknowledged",
                                   "unacknowledged", "alert", "alerts", "alerting", "outage", "outages", "broken",
                                   "down", "paging", "problem", "problems", "issue", "issues", "status",
                                   "ongoing", "happening", "going", "wrong", "assigned"}),
           drop=KINDS | {"assigned", "new", "recent", "latest", "active"}, personal=True),
)
_KEYWORDS = frozenset().union(*(intent.keywords for intent in INTENTS))
_INCIDENT_WORDS = FILLER | FIRST_PERSON | {"incident", "inc", "details", "detail", "happening", "happened",
                                           "going", "status", "update", "timeline", "info", "summary", "latest"}


def understand(text: str) -> Command | None:
    """The read command ``text`` asks for in other words, or None. The command's ``text`` is the exact
    command it was read as ("oncall platform-engineering"); it is never a write."""
    clauses = clauses_of(text)
    if clauses is None:
        return None
    keys = {word.key for clause in clauses for word in clause}
    if keys & (BLOCKERS | WRITE_VERBS):
        return None
    clauses, window = take_window([without_politeness(clause) for clause in clauses])
    for clause in clauses:
        if (command := _incident(clause, window)) is not None:
            return command
    for intent in INTENTS:
        for clause in clauses:
            command = _read(intent, clause, window)
            if command is not None:
                return command
    return None


def clauses_of(text: str) -> list[list[Word]] | None:
    """``text`` as clauses of words; None when it is no single line or too long to be one command."""
    line = one_line(text)
    if line is None:
        return None
    clauses = [words for part in _CLAUSES.split(line) if (words := _words(part))]
    if not clauses or sum(map(len, clauses)) > MAX_QUESTION_WORDS:
        return None
    return clauses


def without_politeness(clause: list[Word]) -> list[Word]:
    """The clause without the :data:`POLITE` phrases."""
    kept: list[Word] = []
    index = 0
    while index < len(clause):
        phrase = next((p for p in POLITE if tuple(w.key for w in clause[index:index + len(p)]) == p), None)
        if phrase is None:
            kept.append(clause[index])
            index += 1
        else:
            index += len(phrase)
    return kept


def take_window(clauses: list[list[Word]]) -> tuple[list[list[Word]], str | None]:
    """The first window phrase in the clauses (the longest at its place) and the clauses without it;
    "now" is no window (the commands answer for now)."""
    for number, clause in enumerate(clauses):
        for start in range(len(clause)):
            for size in range(min(MAX_WINDOW_WORDS, len(clause) - start), 0, -1):
                phrase = " ".join(word.text for word in clause[start:start + size])
                if is_window(phrase):
                    rest = clause[:start] + clause[start + size:]
                    phrase = window_phrase(phrase)
                    window = None if phrase.lower() == "now" else phrase
                    return [*clauses[:number], rest, *clauses[number + 1:]], window
    return clauses, None


def canonical(intent: Intent, name: str | None, window: str | None, *, mine: bool = False) -> str:
    """The exact command text: ``oncall platform-engineering next week``, ``incidents mine``."""
    if intent.command == "services":
        return "services"
    target = name or ("me" if intent.command == "oncall" and mine else None)
    if intent.command == "incidents" and mine and not name:
        target = "mine"
    parts = [intent.command, target, window if intent.windowed else None]
    return " ".join(part for part in parts if part)


def _words(part: str) -> list[Word]:
    words: list[Word] = []
    for raw in part.split():
        text = raw.strip(_EDGE)
        key = text.lower()
        if not key.endswith("n't"):
            stripped = _CONTRACTION.sub("", key)
            text, key = text[:len(stripped)], stripped
        if not key:
            continue
        if key in ("call", "calls") and words and words[-1].key == "on":
            words[-1] = Word(f"{words[-1].text} {text}", ONCALL)
        elif key in ("on-call", "oncall", "on-calls", "oncalls"):
            words.append(Word(text, ONCALL))
        else:
            words.append(Word(text, key))
    return words


def _leftover(clause: list[Word], dropped: frozenset[str]) -> str | None:
    """The name left in ``clause`` once ``dropped`` words go: "" for none, None when what is left is not
    one run of words that reads as a name."""
    kept = [index for index, word in enumerate(clause) if word.key not in dropped]
    if not kept:
        return ""
    if kept != list(range(kept[0], kept[-1] + 1)) or len(kept) > MAX_NAME_WORDS:
        return None
    words = [clause[index] for index in kept]
    if any(_NUMBER.fullmatch(word.key) or word.key in _KEYWORDS for word in words):
        return None  # a number is an incident, a keyword another command: not a name
    return as_name(" ".join(word.text for word in words))


def _read(intent: Intent, clause: list[Word], window: str | None) -> Command | None:
    keys = {word.key for word in clause}
    if not keys & intent.keywords or keys & intent.refuse:
        return None
    if window is not None and not intent.windowed and window.lower() not in _NOW:
        return None
    name = _leftover(clause, FILLER | FIRST_PERSON | intent.keywords | intent.drop)
    if name is None or (intent.name == "none" and name) or (intent.name == "required" and not name):
        return None
    mine = intent.personal and bool(keys & FIRST_PERSON)
    return _parsed(canonical(intent, name or None, window, mine=mine), intent.command)


def _incident(clause: list[Word], window: str | None) -> Command | None:
    """"tell me about #1204", "what's happening with incident 1204": ``incident 1204``."""
    numbers = [match.group(1) for word in clause if (match := _NUMBER.fullmatch(word.key))]
    if len(numbers) != 1 or (window is not None and window.lower() not in _NOW):
        return None
    if any(word.key not in _INCIDENT_WORDS and not _NUMBER.fullmatch(word.key) for word in clause):
        return None
    return _parsed(f"incident {numbers[0]}", "incident")


def _parsed(text: str, expected: str) -> Command | None:
    command = parse_command(text)
    if command is None or command.name != expected or command.is_write:
        return None
    return command
