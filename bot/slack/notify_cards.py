"""Live incident cards: one message per incident per routed channel, updated in place as it changes.

The receiver (:mod:`bot.notify.receiver`) hands each first-seen PagerDuty event to :meth:`LiveCards.handle`:

* a state change (triggered, acknowledged, escalated, resolved…) goes to the incident's channels
  (:meth:`~bot.notify.routes.Routing.channels_for`, plus every channel already showing its card). In each, the
  card store (:meth:`~bot.store.notify.NotifyStore.apply`) decides: the first change makes this replica the
  card's poster (``chat.postMessage``, then the message is recorded); a later one updates the message
  (``chat.update``) with the stored state; an older one (a late or out-of-order delivery) changes nothing.
  After each post or update the stored card is read again and drawn once more if another replica stored a
  newer state meanwhile, so the message ends on the newest state whatever order the calls reached Slack in;
* a notable change also gets a short reply in the card's thread (:func:`reply_text`): "Escalated to Aisha
  Khan", "Resolved by Sam Rivera after 23 min", a note's or a status update's text, a responder asked.

The card is :func:`bot.present.incidents.live_card` (title, service, urgency, priority, status, assignees,
age as a date token; Acknowledge/Resolve and the incident menu while open). Its buttons are the incident
cards' everywhere (:mod:`bot.slack.buttons`): whoever clicks acts as themselves. Everything PagerDuty wrote
is escaped before it reaches mrkdwn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.events import IncidentState, WebhookEvent, parse_time
from bot.notify.routes import Routing
from bot.present.incidents import STATUS_ICON, live_card
from bot.present.kit.blocks import section
from bot.present.kit.escape import untrusted
from bot.slack.render import SlackMessage
from bot.store.notify import Card, NotifyStore
from bot.tools.results.incidents import IncidentRow

log = logging.getLogger("bot.slack.notify_cards")

SYNC_ROUNDS = 3
"""A card is drawn again at most this many times after a change (each time a newer state was stored)."""
TS_WAIT_S = 5.0
"""A reply for a card another replica is still posting waits this long for its message."""
REPLY_CHARS = 600
FALLBACK_CHARS = 300


class LiveCards:
    def __init__(self, client: AsyncWebClient, store: NotifyStore, routing: Routing, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._store = store
        self._routing = routing
        self._clock = clock
        self.updates = 0
        self.posts = 0

    async def handle(self, event: WebhookEvent) -> None:
        """Apply one PagerDuty event (see the module docstring)."""
        existing = await self._store.cards_of(event.incident_id)
        if event.state is None:  # a note, a status update, a responder: replies where its card is
            text = reply_text(event, None)
            for card in existing:
                if text:
                    await self._reply(card, text)
            return
        before = _state_of(existing[0]) if existing else None
        channels = list(dict.fromkeys([*await self._routing.channels_for(event.state),
                                       *(card.channel for card in existing)]))
        text = reply_text(event, before)
        for channel in channels:
            changed = await self._change(channel, event.state, event.at)
            if changed is not None and text and changed.version > 1:
                await self._reply(changed, text)

    async def show(self, state: IncidentState, at: float, *, new: bool) -> int:
        """Bring the incident's cards to ``state`` (the catch-up: PagerDuty's state read at start); ``new``: also
        post it in routed channels without one. How many cards were posted or changed."""
        changed = 0
        cards = {card.channel: card for card in await self._store.cards_of(state.id)}
        channels = list(cards)
        if new and state.is_open:
            channels += [c for c in await self._routing.channels_for(state) if c not in cards]
        data = state.to_json()
        for channel in channels:
            known = cards.get(channel)
            if known is not None and known.data == data and known.ts is not None:
                continue
            if await self._change(channel, state, max(at, known.at if known is not None else at)) is not None:
                changed += 1
        return changed

    async def _change(self, channel: str, state: IncidentState, at: float) -> Card | None:
        """Store ``state`` for the card in ``channel`` and draw it; the card (None: stale, or not posted)."""
        change = await self._store.apply(state.id, channel, at, state.to_json(), open=state.is_open)
        card = change.card
        if change.applied == "stale":
            return None
        if change.applied == "post":
            ts = await self._post(card)
            if ts is None:
                await self._store.release(card.incident_id, card.channel)
                return None
            posted = await self._store.posted(card.incident_id, card.channel, ts)
            if posted is None:
                return None
            await self._sync(posted, drawn=card.version)
            return posted
        if card.ts is not None:  # else its poster draws the newest state once it has posted
            await self._update(card)
            await self._sync(card, drawn=card.version)
        return card

    async def _sync(self, card: Card, *, drawn: int) -> None:
        """Draw the card again while the store holds a newer state than the one last drawn."""
        for _ in range(SYNC_ROUNDS):
            if card.version == drawn:
                latest = await self._store.get(card.incident_id, card.channel)
                if latest is None or latest.version == drawn or latest.ts is None:
                    return
                card = latest
            await self._update(card)
            drawn = card.version

    async def _post(self, card: Card) -> str | None:
        message = card_message(_state_of(card))
        try:
            response = await self._client.chat_postMessage(channel=card.channel, text=message.text,
                                                           blocks=message.blocks, unfurl_links=False,
                                                           unfurl_media=False)
        except SlackApiError as exc:
            log.warning("the card of incident %s could not be posted in %s: %s (is alex in the channel?)",
                        card.incident_id, card.channel, exc.response.get("error"))
            return None
        self.posts += 1
        ts = response.get("ts")
        return str(ts) if ts else None

    async def _update(self, card: Card) -> None:
        if card.ts is None:
            return
        message = card_message(_state_of(card))
        try:
            await self._client.chat_update(channel=card.channel, ts=card.ts, text=message.text, blocks=message.blocks)
            self.updates += 1
        except SlackApiError as exc:
            log.warning("the card of incident %s in %s was not updated: %s", card.incident_id, card.channel,
                        exc.response.get("error"))

    async def _reply(self, card: Card, text: str) -> None:
        ts = card.ts or await self._wait_for_ts(card)
        if ts is None:
            return
        safe = untrusted(text, REPLY_CHARS)
        try:
            await self._client.chat_postMessage(channel=card.channel, thread_ts=ts, text=safe,
                                                blocks=[section(safe)], unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            log.warning("a reply to the card of incident %s in %s failed: %s", card.incident_id, card.channel,
                        exc.response.get("error"))

    async def _wait_for_ts(self, card: Card) -> str | None:
        deadline = self._clock() + TS_WAIT_S
        while self._clock() < deadline:
            await asyncio.sleep(0.1)
            latest = await self._store.get(card.incident_id, card.channel)
            if latest is None:
                return None
            if latest.ts is not None:
                return latest.ts
        return None


def card_message(state: IncidentState) -> SlackMessage:
    """The card of ``state`` (blocks from the incident presenter) and its notification text."""
    row = IncidentRow(number=state.number, title=state.title, id=state.id, url=state.url, status=state.status,
                      urgency=state.urgency, service=state.service, created=state.created,
                      resolved=parse_time(state.resolved_at), assignees=state.assignees, priority=state.priority)
    summary = [state.status, f"{state.urgency} urgency"] + [p for p in (state.priority, state.service) if p]
    text = untrusted(f"#{state.number} {state.title} ({', '.join(summary)})", FALLBACK_CHARS)
    return SlackMessage(f"{STATUS_ICON.get(state.status, '')} {text}".strip(), live_card(row))


def reply_text(event: WebhookEvent, before: IncidentState | None) -> str | None:
    """The thread reply a change deserves (plain words, escaped when posted), or None."""
    by = f" by {event.agent}" if event.agent else ""
    state = event.state
    kind = event.type.removeprefix("incident.")
    if kind == "acknowledged":
        return f":large_yellow_circle: Acknowledged{by}"
    if kind == "unacknowledged":
        return ":red_circle: Unacknowledged: it is waiting for someone again"
    if kind in ("escalated", "reassigned") and state is not None:
        to = ", ".join(state.assignees[:5]) or "nobody"
        return (f":arrow_up: Escalated to {to}" if kind == "escalated"
                else f":arrows_counterclockwise: Reassigned to {to}{by}")
    if kind == "resolved":
        created = state.created if state is not None else None
        after = f" after {_duration(event.occurred_at - created)}" if created is not None else ""
        return f":white_check_mark: Resolved{by}{after}"
    if kind == "reopened":
        return f":red_circle: Reopened{by}"
    if kind == "priority_updated" and state is not None:
        old = before.priority if before is not None else None
        new = state.priority or "no priority"
        return f":label: Priority {old} → {new}{by}" if old and old != new else f":label: Priority set to {new}{by}"
    if kind == "annotated" and event.text:
        return f":memo: Note{by}: {event.text}"
    if kind == "status_update_published" and event.text:
        return f":mega: Status update{by}: {event.text}"
    if kind == "responder.added":
        who = event.responder or "A responder"
        return f":busts_in_silhouette: {who} was asked to help{by}"
    return None


def _state_of(card: Card) -> IncidentState:
    return IncidentState.from_json(card.data)


def _duration(delta: timedelta) -> str:
    """``23 min``, ``2.5 h``, ``3 days``."""
    seconds = max(0, int(delta.total_seconds()))
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{max(1, minutes)} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.0f} days"
