"""Running the `elm` command in a test and reading its one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def elm(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def error_line(done: subprocess.CompletedProcess) -> str:
    """The one line a failing command printed (exit status 2, `elm: error: ...`)."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("elm: error: "), done.stderr[-2000:]
    return lines[0]
