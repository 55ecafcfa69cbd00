"""``alex ask`` and ``alex chat`` on the demo sandbox: JSON fields, refusals, exit statuses, thread memory
across invocations, setup errors, the help texts, and the chat REPL driven through a real subprocess (what
`make demo` runs), on a pipe and on a pseudo-terminal (Ctrl-C, Ctrl-D, the terminal's width)."""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot.agent.commands import help_text
from bot.agent.turn import ToolCallRecord, Turn
from bot.cli import build_parser, main
from bot.cli_types import aware_time
from bot.config import Settings
from bot.sandbox import DEFAULT_NOW, build_sandbox
from bot.terminal.exit_codes import WRITE_NOT_DONE, ask_exit_status
from bot.terminal.session import SessionError, pagerduty_session, sandbox_session
from bot.terminal.text import CONFIRM_PROMPT, clean
from bot.tools.base import ToolResult
from bot.tools.proposals import Outcome
from tests.agent.test_agent import FREE_TEXT, triggered_number
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.sandbox.served import alex_sandbox
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


def ask_json(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0) -> dict[str, Any]:
    assert main(["ask", *argv, "--json"]) == status
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
    assert out.rstrip().endswith('note: Read as "oncall tonight". Command mode: no LLM is configured '
                                 "(set OPENAI_API_KEY or OPENAI_BASE_URL).")
    assert "\033[" not in out  # not a terminal: no colour
    assert "`" not in out  # Slack's code spans are quoted in the terminal


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
    assert out.startswith('I couldn\'t match that to a command. Did you mean "oncall platform-engineering"?')
    assert out.count("no LLM is configured") + out.count("No LLM is configured") == 1
    assert "Commands (exact" not in out and len(out.strip().splitlines()) == 3  # reply, blank line, notice


def test_ask_ack_as_an_observer_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    number = triggered_number(build_sandbox("demo"))
    turn = ask_json(capsys, f"ack {number}", "--sandbox", "--as", OBSERVER_EMAIL, status=3)
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
    assert "Acting as Sam Rivera <sam.rivera@acme-payments.example>, role Manager, time zone" in out
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

    def read_line(prompt: str) -> str:
        if not typed:
            raise EOFError
        return typed.pop(0)

    monkeypatch.setattr("bot.terminal.cli.read_line", read_line)
    assert main(["chat", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert "Mode: LLM gpt-" in out
    assert out.count(f"└ {CONFIRM_PROMPT}") == 2
    first, second = out.split(f"└ {CONFIRM_PROMPT}")[1:]
    assert first.startswith(" n\nNot done.")  # piped input is echoed
    assert second.startswith(" y\n✓ Done as Sam Rivera: acknowledge")
    model.assert_complete()


def test_demo_is_the_sandbox_chat(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def end_of_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("bot.terminal.cli.read_line", end_of_input)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "PagerDuty chat on the demo sandbox (clock frozen at Tue 2026-03-10 14:00 UTC)" in out
    assert "Acting as Sam Rivera" in out


# -- alex ask: what scripts rely on ----------------------------------------------------------------

def test_ask_exit_status_says_whether_the_change_was_made(capsys: pytest.CaptureFixture[str]) -> None:
    number = triggered_number(build_sandbox("demo"))
    assert main(["ask", f"ack {number}", "--sandbox"]) == 0  # done
    assert main(["ask", "ack 1232", "--sandbox"]) == 0  # already acknowledged: nothing to do
    assert main(["ask", f"ack {number}", "--sandbox", "--as", OBSERVER_EMAIL]) == 3  # refused: an Observer
    assert main(["ask", "ack 99999", "--sandbox"]) == 3  # refused: no such incident
    assert main(["ask", f"ack {number}?", "--sandbox"]) == 3  # a write typed as a question is not run
    assert main(["ask", "note 1248", "--sandbox"]) == 3  # the note's text is missing
    assert main(["ask", "please ack 1252", "--sandbox"]) == 3  # a write in a sentence is not run
    assert main(["ask", "oncall platform-engineering", "--sandbox"]) == 0
    assert main(["ask", "oncal platform-engineering", "--sandbox"]) == 0  # a read that missed is no change
    out = capsys.readouterr().out
    assert "#1232 was already acknowledged" in out
    assert "observer role" in out and "No incident 99999" in out


def test_ask_exit_status_is_4_while_a_change_waits_for_confirmation(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    number = triggered_number(build_sandbox("demo"))
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say(f"I prepared acknowledging #{number}.")])
    monkeypatch.setattr("bot.agent.agent.make_chat_model", lambda settings: model)
    assert main(["ask", f"could you acknowledge {number} for me", "--sandbox"]) == 4
    assert "not done: confirm it in" in capsys.readouterr().out


def test_a_change_pagerduty_did_not_confirm_is_not_a_success() -> None:
    unconfirmed = ToolResult.fail("PagerDuty did not confirm this change.", kind="pagerduty")
    outcome = Outcome(False, "PagerDuty did not confirm this change.", maybe_applied=True)
    turn = Turn("PagerDuty did not confirm this change.", "command",
                tool_calls=[ToolCallRecord("acknowledge_incidents", {"incidents": ["1252"]}, unconfirmed,
                                           outcome=outcome)])
    assert ask_exit_status("ack 1252", turn) == WRITE_NOT_DONE
    timed_out = Turn("PagerDuty did not answer in time: … If it was a change, check in PagerDuty.", "command")
    assert ask_exit_status("ack 1252", timed_out) == WRITE_NOT_DONE


def test_ask_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ask", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for line in ("0  answered", "2  nothing was asked", "3  a change was asked for and not made",
                 "4  a change was prepared and waits for a confirmation"):
        assert line in out


def test_ask_json_timings_always_have_total_llm_and_tools(capsys: pytest.CaptureFixture[str]) -> None:
    for message in ("oncal platform-engineering", "ack 1252?", "help", "oncall platform-engineering"):
        timings = ask_json(capsys, message, "--sandbox", status=3 if "?" in message else 0)["timings"]
        assert list(timings) == ["total", "llm", "tools"], message
        assert timings["llm"] == 0.0  # command mode: no model call


def test_ask_says_a_too_long_message_is_too_long(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "x" * 5000, "--sandbox"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "alex: That message is too long (5,000 characters; the limit is 2,100).\n"
    assert captured.out == ""


def test_terminal_replies_are_plain_text_not_slack_mrkdwn(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    reply = ("*Two incidents* are open :rotating_light: since <!date^1773151200^{date_short_pretty} {time}|Tue 10 Mar "
             "10:00>: see <https://acme.pagerduty.com/incidents/PX1|#1252> and **#1251**; type `ack 1252` "
             ":sparkles: to take it.")
    model = ScriptedModel([say(reply)])
    monkeypatch.setattr("bot.agent.agent.make_chat_model", lambda settings: model)
    assert main(["ask", "what is going on?", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ('Two incidents are open 🚨 since Tue 10 Mar 10:00: see #1252 '
                                   '(https://acme.pagerduty.com/incidents/PX1) and #1251; type "ack 1252" to take it.')


def test_every_command_and_option_has_a_help_text() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = {choice.dest: choice.help for choice in commands._choices_actions}
    assert set(listed) == set(commands.choices)
    for name, sub in commands.choices.items():
        assert listed[name], f"alex --help lists {name} without a line"
        assert sub.description, f"alex {name} --help has no description"
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"alex {name} {action.option_strings}"
    for action in parser._actions:
        assert action.help, action.option_strings


def test_version_is_the_installed_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"alex {version('alex')}\n"


def test_make_ask_runs_one_question_without_activating_the_virtualenv(tmp_path: Path) -> None:
    venv = Path(sys.executable).parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAGERDUTY_", "ALEX_", "MAKE"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != venv / "bin")
    make = ["make", "-s", "-f", str(REPO / "Makefile"), f"VENV={venv}", "-o", f"{venv}/.installed", "ask"]
    done = subprocess.run([*make, 'Q=who\'s on call for "platform-engineering"?'], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("On call for platform-engineering (Platform Engineering) now:")
    usage = subprocess.run(make, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert usage.returncode != 0 and 'usage: make ask Q="oncall platform-engineering"' in usage.stderr


# -- the chat: too long, goodbye -------------------------------------------------------------------

def test_chat_says_a_too_long_message_is_too_long_and_goes_on(tmp_path: Path) -> None:
    done = run_chat(tmp_path, "x" * 5000 + "\noncall platform-engineering\nquit\n")
    assert done.returncode == 0, done.stderr
    asked, answered = done.stdout.split("\nyou> ")[1:3]
    assert "That message is too long (5,000 characters; the limit is 2,100). Nothing was sent" in asked
    assert "couldn't match" not in asked and "Commands (exact" not in asked
    assert "Platform Primary" in answered
    assert done.stdout.rstrip().endswith("quit\nBye.")


# -- the chat on a terminal: Ctrl-C, Ctrl-D, the width ---------------------------------------------

_ON_A_TERMINAL = ("import fcntl, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                  "from bot.cli import main; sys.exit(main(sys.argv[1:]))")
"""The child makes the pseudo-terminal its controlling terminal, so the Ctrl-C key sends SIGINT."""
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class TerminalChat:
    """``alex chat --sandbox`` on a pseudo-terminal, as a person runs it: keys in, the screen out."""

    def __init__(self, tmp_path: Path, *extra: str, columns: int = 100, env: dict[str, str] | None = None,
                 sandbox: bool = True) -> None:
        import fcntl
        import struct
        import termios

        master, child = os.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("OPENAI_", "PAGERDUTY_", "ALEX_")) and k not in ("NO_COLOR", "COLUMNS", "LINES")}
        base |= {"ALEX_STATE_PATH": str(tmp_path / "chat-state.sqlite3"), "PYTHONPATH": str(REPO),
                 "PYTHONIOENCODING": "utf-8", "TERM": "dumb", **(env or {})}
        where = ["--sandbox"] if sandbox else []
        self.process = subprocess.Popen([sys.executable, "-c", _ON_A_TERMINAL, "chat", *where, *extra],
                                        stdin=child, stdout=child, stderr=child, start_new_session=True,
                                        env=base, cwd=tmp_path)
        os.close(child)
        self.master = master
        self.pending = ""

    def expect(self, text: str, timeout: float = 60.0) -> str:
        """The screen up to and including ``text`` (colour codes out, CRLF as LF); fails if it never comes."""
        deadline = time.monotonic() + timeout
        while text not in self.pending:
            ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"never saw {text!r}; the screen ends with {self.pending[-600:]!r}")
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                raise AssertionError(f"the chat ended before {text!r}; the screen ends with {self.pending[-600:]!r}")
            self.pending += _ESCAPES.sub("", chunk.decode("utf-8", "replace")).replace("\r\n", "\n")
        end = self.pending.index(text) + len(text)
        seen, self.pending = self.pending[:end], self.pending[end:]
        return seen

    def keys(self, typed: str) -> None:
        os.write(self.master, typed.encode())

    def ctrl_c_at_the_prompt(self, then: str) -> str:
        """Press Ctrl-C at ``you>`` and see ``then``. Once more if nothing came: CPython's readline misses a
        SIGINT landing just while it handles a key (it checks signals only when its select is interrupted),
        and a second one brings both (one KeyboardInterrupt)."""
        self.keys("\x03")
        try:
            return self.expect(then, timeout=5)
        except AssertionError:
            self.keys("\x03")
            return self.expect(then)

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[list[TerminalChat]]:
    opened: list[TerminalChat] = []
    yield opened
    for chat in opened:
        chat.close()


needs_a_pty = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@needs_a_pty
def test_ctrl_c_at_the_prompt_clears_the_line_and_keeps_the_chat(tmp_path: Path,
                                                                 terminal: list[TerminalChat]) -> None:
    chat = TerminalChat(tmp_path)
    terminal.append(chat)
    chat.expect("\nyou> ")
    chat.keys("incid")
    chat.expect("incid")  # echoed
    chat.ctrl_c_at_the_prompt("(Ctrl-C clears the line; Ctrl-D or quit leaves the chat.)")
    chat.expect("\nyou> ")
    chat.keys("oncall platform-engineering\r")
    answer = chat.expect("\nyou> ")
    assert answer.startswith("oncall platform-engineering\n")  # the typed "incid" was dropped
    assert "On call for platform-engineering" in answer
    assert "Ctrl-D or quit" not in chat.ctrl_c_at_the_prompt("\nyou> ")  # the hint is shown once
    chat.keys("\x04")  # Ctrl-D leaves, with a goodbye
    assert chat.expect("Bye.")
    assert chat.wait() == 0


@needs_a_pty
def test_ctrl_c_while_alex_answers_cancels_that_answer_not_the_chat(tmp_path: Path,
                                                                     terminal: list[TerminalChat]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as model_server:  # accepts, never answers: a stuck model
        model_server.settimeout(60)
        port = model_server.getsockname()[1]
        chat = TerminalChat(tmp_path, env={"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
                                           "ALEX_LLM_TIMEOUT_SECONDS": "300", "ALEX_LLM_MAX_RETRIES": "0"})
        terminal.append(chat)
        chat.expect("\nyou> ")
        chat.keys("what is going on with payments today\r")
        connection, _ = model_server.accept()
        with connection:
            assert connection.recv(1)  # alex is waiting for the model
            chat.keys("\x03")
            cancelled = chat.expect("\nyou> ", timeout=30)
            assert "Cancelled: that answer was stopped. The chat goes on." in cancelled
            chat.keys("oncall platform-engineering\r")  # an exact command: answered without the model
            assert "On call for platform-engineering" in chat.expect("\nyou> ")
            chat.keys("quit\r")
            chat.expect("Bye.")
            assert chat.wait() == 0


@needs_a_pty
def test_chat_wraps_at_word_boundaries_to_the_terminal_width(tmp_path: Path,
                                                             terminal: list[TerminalChat]) -> None:
    chat = TerminalChat(tmp_path, columns=60)
    terminal.append(chat)
    banner = chat.expect("\nyou> ")
    chat.keys("help\r")
    shown = chat.expect("\nyou> ")
    for screen in (banner, shown):
        assert max(len(line) for line in screen.splitlines()) <= 60
    words = set(shown.split())
    cut = [word for word in clean(help_text()).split() if word not in words]
    assert cut == []  # every word of the help is whole on the screen
    assert "\n  patterns, e.g." in shown  # a bullet's next line hangs under its text
    chat.keys("quit\r")
    chat.expect("Bye.")


class _HoldWrites(BaseHTTPRequestHandler):
    """Forwards to ``target``; a write (PUT) is held until ``release`` is set, after telling ``arrived``
    (a subclass per test sets the three)."""

    target: ClassVar[str]
    arrived: ClassVar[threading.Event]
    release: ClassVar[threading.Event]

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.command == "PUT":
            type(self).arrived.set()
            assert type(self).release.wait(60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection", "accept-encoding")}
        request = urllib.request.Request(self.target + self.path, data=body or None, method=self.command,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, answer_headers, data = response.status, response.headers, response.read()
        except urllib.error.HTTPError as refused:
            status, answer_headers, data = refused.code, refused.headers, refused.read()
        self.send_response(status)
        for key, value in answer_headers.items():
            if key.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@needs_a_pty
def test_ctrl_c_while_a_typed_change_is_sent_lets_it_finish(tmp_path: Path, terminal: list[TerminalChat]) -> None:
    number = triggered_number(build_sandbox("demo"))
    with alex_sandbox("--now", DEFAULT_NOW.isoformat()) as served:
        class Holder(_HoldWrites):
            target = served.url
            arrived = threading.Event()
            release = threading.Event()

        proxy = ThreadingHTTPServer(("127.0.0.1", 0), Holder)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            chat = TerminalChat(tmp_path, sandbox=False, env={
                "PAGERDUTY_API_URL": f"http://127.0.0.1:{proxy.server_address[1]}",
                "PAGERDUTY_USER_API_KEY": "sandbox-manager-token"})
            terminal.append(chat)
            chat.expect("\nyou> ")
            chat.keys(f"ack {number}\r")
            assert Holder.arrived.wait(60)  # the acknowledgement is on its way to PagerDuty
            chat.keys("\x03")
            assert "it finishes first" in chat.expect("so it is not left half done)")
            Holder.release.set()
            done = chat.expect("\nyou> ")
            assert f"Acknowledged #{number}." in done
            chat.keys("quit\r")
            chat.expect("Bye.")
            assert chat.wait() == 0
        finally:
            Holder.release.set()
            proxy.shutdown()
            proxy.server_close()
