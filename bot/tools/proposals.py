"""Execute a confirmed :class:`~bot.tools.base.Proposal`: the only place a write reaches PagerDuty.

Write tools only *prepare* proposals; this runs one after a person confirmed it, as that person
(``From`` = their e-mail) and within their PagerDuty role:

* an actor who cannot write (an Observer or Stakeholder, no linked PagerDuty user, no e-mail) is
  refused before any request;
* the operations run in order; a failure stops the rest and says what was and was not done;
* PagerDuty's "already resolved/acknowledged" (1001/1002) are polite no-ops, not failures;
* an acknowledgement never reopens an incident someone resolved in the meantime (re-read first);
* a write that timed out (``maybe_applied``) is reported as "may have been applied: check" and is
  never retried;
* an idempotent write PagerDuty did not answer is retried by the client; when the retry finds it
  already done (1001/1002, a DELETE's 404, the re-read) after our own unanswered try, that try went
  through: it is reported as done ("the first attempt went through"), with both tries in the audit log;
* override creation answers one result per override: each item's status is checked;
* every call is audited (:class:`~bot.tools.audit.AuditEntry`) to the ``audit`` sink, or to the sink of
  the enclosing :func:`audit_scope` (the Slack app opens one per listener, naming who asked and who
  confirmed): refusals, no-ops, failures and maybe-applied writes included. The audit log fails
  closed: a ``started`` entry is recorded before the first PagerDuty write, and when it cannot be,
  nothing is sent ("not done: the audit log is unavailable — try again"). The outcome entry follows;
  if the store fails after the write, a :class:`~bot.tools.audit.KeepingSink` keeps it durably.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.analysis.windows import instant_or_none, local_iso
from bot.pagerduty import NotFoundError, PagerDutyClient, PagerDutyError
from bot.pagerduty.attempts import Attempt, earlier_may_have_applied
from bot.pagerduty.scope import READ_ONLY_ROLES
from bot.tools.audit import AuditEntry, AuditOutcome, AuditSink, KeepingSink, operation_record
from bot.tools.base import (
    NOTHING_TO_DO,
    Asker,
    NoOpReason,
    Operation,
    Proposal,
    TargetOutcome,
    TargetStatus,
    Tool,
    ToolContext,
)
from bot.tools.common import incident_label, ref_name
from bot.tools.runner import explain_pagerduty_error, run_tool

log = logging.getLogger("bot.tools.proposals")

_ROLE_NAMES = {"observer": "observer", "read_only_user": "stakeholder",
               "read_only_limited_user": "limited stakeholder"}
_DOING = {
    "acknowledge_incidents": "acknowledge incidents",
    "resolve_incidents": "resolve incidents",
    "add_incident_note": "add notes to incidents",
    "create_incident": "create incidents",
    "post_status_update": "post status updates",
    "snooze_incident": "snooze incidents",
    "reassign_incident": "reassign incidents",
    "create_override": "create schedule overrides",
    "delete_override": "delete schedule overrides",
}
_REREAD_CONCURRENCY = 8
WRITE_ROLES_HINT = ("Only a PagerDuty Responder, Manager, Admin or Owner can make changes; ask one of them. "
                    "Do not retry this.")
FIRST_WENT_THROUGH = ("The first attempt went through: PagerDuty answered it too late, and the retry found it "
                      "already done.")
AUDIT_UNAVAILABLE = ("Not done: the audit log is unavailable ({reason}), and alex makes no change it cannot "
                     "record. Nothing was sent to PagerDuty. Try again in a moment.")


@dataclass(slots=True)
class Outcome:
    """What executing a proposal did: ``entries`` give each target's result, typed; ``lines`` the same
    as text for people (nothing parses them).

    ``maybe_applied`` means PagerDuty did not confirm a write that may still have happened: the
    person must check before trying again (alex never retries it).
    """

    ok: bool
    summary: str
    lines: list[str] = field(default_factory=list)
    maybe_applied: bool = False
    not_sent_unaudited: bool = False
    """Refused because the audit log could not record the attempt: nothing was sent."""
    entries: list[TargetOutcome] = field(default_factory=list)
    """One per target: left alone when prepared (the proposal's ``skipped``), then what each write did."""


_BeforeWrite = Callable[[], Awaitable[str | None]]
"""Called once before the first PagerDuty write: a reason not to write, or None to go ahead."""


def refusal(actor: Asker, action: str) -> str | None:
    """Why ``actor`` may not perform ``action`` (a write tool's name), or None when they may."""
    doing = _DOING.get(action, "make changes")
    if actor.user_id is None:
        return f"{actor.name} has no PagerDuty account linked, so alex can't {doing} as them."
    if actor.role in READ_ONLY_ROLES:
        role = _ROLE_NAMES.get(actor.role or "", actor.role)
        return f"{actor.name} has the {role} role in PagerDuty, which can't {doing}."
    if not actor.email:
        return f"alex doesn't know {actor.name}'s PagerDuty e-mail, so it can't {doing} as them."
    return None


@dataclass(frozen=True, slots=True)
class AuditScope:
    """Where :func:`execute` records its attempt, and the who/where it cannot know itself."""

    sink: AuditSink
    requested_by: str | None = None
    confirmed_by: str | None = None
    via: str | None = None
    channel: str | None = None
    thread_ts: str | None = None


_AUDIT: ContextVar[AuditScope | None] = ContextVar("alex_audit_scope", default=None)


@contextlib.contextmanager
def audit_scope(sink: AuditSink | None, *, requested_by: str | None = None, confirmed_by: str | None = None,
                via: str | None = None, channel: str | None = None,
                thread_ts: str | None = None) -> Iterator[None]:
    """Within this block (this task and the tasks it starts), :func:`execute` records to ``sink``."""
    if sink is None:
        yield
        return
    token = _AUDIT.set(AuditScope(sink, requested_by, confirmed_by, via, channel, thread_ts))
    try:
        yield
    finally:
        _AUDIT.reset(token)


async def execute(proposal: Proposal, actor: Asker, client: PagerDutyClient, *,
                  deadline: float | None = None, audit: AuditSink | AuditScope | None = None) -> Outcome:
    """Run ``proposal.operations`` in order as ``actor`` (``From: actor.email``).

    ``audit`` (else the enclosing :func:`audit_scope`'s sink) receives a ``started`` entry before the
    first write (when it cannot, nothing is sent) and one entry with the outcome.
    """
    scope = audit if isinstance(audit, AuditScope) else AuditScope(audit) if audit is not None else _AUDIT.get()
    statuses: list[str] = []
    attempt_id = uuid.uuid4().hex

    async def before_first_write() -> str | None:
        if scope is None:
            return None
        started = _entry(scope, proposal, actor, "started", "About to send the change to PagerDuty.", [], attempt_id)
        try:
            await scope.sink.record(started)
        except Exception as exc:
            reason = type(exc).__name__
            log.error("audit log unavailable (%s): %s refused, nothing sent to PagerDuty", reason, proposal.action)
            return AUDIT_UNAVAILABLE.format(reason=reason)
        return None

    try:
        outcome = await _execute(proposal, actor, client, deadline, statuses, before_first_write)
    except BaseException:
        if scope is not None:
            sent = bool(statuses) and statuses[-1] == _IN_FLIGHT
            failed = Outcome(False, "Executing the change failed unexpectedly.", maybe_applied=sent)
            await _record(scope, proposal, actor, failed, statuses, attempt_id)
        raise
    if scope is not None and not outcome.not_sent_unaudited:
        await _record(scope, proposal, actor, outcome, statuses, attempt_id)
    return outcome


_IN_FLIGHT = "no response"


async def record_refused(action: str, reason: str, actor: Asker, *, targets: tuple[str, ...] = ()) -> None:
    """Audit a write attempt alex refused before any proposal ran (e.g. an Observer's typed ``resolve``),
    in the enclosing :func:`audit_scope`; nothing is recorded outside one."""
    scope = _AUDIT.get()
    if scope is None:
        return
    entry = AuditEntry(action=action, summary=f"{action} refused", outcome="refused", detail=reason,
                       targets=targets, requested_by=scope.requested_by or scope.confirmed_by,
                       confirmed_by=scope.confirmed_by, actor_name=actor.name, actor_email=actor.email,
                       via=scope.via, channel=scope.channel, thread_ts=scope.thread_ts)
    try:
        await scope.sink.record(entry)
    except Exception as exc:
        log.error("audit log: recording a refused %s failed: %s", action, type(exc).__name__)


CHANGED_SINCE = "Not done: PagerDuty changed since this was proposed, so nothing was run. Ask again."
EXECUTED_AS_READ = frozenset({"acknowledge_incidents"})
"""Proposals whose execution re-reads every target itself (no need to prepare them again)."""


async def recheck(proposal: Proposal, tool: Tool[Any] | None, arguments: dict[str, Any] | None,
                  asker: Asker | None, prepared_at: datetime | None, ctx: ToolContext) -> Proposal | Outcome:
    """``proposal`` as it was stored, unless PagerDuty changed since (then an Outcome refusing to run it).

    ``tool`` is prepared again on ``arguments`` as ``asker``, at ``prepared_at`` (so "me" and "tomorrow"
    keep the meaning shown, whoever confirms), reading the current state through ``ctx.client``. Only an
    identical result lets the stored operations run. Without the call's record there is nothing to redo.
    """
    if (tool is None or arguments is None or tool.name in EXECUTED_AS_READ or asker is None
            or prepared_at is None):
        return proposal
    result = await run_tool(tool, arguments, ToolContext(ctx.client, asker, prepared_at, ctx.deadline))
    if result.proposal is None:
        problem = " ".join(p for p in (result.error, result.hint) if p) or "It could not be prepared again."
        return Outcome(False, f"{CHANGED_SINCE} {problem}")
    if result.proposal.operations != proposal.operations:
        now = "; ".join((result.proposal.summary, *result.proposal.noops))
        return Outcome(False, f"{CHANGED_SINCE} It would now be: {now}", list(result.proposal.lines))
    return proposal


def _entry(scope: AuditScope, proposal: Proposal, actor: Asker, result: AuditOutcome, detail: str,
           statuses: list[str], attempt_id: str) -> AuditEntry:
    targets = proposal.incident_ids or tuple(dict.fromkeys(op.path for op in proposal.operations))
    return AuditEntry(
        action=proposal.action, summary=proposal.summary, outcome=result, detail=detail,
        targets=tuple(targets), operations=tuple(operation_record(o.method, o.path, o.body)
                                                 for o in proposal.operations),
        pd_status=tuple(statuses), requested_by=scope.requested_by or scope.confirmed_by,
        confirmed_by=scope.confirmed_by, actor_name=actor.name, actor_email=actor.email, via=scope.via,
        channel=scope.channel, thread_ts=scope.thread_ts, attempt_id=attempt_id)


async def _record(scope: AuditScope, proposal: Proposal, actor: Asker, outcome: Outcome,
                  statuses: list[str], attempt_id: str) -> None:
    result: AuditOutcome = "ok" if outcome.ok else "maybe_applied" if outcome.maybe_applied else "failed"
    entry = _entry(scope, proposal, actor, result, outcome.summary, statuses, attempt_id)
    try:
        if isinstance(scope.sink, KeepingSink):
            await scope.sink.keep(entry)
        else:
            await scope.sink.record(entry)
    except Exception as exc:  # the write happened (or not) either way: say so in the log, keep answering
        log.error("audit log: recording %s (%s) failed and it could not be kept: %s; targets %s, PagerDuty %s",
                  proposal.action, result, type(exc).__name__, ",".join(entry.targets)[:300],
                  ",".join(statuses)[:100])


async def _execute(proposal: Proposal, actor: Asker, client: PagerDutyClient, deadline: float | None,
                   statuses: list[str], before_first_write: _BeforeWrite) -> Outcome:
    refused = refusal(actor, proposal.action)
    if refused is not None or actor.email is None:
        reason = refused or "No e-mail to act as."
        return Outcome(False, reason, [], entries=_all_targets(proposal, "refused", reason))
    if not proposal.operations:
        summary = proposal.summary
        if not summary.startswith(NOTHING_TO_DO):
            summary = NOTHING_TO_DO + _lower_first(summary)
        return Outcome(True, summary, list(proposal.noops), entries=list(proposal.skipped))
    unaudited = await before_first_write()
    if unaudited is not None:
        return Outcome(False, unaudited, not_sent_unaudited=True,
                       entries=_all_targets(proposal, "refused", "the audit log is unavailable"))
    run = _Run(client, actor.email, actor.time_zone, deadline, statuses)
    run.entries.extend(proposal.skipped)
    for number, operation in enumerate(proposal.operations, start=1):
        try:
            run.lines.extend(await run.perform(operation))
        except _LandedEarlier:
            run.lines += [f"{_what(operation)}: done.", FIRST_WENT_THROUGH]
            run.add("done", operation.path, "done on the first attempt", reason="first_went_through")
            run.writes += 1
            run.landed_earlier = True
            continue
        except PagerDutyError as error:
            if error.is_already_done:
                run.lines.append(_already_done(error))
                run.add("no_op", operation.path, run.lines[-1], error.status, reason="already")
                continue
            remaining = len(proposal.operations) - number
            skipped = f" The remaining {remaining} change(s) were not attempted." if remaining else ""
            if error.maybe_applied and await run.note_landed(operation):
                run.lines.append(f"{_what(operation)}: PagerDuty did not answer in time, but the note is there.")
                run.add("done", operation.path, "the note is there", error.status)
                run.writes += 1
                continue
            if error.maybe_applied:
                run.lines.append(f"{_what(operation)}: PagerDuty did not confirm it, so it may or may not have "
                                 "been applied.")
                run.add("maybe_applied", operation.path, "PagerDuty did not confirm it", error.status)
                return Outcome(False, f"PagerDuty did not confirm this change: {_lower_first(proposal.summary)}. "
                               "It may have been applied: check in PagerDuty before trying again."
                               + skipped, run.lines, maybe_applied=True, entries=run.entries)
            problem = explain_pagerduty_error(error)
            message, hint = problem.message, problem.hint
            run.lines.append(f"{_what(operation)}: failed.")
            run.add("failed", operation.path, message, error.status)
            return Outcome(False, f"{message} {hint}{skipped}", run.lines, entries=run.entries)
    if run.refused_items:
        return Outcome(False, f"PagerDuty refused part of it: {_lower_first(proposal.summary)}.", run.lines,
                       entries=run.entries)
    if not run.writes:
        return Outcome(True, f"Nothing changed, it was already done: {_lower_first(proposal.summary)}.",
                       run.lines, entries=run.entries)
    if run.landed_earlier:
        return Outcome(True, f"Done as {actor.name} (the first attempt went through): "
                             f"{_lower_first(proposal.summary)}.", run.lines, entries=run.entries)
    return Outcome(True, f"Done as {actor.name}: {_lower_first(proposal.summary)}.", run.lines,
                   entries=run.entries)


def _all_targets(proposal: Proposal, status: TargetStatus, detail: str) -> list[TargetOutcome]:
    """One entry per target of a proposal none of whose writes were sent."""
    targets = proposal.incident_ids or tuple(dict.fromkeys(op.path for op in proposal.operations))
    return [TargetOutcome(status, target, detail) for target in targets]


def _incident_entry(status: TargetStatus, incident: dict[str, Any], detail: str, pd_status: int | None,
                    reason: NoOpReason | None = None) -> TargetOutcome:
    number = incident.get("incident_number")
    target = f"#{number}" if number is not None else str(incident.get("id"))
    return TargetOutcome(status, target, detail, pd_status, number if isinstance(number, int) else None,
                         incident_label(incident),
                         str(incident.get("status")) if incident.get("status") is not None else None, reason)


class _LandedEarlier(Exception):
    """The retry of an idempotent write found it already done after our own unanswered try: ours landed."""


class _Run:
    """One execution: the client, who acts, and the per-target lines so far."""

    def __init__(self, client: PagerDutyClient, email: str, tz: ZoneInfo, deadline: float | None,
                 statuses: list[str] | None = None) -> None:
        self.client = client
        self.statuses = statuses if statuses is not None else []
        """PagerDuty's answer to each write request, for the audit log."""
        self.email = email
        self.tz = tz
        self.deadline = deadline
        self.lines: list[str] = []
        self.entries: list[TargetOutcome] = []
        self.last_status: int | None = None
        """PagerDuty's HTTP answer to the latest write request."""
        self.refused_items = False
        self.writes = 0
        """Writes PagerDuty applied (no-ops excluded)."""
        self.landed_earlier = False
        """A write went through on a try PagerDuty did not answer (its retry found it done)."""

    def add(self, status: TargetStatus, target: str, detail: str, pd_status: int | None = None, *,
            reason: NoOpReason | None = None) -> None:
        self.entries.append(TargetOutcome(status, target, detail, pd_status, reason=reason))

    async def note_landed(self, op: Operation) -> bool:
        """After an unconfirmed note POST, re-read the notes (never re-post): is ours there now?"""
        content = ((op.body or {}).get("note") or {}).get("content")
        if op.kind != "note" or not content:
            return False
        try:
            notes = (await self.client.get(op.path, deadline=self.deadline)).get("notes", [])
        except PagerDutyError:
            return False
        return any(note.get("content") == content for note in notes)

    async def perform(self, op: Operation) -> list[str]:
        if op.kind == "bulk_status":
            return await self._bulk_status(op)
        body = await self._send(op, op.body)
        return self._describe(op, body)

    async def _send(self, op: Operation, body: dict[str, Any] | None) -> Any:
        self.statuses.append(_IN_FLIGHT)
        attempts: list[Attempt] = []
        try:
            if op.method == "POST":
                answer = await self.client.post(op.path, body, from_email=self.email, deadline=self.deadline,
                                                attempts=attempts)
            elif op.method == "PUT":
                answer = await self.client.put(op.path, body, from_email=self.email, deadline=self.deadline,
                                               attempts=attempts)
            else:
                answer = await self.client.delete(op.path, from_email=self.email, deadline=self.deadline,
                                                  attempts=attempts)
        except PagerDutyError as error:
            self.statuses[-1:] = [a.label for a in attempts]
            done_already = error.is_already_done or (op.method == "DELETE" and isinstance(error, NotFoundError))
            if done_already and earlier_may_have_applied(attempts):
                raise _LandedEarlier from error
            raise
        self.statuses[-1:] = [a.label for a in attempts]
        self.last_status = attempts[-1].status if attempts else None
        self.writes += 1
        return answer

    # -- PUT /incidents: acknowledge / resolve several incidents at once --------------------------
    async def _bulk_status(self, op: Operation) -> list[str]:
        items: list[dict[str, Any]] = list((op.body or {}).get("incidents", []))
        lines: list[str] = []
        if any(item.get("status") == "acknowledged" for item in items):
            # Acknowledging a resolved incident reopens it in PagerDuty: never do that to an incident
            # someone resolved after the proposal was made.
            items, lines = await self._still_applicable(items)
        if not items:
            return lines
        try:
            body = await self._send(op, {"incidents": items})
        except (PagerDutyError, _LandedEarlier) as error:
            landed = isinstance(error, _LandedEarlier)
            if not landed and not (isinstance(error, PagerDutyError) and error.is_already_done):
                raise
            # Someone (or our own unanswered first try) changed some of them: keep the rest and try
            # once more (PUT is idempotent).
            items, more = await self._still_applicable(items, ours_landed=landed)
            lines.extend(more)
            if not items:
                return lines
            body = await self._send(op, {"incidents": items})
        incidents = [i for i in (body.get("incidents", []) if isinstance(body, dict) else []) if isinstance(i, dict)]
        self.entries += [_incident_entry("done", i, str(i.get("status")), self.last_status) for i in incidents]
        return lines + [f"{incident_label(i)}: {i.get('status')}" for i in incidents]

    async def _still_applicable(self, items: list[dict[str, Any]], *, ours_landed: bool = False,
                                ) -> tuple[list[dict[str, Any]], list[str]]:
        """The items still to send, and a line for each left out. ``ours_landed``: our own unanswered
        try came before, so an item already in the wanted state is our write, done."""
        gate = asyncio.Semaphore(_REREAD_CONCURRENCY)

        async def read(item: dict[str, Any]) -> dict[str, Any] | None:
            async with gate:
                try:
                    body = await self.client.get(f"/incidents/{item['id']}", deadline=self.deadline)
                except NotFoundError:
                    return None
            incident = body.get("incident")
            return incident if isinstance(incident, dict) else None

        current = await asyncio.gather(*(read(item) for item in items))
        keep: list[dict[str, Any]] = []
        lines: list[str] = []
        landed = 0
        for item, incident in zip(items, current, strict=True):
            wanted = item.get("status")
            if incident is None:
                lines.append(f"{item['id']}: no longer visible in PagerDuty; left alone.")
                self.entries.append(TargetOutcome("no_op", str(item["id"]), lines[-1], reason="gone"))
            elif incident.get("status") == wanted and ours_landed:
                lines.append(f"{incident_label(incident)}: {wanted}")
                self.entries.append(_incident_entry("done", incident, lines[-1], None, "first_went_through"))
                landed += 1
            elif incident.get("status") == wanted:
                lines.append(f"{incident_label(incident)}: already {wanted}; nothing to do.")
                self.entries.append(_incident_entry("no_op", incident, lines[-1], None, "already"))
            elif wanted == "acknowledged" and incident.get("status") == "resolved":
                lines.append(f"{incident_label(incident)}: resolved in the meantime; not reopened.")
                self.entries.append(_incident_entry("no_op", incident, lines[-1], None, "changed_meanwhile"))
            else:
                keep.append(item)
        if landed:
            self.writes += 1
            self.landed_earlier = True
            lines.append(FIRST_WENT_THROUGH)
        return keep, lines

    # -- results of the other operations ---------------------------------------------------------
    def _describe(self, op: Operation, body: Any) -> list[str]:
        lines = self._describe_lines(op, body)
        if op.kind != "override_create":
            data: dict[str, Any] = body if isinstance(body, dict) else {}
            incident = data.get("incident")
            if isinstance(incident, dict):
                self.entries.append(_incident_entry("done", incident, lines[0], self.last_status))
            else:
                self.add("done", op.path, lines[0], self.last_status)
        return lines

    def _describe_lines(self, op: Operation, body: Any) -> list[str]:
        data: dict[str, Any] = body if isinstance(body, dict) else {}
        if op.kind == "override_create":
            return self._overrides(body)
        if op.kind == "override_delete":
            return [f"Override {op.path.rsplit('/', 1)[-1]} deleted (one already under way ends now instead)."]
        if op.kind == "note":
            note = data.get("note", {})
            return [f"Note added by {ref_name(note.get('user')) or 'you'}."]
        if op.kind == "status_update":
            return ["Status update posted."]
        incident = data.get("incident")
        if not isinstance(incident, dict):
            return ["Done."]
        if op.kind == "snooze":
            until = next((a.get("at") for a in incident.get("pending_actions", [])
                          if a.get("type") == "unacknowledge"), None)
            return [f"{incident_label(incident)}: snoozed" + (f" until {self._local(until)}." if until else ".")]
        if op.kind == "create_incident":
            service = ref_name(incident.get("service"))
            return [f"Created {incident_label(incident)} on {service} ({incident.get('status')}, "
                    f"{incident.get('urgency')} urgency): {incident.get('html_url')}"]
        assignees = ", ".join(ref_name(a.get("assignee")) for a in incident.get("assignments", [])) or "nobody"
        return [f"{incident_label(incident)}: {incident.get('status')}, assigned to {assignees}."]

    def _overrides(self, body: Any) -> list[str]:
        raw = body.get("overrides", []) if isinstance(body, dict) else body if isinstance(body, list) else []
        lines: list[str] = []
        for item in raw:
            if not isinstance(item, dict):
                continue
            # The spec's shape is {status, errors, override}; the upgrade guide's is the bare override.
            status = item.get("status", 201)
            override = item.get("override", item)
            override = override if isinstance(override, dict) else {}
            code = status if isinstance(status, int) else None
            if code is not None and 200 <= code < 300:
                lines.append(f"Override {override.get('id')}: {ref_name(override.get('user'))} from "
                             f"{self._local(override.get('start'))} to {self._local(override.get('end'))}.")
                self.add("done", str(override.get("id")), lines[-1], code)
            else:
                self.refused_items = True
                lines.append(f"Override refused by PagerDuty ({status}): {'; '.join(map(str, item.get('errors', [])))}")
                self.add("refused", str(override.get("id") or "override"), lines[-1], code)
        if not lines:
            self.add("done", "override", "PagerDuty answered without the created override", self.last_status)
        return lines or ["PagerDuty answered without the created override; check the schedule."]

    def _local(self, value: Any) -> str:
        at = instant_or_none(value)
        return str(value) if at is None else local_iso(at, self.tz)


def _already_done(error: PagerDutyError) -> str:
    detail = "; ".join(error.errors) or error.message
    return f"{NOTHING_TO_DO}{detail}."


def _what(op: Operation) -> str:
    return f"{op.method} {op.path}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
