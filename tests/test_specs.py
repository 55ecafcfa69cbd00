"""Without the third-party spec files a contract or Block Kit test skips, saying which file and where to get
it; with ``ALEX_REQUIRE_SPECS=1`` (what ``.ci/run`` sets, since CI has ``../shared/specs``) it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST = "tests/slack/test_manifest.py::test_every_scope_in_the_manifest_is_needed"


def run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("ALEX_REQUIRE_SPECS", "SLACK_SPECS_DIR")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST],
                          cwd=REPO, env={**clean, "SLACK_SPECS_DIR": str(tmp_path), **env}, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.slow
def test_a_missing_spec_skips_with_where_to_get_it_or_fails_where_required(tmp_path: Path) -> None:
    skipped = run(tmp_path)
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout
    assert "slack-web-methods.json not found: set SLACK_SPECS_DIR" in skipped.stdout, "the reason is in the summary"
    assert "github.com/smstoslack/slack_kit" in skipped.stdout

    required = run(tmp_path, ALEX_REQUIRE_SPECS="1")
    assert required.returncode == 1, required.stdout
    assert "1 failed" in required.stdout and "ALEX_REQUIRE_SPECS=1" in required.stdout
