"""benchmarks/prompt_lookup.py counts the decoding steps a completion would take with drafts
copied from its prompt."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "prompt_lookup.py"
_SPEC = importlib.util.spec_from_file_location("prompt_lookup", SCRIPT)
assert _SPEC is not None and _SPEC.loader is not None
prompt_lookup = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(prompt_lookup)


def test_nothing_to_copy_takes_a_step_per_token() -> None:
    assert prompt_lookup.steps([1, 2, 3], [7, 8, 9, 10], ngram=3, draft_len=8) == 4


def test_copying_the_prompt_takes_a_step_per_draft_plus_one() -> None:
    prompt = [5, 6, 7] + list(range(100, 120))
    # once the completion starts repeating the prompt, a step keeps 8 drafted tokens and
    # writes one of its own
    completion = [5, 6, 7] + list(range(100, 118))
    taken = prompt_lookup.steps(prompt, completion, ngram=3, draft_len=8)
    assert taken < len(completion) / 3
    assert prompt_lookup.steps(prompt, completion, ngram=3, draft_len=0) == len(completion)


def test_a_draft_counts_only_up_to_its_first_wrong_token() -> None:
    prompt = [1, 2, 3, 4, 5]
    completion = [1, 2, 9, 9, 9]  # the draft after "1" is "2 3 4 5": "2" is kept, "3" is not
    # steps: "1" (no draft), "2" kept + "9", "9", "9"
    assert prompt_lookup.steps(prompt, completion, ngram=2, draft_len=4) == 4
