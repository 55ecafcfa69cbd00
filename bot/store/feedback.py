"""Feedback on answers: what a model answer was made of, kept when it is posted, and the clicks on it.

Every answer the model gave in Slack is stored as a :class:`TurnRecord` under a random turn id that its
feedback buttons carry: the question, the thread's earlier messages, each tool call (name, arguments,
status), the answer, the model, who asked, where, and PagerDuty's time then. It is recorded when the answer
is posted, never rebuilt at click time. A click adds a :class:`Vote` (positive or negative, who, when); a
person's second click replaces their vote. ``alex eval --from-feedback`` turns the rated turns into eval
cases (:mod:`bot.evals.from_feedback`).

Bounds, the same in every backend: each record is cut to :data:`MAX_RECORD_CHARS` of JSON (its parts first,
see :meth:`TurnRecord.bounded`); an unrated turn is kept :data:`UNRATED_TTL_S` (a click comes while the
answer is fresh, or not at all) and at most :data:`MAX_UNRATED` of them; a rated one
:data:`RATED_TTL_S` after its last vote and at most :data:`MAX_RATED`; at most :data:`MAX_VOTES` people
rate one turn. The oldest go first. The backends: :class:`InMemoryFeedback` here,
:class:`~bot.store.sqlite.SQLiteFeedback` and :class:`~bot.store.redis.RedisFeedback`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, cast

Rating = Literal["positive", "negative"]
VoteStatus = Literal["recorded", "changed", "same", "full", "missing"]
"""``recorded``: the person's first vote on the turn; ``changed``: it replaced their other rating; ``same``:
they had already given this one; ``full``: :data:`MAX_VOTES` other people rated it already (not kept);
``missing``: no such turn (expired, evicted, or never stored)."""

UNRATED_TTL_S = 7 * 24 * 3600.0
RATED_TTL_S = 90 * 24 * 3600.0
MAX_UNRATED = 3_000
MAX_RATED = 2_000
MAX_VOTES = 20
MAX_RECORD_CHARS = 16_000
"""JSON characters of one stored record, votes aside (at most :data:`MAX_VOTES` small entries)."""
QUESTION_CHARS = 2_000
ANSWER_CHARS = 6_000
MAX_CALLS = 12
ARGUMENT_CHARS = 500
MAX_THREAD_MESSAGES = 6
THREAD_MESSAGE_CHARS = 500
CUT = "…"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class FeedbackCall:
    """One tool call of the turn: its name, its arguments as the model sent them (JSON text), its status."""

    name: str
    arguments: str
    status: str


@dataclass(frozen=True, slots=True)
class Vote:
    rating: Rating
    by: str
    """The Slack user who clicked."""
    at: float
    """Epoch seconds."""


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One model answer as posted, and the votes on it."""

    turn_id: str
    question: str
    """What the model was asked (the message, alex's mention removed)."""
    answer: str
    calls: tuple[FeedbackCall, ...]
    model: str | None
    asked_by: str
    """The Slack user who asked."""
    asker_email: str | None
    """Their PagerDuty e-mail (None when they have no PagerDuty account)."""
    now: str
    """PagerDuty's time when it was asked, ISO 8601 with its offset (an eval case's ``now``)."""
    channel: str
    thread_ts: str
    place: Literal["dm", "channel", "war_room"] = "dm"
    incident: str | None = None
    """The war room's incident number."""
    thread: tuple[tuple[str, str], ...] = ()
    """The thread's earlier messages the model saw, oldest first: (``user`` or ``assistant``, text)."""
    calls_left_out: int = 0
    created_at: float = 0.0
    votes: tuple[Vote, ...] = ()

    @property
    def rating(self) -> Rating | None:
        """``negative`` when anyone rated it so (a reported mis-step), else ``positive``; None: unrated."""
        if not self.votes:
            return None
        return "negative" if any(v.rating == "negative" for v in self.votes) else "positive"

    def bounded(self) -> TurnRecord:
        """This record within the bounds: texts and arguments cut, at most :data:`MAX_CALLS` calls and
        :data:`MAX_THREAD_MESSAGES` earlier messages (the newest), then whole parts dropped (thread first,
        then calls from the end) until its JSON fits :data:`MAX_RECORD_CHARS`."""
        calls = tuple(FeedbackCall(_cut(c.name, 64), _cut(c.arguments, ARGUMENT_CHARS), _cut(c.status, 16))
                      for c in self.calls[:MAX_CALLS])
        thread = tuple((role, _cut(text, THREAD_MESSAGE_CHARS)) for role, text in self.thread[-MAX_THREAD_MESSAGES:])
        record = replace(self, question=_cut(self.question, QUESTION_CHARS), answer=_cut(self.answer, ANSWER_CHARS),
                         model=_cut(self.model, 100) if self.model else None, calls=calls, thread=thread,
                         calls_left_out=self.calls_left_out + len(self.calls) - len(calls), votes=())
        while len(record.to_json()) > MAX_RECORD_CHARS and (record.thread or record.calls):
            if record.thread:
                record = replace(record, thread=record.thread[1:])
            else:
                record = replace(record, calls=record.calls[:-1], calls_left_out=record.calls_left_out + 1)
        return replace(record, votes=self.votes[:MAX_VOTES])

    def to_json(self) -> str:
        """The record without its votes (stored beside it)."""
        return json.dumps({
            "v": _VERSION, "turn_id": self.turn_id, "question": self.question, "answer": self.answer,
            "calls": [[c.name, c.arguments, c.status] for c in self.calls], "model": self.model,
            "asked_by": self.asked_by, "asker_email": self.asker_email, "now": self.now, "channel": self.channel,
            "thread_ts": self.thread_ts, "place": self.place, "incident": self.incident,
            "thread": [list(m) for m in self.thread], "calls_left_out": self.calls_left_out,
            "created_at": self.created_at,
        }, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str, votes: Iterable[Vote] = ()) -> TurnRecord:
        raw: dict[str, Any] = json.loads(data)
        return cls(str(raw["turn_id"]), str(raw["question"]), str(raw["answer"]),
                   tuple(FeedbackCall(str(n), str(a), str(s)) for n, a, s in raw.get("calls") or ()),
                   raw.get("model"), str(raw["asked_by"]), raw.get("asker_email"), str(raw["now"]),
                   str(raw["channel"]), str(raw["thread_ts"]),
                   cast(Any, raw.get("place")) if raw.get("place") in ("dm", "channel", "war_room") else "dm",
                   raw.get("incident"), tuple((str(r), str(t)) for r, t in raw.get("thread") or ()),
                   int(raw.get("calls_left_out") or 0), float(raw.get("created_at") or 0.0),
                   tuple(sorted(votes, key=lambda v: v.at)))


def encode_vote(vote: Vote) -> str:
    return json.dumps({"rating": vote.rating, "by": vote.by, "at": vote.at}, separators=(",", ":"))


def decode_vote(data: str) -> Vote | None:
    try:
        return _vote(json.loads(data))
    except ValueError:
        return None


def encode_votes(votes: Iterable[Vote]) -> str:
    return "[" + ",".join(encode_vote(v) for v in votes) + "]"


def decode_votes(data: str) -> list[Vote]:
    try:
        raw = json.loads(data)
    except ValueError:
        return []
    return [v for item in raw if (v := _vote(item)) is not None] if isinstance(raw, list) else []


def _vote(raw: Any) -> Vote | None:
    if not isinstance(raw, dict) or raw.get("rating") not in ("positive", "negative"):
        return None
    try:
        return Vote(raw["rating"], str(raw["by"]), float(raw["at"]))
    except (KeyError, TypeError, ValueError):
        return None


def vote_status(before: Vote | None, vote: Vote) -> VoteStatus:
    if before is None:
        return "recorded"
    return "same" if before.rating == vote.rating else "changed"


@dataclass(frozen=True, slots=True)
class Voted:
    status: VoteStatus
    record: TurnRecord | None = None
    """The turn with its votes (None when ``missing``)."""


class FeedbackStore(Protocol):
    """Model answers kept for feedback, and the votes on them (bounded and expiring, see the module)."""

    async def put(self, record: TurnRecord) -> None:
        """Keep ``record`` (made :meth:`~TurnRecord.bounded`) under its turn id, unrated."""
        ...

    async def get(self, turn_id: str) -> TurnRecord | None:
        """The turn with its votes; None when unknown or expired."""
        ...

    async def vote(self, turn_id: str, vote: Vote) -> Voted:
        """Add ``vote`` (replacing the voter's earlier one); the turn is then kept :data:`RATED_TTL_S`."""
        ...

    async def rated(self, limit: int = MAX_RATED) -> list[TurnRecord]:
        """The rated turns, most recently rated first."""
        ...

    async def aclose(self) -> None: ...


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


@dataclass(slots=True)
class _Entry:
    record: TurnRecord
    expires_at: float


class InMemoryFeedback:
    """:class:`FeedbackStore` in this process (tests, the sandbox): nothing survives a restart."""

    def __init__(self, *, clock: Callable[[], float] = time.time, max_unrated: int = MAX_UNRATED,
                 max_rated: int = MAX_RATED) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._unrated: OrderedDict[str, _Entry] = OrderedDict()
        self._rated: OrderedDict[str, _Entry] = OrderedDict()  # least recently rated first
        self.max_unrated = max_unrated
        self.max_rated = max_rated

    async def put(self, record: TurnRecord) -> None:
        now = self._clock()
        stored = replace(record.bounded(), created_at=now, votes=())
        with self._lock:
            self._purge(now)
            self._rated.pop(record.turn_id, None)
            self._unrated.pop(record.turn_id, None)
            self._unrated[record.turn_id] = _Entry(stored, now + UNRATED_TTL_S)
            while len(self._unrated) > self.max_unrated:
                self._unrated.popitem(last=False)

    async def get(self, turn_id: str) -> TurnRecord | None:
        now = self._clock()
        with self._lock:
            entry = self._unrated.get(turn_id) or self._rated.get(turn_id)
            return entry.record if entry is not None and entry.expires_at > now else None

    async def vote(self, turn_id: str, vote: Vote) -> Voted:
        now = self._clock()
        with self._lock:
            self._purge(now)
            entry = self._unrated.get(turn_id) or self._rated.get(turn_id)
            if entry is None:
                return Voted("missing")
            votes = {v.by: v for v in entry.record.votes}
            before = votes.get(vote.by)
            if before is None and len(votes) >= MAX_VOTES:
                return Voted("full", entry.record)
            votes[vote.by] = vote
            record = replace(entry.record, votes=tuple(sorted(votes.values(), key=lambda v: v.at)))
            self._unrated.pop(turn_id, None)
            self._rated.pop(turn_id, None)
            self._rated[turn_id] = _Entry(record, now + RATED_TTL_S)
            while len(self._rated) > self.max_rated:
                self._rated.popitem(last=False)
            return Voted(vote_status(before, vote), record)

    async def rated(self, limit: int = MAX_RATED) -> list[TurnRecord]:
        now = self._clock()
        with self._lock:
            return [e.record for e in reversed(self._rated.values()) if e.expires_at > now][: max(0, limit)]

    def sizes(self) -> dict[str, int]:
        with self._lock:
            return {"unrated": len(self._unrated), "rated": len(self._rated)}

    async def aclose(self) -> None:
        return None

    def _purge(self, now: float) -> None:
        # Each dict is in expiry order (one TTL each, entries re-inserted at the end): the expired lead.
        for entries in (self._unrated, self._rated):
            while entries and next(iter(entries.values())).expires_at <= now:
                entries.popitem(last=False)
