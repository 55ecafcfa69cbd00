"""``alex chat`` (an interactive terminal chat), ``alex ask`` (one message, one reply) and ``alex demo``.

Both go through the same pipeline as Slack (:class:`~bot.agent.agent.Agent`), against the built-in
sandbox (``--sandbox``) or the PagerDuty account of ``PAGERDUTY_USER_API_KEY``; see
:mod:`bot.agent.session` for who they act as.

Thread memory: ``alex ask --thread ID`` keeps the thread in the SQLite file at ``ALEX_STATE_PATH``, so
two invocations with the same ID see each other (sandbox threads are kept apart from real ones). A
chat session is one thread: in memory for ``--sandbox`` (a throwaway demo), in ``ALEX_STATE_PATH``
otherwise. Setup problems (no token, PagerDuty refusing it, an unknown ``--as``) exit with status 2
and one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import uuid
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError

from bot.agent.commands import help_text
from bot.agent.memory import InMemoryThreadMemory, ThreadMemory, open_thread_memory
from bot.agent.prompt import suggested_prompts
from bot.agent.session import Session, SessionError, pagerduty_session, sandbox_session
from bot.agent.text import (
    CONFIRM_PROMPT,
    DIM,
    paint,
    render_outcome,
    render_proposal,
    render_stats,
    render_turn,
    use_color,
)
from bot.agent.turn import Turn
from bot.cli_types import aware_time
from bot.config import Settings

if TYPE_CHECKING:
    from bot.agent.agent import Agent

SETUP_FAILED = 2
QUIT_WORDS = frozenset({"quit", "exit", "bye", ":q"})
ASK_PENDING = "not done: confirm it in `alex chat`"


def add_agent_parsers(commands: Any) -> None:
    """Add ``chat``, ``ask`` and ``demo`` to the ``alex`` subcommands."""
    chat = commands.add_parser("chat", help="chat with alex in the terminal",
                               description="An interactive chat with alex (the same pipeline as Slack).")
    _session_options(chat)
    chat.set_defaults(run=run_chat)

    ask = commands.add_parser("ask", help="ask alex one question and print the reply",
                              description="One message, one reply; --json prints the structured turn.")
    ask.add_argument("message", help='what to ask, e.g. "oncall platform-engineering"')
    _session_options(ask)
    ask.add_argument("--thread", metavar="ID", default=None,
                     help="a thread id: follow-ups with the same id see the earlier messages (ALEX_STATE_PATH)")
    ask.add_argument("--json", action="store_true",
                     help="print the turn as one JSON object (reply, mode, tool_calls, proposals, ...)")
    ask.set_defaults(run=run_ask)

    demo = commands.add_parser("demo", help="try alex on the built-in PagerDuty sandbox (= alex chat --sandbox)")
    demo.set_defaults(run=run_chat, sandbox=True, dataset="demo", now=None, as_email=None)


def _session_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sandbox", action="store_true",
                        help="use the built-in PagerDuty sandbox (no keys, no network)")
    parser.add_argument("--dataset", choices=["demo", "large"], default="demo", help="the sandbox account")
    parser.add_argument("--now", type=aware_time, default=None, metavar="ISO",
                        help="the current time, e.g. 2026-03-10T14:00:00Z (sandbox default: that instant)")
    parser.add_argument("--as", dest="as_email", metavar="EMAIL", default=None,
                        help="act as this PagerDuty user (sandbox default: the Manager; else the token's user)")


# -- alex ask ---------------------------------------------------------------------------------------

def run_ask(args: argparse.Namespace) -> int:
    return asyncio.run(ask(args, sys.stdout, sys.stderr))


async def ask(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.message.strip():
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
        thread = _thread_key(args, args.thread) if args.thread else None
        turn = await agent.respond(args.message, session.context(), thread_id=thread)
    finally:
        await agent.aclose()
        await session.aclose()
    if args.json:
        out.write(json.dumps(turn.as_json(), ensure_ascii=False, default=str) + "\n")
    else:
        out.write(render_turn(turn, color=use_color(out), prompt=ASK_PENDING) + "\n")
    return 0


# -- alex chat --------------------------------------------------------------------------------------

def run_chat(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(chat(args, sys.stdout, sys.stderr))
    except KeyboardInterrupt:  # Ctrl-C: the session was closed on the way out
        sys.stdout.write("\n")
        return 0


async def chat(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        settings = _settings()
        session = await _open_session(args, settings)
    except SessionError as exc:
        err.write(f"alex: {exc}\n")
        return SETUP_FAILED
    from bot.agent.agent import Agent

    memory: ThreadMemory = InMemoryThreadMemory() if args.sandbox else open_thread_memory(settings)
    agent = Agent.from_settings(settings, memory)
    repl = _Repl(agent, session, out, thread=_thread_key(args, f"chat-{uuid.uuid4().hex[:12]}"))
    try:
        await repl.run()
    finally:
        await agent.aclose()
        await session.aclose()
    return 0


class _Repl:
    def __init__(self, agent: Agent, session: Session, out: TextIO, *, thread: str) -> None:
        self.agent = agent
        self.session = session
        self.out = out
        self.thread = thread
        self.color = use_color(out)
        self.echo = not sys.stdin.isatty()
        """Piped input is echoed, so the output reads as a transcript."""
        if sys.stdin.isatty():
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    async def run(self) -> None:
        self.write(self.banner() + "\n")
        while True:
            try:
                text = (await self.read("\nyou> ")).strip()
            except EOFError:
                self.write("\n")
                return
            if not text:
                continue
            if text.lower() in QUIT_WORDS:
                return
            if text.lower() in ("help", "?"):
                self.write("\n" + self.help() + "\n")
                continue
            turn = await self.agent.respond(text, self.session.context(), thread_id=self.thread)
            self.write("\n" + render_turn(turn, color=self.color, proposals=False) + "\n")
            self.write(render_stats(turn, color=self.color) + "\n")
            if not await self.confirm_each(turn):
                return

    async def confirm_each(self, turn: Turn) -> bool:
        """Offer each proposal for confirmation; False when the input ended."""
        for proposal in turn.proposals:
            box = render_proposal(proposal, color=self.color, prompt=CONFIRM_PROMPT)
            if not proposal.operations:
                self.write("\n" + box + "\n")
                continue
            self.write("\n" + box + " ")
            try:
                answer = (await self.read("")).strip().lower()
            except EOFError:
                self.write("\nNot done.\n")
                return False
            if answer in ("y", "yes"):
                outcome = await self.agent.confirm(proposal, self.session.context(), thread_id=self.thread)
                self.write(render_outcome(outcome, color=self.color) + "\n")
            else:
                self.write(paint("Not done.", DIM, color=self.color) + "\n")
        return True

    async def read(self, prompt: str) -> str:
        line = await read_line(prompt)
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
        lines.append("Type help for the commands, quit to leave.")
        return "\n".join(lines)

    def example_commands(self) -> list[str]:
        sandbox = self.session.sandbox
        if sandbox is not None and "platform-engineering" in {s.name for s in sandbox.world.services.values()}:
            return ["incidents", "oncall platform-engineering", "gaps Platform Secondary", "ack <number>"]
        return ["incidents", "oncall me", "services", "ack <number>"]

    def help(self) -> str:
        extra = ["", "In this chat: typed commands run at once; questions go to the model (when one is "
                 f"configured), and changes it prepares wait for {CONFIRM_PROMPT}. quit (or Ctrl-D) leaves."]
        if self.agent.model is not None:
            extra += ["Questions you can ask:", *(f"  - {p}" for p in suggested_prompts())]
        return "\n".join([help_text(), *extra])


async def read_line(prompt: str) -> str:
    """``input(prompt)`` without blocking the event loop.

    The read runs in a daemon thread rather than ``asyncio.to_thread``: the default executor is joined
    when the loop shuts down, so a pending ``input()`` would keep Ctrl-C from exiting until Enter.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(line: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(line or "")

    def worker() -> None:
        line: str | None = None
        error: BaseException | None = None
        try:
            line = input(prompt)
        except EOFError as exc:
            error = exc
        except (OSError, ValueError):  # stdin closed under us: the same as end of input
            error = EOFError()
        with contextlib.suppress(RuntimeError):  # the loop is already gone (Ctrl-C)
            loop.call_soon_threadsafe(settle, line, error)

    threading.Thread(target=worker, name="alex-chat-input", daemon=True).start()
    return await future


# -- shared -----------------------------------------------------------------------------------------

def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SessionError(f"invalid settings: {problems}") from None


async def _open_session(args: argparse.Namespace, settings: Settings) -> Session:
    if args.sandbox:
        return sandbox_session(args.dataset, now=args.now, as_email=args.as_email)
    return await pagerduty_session(settings, as_email=args.as_email, now=args.now)


def _thread_key(args: argparse.Namespace, thread: str) -> str:
    """Threads are kept per PagerDuty: a sandbox thread never mixes with a real account's."""
    where = f"sandbox-{args.dataset}" if args.sandbox else "pagerduty"
    return f"cli:{where}:{thread}"
