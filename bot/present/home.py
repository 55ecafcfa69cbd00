"""The Home tab, shown: the view around the sections, its Refresh button, and the incident cards' buttons
pointed at the tab.

The sections' contents are the ordinary presenters' (who_is_on_call, list_incidents, find_coverage_gaps,
through :func:`bot.present.results.result_blocks`), each drawing from its own :class:`Room` (:data:`ROOMS`)
so that a long incident list cannot crowd out the coverage gaps, and all of them together stay within a
Home view's 100 blocks and the ~11,000 characters alex keeps every message to.

On an incident card, Acknowledge and Resolve get Home tab action IDs (:data:`HOME_ACK_ACTION`,
:data:`HOME_RESOLVE_ACTION`, value: the PagerDuty incident ID): a click in the tab has no channel or
message to answer in, so the app answers it by publishing the tab again. "View in PagerDuty" (a link)
stays; the card's other actions (its menu, whose modals answer in the card's message) are left out of
the tab.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.present.incidents import ACK_ACTION, RESOLVE_ACTION, VIEW_ACTION
from bot.present.kit.blocks import Block, button, context, plain, section
from bot.present.kit.escape import untrusted, when
from bot.present.kit.limits import Room, unique_block_ids

HOME_ACK_ACTION = "home_incident_ack"
"""Button contract with the app: acknowledge, from the Home tab, the incident whose ID is the value."""
HOME_RESOLVE_ACTION = "home_incident_resolve"
"""Button contract with the app: resolve, from the Home tab, the incident whose ID is the value."""
REFRESH_ACTION = "home_refresh"
"""Button contract with the app: read PagerDuty again and publish the clicker's Home tab."""
HOME_CALLBACK_ID = "alex_home"
MAX_VIEW_BLOCKS = 100
RETARGETED = {ACK_ACTION: HOME_ACK_ACTION, RESOLVE_ACTION: HOME_RESOLVE_ACTION}
KEPT = frozenset({VIEW_ACTION})
"""Card elements shown in the tab as they are (a link button: its click needs no answer)."""

ROOMS = {"notice": Room(blocks=6, chars=1_200), "oncall": Room(blocks=8, chars=2_000),
         "incidents": Room(blocks=48, chars=5_000), "gaps": Room(blocks=24, chars=2_300)}
"""Each part's share of the view (blocks, text characters); the frame (title, headings, dividers) takes
8 blocks and a few hundred characters more."""

TITLE = "alex · your PagerDuty"
SECTION_TITLES = {"oncall": ":bust_in_silhouette: Your on-call", "incidents": ":rotating_light: Your open incidents",
                  "gaps": ":calendar: Your teams' coverage gaps"}
DIDNT_FIT = "_Too much to show here: ask alex in a DM for the whole answer._"
UNMAPPED = ("alex could not find a PagerDuty account with the e-mail address of your Slack profile{email}, so "
            "there is nothing of yours to show here. Ask a PagerDuty admin to add you with the same e-mail as in "
            "Slack (or to change it to match), then press Refresh.")


def room(part: str) -> Room:
    """A fresh copy of ``part``'s share of the view."""
    return ROOMS[part].copy()


def fitted(blocks: Sequence[Block], part: str) -> list[Block]:
    """As many of ``blocks``, in order, as fit ``part``'s share (a notice too long for the tab is cut)."""
    share = room(part)
    out: list[Block] = []
    for block in blocks:
        if not share.add(out, block):
            break
    return out


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, 150)}


def divider() -> Block:
    return {"type": "divider"}


def refresh_button() -> dict[str, Any]:
    return button("Refresh", REFRESH_ACTION, "refresh")


def top_blocks(name: str | None, updated: datetime) -> list[Block]:
    """The tab's title, whose it is and as of when (in each reader's zone), with the Refresh button."""
    whose = f"For *{untrusted(name, 80)}* · " if name else ""
    line = {**section(f"{whose}updated {when(updated)}"), "accessory": refresh_button()}
    return [header(TITLE), line]


def part_blocks(part: str, body: Sequence[Block], *, title: str | None = None) -> list[Block]:
    """One section of the tab: its heading, then ``body`` (the presenter's blocks), then a divider."""
    shown = list(body) or [context(DIDNT_FIT)]
    return [header(title or SECTION_TITLES[part]), *shown, divider()]


def home_buttons(blocks: Sequence[Block]) -> list[Block]:
    """``blocks`` with the incident cards' Acknowledge/Resolve buttons pointed at the Home tab, the link
    buttons kept and every other interactive element left out (an actions block left empty goes too)."""
    out: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            elements = [_retarget(e) for e in block.get("elements") or [] if _shown(e)]
            if elements:
                out.append({**block, "elements": elements})
        elif "accessory" in block and not _shown(block["accessory"]):
            out.append({k: v for k, v in block.items() if k != "accessory"})
        elif "accessory" in block:
            out.append({**block, "accessory": _retarget(block["accessory"])})
        else:
            out.append(block)
    return out


def _shown(element: dict[str, Any]) -> bool:
    return element.get("action_id") in RETARGETED or element.get("action_id") in KEPT


def _retarget(element: dict[str, Any]) -> dict[str, Any]:
    action_id = element.get("action_id")
    return {**element, "action_id": RETARGETED[action_id]} if action_id in RETARGETED else element


def note_blocks(text: str) -> list[Block]:
    """A line of ours in a section (text we wrote, with PagerDuty names escaped by the caller)."""
    return [context(text)]


def unmapped_blocks(email: str | None) -> list[Block]:
    """What someone with no PagerDuty account sees instead of the sections."""
    said = f" ({untrusted(email, 120)})" if email else ""
    return [section(f":information_source: {UNMAPPED.format(email=said)}")]


def problem_blocks(text: str, *, refresh: bool = False) -> list[Block]:
    """Why the tab cannot be shown just now (never a secret: a refusal's or our own text); ``refresh``: with
    the Refresh button (a view with nothing else)."""
    block = section(f":warning: {untrusted(text, 1_500)}")
    return [{**block, "accessory": refresh_button()} if refresh else block]


def home_view(blocks: Sequence[Block]) -> dict[str, Any]:
    """The ``views.publish`` view: type ``home``, at most :data:`MAX_VIEW_BLOCKS` blocks, unique block IDs."""
    kept = [dict(b) for b in blocks][:MAX_VIEW_BLOCKS]
    while kept and kept[-1].get("type") == "divider":  # the last section's
        kept.pop()
    kept = kept or [section(" ")]
    return {"type": "home", "callback_id": HOME_CALLBACK_ID, "blocks": unique_block_ids(kept)}
