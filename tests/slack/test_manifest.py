"""manifest.yml creates a working app in one paste, asking for what the code uses and no more.

Every Slack Web API method alex calls (found in bot/slack's source, plus every method the fake Slack
received during this test session) must be in shared/specs/slack-web-methods.json, with only
documented arguments and every required one, and with one of its bot scopes in the manifest; every
scope in the manifest must be needed by such a method or by a subscribed event. Skipped with a message
when the spec is absent (set SLACK_SPECS_DIR or put shared/specs next to the repo).
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.fake_slack import ALL_METHODS_SEEN
from tests.specs import WEB_METHODS, missing

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "manifest.yml"
SLACK_CODE = REPO / "bot" / "slack"
EVENTS = {"app_mention": "app_mentions:read", "message.im": "im:history", "message.channels": "channels:history",
          "message.groups": "groups:history", "message.mpim": "mpim:history", "link_shared": "links:read",
          "agent_session_stopped": "assistant:write"}
"""The events alex subscribes to, and the scope each needs (message.*: follow-ups without a mention;
link_shared: unfurls; agent_session_stopped: the Stop button of a streamed answer, sent to apps declared
as agents, which is what gives an app assistant:write)."""
UNSCOPED_EVENTS = {"app_home_opened"}
"""Events alex subscribes to that need no scope (the Messages tab: pinned suggested prompts)."""
LEGACY_EVENTS = {"assistant_thread_started"}
"""Events alex handles that this manifest does not subscribe to: the legacy assistant view's (the manifest's
comment says how to switch to it)."""
_LISTENER = re.compile(r"@app\.event\(\"(\w+)\"\)")
SLASH_COMMANDS = {"/alex": "commands"}
"""The slash commands alex handles (``bot.slack.linking.COMMAND``), and the scope they need."""
NOT_BOT_TOKEN = {"apps.connections.open"}
"""Called with the app-level token (scope connections:write), not the bot token."""
NO_SCOPE = {"auth.test", "views.publish", "views.open", "views.update"}
"""Methods any bot token may call (views.publish: the Home tab, enabled by ``features.app_home``;
views.open / views.update: the incident cards' modals, opened from a click's trigger_id)."""
ADDED_BY_THE_SDK = {"token", "team_id"}
_CLIENT_CALL = re.compile(r"\.((?:auth|chat|users|conversations|reactions|assistant|usergroups|views|apps)_\w+)\(")


@functools.cache
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def spec() -> dict[str, Any]:
    folder = Path(os.environ.get("SLACK_SPECS_DIR") or REPO.parent / "shared" / "specs")
    path = folder / "slack-web-methods.json"
    if not path.is_file():
        missing(WEB_METHODS)
    methods: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["methods"]
    return methods


def methods_in_code() -> set[str]:
    """``client.chat_postMessage(`` in bot/slack → ``chat.postMessage``."""
    found: set[str] = set()
    for path in SLACK_CODE.rglob("*.py"):
        found |= {name.replace("_", ".") for name in _CLIENT_CALL.findall(path.read_text(encoding="utf-8"))}
    return found


def bot_scopes() -> set[str]:
    return set(manifest()["oauth_config"]["scopes"]["bot"])


def test_the_manifest_subscribes_to_mentions_messages_and_the_messages_tab_only() -> None:
    settings = manifest()["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == set(EVENTS) | UNSCOPED_EVENTS
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    home = manifest()["features"]["app_home"]
    assert home["messages_tab_enabled"] is True and home["messages_tab_read_only_enabled"] is False
    assert manifest()["features"]["bot_user"]["display_name"] == "alex"
    for event, scope in EVENTS.items():
        assert scope in bot_scopes(), f"{event} needs {scope}"


def test_every_subscribed_event_has_a_listener_and_every_listener_an_event() -> None:
    listened = {event for path in SLACK_CODE.rglob("*.py")  # app.py, and the modules' register(app, rt)
                for event in _LISTENER.findall(path.read_text(encoding="utf-8"))}
    subscribed = {event.split(".")[0] for event in manifest()["settings"]["event_subscriptions"]["bot_events"]}
    assert listened == subscribed | LEGACY_EVENTS
    assert not LEGACY_EVENTS & set(manifest()["settings"]["event_subscriptions"]["bot_events"])


def test_the_agent_view_offers_the_prompts_alex_pins() -> None:
    from bot.slack.home import MAX_PINNED, pinned_prompts

    features = manifest()["features"]
    assert "assistant_view" not in features, "one messaging experience: the agent view"
    view = features["agent_view"]
    assert set(view) <= {"agent_description", "suggested_prompts", "actions"}
    assert 0 < len(view["agent_description"]) <= 300
    assert view["suggested_prompts"] == pinned_prompts(), "manifest.yml and prompts/suggested.md disagree"
    assert 0 < len(view["suggested_prompts"]) <= MAX_PINNED == 4
    assert "assistant:write" in bot_scopes(), "assistant.threads.setSuggestedPrompts needs it"


def test_group_dms_get_the_scopes_war_room_detection_and_follow_ups_use() -> None:
    assert {"mpim:read", "mpim:history"} <= bot_scopes()
    assert "message.mpim" in manifest()["settings"]["event_subscriptions"]["bot_events"]
    methods = spec()
    assert "mpim:read" in {s["name"] for s in methods["conversations.info"]["scopes"]["bot"]}
    assert "mpim:history" in {s["name"] for s in methods["conversations.replies"]["scopes"]["bot"]}


def test_the_manifest_declares_the_slash_command_the_code_handles() -> None:
    from bot.slack.linking import COMMAND

    declared = {c["command"]: c for c in manifest()["features"].get("slash_commands") or []}
    assert set(declared) == {COMMAND} == set(SLASH_COMMANDS)
    assert declared[COMMAND]["should_escape"] is False, "the token must arrive as typed"
    assert declared[COMMAND]["usage_hint"] and declared[COMMAND]["description"]
    assert set(SLASH_COMMANDS.values()) <= bot_scopes()


def test_the_manifest_declares_the_message_shortcuts_and_unfurl_domain_the_code_handles() -> None:
    from bot.slack.shortcuts import ASK, PAGE
    from bot.slack.unfurls import web_domain

    declared = {s["callback_id"]: s for s in manifest()["features"].get("shortcuts") or []}
    assert set(declared) == {ASK, PAGE}
    for shortcut in declared.values():
        assert shortcut["type"] == "message" and shortcut["name"] and shortcut["description"]
        assert len(shortcut["name"]) <= 24 and len(shortcut["description"]) <= 150
    assert "commands" in bot_scopes(), "shortcuts need the commands scope"
    assert manifest()["features"]["unfurl_domains"] == [web_domain("https://api.pagerduty.com")]
    assert {"links:read", "links:write"} <= bot_scopes()


def test_the_code_calls_the_methods_we_know_about() -> None:
    assert {"chat.postMessage", "chat.update", "chat.postEphemeral", "users.info", "conversations.info",
            "assistant.threads.setStatus", "assistant.threads.setSuggestedPrompts",
            "reactions.add", "chat.unfurl"} <= methods_in_code()


def test_every_method_called_is_documented_and_its_scope_is_in_the_manifest() -> None:
    methods = spec()
    called = (methods_in_code() | ALL_METHODS_SEEN | {"auth.test"}) - NOT_BOT_TOKEN
    unknown = sorted(m for m in called if m not in methods)
    assert not unknown, f"not Slack Web API methods: {unknown}"
    for method in sorted(called):
        scopes = {s["name"] for s in methods[method].get("scopes", {}).get("bot", [])}
        if method in NO_SCOPE:
            assert not scopes, f"{method} needs a scope now: {sorted(scopes)}"
            continue
        assert scopes, f"{method} cannot be called with a bot token"
        assert scopes & bot_scopes(), f"{method} needs one of {sorted(scopes)} in manifest.yml"


def test_every_scope_in_the_manifest_is_needed() -> None:
    methods = spec()
    needed = set(EVENTS.values())
    needed |= set(SLASH_COMMANDS.values())
    for method in methods_in_code() - NOT_BOT_TOKEN:
        needed |= {s["name"] for s in methods[method].get("scopes", {}).get("bot", [])}
    needed.add("users:read.email")  # users.info returns profile.email only with it
    assert bot_scopes() <= needed, f"scopes nothing uses: {sorted(bot_scopes() - needed)}"


async def test_calls_use_documented_arguments(make_slack: Any) -> None:
    """One conversation and one click, then every recorded call's arguments against the spec."""
    from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
    from tests.slack.conftest import SAM, buttons

    methods = spec()
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": ["1221"]})), say("Confirm below.")])
    slack = await make_slack(model)
    slack.fake.add_channel("C0WAR", "inc-1221-db")
    await slack.mention("ack it when you can", channel="C0WAR", thread_ts=slack.ts())
    reply = await slack.reply()
    await slack.click("proposal_confirm", buttons(reply, "proposal_confirm")[0], user=SAM, message=reply)
    await slack.fake.wait_for("chat.update")
    await slack.settle()
    for recorded in slack.fake.calls:
        documented = methods[recorded.method]["args"]
        extra = set(recorded.args) - set(documented) - ADDED_BY_THE_SDK
        assert not extra, f"{recorded.method}: undocumented arguments {sorted(extra)}"
        required = {name for name, arg in documented.items() if arg.get("required")}
        assert required <= set(recorded.args), f"{recorded.method}: missing {sorted(required - set(recorded.args))}"
