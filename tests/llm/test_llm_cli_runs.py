"""`elm run` with the LLM mutators, end to end: the edit mutator against the scripted
OpenAI-compatible server, the diff mutator with a tiny local model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from itertools import count
from pathlib import Path

import pytest
from fake_openai import Fail, FakeOpenAIServer, Reply
from tiny_models import build_tiny_model, teach_continuation

from elmcore.plugins import get_plugin_manager
from elmcore.store import RunStore
from elm_llm.prompts import diff_prompt
from elmcore.children import unified_diff

CODE = re.compile(r"```python\n(.*?)```", re.S)


def elm(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **env})


def parity_seed() -> str:
    domain_cls = get_plugin_manager().get("domain", "parity")
    return domain_cls(domain_cls.Config()).seed_programs()[0]


def fix_names(program: str) -> str:
    for k in range(1, 5):
        program = program.replace(f"c{k}", f"b{k}")
    return program


def scripted_editor():
    """Replies in turn: a fix, a syntax error, HTTP 500, prose, a harmless extra line."""
    turn = count()

    def respond(path: str, payload: dict) -> object:
        found = CODE.search(payload["messages"][-1]["content"])
        program = found.group(1) if found else ""
        k = next(turn) % 5
        if k == 0:
            return Reply("Fixed:\n```python\n" + fix_names(program) + "```\n")
        if k == 1:
            return Reply("```python\ndef parity(b1, b2, b3, b4:\n    return 0\n```")
        if k == 2:
            return Fail(500)
        if k == 3:
            return Reply("The function looks fine to me.")
        first = program.split("\n", 1)[0]
        return Reply(f"<<<<<<< SEARCH\n{first}\n=======\n{first}\n    unused = 0\n>>>>>>> REPLACE\n")

    return respond


def test_elm_run_parity_with_the_edit_mutator_against_a_server(tmp_path: Path):
    with FakeOpenAIServer(responder=scripted_editor()) as server:
        done = elm("run", "--domain", "parity", "--mutator", "edit", "--base-url", server.url, "--model", "fake-chat",
                   "--evals", "500", "--batch-size", "50", "--set", "mutator.retries=0", "--quiet",
                   "--out", str(tmp_path / "run"))
        assert done.returncode == 0, done.stderr
        requests = len(server.requests)
    store = RunStore.open(tmp_path / "run", readonly=True)
    counts = store.outcome_counts()
    # the budget counts evaluations; every proposal but the seed (duplicates too) is one request
    assert store.evaluations() == 500 and requests == store.count() - 1
    assert counts.get("no_edit", 0) >= 150 and counts.get("edit_failed", 0) >= 90
    assert store.best().fitness == 1.0
    records = list(store.iter_candidates())
    failed = [r for r in records if r.reason and "HTTP 500" in r.reason]
    assert failed and all(r.outcome == "no_edit" and r.prompt and r.message for r in failed)
    fixed = [r for r in records if r.operator == "edit" and r.fitness == 1.0]
    assert fixed and all(r.diff and r.completion for r in fixed)
    store.close()


@pytest.mark.slow
def test_elm_run_parity_with_the_diff_mutator_and_a_local_model(tmp_path: Path):
    seed = parity_seed()
    fixed = fix_names(seed)
    model = build_tiny_model(tmp_path / "model")
    teach_continuation(model, diff_prompt("parity.py", seed, "Fixed bugs"),
                       " " + unified_diff(seed, fixed).split("\n", 2)[2])
    done = elm("run", "--domain", "parity", "--mutator", "diff", "--model", str(model), "--evals", "200",
               "--batch-size", "50", "--set", "mutator.max_new_tokens=120", "--quiet", "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    store = RunStore.open(tmp_path / "run", readonly=True)
    assert store.evaluations() == 200
    assert store.best().fitness == 1.0 and store.best().operator == "diff"
    outcomes = store.outcome_counts()
    assert outcomes.get("valid", 0) > 1 and outcomes.get("no_edit", 0) + outcomes.get("edit_failed", 0) > 0
    store.close()


def test_elm_run_with_a_hub_model_and_no_network_is_one_line(tmp_path: Path):
    done = elm("run", "--domain", "parity", "--mutator", "diff", "--model", "CarperAI/diff-codegen-350m-v2",
               "--evals", "10", "--quiet", "--out", str(tmp_path / "run"), timeout=120, HF_HUB_OFFLINE="1")
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "CarperAI/diff-codegen-350m-v2" in last and "--model PATH" in last
    assert "Traceback" not in done.stderr
