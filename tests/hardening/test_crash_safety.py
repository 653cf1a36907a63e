"""`elm run` killed with SIGKILL at random moments (while starting, rebuilding the archive,
evaluating or committing) and resumed each time: after every kill the store is
consistent and holds every batch committed before it, unchanged; no process of the run
survives; and the finished run equals an uninterrupted run of the same config, archive
included (which ``Engine.resume`` rebuilds and checks against every recorded decision)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from elmcore.engine import Engine
from elmcore.plugins import get_plugin_manager

BATCH = 32
COMMON = ["--domain", "parity", "--mutator", "gp", "--batch-size", str(BATCH), "--seed", "11", "--quiet"]
COLUMNS = "id, batch, parent_id, operator, message, diff, program, outcome, reason, fitness, descriptors, niche, " \
          "status, entered"


def elm(args: list[str], token: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "ELM_CRASH_TEST": token}  # marks every process of the run, workers included
    return subprocess.Popen([sys.executable, "-m", "elmcore.cli", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **kw)


def consistent_rows(run_dir: Path) -> list[tuple]:
    """The committed candidates, after checking that the store is whole and consistent."""
    path = run_dir / "store.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute(f"SELECT {COLUMNS} FROM candidates ORDER BY id").fetchall()
        assert [r[0] for r in rows] == list(range(len(rows))), "candidate ids have gaps or duplicates"
        batches = db.execute("SELECT batch, first_id, size FROM batches ORDER BY batch").fetchall()
        assert [b[0] for b in batches] == list(range(len(batches))), "batches are not contiguous"
        first = 0
        for batch, first_id, size in batches:
            assert first_id == first and all(r[1] == batch for r in rows[first:first + size]), f"batch {batch}"
            first += size
        assert first == len(rows), "candidates outside any committed batch"
        assert db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone() is not None
    finally:
        db.close()
    return rows


def processes_marked(token: str) -> list[str]:
    """Live processes started by the run (they inherited its environment marker)."""
    found = []
    needle = f"ELM_CRASH_TEST={token}".encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if needle not in fh.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        found.append(pid)
    return found


def kill_and_resume(tmp_path: Path, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    token = uuid.uuid4().hex
    run_dir = tmp_path / "killed"
    before: list[tuple] = []
    for k in range(kills):
        started = (run_dir / "store.sqlite").exists()
        args = ["resume", str(run_dir), "--quiet"] if started else \
            ["run", *COMMON, "--evals", "1000000", "--out", str(run_dir)]
        proc = elm(args, token)
        delay = rng.uniform(0.2, 1.5) if k % 3 == 0 else rng.uniform(1.5, 4.5)  # also while starting up
        try:
            proc.wait(timeout=delay)
            pytest.fail(f"`elm {args[0]}` ended before it was killed: {proc.stderr.read()[-2000:]}")
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        rows = consistent_rows(run_dir)
        assert rows[:len(before)] == before, f"kill {k}: committed candidates were lost or changed"
        before = rows
        if os.geteuid() == 0:  # other users' /proc/PID/environ is unreadable otherwise
            deadline = time.time() + 10
            while processes_marked(token) and time.time() < deadline:
                time.sleep(0.05)
            assert processes_marked(token) == [], f"kill {k}: processes of the run survived"
    # finish on a whole number of full batches, and compare with a run that was never killed
    budget = (len(before) // BATCH + 3) * BATCH
    done = elm(["resume", str(run_dir), "--evals", str(budget), "--quiet"], token)
    assert done.wait(timeout=600) == 0, done.stderr.read()[-2000:]
    whole = elm(["run", *COMMON, "--evals", str(budget), "--out", str(tmp_path / "whole")], token)
    assert whole.wait(timeout=600) == 0, whole.stderr.read()[-2000:]
    assert consistent_rows(run_dir) == consistent_rows(tmp_path / "whole")
    pm = get_plugin_manager()
    archives = []
    for name in ("killed", "whole"):
        engine = Engine.resume(tmp_path / name, pm)  # rebuilds the archive, checking every insert decision
        archives.append(sorted((e.niche, e.candidate_id, e.fitness, e.descriptors) for e in engine.qd.elites()))
        engine.close()
    assert archives[0] == archives[1] and archives[0]


def test_kill_twice_and_resume(tmp_path):
    kill_and_resume(tmp_path, kills=2, seed=1)


@pytest.mark.slow
def test_kill_at_random_moments_and_resume(tmp_path):
    kill_and_resume(tmp_path, kills=12, seed=2)
