"""Progress while the agent works: the thread's status says which tools are running.

:class:`Progress` is the agent's ``on_tool_start`` callback: each model step's tool names become one
``assistant.threads.setStatus`` ("alex is checking who is on call…"), at most every ``every_s`` seconds.
The phrases are ours (one per tool), never the model's text. A streamed answer shows the same phrases as
task cards instead (:mod:`bot.slack.streaming`); the status then follows the tools only where the stream
failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("bot.slack.progress")

TOOL_PHRASES = {
    "list_incidents": "listing incidents",
    "get_incident": "reading the incident",
    "who_is_on_call": "checking who is on call",
    "service_health": "checking service health",
    "get_escalation_policy": "reading the escalation policy",
    "get_schedule": "reading the schedule",
    "find_coverage_gaps": "looking for coverage gaps",
    "list_overrides": "listing schedule overrides",
    "find_people": "looking people up",
    "acknowledge_incidents": "preparing the acknowledgement",
    "resolve_incidents": "preparing the resolution",
    "add_incident_note": "preparing the note",
    "create_incident": "preparing the new incident",
    "post_status_update": "preparing the status update",
    "snooze_incident": "preparing the snooze",
    "reassign_incident": "preparing the reassignment",
    "add_responders": "preparing the responder request",
    "set_incident_priority": "preparing the priority change",
    "create_override": "preparing the override",
    "delete_override": "preparing the override removal",
}
OTHER_TOOL = "reading PagerDuty"
MAX_PHRASES = 3


def phrases(names: list[str]) -> list[str]:
    """One phrase per distinct tool, in order, at most ``MAX_PHRASES``."""
    found = dict.fromkeys(TOOL_PHRASES.get(name, OTHER_TOOL) for name in names)
    return list(found)[:MAX_PHRASES]


class Progress:
    """Shows each step's tools as the thread's status; gives up quietly when Slack refuses it."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str, *, every_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._where = {"channel_id": channel, "thread_ts": thread_ts}
        self._every_s = every_s
        self._clock = clock
        self._last: float | None = None
        self._refused = False

    async def __call__(self, names: list[str]) -> None:
        now = self._clock()
        shown = phrases(names)
        if self._refused or not shown or (self._last is not None and now - self._last < self._every_s):
            return
        self._last = now
        try:
            await self._client.assistant_threads_setStatus(
                **self._where, status=f"is {', '.join(shown)}…",
                loading_messages=[f"{phrase[0].upper()}{phrase[1:]}…" for phrase in shown])
        except SlackApiError as exc:
            self._refused = True
            log.info("progress status refused: %s", exc.response.get("error"))
