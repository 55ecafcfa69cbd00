"""Every endpoint the sandbox serves, one module per area of PagerDuty's API."""

from __future__ import annotations

from bot.sandbox.app import Route
from bot.sandbox.routes import directory as directory
from bot.sandbox.routes import incidents as incidents
from bot.sandbox.routes import schedules as schedules
from bot.sandbox.routes import webhooks as webhooks

ALL_ROUTES: list[Route] = [*directory.ROUTES, *incidents.ROUTES, *schedules.ROUTES, *webhooks.ROUTES]
