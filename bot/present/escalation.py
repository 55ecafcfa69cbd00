"""Presenters of the escalation tools' results (Block Kit and plain text)."""

from __future__ import annotations

from bot.present.base import AnyPresenter

PRESENTERS: tuple[AnyPresenter, ...] = ()
