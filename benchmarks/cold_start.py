"""Cold start: ``alex ask --sandbox "oncall platform-engineering"`` end to end, as a person runs it.

Each run is a fresh interpreter (``python -m bot.cli``) with no model configured and no state from an
earlier run: imports, building the demo sandbox, one command answered, exit. The wall time is the
subprocess's, from start to exit.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTION = "oncall platform-engineering"


@dataclass(frozen=True)
class ColdStartFigures:
    runs: int
    median_ms: float
    best_ms: float
    imports_openai: bool
    """Whether any run loaded the OpenAI SDK (it should not: no model is configured)."""


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAGERDUTY_", "ALEX_"))}
    return env | {"ALEX_STATE_PATH": str(state / "state.sqlite3"), "PYTHONPATH": str(REPO),
                  "PYTHONIOENCODING": "utf-8"}


def _once(workdir: Path, *, trace_imports: bool = False) -> tuple[float, bool]:
    """(wall ms, whether openai was imported: only known with ``trace_imports``, which slows the run)."""
    trace = ["-X", "importtime"] if trace_imports else []
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *trace, "-m", "bot.cli", "ask", "--sandbox", QUESTION],
                          capture_output=True, text=True, encoding="utf-8", env=_env(workdir), cwd=workdir,
                          timeout=120, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"alex ask failed ({done.returncode}): {done.stderr[-500:]}")
    openai = any(line.rsplit("|", 1)[-1].strip().split(".")[0] == "openai"
                 for line in done.stderr.splitlines() if line.startswith("import time:"))
    return elapsed, openai


def measure(runs: int = 5) -> ColdStartFigures:
    """``runs`` timed cold starts after one traced, unmeasured run (which also warms the OS file cache)."""
    with tempfile.TemporaryDirectory(prefix="alex-bench-") as tmp:
        _, openai = _once(Path(tmp), trace_imports=True)
        walls = [_once(Path(tmp))[0] for _ in range(runs)]
    return ColdStartFigures(runs, round(statistics.median(walls), 1), round(min(walls), 1), openai)
