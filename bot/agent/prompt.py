"""The system prompt and suggested prompts: text lives in ``prompts/``, code fills in what it knows.

``prompts/system.md`` has ``{{name}}`` placeholders for the facts code supplies (who asks, when,
where); a placeholder without a value, or a value without a placeholder, is an error, so the file and
this module cannot drift apart silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal

from bot.tools.base import Asker

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """Where the message was written: a DM, a channel, or the war room of one incident."""

    kind: Literal["dm", "channel", "war_room"]
    incident: str | int | None = None
    """The war room's incident number, for ``kind="war_room"``."""
    candidates: tuple[str | int, ...] = ()
    """A thread whose parent names several incidents (``kind="channel"``): "it" is ambiguous there."""
    service: str | None = None
    """The service this channel gets incident notifications for (:mod:`bot.notify.routes`): its default."""
    team: str | None = None
    """Else the team it gets them for."""

    def describe(self) -> str:
        if self.kind == "dm":
            return "a direct message with alex (private)"
        if self.candidates:
            named = ", ".join(f"#{c}" for c in self.candidates)
            where = (f"a thread about several incidents ({named}): \"this incident\" and \"it\" are ambiguous; "
                     "ask which one before preparing any change")
        elif self.kind == "war_room":
            where = (f"the war-room channel for incident #{self.incident}: \"this incident\" and \"it\" mean "
                     f"#{self.incident} unless the person says otherwise")
        else:
            where = "a shared channel: other people can read the answer"
        return where + self._default()

    def _default(self) -> str:
        """The channel's routed service (or team) as the default of questions that name none."""
        name = self.service or self.team
        if not name:
            return ""
        quoted = json.dumps(" ".join(name.split())[:100], ensure_ascii=False)
        what = f"the service {quoted}" if self.service else f"the team {quoted}"
        return (f". This channel gets the incident notifications of {what}: a question here that names no "
                f"service or team (\"who's on call?\", \"what's open?\") is about {what}")


DM = ChannelInfo("dm")


@cache
def _read(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8")


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{{name}}`` placeholders; every placeholder needs a value and every value a placeholder."""
    used = set(_PLACEHOLDER.findall(template))
    if missing := used - values.keys():
        raise KeyError(f"prompt placeholders without a value: {sorted(missing)}")
    if unused := values.keys() - used:
        raise KeyError(f"prompt values without a placeholder: {sorted(unused)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def system_prompt(asker: Asker, now: datetime, channel: ChannelInfo = DM) -> str:
    """The system prompt for one message from ``asker`` at ``now`` (aware) in ``channel``."""
    local = now.astimezone(asker.time_zone)
    if asker.user_id is None:
        identity = "not linked to a PagerDuty user: they can read, but changes cannot be proposed for them"
    else:
        role = asker.role or "unknown role"
        rights = "can confirm changes" if asker.can_write else "read-only: do not propose changes"
        identity = f"{asker.email or 'no email'}, role {role} ({rights}); \"me\" means this user"
    return render(_read("system.md"), {
        "asker_name": asker.name,
        "asker_identity": identity,
        "time_zone": asker.time_zone.key,
        "now": f"{local:%A %Y-%m-%d %H:%M} {local.tzname()} (UTC offset {local:%z})",
        "channel": channel.describe(),
    }).strip()


def suggested_prompts() -> list[str]:
    """The example prompts people are offered (``prompts/suggested.md``, one ``- `` line each)."""
    return [line[2:].strip() for line in _read("suggested.md").splitlines() if line.startswith("- ")]
