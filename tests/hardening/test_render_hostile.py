"""`elm render` runs a program in the calling process's own sandbox (no worker, no
namespaces): a walker that tries to leave it through a socketpair's datagram, or to read
the engine user's own files, is refused there too, and nothing escapes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hostile_programs import SQUARE, WALKER_HEAD

ATTEMPTS = {
    "datagram": "    import socket\n    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                "    a.sendto(b'escaped', '$dgram_socket')\n    return square().get_walker()\n",
    "own_secret": "    open('$own_secret').read()\n    return square().get_walker()\n",
}


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_render_of_a_hostile_walker_is_refused(attempt, surroundings, tmp_path):
    program = tmp_path / "walker.py"
    program.write_text(surroundings.fill(WALKER_HEAD + SQUARE + "\n\ndef make_walker():\n" + ATTEMPTS[attempt]))
    out = tmp_path / "walk.png"
    done = subprocess.run([sys.executable, "-m", "elmcore.cli", "render", str(program), "--out", str(out),
                           "--duration", "0.5", "--width", "64", "--height", "32", "--strip", "2"],
                          capture_output=True, text=True, timeout=300)
    surroundings.assert_nothing_escaped()
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and not out.exists(), done.stderr[-2000:]
    assert len(lines) == 1 and "the program did not run" in lines[0] and "PermissionError" in lines[0], lines
