"""A full disk or a read-only run directory ends `elm` with one clear line, never a
traceback or a corrupt store; after a full disk the store holds whole batches and the
run resumes once there is space.

Root ignores permissions, so as root the run directory lives on a small or read-only
tmpfs mounted in a private mount namespace (``unshare --mount``) that vanishes with the
command; as another user a read-only directory is made with chmod and the full disk is
skipped (mounting needs root)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from test_crash_safety import consistent_rows

ROOT = os.geteuid() == 0
PARITY = ["--domain", "parity", "--mutator", "gp", "--batch-size", "32", "--seed", "3", "--quiet"]
needs_mount = pytest.mark.skipif(not ROOT or not shutil.which("unshare"),
                                 reason="needs root and unshare to mount a small tmpfs")


def in_mount_namespace(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run a shell script in a private mount namespace; $ELM runs the elm CLI."""
    env = {**os.environ, "ELM": f"{sys.executable} -m elmcore.cli"}
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *args],
                          capture_output=True, text=True, env=env, timeout=600)


def assert_one_line_error(stderr: str, *needles: str) -> None:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("elm: error:"), stderr[-3000:]
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@needs_mount
def test_disk_full_while_creating_the_run(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    done = in_mount_namespace('mount -t tmpfs -o size=12k elm-full "$1" && shift && $ELM run "$@"', str(disk), *PARITY,
                              "--evals", "100", "--out", str(disk / "run"))
    assert done.returncode == 2
    assert_one_line_error(done.stderr, str(disk / "run"), "disk")


@needs_mount
def test_disk_full_during_the_run_keeps_whole_batches_and_resumes(tmp_path):
    disk, saved = tmp_path / "disk", tmp_path / "saved"
    disk.mkdir()
    script = ('disk="$1"; saved="$2"; shift 2; mount -t tmpfs -o size=400k elm-full "$disk" && '
              '$ELM run "$@" --evals 100000 --out "$disk/run"; code=$?; cp -a "$disk/run" "$saved"; exit $code')
    done = in_mount_namespace(script, str(disk), str(saved), *PARITY)
    assert done.returncode == 2, done.stderr[-3000:]
    assert_one_line_error(done.stderr, "disk", "elm resume")
    rows = consistent_rows(saved)

    def evaluations() -> int:  # what the budget counts: every candidate but the duplicates
        db = sqlite3.connect(saved / "store.sqlite")
        try:
            return db.execute("SELECT COUNT(*) FROM candidates WHERE outcome != 'duplicate'").fetchone()[0]
        finally:
            db.close()

    done_before = evaluations()
    assert len(rows) > 100 and done_before <= len(rows)  # consistent_rows checked that whole batches are stored
    resumed = subprocess.run([sys.executable, "-m", "elmcore.cli", "resume", str(saved), "--evals",
                              str(done_before + 64), "--quiet"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = consistent_rows(saved)
    assert after[:len(rows)] == rows and evaluations() == done_before + 64


def _make_run(run_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "elmcore.cli", "run", *PARITY, "--evals", "40", "--out",
                           str(run_dir)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


def test_read_only_run_directory(tmp_path):
    _make_run(tmp_path / "run")
    if ROOT:
        script = ('mount -t tmpfs elm-ro "$1" && cp -a "$2" "$1/run" && mount -o remount,ro "$1" && '
                  '{ $ELM resume "$1/run" --evals 200 --quiet; echo "resume $?" >&2; '
                  '$ELM run --domain parity --evals 50 --quiet --out "$1/new"; echo "run $?" >&2; }')
        (tmp_path / "ro").mkdir()
        done = in_mount_namespace(script, str(tmp_path / "ro"), str(tmp_path / "run"))
        stderr = done.stderr
    else:
        (tmp_path / "ro").mkdir()
        shutil.copytree(tmp_path / "run", tmp_path / "ro" / "run")
        for path in (tmp_path / "ro" / "run", tmp_path / "ro"):
            for entry in (path.iterdir() if path.name == "run" else []):
                entry.chmod(0o400)
            path.chmod(0o500)
        stderr = ""
        for args, label in ((["resume", str(tmp_path / "ro" / "run"), "--evals", "200", "--quiet"], "resume"),
                            (["run", "--domain", "parity", "--evals", "50", "--quiet", "--out",
                              str(tmp_path / "ro" / "new")], "run")):
            done = subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True)
            stderr += done.stderr + f"{label} {done.returncode}\n"
        (tmp_path / "ro").chmod(0o700)
    resume_err, resume_code, run_err, run_code = _split(stderr)
    assert resume_code == "resume 2" and run_code == "run 2", stderr
    assert_one_line_error(resume_err, str(tmp_path / "ro" / "run"))
    assert_one_line_error(run_err, str(tmp_path / "ro" / "new"))
    assert consistent_rows(tmp_path / "run")  # the original is intact


def _split(stderr: str) -> tuple[str, str, str, str]:
    lines = stderr.strip().splitlines()
    r = next(i for i, line in enumerate(lines) if line.startswith("resume "))
    n = next(i for i, line in enumerate(lines) if line.startswith("run "))
    return "\n".join(lines[:r]), lines[r], "\n".join(lines[r + 1:n]), lines[n]
