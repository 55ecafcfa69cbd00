"""What a write that already ran (an exact typed command) is recorded as: the proposal it ran, as shown."""

from __future__ import annotations

from bot.tools.results.base import Result


class WriteRan(Result):
    """The card's words for the write that ran; what it did is the call's ``outcome``."""

    action: str
    summary: str
    changes: list[str]
    no_ops: list[str]
