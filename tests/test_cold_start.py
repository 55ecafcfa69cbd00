"""Cold start: commands that need no model never import the OpenAI SDK (most of a second of `alex ask`).

Each check is a fresh interpreter, so what it imports is the command's own doing, not the test run's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAGERDUTY_", "ALEX_"))}
    return env | {"ALEX_STATE_PATH": str(tmp_path / "state.sqlite3"), "PYTHONPATH": str(REPO),
                  "PYTHONIOENCODING": "utf-8"}


def _imported(stderr: str) -> set[str]:
    """The modules ``python -X importtime`` reports, one a line: ``import time: self | cumulative | name``."""
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_importing_the_cli_does_not_import_openai(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import sys, bot.cli; print(sorted(m for m in sys.modules "
                                                 "if m.split('.')[0] == 'openai'))"],
                          capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_alex_ask_with_no_model_configured_never_imports_openai(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot.cli", "ask", "--sandbox",
                           "oncall platform-engineering"],
                          capture_output=True, text=True, encoding="utf-8", env=_env(tmp_path), cwd=tmp_path,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "platform-engineering" in done.stdout.lower() and "level 1" in done.stdout.lower(), done.stdout
    imported = _imported(done.stderr)
    assert "bot.agent.agent" in imported  # the check sees alex's own imports
    assert not {m for m in imported if m.split(".")[0] == "openai"}
