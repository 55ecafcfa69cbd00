"""An incident card's menu: reassign or escalate, add responders, add a note, change priority or urgency.

Each item of the card's menu (``incident_more``, value ``<action>:<PagerDuty ID>``) opens a small modal:

* **Reassign or escalate** (``reassign_incident``): a level of the incident's escalation policy, or a
  person picked in Slack (matched to PagerDuty by e-mail, as alex matches everyone);
* **Add responders** (``add_responders``): up to 10 people and/or one escalation policy, and a message;
* **Add a note** (``add_incident_note``): up to 2,000 characters;
* **Priority and urgency** (``set_incident_priority``): the account's priorities, high or low urgency.

The modal opens at once with "Reading the incident…" (a click's ``trigger_id`` lasts 3 seconds), then
shows the form read as the person who clicked (their role and teams), or why they cannot use it. On
submit the inputs are checked (empty, too long, both or neither, a person with no PagerDuty account,
nothing changed): a bad one keeps the modal open with the error under it (``response_action: errors``).
A valid submission closes the modal and acts exactly as the card's Ack/Resolve do
(:func:`bot.slack.buttons.act_on_incident`): admitted again, refused for a role that cannot write,
prepared by the write tool as the person, executed at once (the submission is their instruction),
audited (``via="incident_card"``); the outcome is posted in the thread and the card is drawn again from
the incident's fresh state (the message is read back with ``conversations.replies``: any replica may
serve the submission). Opened from an ephemeral message or a view, where alex cannot post or update,
the modal stays open and shows the outcome itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pagerduty import PagerDutyError
from bot.present.incidents import MORE_ACTION, VIEW_ACTION
from bot.present.kit.blocks import Block, context, plain, section
from bot.present.kit.escape import one_line, untrusted
from bot.slack.admission import Refused, admit
from bot.slack.buttons import DOUBLE_CLICK_S, STATE_DOWN, UNCONFIRMED, Click, refresh_card
from bot.slack.channels import channel_allowed
from bot.slack.conversation import NOT_ALLOWED_HERE, post, post_ephemeral, thread_id
from bot.slack.identity import IdentityError
from bot.slack.render import render_notice, render_outcome
from bot.slack.runtime import SlackRuntime
from bot.store import StateUnavailable
from bot.tools.base import ToolContext
from bot.tools.errors import ToolError
from bot.tools.incident_actions import MAX_RESPONDERS, MAX_TEXT, CardAction, CardChoices, Choice, card_choices
from bot.tools.proposals import WRITE_ROLES_HINT, Outcome, audit_scope, record_refused, refusal
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.runner import explain_pagerduty_error, run_tool

log = logging.getLogger("bot.slack.modals")

CALLBACK = "incident_form:"
"""``callback_id`` of the forms: ``incident_form:<action>``."""
GATED_ACTIONS = (MORE_ACTION,)
"""Clicks the channel allowlist stops (the link button only opens PagerDuty)."""
PEOPLE_WAIT_S = 1.5
"""How long a submission waits for the people it names to be found in PagerDuty before the modal closes
(Slack waits 3 seconds for the answer); found later, a missing account is said in the thread."""
LOADING = "Reading the incident from PagerDuty…"
WORKING = "Working on it…"
NOT_OPENED = "Slack did not open the form in time (the click is only good for 3 seconds): try again."
_INCIDENT_ID = re.compile(r"[A-Za-z0-9]{1,32}")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")


@dataclass(frozen=True, slots=True)
class Form:
    action: CardAction
    tool: str
    title: str
    """At most 24 characters (Slack's limit for a modal's title)."""
    submit: str


FORMS: dict[str, Form] = {form.action: form for form in (
    Form("reassign", "reassign_incident", "Reassign or escalate", "Reassign"),
    Form("responders", "add_responders", "Add responders", "Send request"),
    Form("note", "add_incident_note", "Add a note", "Add note"),
    Form("priority", "set_incident_priority", "Priority and urgency", "Save"),
)}


@dataclass(frozen=True, slots=True)
class Where:
    """The form's ``private_metadata``: the incident, the card's message, and what the form showed."""

    action: str
    incident: str
    channel: str
    thread_ts: str
    message_ts: str
    in_message: bool
    """The card is in a posted message alex can answer under and update."""
    priority: str | None = None
    urgency: str | None = None

    def dump(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, raw: Any) -> Where | None:
        try:
            data = json.loads(raw) if isinstance(raw, str) else None
            where = cls(**data) if isinstance(data, dict) else None
        except (TypeError, ValueError):
            return None
        if where is None or where.action not in FORMS or not _INCIDENT_ID.fullmatch(str(where.incident)):
            return None
        return where


# ------------------------------------------------------------------------------------ opening


async def open_form(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """Open the form the clicked menu item names: at once as "Reading…", then the form (or why not)."""
    click = Click(body)
    chosen = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value")
    action, _, incident_id = str(chosen or "").partition(":")
    form = FORMS.get(action)
    if form is None or not _INCIDENT_ID.fullmatch(incident_id) or not click.trigger_id:
        return
    try:
        opened = await client.views_open(trigger_id=click.trigger_id, view=notice_view(form, LOADING))
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        await post_ephemeral(client, click.channel, click.user, render_notice(NOT_OPENED), click.thread_ts)
        return
    view_id = str((opened.get("view") or {}).get("id") or "")
    identity = await admit(rt, click.user)
    if isinstance(identity, Refused):
        await _show(client, view_id, notice_view(form, identity.text))
        return
    refused = refusal(identity.asker, form.tool)
    if refused is not None:
        await record_refused(form.tool, refused, identity.asker, targets=(incident_id,))
        await _show(client, view_id, notice_view(form, f"{refused} {WRITE_ROLES_HINT}"))
        return
    ctx = await rt.context(identity.asker, with_deadline=True)
    try:
        choices = await card_choices(ctx, incident_id, form.action)
    except ToolError as exc:
        await _show(client, view_id, notice_view(form, " ".join(filter(None, (exc.message, exc.hint)))))
        return
    except PagerDutyError as exc:
        problem = explain_pagerduty_error(exc)
        await _show(client, view_id, notice_view(form, " ".join(filter(None, (problem.message, problem.hint)))))
        return
    where = Where(form.action, choices.incident_id, click.channel, click.thread_ts, click.message_ts,
                  click.in_message and bool(click.channel),
                  choices.priority.value if choices.priority else None, choices.urgency)
    await _show(client, view_id, form_view(form, choices, where))


async def _show(client: AsyncWebClient, view_id: str, view: dict[str, Any]) -> None:
    if not view_id:
        return
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as exc:  # the person closed it meanwhile (not_found): nothing to show it to
        log.info("views.update failed: %s", exc.response.get("error"))


# ------------------------------------------------------------------------------------ the views


def notice_view(form: Form, text: str) -> dict[str, Any]:
    """The modal with one line of text and no submit button (loading, a refusal, an outcome)."""
    return {"type": "modal", "title": plain(form.title, 24), "close": plain("Close", 24),
            "blocks": [section(untrusted(text, 2_900) or "…")]}


def form_view(form: Form, choices: CardChoices, where: Where) -> dict[str, Any]:
    """The form for ``choices``' incident (every input bounded as the write tool bounds it)."""
    about = f"*{untrusted(choices.label, 200)}*\n{untrusted(choices.state, 300)}"
    if choices.priority is not None:
        about += f" · {untrusted(choices.priority.label, 30)}"
    blocks: list[Block] = [section(about)]
    if form.action == "reassign":
        if choices.options:
            blocks.append(_input("level", "Escalate to", _select("Choose a level", choices.options), optional=True))
        blocks.append(_input("person", "Or reassign to", {"type": "users_select",
                                                          "placeholder": plain("Choose a person", 150)},
                             optional=True))
        blocks.append(context("Choose one. Their PagerDuty notification rules page them; an acknowledged "
                              "incident goes back to triggered."))
    elif form.action == "responders":
        blocks.append(_input("people", "People", {"type": "multi_users_select", "max_selected_items": MAX_RESPONDERS,
                                                  "placeholder": plain("Choose people", 150)}, optional=True))
        if choices.options:
            blocks.append(_input("policy", "Or an escalation policy", _select("Choose a policy", choices.options),
                                 optional=True))
        blocks.append(_input("message", "Message", _text("What should they know? (join the bridge…)"),
                             optional=True, hint=f"Sent with the request; empty: “Please help with "
                                                 f"{one_line(choices.label, 60)}”."))
    elif form.action == "note":
        blocks.append(_input("note", "Note", _text("What is going on, what was tried…"),
                             hint="Added to the incident's timeline in PagerDuty, by you."))
    else:
        if choices.options:
            blocks.append(_input("priority", "Priority", _select("Choose a priority", choices.options,
                                                                 choices.priority), optional=True))
        else:
            blocks.append(context("This account has no incident priorities (or they cannot be read here)."))
        urgencies = (Choice("high", "High (pages with high-urgency rules)"), Choice("low", "Low"))
        current = next((u for u in urgencies if u.value == choices.urgency), None)
        radio: dict[str, Any] = {"type": "radio_buttons", "options": [_option(u) for u in urgencies]}
        if current is not None:
            radio["initial_option"] = _option(current)
        blocks.append(_input("urgency", "Urgency", radio))
    return {"type": "modal", "callback_id": f"{CALLBACK}{form.action}", "title": plain(form.title, 24),
            "submit": plain(form.submit, 24), "close": plain("Cancel", 24), "private_metadata": where.dump(),
            "blocks": blocks}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2_000),
                    "element": {**element, "action_id": block_id}, "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2_000)
    return block


def _option(choice: Choice) -> dict[str, Any]:
    return {"text": plain(one_line(choice.label, 75), 75), "value": choice.value[:150]}


def _select(placeholder: str, options: tuple[Choice, ...], initial: Choice | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "static_select", "placeholder": plain(placeholder, 150),
                               "options": [_option(c) for c in options[:100]]}
    chosen = next((c for c in options[:100] if initial is not None and c.value == initial.value), None)
    if chosen is not None:
        element["initial_option"] = _option(chosen)
    return element


def _text(placeholder: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "multiline": True, "max_length": MAX_TEXT,
            "placeholder": plain(placeholder, 150)}


# ------------------------------------------------------------------------------------ submitting


@dataclass(slots=True)
class Submitted:
    """A form's inputs, checked: the write tool's arguments, the Slack people still to be matched, the
    errors to show in the modal (block ID -> message)."""

    arguments: dict[str, Any]
    people: list[str]
    errors: dict[str, str]


def read_form(form: Form, where: Where, values: dict[str, Any], shown: set[str]) -> Submitted:
    """The submitted values (``view.state.values``) checked as the write tool would, without any request;
    ``shown``: the form's input blocks (an error goes under one of them)."""

    def got(block: str) -> dict[str, Any]:
        found = (values.get(block) or {}).get(block)
        return found if isinstance(found, dict) else {}

    def option(block: str) -> str | None:
        value = (got(block).get("selected_option") or {}).get("value")
        return str(value) if value else None

    def text(block: str) -> str | None:
        value = got(block).get("value")
        return value.strip() or None if isinstance(value, str) else None

    errors: dict[str, str] = {}
    arguments: dict[str, Any] = {"incident": where.incident}
    people: list[str] = []
    if form.action == "reassign":
        level, person = option("level"), got("person").get("selected_user")
        if level and person:
            errors["person"] = "Choose a level or a person, not both."
        elif not level and not person:
            errors["level" if "level" in shown else "person"] = "Choose a level of the policy, or a person."
        people = [str(person)] if person else []
        arguments |= {"to_user": None, "escalation_level": int(level) if level and level.isdigit() else None}
    elif form.action == "responders":
        chosen = got("people").get("selected_users")
        people = list(dict.fromkeys(str(u) for u in chosen)) if isinstance(chosen, list) else []
        policy, message = option("policy"), text("message")
        if not people and not policy:
            errors["people"] = "Choose at least one person, or an escalation policy."
        elif len(people) + bool(policy) > MAX_RESPONDERS:
            errors["people"] = f"At most {MAX_RESPONDERS} responders in one request."
        if message is not None and len(message) > MAX_TEXT:
            errors["message"] = f"The message is {len(message):,} characters; the limit is {MAX_TEXT:,}."
        arguments |= {"responders": [policy] if policy else [], "message": message}
    elif form.action == "note":
        note = text("note")
        if note is None:
            errors["note"] = "Write the note first."
        elif len(note) > MAX_TEXT:
            errors["note"] = f"The note is {len(note):,} characters; the limit is {MAX_TEXT:,}."
        arguments["note"] = note or ""
    else:
        priority, urgency = option("priority"), option("urgency")
        priority = None if priority == where.priority else priority
        urgency = None if urgency == where.urgency else urgency
        if priority is None and urgency is None:
            errors["priority" if "priority" in shown else "urgency"] = (
                "That is what it is already: choose another priority or urgency.")
        arguments |= {"priority": priority, "urgency": urgency}
    if any(not _SLACK_USER.fullmatch(p) for p in people):
        errors["people" if form.action == "responders" else "person"] = "Choose people from this workspace."
    return Submitted(arguments, people, errors)


async def submitted(rt: SlackRuntime, ack: AsyncAck, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """A form's submission: errors back in the modal, else the modal closes and the change is made."""
    view = body.get("view") or {}
    user = str((body.get("user") or {}).get("id") or "")
    where = Where.load(view.get("private_metadata"))
    form = FORMS.get(str(view.get("callback_id") or "").removeprefix(CALLBACK))
    if where is None or form is None or form.action != where.action or not user:
        await ack()
        return
    if where.channel and not channel_allowed(rt.allowed_channels, where.channel):
        await ack(response_action="update", view=notice_view(form, NOT_ALLOWED_HERE))
        return
    shown = {str(b.get("block_id")) for b in view.get("blocks") or []
             if isinstance(b, dict) and b.get("type") == "input"}
    checked = read_form(form, where, (view.get("state") or {}).get("values") or {}, shown)
    if checked.errors:
        await ack(response_action="errors", errors=checked.errors)
        return
    lookups = {p: asyncio.ensure_future(_pagerduty_user(rt, p)) for p in checked.people}
    if lookups:
        await asyncio.wait(lookups.values(), timeout=PEOPLE_WAIT_S)
        found = {p: task.result() for p, task in lookups.items() if task.done() and not task.cancelled()}
        missing = [problem for problem in found.values() if isinstance(problem, Unmapped)]
        if missing:
            await ack(response_action="errors",
                      errors={"people" if form.action == "responders" else "person": missing[0].text})
            return
    in_modal = not where.in_message
    if in_modal:
        await ack(response_action="update", view=notice_view(form, WORKING))
    else:
        await ack()
    view_id = str(view.get("id") or "")
    say = _Say(client, form, where, user, view_id, in_modal)
    people = [await task for task in lookups.values()]
    unmapped = next((p for p in people if isinstance(p, Unmapped)), None)
    if unmapped is not None:
        await say.notice(f"{unmapped.text} Nothing was changed.")
        return
    arguments = dict(checked.arguments)
    ids = [p for p in people if isinstance(p, str)]
    if form.action == "reassign" and ids:
        arguments["to_user"] = ids[0]
    elif form.action == "responders":
        arguments["responders"] = [*ids, *arguments["responders"]]
    await act(rt, client, form, where, user, arguments, say, view_id)


@dataclass(frozen=True, slots=True)
class Unmapped:
    text: str


async def _pagerduty_user(rt: SlackRuntime, slack_user: str) -> str | Unmapped:
    """The PagerDuty user ID of a Slack user picked in a form (matched by e-mail, never a stand-in)."""
    try:
        identity = await rt.identities.resolve(slack_user)
    except IdentityError as exc:
        return Unmapped(str(exc))
    except Exception as exc:  # the form must still get its answer
        log.warning("looking up a picked person failed (%s)", type(exc).__name__)
        return Unmapped("alex could not look that person up just now: try again in a moment.")
    asker = identity.asker
    same = bool(asker.email and identity.slack_email and asker.email.lower() == identity.slack_email.lower())
    if asker.user_id is None or not same:
        return Unmapped(f"{one_line(asker.name, 80)} has no PagerDuty account with their Slack e-mail address.")
    return asker.user_id


class _Say:
    """Where a submission's answers go: the card's thread (ephemeral for refusals), or the modal itself."""

    def __init__(self, client: AsyncWebClient, form: Form, where: Where, user: str, view_id: str,
                 in_modal: bool) -> None:
        self.client, self.form, self.where, self.user = client, form, where, user
        self.view_id, self.in_modal = view_id, in_modal

    async def notice(self, text: str) -> None:
        if self.in_modal:
            await _show(self.client, self.view_id, notice_view(self.form, text))
        else:
            await post_ephemeral(self.client, self.where.channel, self.user, render_notice(text), self.where.thread_ts)

    async def outcome(self, outcome: Outcome) -> None:
        message = render_outcome(outcome, actor_slack_id=self.user)
        if self.in_modal:
            view = {**notice_view(self.form, outcome.summary), "blocks": message.blocks[:100]}
            await _show(self.client, self.view_id, view)
        else:
            await post(self.client, self.where.channel, self.where.thread_ts, message)


async def act(rt: SlackRuntime, client: AsyncWebClient, form: Form, where: Where, user: str,
              arguments: dict[str, Any], say: _Say, view_id: str) -> None:
    """Make the change as ``user``: the card buttons' path (admission, role, the write tool, execute, audit)."""
    if not await rt.proposals.once(f"{form.tool}:{view_id or where.incident}:{user}", DOUBLE_CLICK_S):
        return  # the same submission again (a retry): it is being handled
    identity = await admit(rt, user)
    if isinstance(identity, Refused):
        await say.notice(identity.text)
        return
    refused = refusal(identity.asker, form.tool)
    if refused is not None:
        await record_refused(form.tool, refused, identity.asker, targets=(where.incident,))
        await say.notice(f"{refused} {WRITE_ROLES_HINT}")
        return
    ctx = await rt.context(identity.asker, with_deadline=True)
    result = await run_tool(TOOLS_BY_NAME[form.tool], arguments, ctx)
    if result.proposal is None:
        await say.notice(" ".join(p for p in (result.error, result.hint) if p) or "That change could not be prepared.")
        return
    thread = thread_id(where.channel, where.thread_ts) if where.channel else None
    try:
        outcome = await rt.agent.confirm(result.proposal, ctx, thread_id=thread)
    except Exception:
        log.exception("%s on %s failed", form.tool, where.incident)
        outcome = Outcome(False, UNCONFIRMED, maybe_applied=True)
    await say.outcome(outcome)
    if where.in_message:
        await redraw(client, ctx, where)


async def redraw(client: AsyncWebClient, ctx: ToolContext, where: Where) -> bool:
    """Draw the card again in its message, read back from Slack (the submission has no copy of it)."""
    try:
        found = await client.conversations_replies(channel=where.channel, ts=where.thread_ts or where.message_ts,
                                                   oldest=where.message_ts, latest=where.message_ts,
                                                   inclusive=True, limit=2)
    except SlackApiError as exc:
        log.info("the card's message could not be read back: %s", exc.response.get("error"))
        return False
    message = next((m for m in found.get("messages") or [] if isinstance(m, dict) and m.get("ts") == where.message_ts),
                   None)
    if message is None:
        return False
    return await refresh_card(client, ctx, where.incident, where.channel, where.message_ts, message)


# ------------------------------------------------------------------------------------ listeners


def register(app: AsyncApp, rt: SlackRuntime) -> None:
    """The card's menu, its forms' submissions, and the link button (acknowledged, nothing to do)."""

    @app.action(MORE_ACTION)
    async def on_more(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click = Click(body)
        async with _served(rt, client, click.channel, click.user, click.thread_ts):
            with audit_scope(rt.audit, requested_by=click.user, confirmed_by=click.user, via="incident_card",
                             channel=click.channel, thread_ts=click.thread_ts):
                await open_form(rt, client, body)

    @app.action(VIEW_ACTION)
    async def on_view(ack: AsyncAck) -> None:
        await ack()  # a link button: Slack opens PagerDuty, and still sends the click

    @app.view(re.compile(f"^{re.escape(CALLBACK)}"))
    async def on_submit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        user = str((body.get("user") or {}).get("id") or "")
        where = Where.load((body.get("view") or {}).get("private_metadata"))
        channel, thread_ts = (where.channel, where.thread_ts) if where is not None else ("", "")
        async with _served(rt, client, channel, user, thread_ts):
            with audit_scope(rt.audit, requested_by=user, confirmed_by=user, via="incident_card",
                             channel=channel or None, thread_ts=thread_ts or None):
                await submitted(rt, ack, client, body)


@contextlib.asynccontextmanager
async def _served(rt: SlackRuntime, client: AsyncWebClient, channel: str, user: str,
                  thread_ts: str) -> AsyncIterator[None]:
    """Counted as in flight; the state store down means nothing ran (a claim comes before any write)."""
    async with rt.working():
        try:
            yield
        except StateUnavailable as exc:
            log.warning("a card action could not be served: the state store is unavailable (%s)", type(exc).__name__)
            if channel and user:
                await post_ephemeral(client, channel, user, render_notice(STATE_DOWN), thread_ts)

