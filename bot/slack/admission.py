"""Who is asking: the one place a Slack request's person is resolved to a PagerDuty identity.

Every listener that acts for someone (a message, a proposal's Confirm, an incident card's Ack/Resolve,
``/alex connect``) calls :func:`admit` once, after the ack: the look-up (``users.info``, then
PagerDuty ``/users``) can take seconds, longer than Slack waits for an ack, so it cannot be Bolt
middleware. A refusal comes back as text for the listener to post its usual way (in the thread, or
ephemeral for a click): PagerDuty could not be asked (the :class:`~bot.slack.identity.IdentityError`'s
message), or, for ``reads``, the person has no PagerDuty account and ``ALEX_ALLOW_UNMAPPED_READS`` is off.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.identity import Identity, IdentityError
from bot.slack.runtime import SlackRuntime

UNMAPPED_REFUSED = ("alex could not find a PagerDuty account with your Slack e-mail address, and this workspace "
                    "only answers people who have one. Ask a PagerDuty admin to add you (same e-mail as in Slack).")


@dataclass(frozen=True, slots=True)
class Refused:
    """Why alex will not act for this person now (safe to show them: never a secret)."""

    text: str


async def admit(rt: SlackRuntime, slack_user_id: str, *, reads: bool = False) -> Identity | Refused:
    """The identity alex acts as for ``slack_user_id``, or why it will not (``reads``: answering a message,
    which also needs a PagerDuty account unless unmapped reads are allowed)."""
    try:
        identity = await rt.identities.resolve(slack_user_id)
    except IdentityError as exc:
        return Refused(str(exc))
    if reads and not identity.mapped and not rt.allow_unmapped_reads:
        return Refused(UNMAPPED_REFUSED)
    return identity
