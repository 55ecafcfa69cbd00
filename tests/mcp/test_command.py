"""``alex mcp`` as a client starts it: a subprocess over stdio (the SDK's stdio client), its setup refusals,
who gets the write tools, and a cold ``import bot.cli`` that loads no MCP SDK."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import mcp.types as types
import pytest
from mcp import Client, StdioServerParameters, stdio_client

from bot.cli import build_parser
from bot.config import Settings
from bot.mcp.command import serve, writes_offered
from bot.terminal.session import sandbox_session
from tests.mcp.conftest import Person

REPO = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAGERDUTY_", "ALEX_"))}
    return env | {"ALEX_STATE_PATH": str(tmp_path / "state.sqlite3"), "PYTHONPATH": str(REPO),
                  "PYTHONIOENCODING": "utf-8"} | extra


async def test_over_stdio_a_client_lists_reads_and_confirms_a_write(tmp_path: Path) -> None:
    person = Person("yes")
    params = StdioServerParameters(command=sys.executable, env=_env(tmp_path), cwd=tmp_path,
                                   args=["-m", "bot.cli", "mcp", "--sandbox", "--enable-writes"])
    with (tmp_path / "stderr.txt").open("w+", encoding="utf-8") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy", elicitation_callback=person) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            incidents = await client.call_tool("list_incidents", {"statuses": ["triggered"]})
            done = await client.call_tool("acknowledge_incidents", {"incidents": ["1252"]})
            again = await client.call_tool("get_incident", {"incident": "1252"})
        errlog.seek(0)
        stderr = errlog.read()
    assert "serving stdio, with write tools" in stderr and "as Sam Rivera" in stderr, stderr
    assert "find_coverage_gaps" in names and "confirm_proposal" not in names
    assert not incidents.is_error and incidents.structured_content is not None
    assert done.structured_content is not None and done.structured_content["state"] == "done", done.content
    assert person.asked and "Acknowledge #1252" in person.asked[0]
    detail = "\n".join(b.text for b in again.content if isinstance(b, types.TextContent))
    assert "acknowledged" in detail.lower()
    assert not (tmp_path / "state.sqlite3").exists()  # the sandbox keeps its proposals and audit in memory


async def _refusal(*argv: str) -> str:
    """``alex mcp ARGV`` in process, expected to stop at setup with status 2: what it wrote on stderr."""
    err = io.StringIO()
    assert await serve(build_parser().parse_args(["mcp", *argv]), err) == 2
    return err.getvalue()


async def test_setup_problems_stop_it_with_status_2_and_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("ALEX_MCP_TOKEN", "PAGERDUTY_USER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert "needs ALEX_MCP_TOKEN" in await _refusal("--sandbox", "--http", "8765")
    monkeypatch.setenv("ALEX_MCP_TOKEN", "tiny-secret")
    short = await _refusal("--sandbox", "--http", "8765")
    assert "too short" in short and "tiny-secret" not in short
    assert "are for --sandbox" in await _refusal("--as", "sam.rivera@acme-payments.example")
    assert "PAGERDUTY_USER_API_KEY is not set" in await _refusal()
    assert "No user with the e-mail" in await _refusal("--sandbox", "--as", "nobody@example.com")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["mcp", "--http", "99999"])


async def test_write_tools_are_offered_only_to_people_who_can_write_and_never_read_only() -> None:
    manager = sandbox_session("demo")
    observer = sandbox_session("demo", as_email="olivia.observer@acme-payments.example")
    writable, read_only = Settings.model_validate({}), Settings.model_validate({"ALEX_READ_ONLY": "true"})
    try:
        err = io.StringIO()
        assert writes_offered(True, writable, manager.asker, err)
        assert not writes_offered(False, writable, manager.asker, err)
        assert err.getvalue() == ""
        assert not writes_offered(True, read_only, manager.asker, err)
        assert "ALEX_READ_ONLY is set" in err.getvalue()
        assert not writes_offered(True, writable, observer.asker, err)
        assert "observer role" in err.getvalue()
    finally:
        await manager.aclose()
        await observer.aclose()


def test_importing_the_cli_loads_no_mcp_sdk(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import sys, bot.cli; print(sorted(m for m in sys.modules if "
                           "m.split('.')[0] in ('mcp', 'mcp_types', 'starlette', 'uvicorn', 'openai')))"],
                          capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
