"""Service health: a table of services with their status and open incidents (a text list when the
message already holds its one table)."""

from __future__ import annotations

from typing import Any

from bot.present.kit.blocks import Block, cell, link_cell, section, table
from bot.present.kit.escape import is_pagerduty_url, link, one_line, pagerduty_base, untrusted
from bot.present.kit.limits import TAIL_CHARS, Room, more_line, note, pack

Data = dict[str, Any]
STATUS_ICON = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "active": ":large_green_circle:",
               "maintenance": ":wrench:", "disabled": ":no_entry_sign:"}


def _number(value: Any) -> str:
    return str(value) if isinstance(value, int) else "0"


def _table(rows: list[Data]) -> Block:
    head = [cell(t) for t in ("Service", "Status", "Triggered", "Acknowledged", "High urgency")]
    body = []
    for row in rows:
        name = one_line(row.get("name"), 80) or "?"
        url = row.get("url")
        body.append([link_cell(url, name) if isinstance(url, str) and is_pagerduty_url(url) else cell(name),
                     cell(one_line(row.get("status"), 20) or "?"), cell(_number(row.get("triggered"))),
                     cell(_number(row.get("acknowledged"))), cell(_number(row.get("high")))])
    return table([head, *body], align=["left", "left", "right", "right", "right"])


def _line(row: Data) -> str:
    icon = STATUS_ICON.get(str(row.get("status")), ":grey_question:")
    return (f"• {icon} {link(row.get('url'), row.get('name'), 80)}: {untrusted(row.get('status'), 20)}, "
            f"{_number(row.get('triggered'))} triggered, {_number(row.get('acknowledged'))} acknowledged "
            f"({_number(row.get('high'))} high urgency)")


def render_services(data: Data, room: Room, args: Data) -> list[Block]:
    rows = [r for r in data.get("services") or [] if isinstance(r, dict)]
    totals: Data = data.get("totals") or {}
    hidden = int(data.get("more") or 0)
    count = len(rows) + hidden
    team = f" in {untrusted(data['team'], 60)}" if data.get("team") else ""
    only_active = args.get("only_active") is not False
    opened = totals.get("open", _int(totals.get("triggered")) + _int(totals.get("acknowledged")))
    noun = f"{count} service{'' if count == 1 else 's'}{team}"
    head = f":bar_chart: *{noun} with open incidents*" if only_active else f":bar_chart: *{noun}*"
    head += (f" · {untrusted(opened, 10)} open ({_number(totals.get('triggered'))} triggered, "
             f"{_number(totals.get('acknowledged'))} acknowledged)")
    if not rows:
        head = f":white_check_mark: *No service{team} has open incidents*"
    out: list[Block] = []
    if not room.add(out, section(head), keep_chars=TAIL_CHARS):
        return out
    base = pagerduty_base(*(r.get("url") for r in rows))
    everything = f"{base}/service-directory" if base else None
    if rows:
        grid = _table(rows)
        if room.add(out, grid, keep_blocks=1, keep_chars=TAIL_CHARS):
            if hidden:
                out += note(room, more_line(hidden, everything))
        else:
            listed = pack(room, "", [_line(r) for r in rows], total=count, url=everything, keep_chars=TAIL_CHARS)
            out += listed or note(room, more_line(count, everything))
    extra = []
    for status, word in (("maintenance", "In maintenance"), ("disabled", "Disabled")):
        if data.get(status):
            extra.append(f"{STATUS_ICON[status]} {word}: " + ", ".join(untrusted(n, 60) for n in data[status][:20]))
    for key in ("counts_note", "services_note"):
        if data.get(key):
            extra.append(f"_{untrusted(data[key], 200)}_")
    out += note(room, *extra)
    return out


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
