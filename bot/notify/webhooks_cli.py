"""``alex webhooks setup|list|enable|ping|delete``: PagerDuty's V3 webhook subscription for alex's receiver.

``setup`` creates the subscription (:func:`bot.notify.subscriptions.create_subscription`) and prints its
signing secret once, as the ``ALEX_PAGERDUTY_WEBHOOK_SECRETS`` line to set where ``alex serve`` runs. Every
action talks to the PagerDuty of ``PAGERDUTY_USER_API_KEY`` / ``PAGERDUTY_API_URL``, or with ``--sandbox``
to a built-in sandbox account made for the one command (to try it without keys; what it creates is gone
when the command ends).

Exit status: 0 done; 1 PagerDuty refused or failed (one line saying why), or the subscription exists
already; 2 a usage problem found before asking PagerDuty to change anything (a URL alex refuses, an
unknown service or team name, a bad ID, no token, ``delete`` without ``--yes`` and no terminal to ask on).
Nothing heavy is imported until a command runs (``import bot.cli`` stays fast).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import httpx2

    from bot.config import Settings
    from bot.notify.subscriptions import Created, WebhookSubscription
    from bot.pagerduty import PagerDutyClient, PagerDutyError

USAGE_ERROR = 2
FAILED = 1
SECRETS_VARIABLE = "ALEX_PAGERDUTY_WEBHOOK_SECRETS"
_ROLES = ("managing webhook subscriptions needs the Manager base role (service and team subscriptions) or "
          "Admin, Global Admin or Account Owner (account-wide ones): use the User API token of such a user, "
          "or ask an admin to run this")


def add_webhooks_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "webhooks", help="create, list, enable, test and delete the PagerDuty webhook subscription alex receives",
        description="Manage PagerDuty V3 webhook subscriptions (what sends incident events to alex's "
                    "POST /pagerduty/webhooks, for live incident cards). `alex webhooks setup --url "
                    "https://alex.example.com/pagerduty/webhooks` creates one and prints its signing secret once.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                    help="one of these (each takes --help):")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sandbox", action="store_true",
                        help="use a built-in sandbox account, made for this one command (no keys, no network)")
    common.add_argument("--timeout", type=_seconds, default=30.0, metavar="S",
                        help="seconds the whole command may take talking to PagerDuty (default 30)")

    setup = actions.add_parser(
        "setup", parents=[common], help="create the subscription and print its signing secret once",
        description="Create a V3 webhook subscription sending the incident events alex acts on to --url, for "
                    "the whole account or one --service or --team, and print its signing secret once, with the "
                    f"{SECRETS_VARIABLE} line to set where `alex serve` runs.")
    setup.add_argument("--url", required=True,
                       help="alex's public webhook URL: https://<host>/pagerduty/webhooks (http only for localhost)")
    scope = setup.add_mutually_exclusive_group()
    scope.add_argument("--service", metavar="NAME_OR_ID", help="only this service's incidents")
    scope.add_argument("--team", metavar="NAME_OR_ID", help="only the incidents of this team's services")
    setup.add_argument("--description", default=None, help="shown in PagerDuty's webhook list (default: alex: …)")
    setup.add_argument("--force", action="store_true",
                       help="create it even when a subscription to the same URL and scope exists")
    setup.add_argument("--json", action="store_true", help="print the subscription and its secret as JSON")

    listing = actions.add_parser("list", parents=[common], help="list the account's webhook subscriptions",
                                 description="ID, state (active, disabled by PagerDuty after failed deliveries, "
                                             "or inactive), URL, scope, event count and description of each "
                                             "subscription the token sees.")
    listing.add_argument("--json", action="store_true", help="print them as a JSON array")

    enable = actions.add_parser(
        "enable", parents=[common], help="re-enable a subscription PagerDuty disabled",
        description="PagerDuty disables a subscription whose deliveries fail repeatedly; once alex is reachable "
                    "again this turns it back on.")
    enable.add_argument("id", help="the subscription ID (alex webhooks list)")

    ping = actions.add_parser("ping", parents=[common], help="have PagerDuty send a test event",
                              description="PagerDuty sends a pagey.ping event to the subscription's URL "
                                          "(alex answers it and ignores it).")
    ping.add_argument("id", help="the subscription ID (alex webhooks list)")

    delete = actions.add_parser("delete", parents=[common], help="delete a subscription",
                                description="Delete a webhook subscription: PagerDuty stops sending its events. "
                                            "Asks first on a terminal; elsewhere --yes is required.")
    delete.add_argument("id", help="the subscription ID (alex webhooks list)")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    parser.set_defaults(run=run_webhooks_command)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r}: give seconds between 0 and 600")
    return value


@dataclass
class Console:
    """Where a command writes and reads: stdout for results, stderr for notes and errors, stdin to confirm."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)

    def note(self, text: str) -> None:
        self.err.write(f"alex: {text}\n")


def run_webhooks_command(args: argparse.Namespace, *, settings: Settings | None = None,
                         transport: httpx2.AsyncBaseTransport | None = None,
                         console: Console | None = None) -> int:
    """``alex webhooks …``; ``settings``, ``transport`` and ``console`` are the tests' seams."""
    import asyncio

    return asyncio.run(_run(args, settings, transport, console or Console()))


async def _run(args: argparse.Namespace, settings: Settings | None,
               transport: httpx2.AsyncBaseTransport | None, console: Console) -> int:
    from bot.notify import subscriptions as subs
    from bot.pagerduty import PagerDutyError

    if settings is None:
        settings = _settings(console, required=not args.sandbox)
        if settings is None and not args.sandbox:
            return USAGE_ERROR
    client = _client(args, settings, transport, console)
    if client is None:
        return USAGE_ERROR
    async with client:
        try:
            return await _ACTIONS[args.action](client, args, settings, console)
        except subs.BadUrl as exc:
            console.note(str(exc))
            return USAGE_ERROR
        except subs.NameNotFound as exc:
            console.note(f"{exc} (`--{exc.kind}` takes a name or an ID)" if not exc.close else str(exc))
            return USAGE_ERROR
        except subs.AlreadySubscribed as exc:
            console.note(f"{exc}: not creating another (--force does; `alex webhooks list` shows them all)")
            return FAILED
        except PagerDutyError as exc:
            console.note(explain(exc, args, client.base_url))
            return FAILED
        except ValueError as exc:
            console.note(str(exc))
            return USAGE_ERROR


def _settings(console: Console, *, required: bool) -> Settings | None:
    from bot.config import InvalidSettings, read_settings

    try:
        return read_settings()
    except InvalidSettings as exc:
        if required:
            console.note(str(exc))
        return None


def _client(args: argparse.Namespace, settings: Settings | None, transport: httpx2.AsyncBaseTransport | None,
            console: Console) -> PagerDutyClient | None:
    from bot.pagerduty import PagerDutyClient

    if args.sandbox:
        from bot.sandbox import build_sandbox, default_token

        sandbox = build_sandbox("demo")
        console.note("the sandbox: a demo account made for this command; what it creates is gone when it ends")
        return PagerDutyClient(default_token("demo"), transport=sandbox.transport())
    from bot.config import MissingSettingError, pagerduty_client

    assert settings is not None
    try:
        return pagerduty_client(settings, transport)
    except MissingSettingError as exc:
        console.note(f"{exc} (`--sandbox` tries it without one)")
    except ValueError as exc:
        console.note(f"cannot use PagerDuty: {exc}")
    return None


def _deadline(args: argparse.Namespace) -> float:
    import time

    return time.monotonic() + float(args.timeout)


# -- the actions ------------------------------------------------------------------------------------
async def _setup(client: PagerDutyClient, args: argparse.Namespace, settings: Settings | None,
                 console: Console) -> int:
    from bot.notify import subscriptions as subs

    for warning in subs.check_url(args.url):
        console.note(f"warning: {warning}")
    deadline = _deadline(args)
    scope = await subs.resolve_filter(client, service=args.service, team=args.team, deadline=deadline)
    description = subs.DEFAULT_DESCRIPTION if args.description is None else args.description
    created = await subs.create_subscription(client, args.url, scope, description=description, force=args.force,
                                             deadline=deadline)
    rotating = bool(settings is not None and settings.webhook_secrets)
    if args.json:
        import json

        console.out.write(json.dumps({"webhook_subscription": created.subscription.as_json(),
                                      "secret": created.secret.get_secret_value(),
                                      "next_step": _next_step(created, rotating)}, ensure_ascii=False) + "\n")
    else:
        console.out.write(_setup_text(created, rotating, sandbox=args.sandbox))
    console.out.flush()
    return 0


def _next_step(created: Created, rotating: bool) -> str:
    secret = created.secret.get_secret_value()
    if rotating:
        return f'{SECRETS_VARIABLE}="{secret},${SECRETS_VARIABLE}"'
    return f"{SECRETS_VARIABLE}={secret}"


def _setup_text(created: Created, rotating: bool, *, sandbox: bool) -> str:
    sub = created.subscription
    lines = [f"Created webhook subscription {sub.id}: {sub.url}",
             f"  scope {sub.filter.describe()}; {len(sub.events)} incident events; {sub.state}", ""]
    if rotating:
        lines += [f"{SECRETS_VARIABLE} is already set. Add this subscription's signing secret in front of the "
                  "current ones, comma-separated (alex accepts every listed secret, so nothing is refused while "
                  "you rotate; drop the old one once its subscription is deleted):",
                  f"  export {_next_step(created, rotating)}",
                  "  (in a .env file: the new secret, a comma, then the current value)"]
    else:
        lines += ["Set this where `alex serve` runs (its environment or .env), then restart it:",
                  f"  {_next_step(created, rotating)}"]
    lines += ["", "PagerDuty shows the signing secret only this once: keep it in your secret store now.",
              f"`alex doctor` checks the subscription; `alex webhooks ping {sub.id}` sends a test event."]
    if sandbox:
        lines.append("(the sandbox account and this subscription are gone once the command ends)")
    return "\n".join(lines) + "\n"


async def _list(client: PagerDutyClient, args: argparse.Namespace, settings: Settings | None,
                console: Console) -> int:
    from bot.notify import subscriptions as subs

    listing = await subs.list_subscriptions(client, deadline=_deadline(args))
    if args.json:
        import json

        console.out.write(json.dumps([s.as_json() for s in listing.subscriptions], ensure_ascii=False) + "\n")
    elif not listing.subscriptions:
        from bot.notify.events import WEBHOOK_PATH

        console.out.write("No webhook subscriptions. `alex webhooks setup --url https://<alex's host>"
                          f"{WEBHOOK_PATH}` creates one.\n")
    else:
        console.out.write("".join(_row(s) + "\n" for s in listing.subscriptions))
    if listing.more:
        console.note(f"only the first {len(listing.subscriptions)} subscriptions are listed")
    return 0


def _row(sub: WebhookSubscription) -> str:
    description = _one_line(sub.description, 80)
    alex = "" if sub.points_at_alex else "  (not an alex URL)"
    return (f"{sub.id}  {sub.state:<8}  {_one_line(sub.url, 200)}  {sub.filter.describe()}  "
            f"{len(sub.events)} events  {description}{alex}").rstrip()


def _one_line(text: str, limit: int) -> str:
    """PagerDuty's texts on one terminal line: control characters out, cut to ``limit``."""
    flat = "".join(c if c.isprintable() else " " for c in text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def _enable(client: PagerDutyClient, args: argparse.Namespace, settings: Settings | None,
                  console: Console) -> int:
    from bot.notify import subscriptions as subs

    sub = await subs.enable_subscription(client, args.id, deadline=_deadline(args))
    console.out.write(f"Webhook subscription {sub.id} is {sub.state}: PagerDuty sends its events to "
                      f"{_one_line(sub.url, 200)} again.\n")
    return 0


async def _ping(client: PagerDutyClient, args: argparse.Namespace, settings: Settings | None,
                console: Console) -> int:
    from bot.notify import subscriptions as subs

    await subs.ping_subscription(client, args.id, deadline=_deadline(args))
    console.out.write(f"PagerDuty is sending a test event (pagey.ping) for subscription {subs.check_id(args.id)}; "
                      "alex answers it 200 and ignores it. PagerDuty's webhook page shows whether it arrived.\n")
    return 0


async def _delete(client: PagerDutyClient, args: argparse.Namespace, settings: Settings | None,
                  console: Console) -> int:
    from bot.notify import subscriptions as subs

    subscription_id = subs.check_id(args.id)
    if not args.yes:
        if not _interactive(console.stdin):
            console.note(f"not deleting {subscription_id} without --yes (there is no terminal to ask on)")
            return USAGE_ERROR
        sub = await subs.get_subscription(client, subscription_id, deadline=_deadline(args))
        console.err.write(f"Delete webhook subscription {sub.id} ({_one_line(sub.url, 200)}, "
                          f"{sub.filter.describe()})? PagerDuty stops sending its events. [y/N] ")
        console.err.flush()
        if console.stdin.readline(16).strip().lower() not in ("y", "yes"):
            console.note("not deleted")
            return FAILED
    await subs.delete_subscription(client, subscription_id, deadline=_deadline(args))
    console.out.write(f"Deleted webhook subscription {subscription_id}.\n")
    return 0


def _interactive(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


_ACTIONS = {"setup": _setup, "list": _list, "enable": _enable, "ping": _ping, "delete": _delete}


# -- errors ---------------------------------------------------------------------------------------
def explain(exc: PagerDutyError, args: argparse.Namespace, base_url: str) -> str:
    """One line: what PagerDuty refused and what to do about it (never a token; PagerDuty's own reasons)."""
    from bot.pagerduty import (
        AuthenticationError,
        ForbiddenError,
        InvalidInputError,
        NotFoundError,
        PagerDutyConnectionError,
        PagerDutyTimeout,
        RateLimitedError,
    )

    what = {"setup": "create the webhook subscription", "list": "list webhook subscriptions",
            "enable": "enable the subscription", "ping": "ping the subscription",
            "delete": "delete the subscription"}[args.action]
    reasons = "; ".join(_one_line(e, 300) for e in exc.errors[:5])
    if isinstance(exc, AuthenticationError):
        return (f"PagerDuty refused the token (401) at {base_url}: check PAGERDUTY_USER_API_KEY (a User API "
                "token) and the region (EU accounts: PAGERDUTY_API_URL=https://api.eu.pagerduty.com)")
    if isinstance(exc, ForbiddenError):
        return f"PagerDuty would not let this token {what} ({exc.status}): {_ROLES}" + (
            f" (PagerDuty: {reasons})" if reasons else "")
    if isinstance(exc, NotFoundError):
        if args.action in ("enable", "ping", "delete"):
            return (f"there is no webhook subscription {_one_line(args.id, 64)} (404), or this token cannot see "
                    "it: `alex webhooks list` shows the IDs")
        return f"PagerDuty answered 404 to {exc.method} {exc.path}: check PAGERDUTY_API_URL ({base_url})"
    if isinstance(exc, InvalidInputError):
        return f"PagerDuty refused to {what} ({exc.status}): {reasons or _one_line(exc.message, 300)}"
    if isinstance(exc, RateLimitedError):
        wait = f" in {exc.retry_after:.0f} s" if exc.retry_after else " in a minute"
        return f"PagerDuty's rate limit (429): try again{wait}"
    if isinstance(exc, PagerDutyTimeout | PagerDutyConnectionError):
        maybe = " It may have been applied: `alex webhooks list` shows." if exc.maybe_applied else ""
        return f"could not {what}: no answer from PagerDuty at {base_url} ({_one_line(str(exc), 200)}).{maybe}"
    return f"could not {what}: {_one_line(str(exc), 300)}"
