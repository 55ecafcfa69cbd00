"""Block Kit rendering of alex's answers: pure functions, no I/O.

``render_turn`` builds the whole answer (prose, one section per tool result, proposal cards with
Confirm/Cancel, the notice); ``render_outcome`` replaces a card's buttons with what happened;
``render_notice`` is a one-line notice; ``render_proposal`` is one card; ``render_welcome`` greets
people in the app's Messages tab with the suggested prompts. Untrusted text is escaped
(``escape``), links go only to PagerDuty, times are ``<!date^…>`` tokens, and every message stays
within Slack's limits (50 blocks, 3,000 characters a section, ~11,000 in all, one table).

Button contract with the app: ``incident_ack`` / ``incident_resolve`` (value: the PagerDuty incident
ID), ``proposal_confirm`` / ``proposal_cancel`` (value: the proposal id given to the renderer),
``suggested_prompt`` (value: the prompt to ask).
"""

from bot.present.incidents import ACK_ACTION, RESOLVE_ACTION
from bot.present.kit.escape import escape, is_pagerduty_url
from bot.present.proposals import CANCEL_ACTION, CONFIRM_ACTION, render_proposal
from bot.slack.render.home import ASK_ACTION, render_welcome
from bot.slack.render.message import SlackMessage, render_notice, render_outcome, render_turn

__all__ = [
    "ACK_ACTION",
    "ASK_ACTION",
    "CANCEL_ACTION",
    "CONFIRM_ACTION",
    "RESOLVE_ACTION",
    "SlackMessage",
    "escape",
    "is_pagerduty_url",
    "render_notice",
    "render_outcome",
    "render_proposal",
    "render_turn",
    "render_welcome",
]
