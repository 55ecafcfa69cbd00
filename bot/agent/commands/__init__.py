"""Command mode: exact commands ("oncall platform-engineering", "ack 1204") answered without an LLM.

Used when no LLM is configured, when the model fails, and as a zero-LLM fast path when a message is
exactly a command. :func:`parse_command` decides (None: free text for the model); :func:`run_command`
answers with one tool call (writes execute at once, as the asker).
"""

from bot.agent.commands.grammar import Command, help_text, parse_command
from bot.agent.commands.run import run_command, tool_call

__all__ = ["Command", "help_text", "parse_command", "run_command", "tool_call"]
