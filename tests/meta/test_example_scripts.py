"""The example pipelines (examples/*/NAME.py) start: their imports, shared helpers
(examples/steps.py) and arguments resolve. Running them takes tens of minutes to hours,
so their figures are measured by hand and written in their READMEs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("script", ["bootstrap/bootstrap.py", "pretrain/pretrain.py",
                                    "stage2/stage2.py", "stage3/stage3.py"])
def test_example_pipeline_starts(script, tmp_path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--out" in done.stdout


def test_stage3_says_where_the_stage2_model_comes_from(tmp_path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "stage3/stage3.py"), "--stage2", str(tmp_path / "none"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode != 0
    assert "examples/stage2/stage2.py" in done.stderr and "the Stage-2 model" in done.stderr
    assert not (tmp_path / "out").exists()
