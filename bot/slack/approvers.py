"""The optional approver group (``ALEX_APPROVER_GROUP``): a Slack user group whose members may confirm
anyone's proposal. An approver's click runs the change as the approver (their PagerDuty role,
their e-mail as ``From``), never as the person who asked."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("bot.slack.approvers")

CACHE_TTL_S = 300.0


class Approvers:
    """Membership of one Slack user group (``usergroups.users.list``), cached for ``ttl_s``."""

    def __init__(self, slack: AsyncWebClient, group_id: str, *, ttl_s: float = CACHE_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.group_id = group_id
        self._slack = slack
        self._ttl_s = ttl_s
        self._clock = clock
        self._members: frozenset[str] = frozenset()
        self._until = 0.0

    async def contains(self, slack_user_id: str) -> bool:
        if self._clock() >= self._until:
            try:
                response = await self._slack.usergroups_users_list(usergroup=self.group_id)
                users = response.get("users") or []
                self._members = frozenset(u for u in users if isinstance(u, str))
            except SlackApiError as exc:  # no group, missing scope: nobody approves for others
                log.warning("usergroups.users.list failed for %s: %s", self.group_id, exc.response.get("error"))
                self._members = frozenset()
            self._until = self._clock() + self._ttl_s
        return slack_user_id in self._members
