"""Every presenter, found by the result model its tool declares (``Tool.result``)."""

from __future__ import annotations

from bot.present import directory, escalation, incidents, oncall, overrides, schedules, services
from bot.present.base import AnyPresenter
from bot.tools.registry import TOOLS_BY_NAME

PRESENTERS: tuple[AnyPresenter, ...] = (
    *incidents.PRESENTERS,
    *oncall.PRESENTERS,
    *services.PRESENTERS,
    *escalation.PRESENTERS,
    *schedules.PRESENTERS,
    *overrides.PRESENTERS,
    *directory.PRESENTERS,
)
BY_RESULT: dict[type, AnyPresenter] = {presenter.result: presenter for presenter in PRESENTERS}


def presenter_for(tool_name: str) -> AnyPresenter | None:
    """The presenter of the result model ``tool_name`` declares (None for writes and unknown names)."""
    tool = TOOLS_BY_NAME.get(tool_name)
    return None if tool is None or tool.result is None else BY_RESULT.get(tool.result)
