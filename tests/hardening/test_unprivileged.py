"""The sandbox when the engine is not root: the same hostile programs, run by an ordinary
user (uid 4242) through a WorkerPool. Programs keep that user's uid, so signals, /proc
and files of the engine are protected by the other layers only (user namespace, Landlock,
seccomp, a non-dumpable engine). Set up from root: in a private mount namespace, every
folder this interpreter and its import path need (a virtual environment, the base
installation, a checkout) is made reachable by the user at its own path, then ``setpriv``
drops to the user, who runs this very interpreter (``sys.executable``) with this import path."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import processes_of
from elmcore.sandbox import namespaces
from hostile_programs import PARITY_PROGRAMS

USER = 4242
HERE = Path(__file__).parent
STAGING = "/mnt"


def _needed_paths() -> set[str]:
    """What this interpreter and everything it imported come from."""
    paths = namespaces._paths_in_use() | {os.path.dirname(os.path.realpath(sys.executable)), str(HERE)}
    return {p for p in paths if os.path.exists(p)}


def _closed_ancestor(path: str) -> str | None:
    """The topmost folder above ``path`` that other users cannot enter (e.g. /root)."""
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        folder = os.path.join(*parts[:depth])
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return None


def reachable_script() -> str:
    """Shell commands (run as root in a private mount namespace) that cover each closed
    folder with an empty tmpfs others may enter and bind back, at the same paths, what
    this Python needs from inside it."""
    needed = sorted(_needed_paths())
    keep = [p for p in needed
            if _closed_ancestor(p) and not any(p != q and namespaces._is_within(p, q) for q in needed)]
    lines = [f"mount -t tmpfs elm-test {STAGING}"]
    for n, path in enumerate(keep):
        make = "mkdir" if os.path.isdir(path) else "touch"
        lines += [f"{make} {STAGING}/{n}", f"mount --bind {shlex.quote(path)} {STAGING}/{n}"]
    for closed in sorted({_closed_ancestor(p) for p in keep}):
        lines.append(f"mount -t tmpfs -o mode=755 elm-cover {shlex.quote(closed)}")
    for n, path in enumerate(keep):
        make = f"mkdir -p {shlex.quote(path)}" if os.path.isdir(path) else \
            f"mkdir -p {shlex.quote(os.path.dirname(path))} && touch {shlex.quote(path)}"
        lines += [make, f"mount --bind {STAGING}/{n} {shlex.quote(path)}"]
    return " && ".join(lines)


def as_ordinary_user(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``argv`` as uid/gid USER, with this interpreter and import path reachable."""
    env = [f"PYTHONPATH={shlex.quote(os.pathsep.join(filter(None, [str(HERE), os.environ.get('PYTHONPATH')])))}"]
    if os.environ.get("LD_LIBRARY_PATH"):
        env.append(f"LD_LIBRARY_PATH={shlex.quote(os.environ['LD_LIBRARY_PATH'])}")
    script = (f"{reachable_script()} && cd {shlex.quote(str(cwd))} && exec setpriv --reuid={USER} --regid={USER} "
              f"--clear-groups --inh-caps=-all env -i PATH=/usr/bin:/bin {' '.join(env)} HOME=/nonexistent \"$@\"")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def report(surroundings):
    if os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("unshare"):
        pytest.skip("needs root (to become an ordinary user) and util-linux setpriv/unshare")
    values = {"marker": surroundings.marker, "canary_dir": str(surroundings.canary_dir),
              "victim": str(surroundings.victim), "store": str(surroundings.store),
              "home_file": str(surroundings.home_file), "tcp_port": surroundings.listeners.tcp_port,
              "udp_port": surroundings.listeners.udp_port, "abstract": surroundings.listeners.abstract,
              "dgram_socket": str(surroundings.listeners.dgram_path)}
    done = as_ordinary_user([sys.executable, "-B", str(HERE / "unprivileged_probe.py"), json.dumps(values)],
                            cwd=Path(surroundings.engine_cwd))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ordinary_user_gets_a_user_namespace_and_every_layer(report):
    assert report["uid"] == USER
    if not report["user_namespace"]:
        pytest.skip(f"unprivileged user namespaces are not allowed here: {report['confinement']}")
    assert report["weaknesses"] == [] and report["warnings"] == [], report
    assert "namespaces: network, filesystem, ipc, pid (user namespace)" in report["confinement"]


@pytest.mark.parametrize("hostile", [h for h in PARITY_PROGRAMS if "root" not in h.needs], ids=lambda h: h.name)
def test_hostile_program_as_ordinary_user(hostile, report):
    outcome, reason = report["results"][hostile.name]
    assert outcome in hostile.expect, f"{outcome}: {reason}"
    if hostile.reason:
        assert re.search(hostile.reason, reason), reason


def test_nothing_escaped_the_ordinary_user(report, surroundings):
    assert report["workers_unchanged"], "a program killed a worker"
    surroundings.assert_nothing_escaped()
    assert processes_of({USER}) == [], "a process of the user outlived its engine"
