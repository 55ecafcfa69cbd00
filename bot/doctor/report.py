"""The result of one doctor check and its text / JSON rendering."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "fail", "warn", "info"]
Area = Literal["Slack", "PagerDuty", "LLM", "State", "Webhooks"]

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.yml"
"""The Slack app manifest at the repository root (its bot scopes are what alex needs)."""

SYMBOLS: dict[Status, str] = {"ok": "✓", "fail": "✗", "warn": "!", "info": "·"}


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``fail`` is a problem (non-zero exit), ``warn`` works with a caveat, ``info`` is a note."""

    area: Area
    name: str
    status: Status
    message: str
    fix: str | None = None


def failed(checks: Iterable[Check]) -> list[Check]:
    return [check for check in checks if check.status == "fail"]


def render_text(checks: Sequence[Check]) -> str:
    lines: list[str] = []
    area: str | None = None
    for check in checks:
        if check.area != area:
            area = check.area
            lines.append(area)
        lines.append(f"  {SYMBOLS[check.status]} {check.message}")
        if check.fix:
            lines.append(f"    → {check.fix}")
    problems = len(failed(checks))
    warnings = sum(check.status == "warn" for check in checks)
    tail = f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""
    if problems:
        them = "them" if problems != 1 else "it"
        lines.append(f"\n✗ {problems} problem{'s' * (problems != 1)}{tail}: fix {them} and run `alex doctor` again.")
    else:
        lines.append(f"\n✓ alex is ready{tail}.")
    return "\n".join(lines)


def as_json(checks: Sequence[Check]) -> dict[str, Any]:
    return {"ok": not failed(checks), "problems": len(failed(checks)), "checks": [asdict(c) for c in checks]}


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every (non-empty) secret replaced by ``***``: for exception texts we did not write."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
