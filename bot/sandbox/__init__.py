"""A faithful PagerDuty REST API v2 emulator: seeded accounts, in-process or over HTTP.

``build_sandbox("demo")`` gives a :class:`Sandbox` whose ``transport()`` plugs into any httpx client;
``alex sandbox`` serves the same over HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from bot.sandbox.app import RATE_LIMIT_PER_MINUTE, Sandbox
from bot.sandbox.faults import Fault
from bot.sandbox.model import TokenGrant, World

DatasetName = Literal["demo", "large"]
DEFAULT_NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
"""A fixed "now" (a Tuesday afternoon) for tests; ``alex sandbox`` defaults to the real time instead."""


def build_world(dataset: DatasetName = "demo", *, now: datetime = DEFAULT_NOW, seed: int | None = None,
                scale: float = 1.0) -> World:
    """Build one of the seeded accounts, deterministic for ``(dataset, seed, now, scale)``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if dataset == "demo":
        from bot.sandbox.datasets.demo import build_demo

        return build_demo(now) if seed is None else build_demo(now, seed)
    if dataset == "large":
        from bot.sandbox.datasets.large import build_large

        return build_large(now, scale=scale) if seed is None else build_large(now, seed, scale)
    raise ValueError(f"unknown dataset {dataset!r}: choose demo or large")


def default_token(dataset: DatasetName) -> str:
    """The token that acts as the dataset's Manager user (what ``alex sandbox`` prints)."""
    if dataset == "large":
        from bot.sandbox.datasets.large import LARGE_TOKEN

        return LARGE_TOKEN
    from bot.sandbox.datasets.demo import DEMO_TOKEN

    return DEMO_TOKEN


def build_sandbox(dataset: DatasetName = "demo", *, now: datetime = DEFAULT_NOW, seed: int | None = None,
                  scale: float = 1.0, token: str | None = None,
                  rate_limit_per_minute: int | None = RATE_LIMIT_PER_MINUTE,
                  clock_running: bool = False, public_url: str | None = None) -> Sandbox:
    """A ready sandbox. ``token`` adds one more token acting as the default Manager user; ``public_url``
    is the base of ``self`` links (default: the base a request came to, ``https://api.pagerduty.com``
    in process)."""
    from bot.sandbox.routes import ALL_ROUTES

    world = build_world(dataset, now=now, seed=seed, scale=scale)
    if token is not None:
        world.tokens[token] = world.tokens[default_token(dataset)]
    return Sandbox(world, ALL_ROUTES, rate_limit_per_minute=rate_limit_per_minute,
                   clock_running=clock_running, public_url=public_url)


__all__ = ["DEFAULT_NOW", "Fault", "Sandbox", "TokenGrant", "World", "build_sandbox", "build_world",
           "default_token"]
