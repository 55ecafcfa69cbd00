"""Query-parameter encoding the way PagerDuty expects it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

__all__ = ["QueryParams", "encode_params", "format_datetime"]

QueryParams = Mapping[str, Any]


def format_datetime(value: datetime) -> str:
    """ISO-8601 with an explicit offset. Naive datetimes are rejected (PD would guess a zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("PagerDuty timestamps must be timezone-aware datetimes (got a naive datetime)")
    return value.isoformat()


def _scalar(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"unsupported value type {type(value).__name__} for query parameter {key!r}")


def encode_params(params: QueryParams | None) -> list[tuple[str, str]]:
    """Encode ``params`` into ordered (name, value) pairs.

    * Lists/tuples/sets become repeated keys whose name ends in ``[]`` (added when missing):
      ``{"statuses[]": ["triggered", "acknowledged"]}`` →
      ``statuses[]=triggered&statuses[]=acknowledged``. An empty list sends nothing.
    * Booleans are lower-case ``true``/``false``; aware datetimes are ISO-8601 with offset.
    * ``None`` values are omitted.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            name = key if key.endswith("[]") else f"{key}[]"
            items = sorted(value) if isinstance(value, set | frozenset) else value
            for item in items:
                if item is None:
                    raise TypeError(f"None inside list query parameter {key!r}")
                pairs.append((name, _scalar(key, item)))
        else:
            pairs.append((key, _scalar(key, value)))
    return pairs
