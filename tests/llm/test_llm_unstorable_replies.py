"""A model server whose replies hold lone surrogates (text UTF-8 cannot encode, which a
JSON body can carry as "\\udcff"): `elm run` with each OpenAI-backed mutator reaches its
budget, resumes, and reports; the surrogates are stored as escapes."""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import count
from pathlib import Path

import pytest
from fake_openai import FakeOpenAIServer, Reply

from elmcore.store import RunStore

BAD = "\udcff\ud800"


def elm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True, timeout=300,
                          env=os.environ.copy())


def surrogate_replies():
    turn = count()

    def respond(path: str, payload: dict) -> Reply:
        k = next(turn) % 3
        if k == 0:
            return Reply(f"```python\ndef parity(b1, b2, b3, b4):\n    return '{BAD}'\n```\n")
        if k == 1:
            return Reply(f"{BAD} no code here {BAD}")
        return Reply(f"--- a/parity.py\n+++ b/parity.py\n@@ -1,1 +1,1 @@\n-{BAD}\n+{BAD}\n")

    return respond


@pytest.mark.parametrize("mutator", ["prompt", "edit", "diff"])
def test_replies_with_lone_surrogates_neither_end_nor_block_a_run(tmp_path: Path, mutator: str):
    run = tmp_path / "run"
    with FakeOpenAIServer(responder=surrogate_replies()) as server:
        done = elm("run", "--domain", "parity", "--mutator", mutator, "--base-url", server.url, "--model", "fake",
                   "--evals", "13", "--batch-size", "6", "--set", "mutator.retries=0", "--quiet", "--out", str(run))
        assert done.returncode == 0, done.stderr[-3000:]
        done = elm("resume", str(run), "--evals", "25", "--quiet")
        assert done.returncode == 0, done.stderr[-3000:]
    for command in (["status", str(run)], ["report", str(run), "--out", str(tmp_path / "report.html")]):
        done = elm(*command)
        assert done.returncode == 0, (command, done.stderr[-3000:])
    store = RunStore.open(run, readonly=True)
    records = list(store.iter_candidates())
    store.close()
    assert len(records) == 25
    texts = [t for r in records for t in (r.completion, r.program, r.reason, r.diff) if t]
    assert any("\\udcff" in t for t in texts), texts[:5]
    for text in texts:
        text.encode("utf-8")
