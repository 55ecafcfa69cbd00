"""``alex ask``'s exit status: what a script needs to know about the change it asked for.

0 is "answered": a read, or a change that was made (or had nothing to do). A change that was asked for
and not made is never 0: refused, failed or unconfirmed is :data:`WRITE_NOT_DONE`, prepared but waiting
for a person's confirmation is :data:`WRITE_PENDING`. :data:`EXIT_STATUS_HELP` is what ``alex ask
--help`` prints (the README has the same table).
"""

from __future__ import annotations

from bot.agent.commands.grammar import parse_command
from bot.agent.commands.writes import write_hint
from bot.agent.turn import Turn
from bot.tools.registry import WRITE_TOOLS

ANSWERED = 0
SETUP_FAILED = 2
WRITE_NOT_DONE = 3
WRITE_PENDING = 4

EXIT_STATUS_HELP = """\
exit status:
  0  answered: a read, or a change that was made (or had nothing to do)
  2  nothing was asked: bad arguments or settings, no PagerDuty token or a refused one,
     an unknown --as, or a message too long
  3  a change was asked for and not made: refused (role, unknown incident, missing text,
     a write typed as a question), failed, or not confirmed by PagerDuty (it may have
     been applied: check before repeating it)
  4  a change was prepared and waits for a confirmation (alex chat or Slack): not made"""

_WRITE_TOOL_NAMES = frozenset(tool.name for tool in WRITE_TOOLS)


def ask_exit_status(message: str, turn: Turn) -> int:
    """The exit status of ``alex ask message`` that answered ``turn`` (see :data:`EXIT_STATUS_HELP`)."""
    writes = [call.result for call in turn.tool_calls if call.name in _WRITE_TOOL_NAMES]
    executed = [call.outcome for call in turn.tool_calls if call.outcome is not None]
    if any(not done.ok or done.maybe_applied for done in executed):
        return WRITE_NOT_DONE
    if any(proposal.operations for proposal in turn.proposals):
        return WRITE_PENDING
    if executed:
        return ANSWERED
    if any(result.status == "error" for result in writes):
        return WRITE_NOT_DONE
    if turn.mode == "command" and _asks_for_a_change(message):
        return WRITE_NOT_DONE  # command mode said what to type instead, or ran out of time
    return ANSWERED


def _asks_for_a_change(message: str) -> bool:
    command = parse_command(message)
    if command is not None:
        return command.is_write
    return write_hint(message) is not None
