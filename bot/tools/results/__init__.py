"""Typed tool results: one pydantic model per tool, built from shared pieces.

The model reads a result as compact JSON (:meth:`Result.wire`); code (presenters, the loop, MCP)
reads the typed fields. Times are aware datetimes already in the asker's zone.
"""

from bot.tools.results.base import LocalTime, Result, ShownTime, WindowEcho, in_zone

__all__ = ["LocalTime", "Result", "ShownTime", "WindowEcho", "in_zone"]
