"""``alex ask`` and ``alex chat`` on the demo sandbox: JSON fields, refusals, thread memory across
invocations, setup errors, and the chat REPL driven through a real subprocess (what `make demo` runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.agent.session import SessionError, pagerduty_session, sandbox_session
from bot.agent.text import CONFIRM_PROMPT
from bot.cli import main
from bot.cli_types import aware_time
from bot.config import Settings
from bot.sandbox import DEFAULT_NOW, build_sandbox
from tests.agent.test_agent import FREE_TEXT, triggered_number
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.tools.conftest import MANAGER_EMAIL, OBSERVER_EMAIL

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_llm_no_pagerduty(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No model, no PagerDuty key, thread memory in a temporary file, no .env from the checkout."""
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PAGERDUTY_USER_API_KEY", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "state.sqlite3"
    monkeypatch.setenv("ALEX_STATE_PATH", str(state))
    return state


def ask_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["ask", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out  # exactly one JSON object
    result: dict[str, Any] = json.loads(out)
    return result


def test_ask_json_answers_a_command_without_the_llm(capsys: pytest.CaptureFixture[str]) -> None:
    turn = ask_json(capsys, "oncall platform-engineering", "--sandbox")
    assert turn["mode"] == "command"
    assert turn["llm_calls"] == 0
    assert turn["pd_requests"] > 0
    assert turn["tool_calls"][0]["name"] == "who_is_on_call"
    assert isinstance(turn["tool_calls"][0]["arguments"], dict)
    assert turn["reply"]
    assert turn["proposals"] == []
    assert set(turn["tokens"]) == {"prompt", "completion", "total"}
    assert "total" in turn["timings"]


def test_ask_without_json_prints_the_reply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "who is on call tonight, roughly?", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("On call tonight")
    assert out.rstrip().endswith("note: Read as `oncall tonight`. Command mode: no LLM is configured "
                                 "(set OPENAI_API_KEY or OPENAI_BASE_URL).")
    assert "\033[" not in out  # not a terminal: no colour


def test_ask_a_question_in_command_mode_gets_a_right_answer(capsys: pytest.CaptureFixture[str]) -> None:
    turn = ask_json(capsys, "who is currently on call for the platform-engineering service?", "--sandbox")
    assert (turn["mode"], turn["llm_calls"]) == ("command", 0)
    assert turn["tool_calls"][0]["name"] == "who_is_on_call"
    assert turn["tool_calls"][0]["arguments"]["target"] == "platform-engineering"
    assert turn["reply"].startswith("On call for platform-engineering (Platform Engineering) now:\n"
                                    "• Level 1: Ben Carter (Platform Primary) until Tue 10 Mar 15:00")
    assert turn["notice"].startswith("Read as `oncall platform-engineering`.")


def test_ask_a_miss_gets_the_closest_command_and_the_notice_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "oncal platform-engineering", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("I couldn't match that to a command. Did you mean `oncall platform-engineering`?")
    assert out.count("no LLM is configured") + out.count("No LLM is configured") == 1
    assert "Commands (exact" not in out and len(out.strip().splitlines()) == 3  # reply, blank line, notice


def test_ask_ack_as_an_observer_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    number = triggered_number(build_sandbox("demo"))
    turn = ask_json(capsys, f"ack {number}", "--sandbox", "--as", OBSERVER_EMAIL)
    assert turn["mode"] == "command"
    assert "observer" in turn["reply"].lower()
    assert "acknowledged" not in turn["reply"].lower().replace("can't acknowledge", "")


def test_ask_ack_as_the_manager_acknowledges(capsys: pytest.CaptureFixture[str]) -> None:
    number = triggered_number(build_sandbox("demo"))
    turn = ask_json(capsys, f"ack {number}", "--sandbox")
    assert turn["mode"] == "command"
    assert str(number) in turn["reply"] and "acknowledged" in turn["reply"].lower()


def test_ask_thread_is_remembered_across_invocations(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_llm_no_pagerduty: Path) -> None:
    models = [ScriptedModel([say("Ben Carter is on call for platform-engineering.")]),
              ScriptedModel([say("Next week it is Aisha Khan.")])]
    monkeypatch.setattr("bot.agent.agent.make_chat_model", lambda settings: models.pop(0))

    first = ask_json(capsys, FREE_TEXT, "--sandbox", "--thread", "incident-42")
    assert first["mode"] == "llm" and first["llm_calls"] == 1
    second_model = models[0]
    second = ask_json(capsys, "and next week?", "--sandbox", "--thread", "incident-42")
    assert second["reply"] == "Next week it is Aisha Khan."
    sent = [(m["role"], m["content"]) for m in second_model.calls[0].messages if m["role"] != "system"]
    assert sent == [("user", FREE_TEXT),
                    ("assistant", "Ben Carter is on call for platform-engineering."),
                    ("user", "and next week?")]
    assert no_llm_no_pagerduty.exists()


def test_ask_without_a_thread_writes_no_state(capsys: pytest.CaptureFixture[str], no_llm_no_pagerduty: Path) -> None:
    ask_json(capsys, "incidents", "--sandbox")
    assert not no_llm_no_pagerduty.exists()


def test_setup_errors_exit_non_zero_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "incidents"]) == 2
    err = capsys.readouterr().err
    assert "PAGERDUTY_USER_API_KEY is not set" in err

    assert main(["ask", "incidents", "--sandbox", "--as", "nobody@example.com"]) == 2
    assert "No user with the e-mail 'nobody@example.com'" in capsys.readouterr().err

    with pytest.raises(SystemExit) as exited:
        main(["ask", "incidents", "--sandbox", "--now", "2026-03-10T14:00"])
    assert exited.value.code == 2
    assert "needs a UTC offset" in capsys.readouterr().err


def test_sandbox_session_acts_as_the_person_with_their_own_token() -> None:
    session = sandbox_session("demo", as_email=OBSERVER_EMAIL)
    assert session.asker.email == OBSERVER_EMAIL and session.asker.role == "observer"
    assert not session.asker.can_write
    assert session.asker.time_zone.key == "America/New_York"
    default = sandbox_session("demo")
    assert default.asker.email == MANAGER_EMAIL
    assert default.sandbox is not None
    assert default.context().now == default.sandbox.world.now == DEFAULT_NOW
    later = sandbox_session("demo", now=aware_time("2026-07-01T09:00:00+02:00"))
    assert later.context().now == datetime(2026, 7, 1, 7, tzinfo=UTC)


async def test_pagerduty_session_is_the_tokens_user_or_the_as_user(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = build_sandbox("demo")
    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", "sandbox-responder-token")
    session = await pagerduty_session(Settings(), transport=sandbox.transport())
    assert session.asker.name == "Aisha Khan" and session.asker.role == "limited_user"
    assert session.asker.time_zone.key == "Europe/London"
    await session.aclose()

    session = await pagerduty_session(Settings(), as_email=MANAGER_EMAIL.upper(), transport=sandbox.transport())
    assert session.asker.email == MANAGER_EMAIL
    await session.aclose()

    with pytest.raises(SessionError, match="No PagerDuty user has the e-mail"):
        await pagerduty_session(Settings(), as_email="nobody@example.com", transport=sandbox.transport())


async def test_pagerduty_session_explains_a_rejected_or_missing_token(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = build_sandbox("demo")
    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", "sandbox-revoked-token")
    with pytest.raises(SessionError, match="rejected the API token") as raised:
        await pagerduty_session(Settings(), transport=sandbox.transport())
    assert "sandbox-revoked-token" not in str(raised.value)

    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", "  ")
    with pytest.raises(SessionError, match="PAGERDUTY_USER_API_KEY is not set"):
        await pagerduty_session(Settings(), transport=sandbox.transport())


# -- the chat REPL, as `make demo` runs it ---------------------------------------------------------

def run_chat(tmp_path: Path, stdin: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "PAGERDUTY_", "ALEX_")) and k != "NO_COLOR"}
    env |= {"ALEX_STATE_PATH": str(tmp_path / "chat-state.sqlite3"), "PYTHONPATH": str(REPO),
            "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "bot.cli", "chat", "--sandbox", *extra], input=stdin,
                          capture_output=True, text=True, encoding="utf-8", env=env, cwd=tmp_path, timeout=180,
                          check=False)


def test_chat_answers_the_demo_commands(tmp_path: Path) -> None:
    number = triggered_number(build_sandbox("demo"))
    lines = ["incidents", "oncall platform-engineering", "gaps Platform Secondary next week",
             "gaps Platform Secondary", f"ack {number}", "help", "quit", "incidents"]
    done = run_chat(tmp_path, "\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Acting as Sam Rivera <sam.rivera@acme-payments.example>" in out
    assert "command mode: no LLM configured" in out
    assert out.count("\n  - ") >= 4  # four suggested prompts
    transcript = out.split("\nyou> ")
    assert [t.splitlines()[0] for t in transcript[1:]] == lines[:7]  # nothing read after quit
    incidents, oncall, gaps_next_week, gaps, ack, help_, _quit = transcript[1:]
    assert "payments-api" in incidents
    assert "Platform Primary" in oncall
    assert "Platform Secondary" in gaps_next_week and "next week" in gaps_next_week
    assert "nobody on call Fri 13 Mar 16:00" in gaps
    assert f"{number}" in ack and "acknowledged" in ack.lower()
    assert "Commands (exact, no AI needed)" in help_
    assert "command mode · " in oncall  # the stats line
    assert "\033[" not in out
    assert "Traceback" not in done.stderr


def test_chat_ends_cleanly_at_end_of_input(tmp_path: Path) -> None:
    done = run_chat(tmp_path, "oncall me\n", "--as", OBSERVER_EMAIL)
    assert done.returncode == 0, done.stderr
    assert "Acting as Olivia Observer" in done.stdout
    assert done.stderr == ""


def test_chat_confirms_a_proposal_with_a_keystroke(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    number = triggered_number(build_sandbox("demo"))
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say(f"I prepared acknowledging #{number}."),
                           calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say("Prepared again.")])
    monkeypatch.setattr("bot.agent.agent.make_chat_model", lambda settings: model)
    typed = [f"could you acknowledge {number} for me", "n", f"could you acknowledge {number} for me", "y"]

    async def read_line(prompt: str) -> str:
        if not typed:
            raise EOFError
        return typed.pop(0)

    monkeypatch.setattr("bot.agent.cli.read_line", read_line)
    assert main(["chat", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert "Mode: LLM gpt-" in out
    assert out.count(f"└ {CONFIRM_PROMPT}") == 2
    first, second = out.split(f"└ {CONFIRM_PROMPT}")[1:]
    assert first.startswith(" n\nNot done.")  # piped input is echoed
    assert second.startswith(" y\n✓ Done as Sam Rivera: acknowledge")
    model.assert_complete()


def test_demo_is_the_sandbox_chat(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    async def end_of_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("bot.agent.cli.read_line", end_of_input)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "PagerDuty chat on the demo sandbox (clock frozen at Tue 2026-03-10 14:00 UTC)" in out
    assert "Acting as Sam Rivera" in out
