"""The sandbox when the engine is not root: the same hostile programs, run by an ordinary
user (uid 4242) through a WorkerPool. Programs keep that user's uid, so signals, /proc
and files of the engine are protected by the other layers only (user namespace, Landlock,
seccomp, a non-dumpable engine). Set up from root: a private mount namespace makes this
Python installation reachable by the user, then ``setpriv`` drops to it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import processes_of
from hostile_programs import PARITY_PROGRAMS

USER = 4242
HERE = Path(__file__).parent
PREFIX = Path(sys.base_prefix)


def as_ordinary_user(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``argv`` as uid/gid USER with this Python visible at /mnt/elm-python."""
    script = (
        f"mount -t tmpfs elm-test /mnt && mkdir /mnt/elm-python && mount --bind {PREFIX} /mnt/elm-python && "
        f"cd {cwd} && exec setpriv --reuid={USER} --regid={USER} --clear-groups --inh-caps=-all "
        f"env -i PATH=/mnt/elm-python/bin:/usr/bin:/bin LD_LIBRARY_PATH=/mnt/elm-python/lib "
        f"PYTHONPATH={HERE} HOME=/nonexistent \"$@\"")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(surroundings):
    if os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("unshare"):
        pytest.skip("needs root (to become an ordinary user) and util-linux setpriv/unshare")
    values = {"marker": surroundings.marker, "canary_dir": str(surroundings.canary_dir),
              "victim": str(surroundings.victim), "store": str(surroundings.store),
              "home_file": str(surroundings.home_file), "tcp_port": surroundings.listeners.tcp_port,
              "udp_port": surroundings.listeners.udp_port, "abstract": surroundings.listeners.abstract}
    done = as_ordinary_user(["python", "-B", str(HERE / "unprivileged_probe.py"), json.dumps(values)],
                            cwd=Path(surroundings.engine_cwd))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ordinary_user_gets_a_user_namespace_and_every_layer(report):
    assert report["uid"] == USER
    if not report["user_namespace"]:
        pytest.skip(f"unprivileged user namespaces are not allowed here: {report['confinement']}")
    assert report["weaknesses"] == [] and report["warnings"] == [], report
    assert "namespaces: network, filesystem, ipc (user namespace)" in report["confinement"]


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
