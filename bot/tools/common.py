"""Helpers the tools share: the ``window`` argument (one grammar, one description) and the asked window
(or a ToolError), cutting a result to the budget, and the display names of PagerDuty objects."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import Field

from bot.analysis.windows import MAX_SPAN, WINDOW_GRAMMAR, Window, WindowError, resolve_window
from bot.tools.base import RESULT_BUDGET_CHARS, ToolContext
from bot.tools.errors import ToolError
from bot.tools.results import Result

TITLE_SHOWN = 80
"""Title characters an incident label shows."""
ONCALLS_AHEAD = timedelta(days=90)
"""PagerDuty answers ``/oncalls`` at most 90 days ahead."""
FIT_CHARS = RESULT_BUDGET_CHARS - 500
"""What :func:`fit` aims for: headroom for the envelope the runner adds."""

T = TypeVar("T")
R = TypeVar("R", bound=Result)


def window_field(default: str) -> Any:
    """The ``window`` argument of every tool that takes one: the same grammar, word for word, and
    what null means for this tool."""
    return Field(description=f"{WINDOW_GRAMMAR} null: {default}.")


def asked_window(ctx: ToolContext, text: str | None, hint: str | None, *, default: str = "now",
                 longest: timedelta = MAX_SPAN) -> Window:
    """The window ``text`` names in the asker's zone; an unreadable one, or one longer than ``longest``
    or too far from now, is a ToolError (naming the limit) with ``hint``."""
    try:
        return resolve_window(text, ctx.now, ctx.tz, default=default, longest=longest)
    except WindowError as err:
        raise ToolError(str(err), hint) from err


def json_size(data: Any) -> int:
    """Characters of ``data`` as compact JSON, the way results are sent."""
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str))


def fit(build: Callable[[T], R], options: Iterable[T], budget: int = FIT_CHARS) -> R:
    """The first ``build(option)`` (options from richest to leanest) whose JSON fits ``budget``, else the last."""
    result: R | None = None
    for option in options:
        result = build(option)
        if result.wire_size() <= budget:
            break
    if result is None:
        raise ValueError("fit() needs at least one option")
    return result


def ref_name(ref: Any) -> str:
    """A PagerDuty reference's display name: its summary, name or id; "" when it has none."""
    if not isinstance(ref, dict):
        return ""
    return str(ref.get("summary") or ref.get("name") or ref.get("id") or "")


def incident_label(incident: dict[str, Any]) -> str:
    """``#4521 Checkout latency``: the number (or id) and the title, cut at :data:`TITLE_SHOWN`."""
    title = str(incident.get("title", ""))
    short = title if len(title) <= TITLE_SHOWN else title[: TITLE_SHOWN - 1] + "…"
    return f"#{incident.get('incident_number', incident.get('id'))} {short}".strip()
