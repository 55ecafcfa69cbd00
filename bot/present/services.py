"""Presenters of the services tools' results (Block Kit and plain text).

Service health is a table of services with their status and open incidents (a list of lines when the
message already holds its one table), then the paused services and why counts are a sample.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.present.base import AnyPresenter, Presenter, nothing_blocks
from bot.present.kit.blocks import Block, cell, link_cell, section, table
from bot.present.kit.escape import is_pagerduty_url, link, one_line, pagerduty_base, untrusted
from bot.present.kit.limits import TAIL_CHARS, Room, more_line, note, pack
from bot.present.words import BULLET, clean, more, plural
from bot.tools.base import ToolResult
from bot.tools.results.services import ServiceHealthReport, ServiceRow
from bot.tools.services import ServiceHealth

STATUS_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "active": ":large_green_circle:",
               "maintenance": ":wrench:", "disabled": ":no_entry_sign:"}

Say = Callable[[object, int], str]
"""How PagerDuty text is written: escaped for mrkdwn (``untrusted``) or as it came (plain text)."""


def _one_line(value: object, limit: int) -> str:
    """PagerDuty's text as one line for plain text (a name with a newline cannot forge a line)."""
    return clean(value, limit)


def _lead(report: ServiceHealthReport, args: ServiceHealth, say: Say) -> str:
    """``8 services in Payments with open incidents`` (``all`` services: without the last words)."""
    count = len(report.services) + report.more
    team = f" in {say(report.team, 60)}" if report.team else ""
    noun = f"{plural(count, 'service')}{team}"
    return noun if args.only_active is False else f"{noun} with open incidents"


def _none_open(report: ServiceHealthReport, say: Say) -> str:
    team = f" in {say(report.team, 60)}" if report.team else ""
    return f"No service{team} has open incidents"


def _counts(row: ServiceRow) -> str:
    return f"{row.triggered} triggered, {row.acknowledged} acknowledged ({row.high} high urgency)"


def _paused(report: ServiceHealthReport) -> list[tuple[str, str, list[str]]]:
    """``(status, "In maintenance", names)`` for the paused services named."""
    named = (("maintenance", "In maintenance", report.maintenance), ("disabled", "Disabled", report.disabled))
    return [(status, word, names) for status, word, names in named if names]


# --------------------------------------------------------------------------- Block Kit


def _table(rows: list[ServiceRow]) -> Block:
    head = [cell(t) for t in ("Service", "Status", "Triggered", "Acknowledged", "High urgency")]
    body = []
    for row in rows:
        name = one_line(row.name, 80) or "?"
        body.append([link_cell(row.url, name) if row.url and is_pagerduty_url(row.url) else cell(name),
                     cell(one_line(row.status, 20) or "?"), cell(str(row.triggered)),
                     cell(str(row.acknowledged)), cell(str(row.high))])
    return table([head, *body], align=["left", "left", "right", "right", "right"])


def _line(row: ServiceRow) -> str:
    icon = STATUS_ICON.get(row.status, ":grey_question:")
    return f"• {icon} {link(row.url, row.name, 80)}: {untrusted(row.status, 20)}, {_counts(row)}"


def health_blocks(result: ToolResult[ServiceHealthReport], args: ServiceHealth, room: Room) -> list[Block]:
    report = result.value
    if result.status == "no_data" or report is None:
        return nothing_blocks(result, room)
    rows, totals = report.services, report.totals
    count = len(rows) + report.more
    head = (f":bar_chart: *{_lead(report, args, untrusted)}* · {totals.open} open ({totals.triggered} triggered, "
            f"{totals.acknowledged} acknowledged)")
    if not rows:
        head = f":white_check_mark: *{_none_open(report, untrusted)}*"
    out: list[Block] = []
    if not room.add(out, section(head), keep_chars=TAIL_CHARS):
        return out
    base = pagerduty_base(*(r.url for r in rows))
    everything = f"{base}/service-directory" if base else None
    if rows:
        if room.add(out, _table(rows), keep_blocks=1, keep_chars=TAIL_CHARS):
            if report.more:
                out += note(room, more_line(report.more, everything))
        else:
            listed = pack(room, "", [_line(r) for r in rows], total=count, url=everything, keep_chars=TAIL_CHARS)
            out += listed or note(room, more_line(count, everything))
    extra = [f"{STATUS_ICON[status]} {word}: " + ", ".join(untrusted(n, 60) for n in names[:20])
             for status, word, names in _paused(report)]
    extra += [f"_{untrusted(text, 200)}_" for text in (report.counts_note, report.services_note) if text]
    out += note(room, *extra)
    return out


# --------------------------------------------------------------------------- plain text


def health_text(result: ToolResult[ServiceHealthReport], args: ServiceHealth) -> list[str]:
    report = result.value
    if result.status == "no_data" or report is None:
        return [result.error or "Nothing found."]
    totals = report.totals
    lines = [f"{_lead(report, args, _one_line)} ({totals.open} open: {totals.triggered} triggered, "
             f"{totals.acknowledged} acknowledged):"]
    if not report.services:
        lines = [f"{_none_open(report, _one_line)}."]
    lines += [f"{BULLET}{clean(row.name, 80)}: {row.status}, {_counts(row)}" for row in report.services]
    lines += more(report.more)
    lines += [f"{word}: {', '.join(clean(n, 80) for n in names)}." for _, word, names in _paused(report)]
    if report.counts_note:
        lines.append(f"Counts: {report.counts_note}.")
    return lines


PRESENTERS: tuple[AnyPresenter, ...] = (
    Presenter(result=ServiceHealthReport, args=ServiceHealth, blocks=health_blocks, text=health_text),
)
