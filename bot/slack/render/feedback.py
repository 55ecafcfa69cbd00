"""The feedback buttons under a model answer: Slack's ``context_actions`` block with one ``feedback_buttons``
element (thumbs up / thumbs down). Each button's value is ``<rating>:<turn id>``, the id under which the
answer was stored when it was posted (:mod:`bot.store.feedback`); nothing else travels in the click.
"""

from __future__ import annotations

import re
from typing import cast

from bot.present.kit.blocks import Block, plain
from bot.store.feedback import Rating

FEEDBACK_ACTION = "answer_feedback"
_VALUE = re.compile(r"(positive|negative):([0-9a-f]{8,64})")


def feedback_block(turn_id: str) -> Block:
    """The thumbs up / down under the answer stored as ``turn_id``."""
    return {"type": "context_actions", "block_id": "feedback", "elements": [{
        "type": "feedback_buttons", "action_id": FEEDBACK_ACTION,
        "positive_button": {"text": plain("Good answer", 75), "value": f"positive:{turn_id}",
                            "accessibility_label": "Mark this answer as good"},
        "negative_button": {"text": plain("Bad answer", 75), "value": f"negative:{turn_id}",
                            "accessibility_label": "Mark this answer as wrong or unhelpful"},
    }]}


def parse_feedback(value: str) -> tuple[Rating, str] | None:
    """``(rating, turn id)`` from a clicked button's value; None for anything alex did not put there."""
    match = _VALUE.fullmatch(value)
    return None if match is None else (cast(Rating, match.group(1)), match.group(2))
