"""A fake Slack Web API for tests: a real HTTP server on 127.0.0.1 (ephemeral port) that records calls.

Point the app's client at it: ``AsyncWebClient(token="xoxb-test", base_url=fake.api_url)``. Every call
is recorded as :class:`SlackCall` (method, parsed JSON / form / query arguments, token). Answers:

* ``auth.test``: the bot's ``user_id`` / ``bot_id`` / ``team_id`` (Bolt learns who it is from this);
* ``users.info``: profiles added with :meth:`FakeSlack.add_user` (e-mail, tz), else ``user_not_found``;
  ``users.lookupByEmail`` finds them by e-mail, else ``users_not_found``;
* ``conversations.info``: channel names from :meth:`add_channel` / :meth:`add_mpim`, else ``channel_not_found``;
* ``conversations.replies``: the thread parent given with :meth:`add_thread`, else no messages; asked
  with ``oldest`` / ``latest`` (a message read back), also the messages the app posted in that thread
  between them (``inclusive``), as their last ``chat.update`` left them;
* ``usergroups.users.list``: members given with :meth:`add_usergroup`;
* ``chat.postMessage`` / ``chat.update``: ``ok`` with a fresh ``ts`` (posted messages are kept);
* ``assistant.threads.setSuggestedPrompts``: checked as Slack does (1 to 4 prompts, each with a ``title``
  and a ``message``, else ``invalid_arguments``) and kept in :attr:`FakeSlack.pinned` by
  ``(channel_id, thread_ts)``, following :attr:`FakeSlack.view`: ``"agent"`` (the default) keeps only calls
  without ``thread_ts`` (with one, Slack answers ``ok`` and shows nothing), ``"assistant"`` (the legacy
  side panel) those with one, ``None`` (an app without the AI feature or ``assistant:write``) answers
  ``missing_scope``;
* ``chat.unfurl``: checked as Slack does (``channel`` + ``ts`` or ``unfurl_id`` + ``source``, ``unfurls`` a
  map of URL to blocks), else ``invalid_arguments``;
* ``chat.startStream`` / ``chat.appendStream`` / ``chat.stopStream``: a streamed message kept in
  :attr:`FakeSlack.streams` by ``ts``, checked as Slack does: ``recipient_user_id`` and ``recipient_team_id``
  outside DMs (``missing_recipient_…``), appends only while it streams (``message_not_in_streaming_state``,
  ``message_not_found``), and ``stopped_by_user`` once :meth:`FakeSlack.press_stop` stopped it (a stop after
  that is ``ok``: it ends the session). :meth:`fail` on ``chat.startStream`` is a workspace without streaming;
* ``views.publish``: checked as Slack does (a ``user_id``, a ``home`` view of 1 to 100 blocks), else
  ``invalid_arguments``; the view is kept in :attr:`FakeSlack.home_views` by user (what their Home tab shows);
* everything else (``reactions.add``, ``assistant.threads.setStatus``, ``chat.postEphemeral``…): ``ok``.
* a slash command's ``response_url`` (:meth:`FakeSlack.response_url`): kept in ``responses``, not in
  ``calls`` (it is not a Web API method).

:meth:`fail` makes a method answer ``{"ok": false, "error": …}``. Listeners run after Bolt's ack, so
tests wait with ``await fake.wait_for("chat.postMessage")`` rather than asserting at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

BOT_USER_ID = "UALEXBOT"
BOT_ID = "BALEXBOT"
TEAM_ID = "T0ACME"
RESPONSE_PATH = "/commands/"
ALL_METHODS_SEEN: set[str] = set()
"""Every method any FakeSlack received in this test session (the manifest test reads it)."""
ALL_PAYLOADS: list[str] = []
"""Every argument payload any FakeSlack received (JSON), for the session-wide secrets check."""


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 drops connections under concurrent load tests


@dataclass(frozen=True, slots=True)
class SlackCall:
    method: str
    args: dict[str, Any]
    token: str | None
    answer: dict[str, Any] = field(default_factory=dict)
    """What the fake answered (e.g. the ``ts`` of a posted message)."""
    at: float = field(default_factory=time.monotonic)


class FakeSlack:
    """Start with ``with FakeSlack() as fake:`` (or ``start()`` / ``stop()``)."""

    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.threads: dict[tuple[str, str], dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.failures: dict[str, str] = {}
        self.responses: list[dict[str, Any]] = []
        """What the app sent to slash commands' ``response_url`` (``respond()``), in order."""
        self.view: Literal["agent", "assistant"] | None = "agent"
        """The app's messaging experience (manifest ``features.agent_view`` / ``assistant_view`` / neither)."""
        self.pinned: dict[tuple[str, str | None], dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        """Messages the app posted (``chat.postMessage``), by ``(channel, ts)``, as last updated."""
        self.views: dict[str, dict[str, Any]] = {}
        """Modals the app opened (``views.open``), by view ID, as last updated (``views.update``)."""
        self.home_views: dict[str, dict[str, Any]] = {}
        """The Home tab each Slack user sees: the last view published for them (``views.publish``)."""
        self.streams: dict[str, dict[str, Any]] = {}
        """Streamed messages by ``ts``: ``channel``, ``thread_ts``, ``state`` (``streaming``, ``stopped_by_user``,
        ``stopped``), ``chunks`` (every chunk sent, in order), ``blocks`` (attached at the stop)."""
        """Suggested prompts Slack shows, by ``(channel_id, thread_ts)``: ``{"title": …, "prompts": […]}``."""
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- setup ----------------------------------------------------------------------------------
    def add_user(self, user_id: str, *, email: str | None, tz: str | None = "UTC", name: str = "Someone",
                 is_bot: bool = False) -> None:
        profile: dict[str, Any] = {"real_name": name, "display_name": name.split()[0] if name else ""}
        if email is not None:
            profile["email"] = email
        self.users[user_id] = {"id": user_id, "team_id": TEAM_ID, "name": name.lower().replace(" ", "."),
                               "real_name": name, "tz": tz, "is_bot": is_bot, "deleted": False,
                               "profile": profile}

    def add_channel(self, channel_id: str, name: str, *, private: bool = False) -> None:
        self.channels[channel_id] = {"id": channel_id, "name": name, "is_channel": not private,
                                     "is_group": private, "is_private": private, "is_member": True}

    def add_mpim(self, channel_id: str, members: list[str]) -> None:
        """A group DM (``conversations.info`` names it ``mpdm-…``, as Slack does)."""
        name = "mpdm-" + "--".join(m.lower() for m in members) + "-1"
        self.channels[channel_id] = {"id": channel_id, "name": name, "is_channel": False, "is_group": False,
                                     "is_mpim": True, "is_private": True, "is_member": True}

    def add_thread(self, channel_id: str, thread_ts: str, text: str, **extra: Any) -> None:
        self.threads[(channel_id, thread_ts)] = {"type": "message", "ts": thread_ts, "text": text, **extra}

    def add_usergroup(self, group_id: str, members: list[str]) -> None:
        self.usergroups[group_id] = list(members)

    def fail(self, method: str, error: str = "not_allowed") -> None:
        self.failures[method] = error

    def press_stop(self, ts: str) -> None:
        """The person pressed Stop on the streamed message ``ts``: Slack stops it (further appends fail)."""
        with self._lock:
            self.streams[ts]["state"] = "stopped_by_user"

    def streamed_text(self, ts: str) -> str:
        """The markdown text a streamed message shows (every ``markdown_text``, in order)."""
        with self._lock:
            chunks = list(self.streams[ts]["chunks"])
        return "".join(str(c.get("text") or "") for c in chunks if c.get("type") == "markdown_text")

    def tasks(self, ts: str) -> dict[str, dict[str, Any]]:
        """The task cards of a streamed message as they stand (by id: the last update of each)."""
        with self._lock:
            chunks = list(self.streams[ts]["chunks"])
        return {str(c["id"]): c for c in chunks if c.get("type") == "task_update"}

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        assert self._server is not None, "FakeSlack is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(parse_qs(urlsplit(self.path).query))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                kind = self.headers.get("content-type") or ""
                if "json" in kind:
                    args: dict[str, Any] = json.loads(raw or "{}")
                else:
                    args = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw).items()}
                    args.update({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
                self._answer(args)

            def _answer(self, args: dict[str, Any]) -> None:
                if self.command == "GET":
                    args = {k: v[0] if len(v) == 1 else v for k, v in args.items()}
                method = urlsplit(self.path).path.rsplit("/", 1)[-1]
                auth = self.headers.get("authorization") or ""
                token = auth.removeprefix("Bearer ") or args.get("token")
                headers: dict[str, str] = {}
                if urlsplit(self.path).path.startswith(RESPONSE_PATH):
                    body = fake._responded(args)
                else:
                    body, headers = fake._respond(method, args, token)
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.02), name="fake-slack",
                                        daemon=True)
        self._thread.start()
        return self

    def response_url(self) -> str:
        """A slash command's ``response_url``: what the app posts there lands in :attr:`responses`."""
        assert self._server is not None, "FakeSlack is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}{RESPONSE_PATH}{TEAM_ID}/{next(self._ts)}/hook"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers --------------------------------------------------------------------------------
    def _respond(self, method: str, args: dict[str, Any], token: str | None) -> tuple[dict[str, Any], dict[str, str]]:
        body, headers = self._answer(method, args)
        with self._lock:
            self.calls.append(SlackCall(method, args, token, body))
            ALL_METHODS_SEEN.add(method)
            ALL_PAYLOADS.append(json.dumps(args, default=str))
        return body, headers

    def _answer(self, method: str, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        if method in self.failures:
            return {"ok": False, "error": self.failures[method]}, {}
        if method == "auth.test":
            return ({"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "alex",
                     "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False},
                    {"x-oauth-scopes": "app_mentions:read,chat:write,im:history,users:read,users:read.email"})
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return ({"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}), {}
        if method == "users.lookupByEmail":
            wanted = str(args.get("email") or "").lower()
            user = next((u for u in self.users.values() if str(u["profile"].get("email", "")).lower() == wanted), None)
            return ({"ok": True, "user": user} if user else {"ok": False, "error": "users_not_found"}), {}
        if method == "conversations.info":
            channel = self.channels.get(str(args.get("channel")))
            return ({"ok": True, "channel": channel} if channel else {"ok": False, "error": "channel_not_found"}), {}
        if method == "conversations.replies":
            parent = self.threads.get((str(args.get("channel")), str(args.get("ts"))))
            found = [parent] if parent else []
            if "oldest" in args or "latest" in args:
                found += self._posted_between(args)
            return {"ok": True, "messages": found, "has_more": False}, {}
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroups.get(str(args.get("usergroup")), [])}, {}
        if method in ("chat.postMessage", "chat.update"):
            ts = str(args.get("ts") or f"1773151200.{next(self._ts):06d}")
            message = {k: v for k, v in args.items() if k in ("text", "blocks", "thread_ts")}
            self._keep(str(args.get("channel")), ts, message)
            return {"ok": True, "channel": args.get("channel"), "ts": ts,
                    "message": {"type": "message", "ts": ts, "bot_id": BOT_ID, "user": BOT_USER_ID, **message}}, {}
        if method in ("views.open", "views.update"):
            return self._view(method, args), {}
        if method == "assistant.threads.setSuggestedPrompts":
            return self._suggested_prompts(args), {}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1773151200.{next(self._ts):06d}"}, {}
        if method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            return self._stream(method, args), {}
        if method == "views.publish":
            return self._publish_view(args), {}
        if method == "chat.unfurl":
            return self._unfurl(args), {}
        return {"ok": True}, {}

    def _publish_view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if isinstance(view, str):  # a form-encoded call carries JSON
            view = json.loads(view)
        blocks = view.get("blocks") if isinstance(view, dict) else None
        if (not args.get("user_id") or not isinstance(view, dict) or view.get("type") != "home"
                or not isinstance(blocks, list) or not 1 <= len(blocks) <= 100):
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            self.home_views[str(args["user_id"])] = view
            number = next(self._ts)
        return {"ok": True, "view": {**view, "id": f"VHOME{number:06d}", "team_id": TEAM_ID,
                                     "hash": f"1773151200.{number:06d}", "state": {"values": {}}}}

    @staticmethod
    def _unfurl(args: dict[str, Any]) -> dict[str, Any]:
        """Checked as Slack does: ``channel`` and ``ts``, or ``unfurl_id`` and ``source``; ``unfurls`` a map of
        URL to ``{"blocks": [...]}``."""
        unfurls = args.get("unfurls")
        if isinstance(unfurls, str):  # a form-encoded call carries JSON
            unfurls = json.loads(unfurls)
        where = (bool(args.get("channel")) and bool(args.get("ts"))) != (
            bool(args.get("unfurl_id")) and bool(args.get("source")))
        if not where or not isinstance(unfurls, dict) or not unfurls or not all(
                isinstance(url, str) and isinstance(card, dict) and isinstance(card.get("blocks"), list)
                for url, card in unfurls.items()):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True}

    def _stream(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        chunks = args.get("chunks") or []
        if isinstance(chunks, str):  # a form-encoded call carries JSON
            chunks = json.loads(chunks)
        if args.get("markdown_text"):
            chunks = [{"type": "markdown_text", "text": args["markdown_text"]}, *chunks]
        channel = str(args.get("channel") or "")
        with self._lock:
            if method == "chat.startStream":
                if not channel or not args.get("thread_ts"):
                    return {"ok": False, "error": "invalid_arguments"}
                if not channel.startswith("D"):
                    for needed in ("recipient_user_id", "recipient_team_id"):
                        if not args.get(needed):
                            return {"ok": False, "error": f"missing_{needed}"}
                ts = f"1773151200.{next(self._ts):06d}"
                self.streams[ts] = {"channel": channel, "thread_ts": args["thread_ts"], "state": "streaming",
                                    "chunks": list(chunks), "blocks": None,
                                    "task_display_mode": args.get("task_display_mode")}
                return {"ok": True, "channel": channel, "ts": ts}
            ts = str(args.get("ts") or "")
            stream = self.streams.get(ts)
            if stream is None or stream["channel"] != channel:
                return {"ok": False, "error": "message_not_found"}
            if method == "chat.appendStream":
                if stream["state"] != "streaming":
                    return {"ok": False, "error": "stopped_by_user" if stream["state"] == "stopped_by_user"
                            else "message_not_in_streaming_state"}
                stream["chunks"] += chunks
                return {"ok": True, "channel": channel, "ts": ts}
            if stream["state"] == "stopped":
                return {"ok": False, "error": "message_not_in_streaming_state"}
            blocks = args.get("blocks")
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            if stream["state"] == "streaming":
                stream["chunks"] += chunks
            stream["state"], stream["blocks"] = "stopped", blocks
            return {"ok": True, "channel": channel, "ts": ts,
                    "message": {"type": "message", "ts": ts, "bot_id": BOT_ID, "user": BOT_USER_ID,
                                "thread_ts": stream["thread_ts"], "blocks": blocks or []}}

    def _keep(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        if isinstance(message.get("blocks"), str):  # a form-encoded call carries JSON
            message = {**message, "blocks": json.loads(message["blocks"])}
        with self._lock:
            kept = self.messages.setdefault((channel, ts), {"type": "message", "ts": ts, "bot_id": BOT_ID,
                                                             "user": BOT_USER_ID})
            kept.update(message)

    def _posted_between(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        channel, thread = str(args.get("channel")), str(args.get("ts"))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        inclusive = str(args.get("inclusive")).lower() in ("true", "1")
        with self._lock:
            kept = [dict(m) for (c, ts), m in self.messages.items()
                    if c == channel and str(m.get("thread_ts") or ts) == thread]
        inside = [m for m in kept if oldest < float(m["ts"]) < latest
                  or inclusive and float(m["ts"]) in (oldest, latest)]
        return sorted(inside, key=lambda m: float(m["ts"]))

    def _view(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """``views.open`` (a ``trigger_id`` and a modal) or ``views.update`` (a known ``view_id``)."""
        view = args.get("view")
        if isinstance(view, str):  # a form-encoded call carries JSON
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "modal" or not view.get("blocks"):
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            if method == "views.open":
                if not args.get("trigger_id"):
                    return {"ok": False, "error": "invalid_trigger_id"}
                view_id = f"V{next(self._ts):08d}"
            else:
                view_id = str(args.get("view_id") or "")
                if view_id not in self.views:
                    return {"ok": False, "error": "not_found"}
            shown = {**view, "id": view_id, "team_id": TEAM_ID, "hash": f"1773151200.{next(self._ts):06d}",
                     "state": {"values": {}}}
            self.views[view_id] = shown
        return {"ok": True, "view": shown}

    def submission(self, view_id: str, user: str, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The ``view_submission`` payload of the modal ``view_id`` as it shows now, submitted by ``user`` with
        ``values`` (block ID -> the input's state, e.g. ``{"note": {"type": "plain_text_input", "value": "x"}}``;
        each input's ``action_id`` is its block ID, as alex's forms have it)."""
        with self._lock:
            view = dict(self.views[view_id])
        state = {block: {block: value} for block, value in values.items()}
        return {"type": "view_submission", "team": {"id": TEAM_ID, "domain": "acme"},
                "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
                "api_app_id": "A0ALEX", "token": "legacy-token", "trigger_id": "4.5.6",
                "view": {**view, "state": {"values": state}, "root_view_id": view_id, "app_id": "A0ALEX",
                         "bot_id": BOT_ID, "previous_view_id": None},
                "response_urls": [], "is_enterprise_install": False}

    def _suggested_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.view is None:
            return {"ok": False, "error": "missing_scope", "needed": "assistant:write"}
        prompts = args.get("prompts")
        if isinstance(prompts, str):  # a form-encoded call carries JSON
            prompts = json.loads(prompts)
        if (not isinstance(prompts, list) or not 1 <= len(prompts) <= 4 or not args.get("channel_id")
                or not all(isinstance(p, dict) and set(p) == {"title", "message"}
                           and all(isinstance(v, str) and v for v in p.values()) for p in prompts)):
            return {"ok": False, "error": "invalid_arguments"}
        thread_ts = args.get("thread_ts")
        if (self.view == "agent") == (thread_ts is None):
            with self._lock:
                self.pinned[(str(args["channel_id"]), thread_ts)] = {"title": args.get("title"), "prompts": prompts}
        return {"ok": True}

    def _responded(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.responses.append(args)
            ALL_PAYLOADS.append(json.dumps(args, default=str))
        return {"ok": True}

    # -- assertions -----------------------------------------------------------------------------
    def of(self, method: str) -> list[SlackCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def __iter__(self) -> Iterator[SlackCall]:
        with self._lock:
            return iter(list(self.calls))

    async def wait_for(self, method: str, count: int = 1, within: float = 10.0) -> list[SlackCall]:
        """The calls of ``method`` once there are at least ``count`` (polls; fails after ``within`` s)."""
        deadline = time.monotonic() + within
        while True:
            calls = self.of(method)
            if len(calls) >= count:
                return calls
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {method} call(s) within {within}s; got {self.methods()}")
            await asyncio.sleep(0.01)
