"""The Messages tab welcome: what alex does and the suggested prompts, each with an Ask button."""

from __future__ import annotations

from collections.abc import Sequence

from bot.present.kit.blocks import button, context, section
from bot.present.kit.escape import untrusted
from bot.slack.render.message import SlackMessage

ASK_ACTION = "suggested_prompt"
"""Button value: the prompt, asked as if typed."""
WELCOME = ("Hi! I'm alex: ask me about PagerDuty incidents, on-call, schedules and escalation policies. "
           "I can also acknowledge, resolve and add notes for you, as you. Try one of these:")
COMMANDS = "Or type your own question; `help` lists the exact commands (they work without AI)."
PROMPT_CHARS = 200
MAX_PROMPTS = 20


def render_welcome(prompts: Sequence[str]) -> SlackMessage:
    """The welcome with one row per prompt (escaped) and its Ask button."""
    prompts = list(prompts)[:MAX_PROMPTS]
    shown = [untrusted(prompt, PROMPT_CHARS) for prompt in prompts]
    blocks = [section(WELCOME)]
    for prompt, raw in zip(shown, prompts, strict=True):
        row = section(f"• {prompt}")
        row["accessory"] = button("Ask", ASK_ACTION, raw[:PROMPT_CHARS])
        blocks.append(row)
    blocks.append(context(COMMANDS))
    return SlackMessage("\n".join([WELCOME, *(f"• {prompt}" for prompt in shown)]), blocks)
