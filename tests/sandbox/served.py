"""The real ``alex sandbox`` command in its own process on a free loopback port, for black-box tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

START_WITHIN = 30.0
"""Seconds the command gets to print its banner (it builds the account first)."""


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    """``http(s)://127.0.0.1:PORT`` as the banner prints it."""
    banner: list[str]
    process: subprocess.Popen[bytes]

    def banner_value(self, label: str) -> str:
        """The first word after ``label`` in the banner (e.g. ``"CA certificate:"``)."""
        line = next(line for line in self.banner if label in line)
        return line.split(label, 1)[1].split()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def alex_sandbox(*args: str) -> Iterator[Served]:
    """``alex sandbox --port P ARGS...``, stopped (SIGTERM, then killed) when the block ends."""
    port = free_port()
    with subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "--port", str(port), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}) as process:
        try:
            assert process.stdout is not None
            banner: list[str] = []
            while not banner or "admin:" not in banner[-1]:
                line = process.stdout.readline().decode()
                assert line, f"alex sandbox exited before its banner: {banner}"
                banner.append(line)
            scheme = "https" if "--https" in args else "http"
            url = f"{scheme}://127.0.0.1:{port}"
            assert url in banner[0], banner
            yield Served(url, banner, process)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def refused(*args: str) -> tuple[int, str]:
    """Run ``alex sandbox ARGS...`` expecting it to refuse them: (exit code, stderr)."""
    done = subprocess.run([sys.executable, "-m", "bot.cli", "sandbox", "--port", str(free_port()), *args],
                          capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stderr
