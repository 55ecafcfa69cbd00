"""Fault and latency injection: make the sandbox slow, throttled, broken or silent on purpose.

Tests and benchmarks add :class:`Fault` rules programmatically (``sandbox.faults.add(...)``); the HTTP
server exposes the same through ``POST /_sandbox/faults`` with the rule as JSON.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.sandbox.http import SandboxRequest

MAX_RULES = 1_000
"""Every request is matched against every rule, so their number is bounded."""


@dataclass(slots=True)
class Fault:
    """One rule. ``path`` is a glob on the request path (``/incidents*``); ``method`` ``*`` for any.

    ``status`` answers with that HTTP status and PagerDuty's error body (429 gets code 2020 and
    ``ratelimit-reset``); ``timeout`` makes the request time out, ``before`` PagerDuty applied it or
    ``after``; ``malformed`` answers 200 with a body that is not JSON. ``times`` limits how often the
    rule fires (None: always); ``latency`` seconds are added before answering.
    """

    path: str = "*"
    method: str = "*"
    latency: float = 0.0
    status: int | None = None
    code: int | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: Literal["before", "after"] | None = None
    malformed: bool = False
    times: int | None = None
    fired: int = 0

    def matches(self, request: SandboxRequest) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method != "*" and self.method.upper() != request.method:
            return False
        return fnmatch.fnmatchcase(request.path, self.path)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """An ordered list of fault rules plus a base latency applied to every request."""

    def __init__(self, base_latency: float = 0.0) -> None:
        self.base_latency = base_latency
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault | None = None, **kwargs: Any) -> Fault:
        """Append a rule; past :data:`MAX_RULES` a ValueError (``/_sandbox/faults`` answers it 400)."""
        rule = fault or Fault(**kwargs)
        with self._lock:
            if len(self._rules) >= MAX_RULES:
                raise ValueError(f"at most {MAX_RULES} fault rules; clear them first")
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def take(self, request: SandboxRequest) -> tuple[float, Fault | None]:
        """The latency to add and the first matching rule that changes the answer (counted as fired)."""
        latency = self.base_latency
        chosen: Fault | None = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(request):
                    continue
                latency += rule.latency
                changes_answer = rule.status is not None or rule.timeout or rule.malformed
                if changes_answer and chosen is None:
                    chosen = rule
                    rule.fired += 1
                elif not changes_answer:
                    rule.fired += 1
        return latency, chosen
