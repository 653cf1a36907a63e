"""benchmarks/ablation.py runs its rows as `elm run` processes, picks up where it stopped,
and reports what the stores hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ablation.py"


def ablation(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_rows_run_once_and_are_reported(tmp_path) -> None:
    out = tmp_path / "abl"
    first = ablation("--out", str(out), "--rows", "gp,gp-nodedup", "--evals", "30", "--checkpoints", "10,30",
                     "--parallel", "2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    rows = {line.split("|")[1].strip(): line for line in first.stdout.splitlines()
            if line.startswith("| gp")}
    assert set(rows) == {"gp", "gp-nodedup"}
    for line in rows.values():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert cells[2].startswith("30 (")  # the budget is spent: 30 evaluations
        assert int(cells[6]) >= 1 and int(cells[7]) >= int(cells[6])  # niches at 10 and 30 evaluations
    # a second call finds the runs finished and runs nothing again
    again = ablation("--out", str(out), "--rows", "gp,gp-nodedup", "--evals", "30", "--checkpoints", "10,30",
                     cwd=tmp_path)
    assert again.returncode == 0 and "start " not in again.stdout
    assert [line for line in again.stdout.splitlines() if line.startswith("| gp")] == list(rows.values())


def test_an_unknown_row_is_named(tmp_path) -> None:
    done = ablation("--out", str(tmp_path / "abl"), "--rows", "gp,fast", cwd=tmp_path)
    assert done.returncode != 0 and "'fast'" in done.stderr and "gp-nodedup" in done.stderr
