"""Command mode: commands ("oncall platform-engineering", "ack 1204") answered without an LLM.

Used when no LLM is configured, when the model fails, and as a zero-LLM fast path when a message is
exactly a command. :func:`parse_command` decides whether a text is exactly a command (None: free text
for the model); :func:`read_message` is command mode's whole answer to a text (the exact command, a read
question read as one, or why nothing runs and the closest command); :func:`run_command` answers with one
tool call (writes execute at once, as the asker). A command is typed (:mod:`.models`): one model per
command, which builds its tool's argument model.
"""

from bot.agent.commands.grammar import Command, help_text, parse_command
from bot.agent.commands.reading import Reading, read_message
from bot.agent.commands.run import run_command, tool_for

__all__ = ["Command", "Reading", "help_text", "parse_command", "read_message", "run_command", "tool_for"]
