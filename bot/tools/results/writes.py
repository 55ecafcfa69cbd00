"""What a write that already ran (an exact typed command) is recorded as: the proposal it ran, as shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.tools.results.base import Result

if TYPE_CHECKING:
    from bot.tools.base import Proposal


class WriteRan(Result):
    """The card's words for the write that ran; what it did is the call's ``outcome``."""

    action: str
    summary: str
    changes: list[str]
    no_ops: list[str]

    @classmethod
    def of(cls, proposal: Proposal) -> WriteRan:
        """The record of ``proposal`` (its wire JSON is ``Proposal.as_dict`` without ``needs_confirmation``)."""
        return cls(action=proposal.action, summary=proposal.summary, changes=list(proposal.lines),
                   no_ops=list(proposal.noops))
