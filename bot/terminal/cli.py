"""``alex chat`` (an interactive terminal chat), ``alex ask`` (one message, one reply) and ``alex demo``.

Both go through the same pipeline as Slack (:class:`~bot.agent.agent.Agent`), against the built-in
sandbox (``--sandbox``) or the PagerDuty account of ``PAGERDUTY_USER_API_KEY``; see
:mod:`bot.terminal.session` for who they act as.

Thread memory: ``alex ask --thread ID`` keeps the thread in the SQLite file at ``ALEX_STATE_PATH``, so
two invocations with the same ID see each other (sandbox threads are kept apart from real ones). A
chat session is one thread: in memory for ``--sandbox`` (a throwaway demo), in ``ALEX_STATE_PATH``
otherwise. Setup problems (no token, PagerDuty refusing it, an unknown ``--as``) exit with status 2
and one line on stderr; ``alex ask``'s other statuses are in :mod:`bot.terminal.exit_codes`.

The chat reads each line in the main thread, between answers, so Ctrl-C behaves as in a shell: at the
``you>`` prompt it clears the line and the chat goes on; while alex answers it cancels that answer (the
event loop of an :class:`asyncio.Runner` cancels the task); a change already being sent to PagerDuty
is let finish, since stopping it halfway would leave it unknown. Ctrl-D, ``quit`` or ``exit`` leave.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
import uuid
from collections.abc import Coroutine
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from bot.agent.commands import help_text, parse_command
from bot.agent.commands.grammar import MAX_COMMAND_CHARS
from bot.agent.prompt import suggested_prompts
from bot.agent.turn import Turn
from bot.cli_types import aware_time
from bot.config import InvalidSettings, Settings, read_settings
from bot.store.thread_memory import InMemoryThreadMemory, ThreadMemory, open_thread_memory
from bot.terminal.exit_codes import EXIT_STATUS_HELP, SETUP_FAILED, ask_exit_status
from bot.terminal.session import Session, SessionError, pagerduty_session, sandbox_session
from bot.terminal.text import (
    CONFIRM_PROMPT,
    DIM,
    clean,
    paint,
    render_outcome,
    render_proposal,
    render_stats,
    render_turn,
    terminal_width,
    use_color,
    wrap,
)

if TYPE_CHECKING:
    from bot.agent.agent import Agent

T = TypeVar("T")

INTERRUPTED = 130
"""The shell's status for a command ended by Ctrl-C (128 + SIGINT)."""
QUIT_WORDS = frozenset({"quit", "exit", "bye", ":q"})
ASK_PENDING = "not done: confirm it in `alex chat`"
GOODBYE = "Bye."
CTRL_C_HINT = "(Ctrl-C clears the line; Ctrl-D or quit leaves the chat.)"
CANCELLED = "Cancelled: that answer was stopped. The chat goes on."
HOLD_ON = "(a change is being sent to PagerDuty: it finishes first, so it is not left half done)"


def add_agent_parsers(commands: Any) -> None:
    """Add ``chat``, ``ask`` and ``demo`` to the ``alex`` subcommands."""
    chat = commands.add_parser(
        "chat", help="chat with alex in the terminal",
        description="An interactive chat with alex (the same pipeline as Slack). Changes wait for y at "
                    "\"confirm? [y/N]\". Ctrl-C clears the line, or stops an answer; Ctrl-D, quit or exit "
                    "leave.")
    _session_options(chat)
    chat.set_defaults(run=run_chat)

    ask = commands.add_parser(
        "ask", help="ask alex one question and print the reply",
        description="One message, one reply; --json prints the structured turn. A change the model "
                    "proposes is not made (it needs a confirmation: alex chat); a typed command such as "
                    "\"ack 1252\" runs at once, as you.",
        epilog=EXIT_STATUS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    ask.add_argument("message", help='what to ask, e.g. "oncall platform-engineering"')
    _session_options(ask)
    ask.add_argument("--thread", metavar="ID", default=None,
                     help="a thread id: follow-ups with the same id see the earlier messages (ALEX_STATE_PATH)")
    ask.add_argument("--json", action="store_true",
                     help="print the turn as one JSON object (reply, mode, tool_calls, proposals, ...)")
    ask.set_defaults(run=run_ask)

    demo = commands.add_parser(
        "demo", help="try alex on the built-in PagerDuty sandbox (= alex chat --sandbox)",
        description="The terminal chat on the built-in demo sandbox: no keys, no network. The same as "
                    "alex chat --sandbox (which also takes --dataset, --now and --as); make demo runs it.")
    demo.set_defaults(run=run_chat, sandbox=True, dataset="demo", now=None, as_email=None)


def _session_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sandbox", action="store_true",
                        help="use the built-in PagerDuty sandbox (no keys, no network)")
    parser.add_argument("--dataset", choices=["demo", "large"], default="demo",
                        help="the sandbox account (default: demo; large is a 10,000-incident account)")
    parser.add_argument("--now", type=aware_time, default=None, metavar="ISO",
                        help="the current time, e.g. 2026-03-10T14:00:00Z (sandbox default: that instant)")
    parser.add_argument("--as", dest="as_email", metavar="EMAIL", default=None,
                        help="act as this PagerDuty user (sandbox default: the Manager; else the token's user)")


def too_long(text: str, limit: int) -> str | None:
    """"That message is too long (N characters; the limit is M)." when it is, else None."""
    if len(text) <= limit:
        return None
    return f"That message is too long ({len(text):,} characters; the limit is {limit:,})."


def message_limit(agent: Agent) -> int:
    """The longest message alex reads: what the model is sent, or the longest command without one."""
    from bot.agent.loop import MAX_MESSAGE_CHARS

    return MAX_COMMAND_CHARS if agent.model is None else MAX_MESSAGE_CHARS


# -- alex ask ---------------------------------------------------------------------------------------

def run_ask(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(ask(args, sys.stdout, sys.stderr))
    except KeyboardInterrupt:
        sys.stderr.write("\nalex: interrupted. If it was a change, check in PagerDuty whether it was applied.\n")
        return INTERRUPTED


async def ask(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Answer ``args.message`` once; the exit status says what became of a change it asked for."""
    message = args.message.strip()
    if not message:
        err.write("alex: nothing to ask: give a message, e.g. alex ask \"incidents\" --sandbox\n")
        return SETUP_FAILED
    try:
        settings = _settings()
        session = await _open_session(args, settings)
    except SessionError as exc:
        err.write(f"alex: {exc}\n")
        return SETUP_FAILED
    from bot.agent.agent import Agent  # imports openai: only for the commands that talk to a model

    memory = open_thread_memory(settings) if args.thread else None
    agent = Agent.from_settings(settings, memory)
    try:
        refusal = too_long(message, message_limit(agent))
        if refusal is not None:
            err.write(f"alex: {refusal}\n")
            return SETUP_FAILED
        thread = _thread_key(args, args.thread) if args.thread else None
        turn = await agent.respond(message, session.context(), thread_id=thread)
    finally:
        await agent.aclose()
        await session.aclose()
    if args.json:
        out.write(json.dumps(turn.as_json(), ensure_ascii=False, default=str) + "\n")
    else:
        text = render_turn(turn, color=use_color(out), prompt=ASK_PENDING)
        out.write(wrap(text, terminal_width(out)) + "\n")
    return ask_exit_status(message, turn)


# -- alex chat --------------------------------------------------------------------------------------

def run_chat(args: argparse.Namespace) -> int:
    """The chat on one event loop (:class:`asyncio.Runner`) that runs only while alex answers."""
    with asyncio.Runner() as runner:
        try:
            agent, session, thread = runner.run(_open_chat(args))
        except SessionError as exc:
            sys.stderr.write(f"alex: {exc}\n")
            return SETUP_FAILED
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            return INTERRUPTED
        repl = ChatRepl(agent, session, sys.stdout, thread=thread, runner=runner)
        try:
            repl.run()
        finally:
            with contextlib.suppress(KeyboardInterrupt):
                runner.run(_close(agent, session))
    return 0


async def _open_chat(args: argparse.Namespace) -> tuple[Agent, Session, str]:
    settings = _settings()
    session = await _open_session(args, settings)
    from bot.agent.agent import Agent

    memory: ThreadMemory = InMemoryThreadMemory() if args.sandbox else open_thread_memory(settings)
    agent = Agent.from_settings(settings, memory)
    return agent, session, _thread_key(args, f"chat-{uuid.uuid4().hex[:12]}")


async def _close(agent: Agent, session: Session) -> None:
    try:
        await agent.aclose()
    finally:
        await session.aclose()


class ChatRepl:
    """The ``you>`` loop: read a line, answer it on the runner's loop, offer each proposal."""

    def __init__(self, agent: Agent, session: Session, out: TextIO, *, thread: str,
                 runner: asyncio.Runner) -> None:
        self.agent = agent
        self.session = session
        self.out = out
        self.thread = thread
        self.runner = runner
        self.color = use_color(out)
        self.limit = message_limit(agent)
        self.hinted = False
        """Whether the Ctrl-C hint was shown (once is enough)."""
        self.echo = not sys.stdin.isatty()
        """Piped input is echoed, so the output reads as a transcript."""
        if sys.stdin.isatty():
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def show(self, text: str) -> None:
        """``text`` and a newline, wrapped at word boundaries to the terminal's width."""
        self.write(wrap(text, terminal_width(self.out)) + "\n")

    def run(self) -> None:
        self.show(self.banner())
        while True:
            try:
                if not self.step():
                    return
            except KeyboardInterrupt:  # while answering (the runner cancelled the answer) or showing it
                self.write("\n")
                self.show(paint(CANCELLED, DIM, color=self.color))

    def step(self) -> bool:
        """One message and its answer; False when the chat ends."""
        try:
            text = self.read("\nyou> ").strip()
        except EOFError:
            self.write("\n" + GOODBYE + "\n")
            return False
        except KeyboardInterrupt:  # Ctrl-C at the prompt: the line is dropped, the chat goes on
            self.write("\n")
            if not self.hinted:
                self.hinted = True
                self.write(paint(CTRL_C_HINT, DIM, color=self.color) + "\n")
            return True
        if not text:
            return True
        if text.lower() in QUIT_WORDS:
            self.write(GOODBYE + "\n")
            return False
        if text.lower() in ("help", "?"):
            self.write("\n")
            self.show(clean(self.help(), color=self.color))
            return True
        refusal = too_long(text, self.limit)
        if refusal is not None:
            self.write("\n")
            self.show(refusal + " Nothing was sent; shorten it and ask again.")
            return True
        turn = self.answer(text)
        self.write("\n")
        self.show(render_turn(turn, color=self.color, proposals=False))
        self.write(render_stats(turn, color=self.color) + "\n")
        return self.confirm_each(turn)

    def answer(self, text: str) -> Turn:
        """alex's answer to ``text``; Ctrl-C cancels it (``KeyboardInterrupt``), except a typed change."""
        respond = self.agent.respond(text, self.session.context(), thread_id=self.thread)
        command = parse_command(text)
        if command is None or not command.is_write or command.question:
            return self.runner.run(respond)
        return self.sending(respond)  # a typed write runs at once: it is not cut off halfway

    def sending(self, change: Coroutine[Any, Any, T]) -> T:
        """Run ``change`` (it writes to PagerDuty) to its end: Ctrl-C only says why it is not stopped."""
        if threading.current_thread() is not threading.main_thread():
            return self.runner.run(change)

        def hold_on(signum: int, frame: FrameType | None) -> None:
            self.write("\n" + paint(HOLD_ON, DIM, color=self.color) + "\n")

        previous = signal.signal(signal.SIGINT, hold_on)
        try:
            return self.runner.run(change)
        finally:
            signal.signal(signal.SIGINT, previous)

    def confirm_each(self, turn: Turn) -> bool:
        """Offer each proposal for confirmation; False when the input ended."""
        for proposal in turn.proposals:
            box = wrap(render_proposal(proposal, color=self.color, prompt=CONFIRM_PROMPT), terminal_width(self.out))
            if not proposal.operations:
                self.write("\n" + box + "\n")
                continue
            self.write("\n" + box + " ")
            try:
                answer = self.read("").strip().lower()
            except EOFError:
                self.write("\nNot done.\n")
                return False
            except KeyboardInterrupt:
                answer = ""
                self.write("\n")
            if answer in ("y", "yes"):
                outcome = self.sending(self.agent.confirm(proposal, self.session.context(), thread_id=self.thread))
                self.show(render_outcome(outcome, color=self.color))
            else:
                self.write(paint("Not done.", DIM, color=self.color) + "\n")
        return True

    def read(self, prompt: str) -> str:
        line = read_line(prompt)
        if self.echo:
            self.write(line + "\n")
        return line

    def banner(self) -> str:
        session, agent = self.session, self.agent
        lines = [paint("alex", "1", color=self.color) + f" · PagerDuty chat on {session.where}",
                 f"Acting as {session.describe()}",
                 f"Mode: {agent.describe_mode()}"]
        prompts = suggested_prompts()[:4]
        if agent.model is None:
            lines.append("Commands that work now: " + " · ".join(self.example_commands()))
            lines.append("Questions work too, read as the command they ask for (an LLM understands more), e.g.:")
        else:
            lines.append("Try, e.g.:")
        lines += [f"  - {p}" for p in prompts]
        lines.append("Type help for the commands, quit (or Ctrl-D) to leave; Ctrl-C clears the line or stops "
                     "an answer.")
        return "\n".join(lines)

    def example_commands(self) -> list[str]:
        sandbox = self.session.sandbox
        if sandbox is not None and "platform-engineering" in {s.name for s in sandbox.world.services.values()}:
            return ["incidents", "oncall platform-engineering", "gaps Platform Secondary", "ack <number>"]
        return ["incidents", "oncall me", "services", "ack <number>"]

    def help(self) -> str:
        extra = ["", "In this chat: typed commands run at once; questions go to the model (when one is "
                 f"configured), and changes it prepares wait for {CONFIRM_PROMPT}. Ctrl-C clears the line, "
                 "or stops an answer; quit (or Ctrl-D) leaves."]
        if self.agent.model is not None:
            extra += ["Questions you can ask:", *(f"  - {p}" for p in suggested_prompts())]
        return "\n".join([help_text(), *extra])


def read_line(prompt: str) -> str:
    """``input(prompt)``, in the main thread: Ctrl-C raises ``KeyboardInterrupt`` there (readline drops
    the line), Ctrl-D or the end of piped input ``EOFError``."""
    try:
        return input(prompt)
    except (OSError, ValueError):  # stdin closed under us: the same as end of input
        raise EOFError from None


# -- shared -----------------------------------------------------------------------------------------

def _settings() -> Settings:
    try:
        return read_settings()
    except InvalidSettings as exc:
        raise SessionError(str(exc)) from None


async def _open_session(args: argparse.Namespace, settings: Settings) -> Session:
    if args.sandbox:
        return sandbox_session(args.dataset, now=args.now, as_email=args.as_email)
    return await pagerduty_session(settings, as_email=args.as_email, now=args.now)


def _thread_key(args: argparse.Namespace, thread: str) -> str:
    """Threads are kept per PagerDuty: a sandbox thread never mixes with a real account's."""
    where = f"sandbox-{args.dataset}" if args.sandbox else "pagerduty"
    return f"cli:{where}:{thread}"
