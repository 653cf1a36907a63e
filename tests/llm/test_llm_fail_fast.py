"""A model that cannot be loaded stops `elm run` before a run directory is created."""

import subprocess
import sys


def test_missing_model_fails_before_the_run_directory_exists(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "elmcore.cli", "run", "--domain", "parity", "--mutator", "diff",
                             "--model", str(tmp_path / "no-such-model"), "--evals", "10", "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--model PATH" in result.stderr
    assert not out.exists()
