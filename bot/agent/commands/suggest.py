"""The closest command to a message command mode could not read: "Did you mean `oncall platform-engineering`?"
instead of the whole command list.

By code, bounded: a misspelt command word at the start ("oncal platform-engineering") is put right with
:mod:`difflib`; otherwise the read commands are scored by their keywords in the message (close spellings
count too), and the best one gets the name the message seems to mean (a hyphenated word such as
``payments-api``, or a run of capitalised words such as ``Platform Primary``) or a placeholder. Every
suggestion is checked by the grammar before it is offered. Instruction-like text gets none.
"""

from __future__ import annotations

import difflib

from bot.agent.commands.grammar import as_name, one_line, parse_command
from bot.agent.commands.understand import (
    FILLER,
    FIRST_PERSON,
    INTENTS,
    KINDS,
    MAX_NAME_WORDS,
    Intent,
    Word,
    canonical,
    clauses_of,
    take_window,
    without_politeness,
)

MAX_SUGGESTIONS = 2
TYPO_CUTOFF = 0.75
"""How close a first word must be to a command word to be read as a misspelling of it."""
KEYWORD_CUTOFF = 0.8

COMMAND_WORDS = {
    "incidents": "incidents", "incident": "incident", "oncall": "oncall", "services": "services",
    "policy": "policy", "schedule": "schedule", "gaps": "gaps", "overrides": "overrides", "override": "override",
    "ack": "ack", "acknowledge": "ack", "resolve": "resolve", "note": "note", "help": "help",
}
"""Words a command starts with, and the command."""
TEMPLATES = {
    "incidents": "incidents", "incident": "incident <number>", "oncall": "oncall <service>",
    "services": "services", "policy": "policy <service or policy>", "schedule": "schedule <schedule>",
    "gaps": "gaps all", "overrides": "overrides <schedule>", "override": "override <schedule> <person> <when>",
    "ack": "ack <number>", "resolve": "resolve <number>", "note": "note <number> <text>", "help": "help",
}
"""Each command with placeholders, for when no name fits."""
_NOT_FUZZY = FILLER | KINDS
_NOT_NAMES = FILLER | KINDS | FIRST_PERSON | frozenset(COMMAND_WORDS).union(*(i.keywords for i in INTENTS))
_INSTRUCTIONS = frozenset({"ignore", "disregard", "forget", "pretend", "instructions", "previous", "system",
                           "prompt"})


def closest_commands(text: str) -> list[str]:
    """Up to :data:`MAX_SUGGESTIONS` exact commands ``text`` may have meant, best first (none: no idea)."""
    clauses = clauses_of(text)
    line = one_line(text)
    if clauses is None or line is None or {w.key for c in clauses for w in c} & _INSTRUCTIONS:
        return []
    fixed = _misspelt_command(line)
    if fixed is not None:
        return [fixed]
    clauses, window = take_window([without_politeness(clause) for clause in clauses])
    words = [word for clause in clauses for word in clause]
    name = _name_in(clauses)
    scores = [(_score(intent, words), -order, intent) for order, intent in enumerate(INTENTS)]
    best = max(scores, key=lambda item: item[:2])
    if best[0] > 0:
        return [_with_name(best[2], name, window)]
    if name is not None:
        return [c for c in (f"oncall {name}", f"incidents {name}") if parse_command(c) is not None]
    return []


def _misspelt_command(line: str) -> str | None:
    """``oncal platform-engineering`` -> ``oncall platform-engineering`` (or the command's template when
    the rest does not fit it)."""
    first, _, rest = line.partition(" ")
    key = first.lower()
    if key in COMMAND_WORDS or len(key) < 3:
        return None
    close = difflib.get_close_matches(key, list(COMMAND_WORDS), n=1, cutoff=TYPO_CUTOFF)
    if not close:
        return None
    command = COMMAND_WORDS[close[0]]
    fixed = f"{command} {rest}".strip()
    return fixed if parse_command(fixed) is not None else TEMPLATES[command]


def _score(intent: Intent, words: list[Word]) -> int:
    """How many words are the intent's keywords, or close spellings of them ("incidnets")."""
    keywords = list(intent.keywords)
    return sum(1 for word in words if word.key in intent.keywords or (
        len(word.key) >= 4 and word.key not in _NOT_FUZZY
        and difflib.get_close_matches(word.key, keywords, n=1, cutoff=KEYWORD_CUTOFF)))


def _with_name(intent: Intent, name: str | None, window: str | None) -> str:
    """The intent's command with the name (and window) when the grammar takes them, else its template."""
    tries = [canonical(intent, name, window), canonical(intent, name, None)] if name else []
    if intent.name != "required":
        tries.append(canonical(intent, None, window))
    template = TEMPLATES[intent.command] + (f" {window}" if window and intent.windowed else "")
    return next((text for text in tries if parse_command(text) is not None), template)


def _name_in(clauses: list[list[Word]]) -> str | None:
    """The first word run that looks like a PagerDuty name: hyphenated (``payments-api``) or
    capitalised and no command or filler word (``Platform Primary``)."""
    for clause in clauses:
        run: list[str] = []
        for word in clause:
            looks = "-" in word.key.strip("-") or "_" in word.key or (
                word.text[:1].isupper() and word.key not in _NOT_NAMES)
            if looks and len(run) < MAX_NAME_WORDS:
                run.append(word.text)
            elif run:
                break
        if run and (name := as_name(" ".join(run))) is not None:
            return name
    return None
