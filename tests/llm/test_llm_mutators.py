"""The diff, prompt and edit mutators end to end: through a scripted OpenAI-compatible
server (good and bad replies) and through tiny local transformers models."""

from __future__ import annotations

import numpy as np
import pytest
from fake_openai import Fail, Raw, Reply
from llm_samples import BUGGY_PARITY, FIXED_PARITY, FIXING_DIFF
from tiny_models import build_tiny_model, teach_continuation

from elmcore import MutationContext, Outcome, Parent
from elmcore.plugins import get_plugin_manager
from elm_llm.backend import LLMError
from elm_llm.mutators import DiffMutator, EditMutator, PromptMutator, SampleMutator
from elm_llm.prompts import diff_prompt

SEARCH_REPLACE_FIX = """Two bugs:
<<<<<<< SEARCH
    bit_sum = sum([c1, c2, b3, b4])
    return bit_sum % 3
=======
    bit_sum = sum([b1, b2, b3, b4])
    return bit_sum % 2
>>>>>>> REPLACE
"""
PROMPT_COMPLETION = """ parity(b1, b2, b3, b4):
    \"\"\"Return binary parity of a sequence of input bits. Return 0 for even parity, 1 for odd parity.\"\"\"
    bit_sum = sum([b1, b2, b3, b4])
    return bit_sum % 2

# A buggy implementation
def parity(b1, b2, b3, b4):
"""


def parents(n: int = 1) -> list[Parent]:
    return [Parent(id=10 + i, program=BUGGY_PARITY) for i in range(n)]


def served(cls, server, context, **config):
    options = dict(model="fake-model", base_url=server.url, retries=2, retry_backoff_s=0.001, timeout_s=2.0)
    options.update(config)
    return cls(cls.Config(**options), context)


def assert_recorded(child, operator: str) -> None:
    assert child.operator == operator and child.parent_id is not None
    assert child.message and child.prompt and child.completion is not None


# -- good edits through the server --------------------------------------------------------
def test_diff_mutator_applies_a_served_diff(fake_openai, parity_context):
    fake_openai.responder = lambda path, payload: Reply(" " + FIXING_DIFF + "<NME> next.py\n")
    [child] = served(DiffMutator, fake_openai, parity_context).mutate(parents(), np.random.default_rng(0))
    assert child.program == FIXED_PARITY and child.outcome is None and child.reason is None
    assert child.meta["edit_match"] == "exact"
    assert_recorded(child, "diff")
    assert child.message == "Fixed bugs"
    assert child.prompt == diff_prompt("parity.py", BUGGY_PARITY, "Fixed bugs")
    assert child.diff.startswith("--- a/parity.py\n+++ b/parity.py\n") and "+    return bit_sum % 2" in child.diff
    assert fake_openai.requests[0][1]["prompt"] == child.prompt


def test_prompt_mutator_completes_the_paper_prompt(fake_openai, parity_context):
    fake_openai.responder = lambda path, payload: Reply(PROMPT_COMPLETION)
    [child] = served(PromptMutator, fake_openai, parity_context).mutate(parents(), np.random.default_rng(0))
    assert child.program == FIXED_PARITY
    assert child.prompt.startswith("# A buggy implementation\n") and child.prompt.endswith("# Fixed Bugs\ndef")
    assert fake_openai.requests[0][1]["stop"][:2] == ["\ndef ", "\nclass "]


@pytest.mark.parametrize("reply", [SEARCH_REPLACE_FIX, "Fixed:\n```python\n" + FIXED_PARITY + "```\n"])
def test_edit_mutator_applies_blocks_or_code(fake_openai, parity_context, reply):
    fake_openai.responder = lambda path, payload: Reply(reply)
    [child] = served(EditMutator, fake_openai, parity_context).mutate(parents(), np.random.default_rng(0))
    assert child.program == FIXED_PARITY and child.message == "Fix the bugs."
    messages = fake_openai.requests[0][1]["messages"]
    assert (messages[1]["content"].startswith("Fix the bugs.")
            and fake_openai.requests[0][0].endswith("/chat/completions"))


def test_edit_uses_the_sampled_commit_message_for_commit_message_domains(fake_openai):
    context = MutationContext(file_name="walker.py", function_name="make_walker",
                              commit_messages=(("Changed make_walker function.", 0.4),
                                               ("Small change to make_walker function.", 0.6)))
    fake_openai.responder = lambda path, payload: Reply("no code here")
    children = served(EditMutator, fake_openai, context).mutate(
        [Parent(id=i, program="def make_walker():\n    return 1\n") for i in range(20)], np.random.default_rng(3))
    sent = [payload["messages"][1]["content"].split("\n")[0] for _, payload in fake_openai.requests]
    assert sorted(sent) == sorted(c.message for c in children)
    assert set(sent) == {"Changed make_walker function.", "Small change to make_walker function."}


# -- classification of bad replies ----------------------------------------------------------
CASES = [
    # (operator, server action, outcome, words in the reason)
    (DiffMutator, Reply("I would rename the variables."), Outcome.NO_EDIT, "no diff hunk"),
    (DiffMutator, Reply("@@ -1,2 +1,2 @@\n-    while True:\n+    while False:\n"), Outcome.EDIT_FAILED,
     "hunk 1 of 1"),
    (DiffMutator, Reply("@@ -3,1 +3,1 @@\n-    bit_sum = sum([c1, c2, b3, b4])\n+    bit_sum = sum([b1, b2, b3, b4]\n"),
     Outcome.EDIT_FAILED, "does not parse"),
    (DiffMutator, Reply(""), Outcome.NO_EDIT, "empty completion"),
    (PromptMutator, Reply(" parity(b1, b2:\n    return 0\n"), Outcome.EDIT_FAILED, "does not parse"),
    (EditMutator, Reply("<<<<<<< SEARCH\n    return bit_sum % 3\n=======\n"), Outcome.NO_EDIT, "malformed reply"),
    (EditMutator, Reply("Looks correct to me."), Outcome.NO_EDIT, "no SEARCH/REPLACE block"),
    (EditMutator, Reply("<<<<<<< SEARCH\n    return 42\n=======\n    return 0\n>>>>>>> REPLACE\n"),
     Outcome.EDIT_FAILED, "not in the program"),
    (EditMutator, Fail(500), Outcome.NO_EDIT, "HTTP 500 after 2 retries"),
    (EditMutator, Fail(429), Outcome.NO_EDIT, "HTTP 429 after 2 retries"),
    (EditMutator, Raw("{oops"), Outcome.NO_EDIT, "malformed response"),
    (EditMutator, Fail(400, "context length exceeded"), Outcome.NO_EDIT, "HTTP 400: context length exceeded"),
]


@pytest.mark.parametrize("cls, action, outcome, words", CASES)
def test_bad_replies_are_classified_with_a_reason(fake_openai, parity_context, cls, action, outcome, words):
    fake_openai.responder = lambda path, payload: action
    [child] = served(cls, fake_openai, parity_context).mutate(parents(), np.random.default_rng(0))
    assert child.program is None and child.outcome == outcome and words in child.reason
    assert_recorded(child, cls.name)


def test_an_edit_that_changes_nothing_gives_the_parents_program_back(fake_openai, parity_context):
    """Not a failed edit but a repeat of the parent, which the run has evaluated: the engine
    stores it as a duplicate (no evaluation spent) and asks for another child."""
    fake_openai.responder = lambda path, payload: Reply("```python\n" + BUGGY_PARITY + "```")
    [child] = served(EditMutator, fake_openai, parity_context).mutate(parents(), np.random.default_rng(0))
    assert child.program == BUGGY_PARITY and child.outcome is None and child.meta["unchanged"] is True


def test_one_batch_with_every_kind_of_reply_loses_nothing(fake_openai, parity_context):
    script = [Reply(SEARCH_REPLACE_FIX), Fail(500), Fail(500), Fail(500), Reply("nothing"), Raw("{oops"),
              Reply(SEARCH_REPLACE_FIX)]
    fake_openai.script(*script)
    mutator = served(EditMutator, fake_openai, parity_context, concurrency=1)
    children = mutator.mutate(parents(4), np.random.default_rng(0))
    assert [c.parent_id for c in children] == [10, 11, 12, 13]
    assert [c.outcome for c in children] == [None, Outcome.NO_EDIT, Outcome.NO_EDIT, None]
    assert children[1].reason == "request failed: HTTP 500 after 2 retries"
    assert children[2].reason.startswith("malformed reply")
    assert children[3].program == FIXED_PARITY  # the malformed body was retried


# -- tiny transformers models -----------------------------------------------------------------
@pytest.mark.parametrize("cls", [DiffMutator, PromptMutator])
def test_random_model_output_is_classified_not_crashing(tiny_model, parity_context, cls):
    mutator = cls(cls.Config(model=tiny_model, max_new_tokens=24, forward_batch=3, temperature=1.0), parity_context)
    first = mutator.mutate(parents(5), np.random.default_rng(42))
    again = mutator.mutate(parents(5), np.random.default_rng(42))
    assert len(first) == 5
    for child in first:
        assert child.program is None and child.outcome in (Outcome.NO_EDIT, Outcome.EDIT_FAILED)
        assert child.reason and child.completion is not None and child.meta["tokens"] > 0
        assert child.meta["backend"].startswith("transformers:")
    assert [c.completion for c in first] == [c.completion for c in again]


def test_edit_mutator_on_a_tiny_chat_model(tiny_chat_model, parity_context):
    mutator = EditMutator(EditMutator.Config(model=tiny_chat_model, max_new_tokens=16), parity_context)
    children = mutator.mutate(parents(2), np.random.default_rng(0))
    assert all(c.outcome in (Outcome.NO_EDIT, Outcome.EDIT_FAILED) and c.reason for c in children)
    assert "<|assistant|>" not in children[0].completion


def test_tiny_model_taught_the_fix_repairs_parity_through_the_diff_mutator(tmp_path, parity_context):
    path = build_tiny_model(tmp_path / "taught")
    teach_continuation(path, diff_prompt("parity.py", BUGGY_PARITY, "Fixed bugs"), " " + FIXING_DIFF)
    mutator = DiffMutator(DiffMutator.Config(model=str(path), temperature=0.0, max_new_tokens=160), parity_context)
    [child] = mutator.mutate(parents(), np.random.default_rng(0))
    assert child.program == FIXED_PARITY, child.reason


# -- construction, config, registration ---------------------------------------------------------
def test_construction_is_cheap_and_a_missing_model_fails_on_first_use(parity_context, tmp_path):
    mutator = DiffMutator(DiffMutator.Config(model=str(tmp_path / "absent")), parity_context)
    with pytest.raises(LLMError, match="is not a directory"):
        mutator.mutate(parents(), np.random.default_rng(0))


def test_config_defaults_and_validation():
    assert DiffMutator.Config().model == "elm-diff-py-1m"  # shipped in models/
    assert DiffMutator.Config().backend_kind == "hf"
    assert DiffMutator.Config(base_url="http://localhost:8000/v1").backend_kind == "openai"
    with pytest.raises(ValueError, match="extra"):
        DiffMutator.Config(temprature=0.5)
    with pytest.raises(ValueError, match="backend is 'hf'"):
        DiffMutator.Config(backend="hf", base_url="http://x/v1")
    with pytest.raises(ValueError, match="placeholder"):
        PromptMutator.Config(template="# no program here")


def test_commit_messages_override_and_validation(parity_context):
    mutator = DiffMutator(DiffMutator.Config(commit_messages={"Refactored": 1.0}), parity_context)
    assert mutator.commit_messages == (("Refactored", 1.0),)
    with pytest.raises(LLMError, match="weights"):
        DiffMutator(DiffMutator.Config(commit_messages={"a": -1.0}), parity_context)


def test_sample_mutator_invents_programs_from_the_prefix(fake_openai, parity_context):
    body = "    return sum([b1, b2, b3, b4]) % 2\n"
    replies = iter([Reply(body), Reply("    return (\n"), Reply("")])
    fake_openai.responder = lambda path, payload: next(replies)
    prefix = "def parity(b1, b2, b3, b4):\n"
    mutator = served(SampleMutator, fake_openai, parity_context, prefix=prefix, concurrency=1)
    assert SampleMutator.invents
    good, broken, empty = mutator.invent(3, np.random.default_rng(0))
    # a server adds its own start of document: the prompt is the prefix alone
    assert [r[1]["prompt"] for r in fake_openai.requests] == [prefix] * 3
    assert good.program == prefix + body and good.parent_id is None and good.outcome is None
    assert good.prompt == prefix and good.completion == body and good.diff is None and good.message is None
    assert broken.program is None and broken.outcome is Outcome.EDIT_FAILED and "does not parse" in broken.reason
    assert empty.outcome is Outcome.NO_EDIT and empty.reason == "empty completion"


def test_sample_mutator_needs_a_model():
    with pytest.raises(ValueError, match="model is empty; pass --model"):
        SampleMutator.Config()


def test_plugin_registers_the_four_mutators():
    manager = get_plugin_manager()
    assert {"diff", "prompt", "edit", "sample"} <= set(manager.names("mutator"))
    assert manager.get("mutator", "diff") is DiffMutator


def test_llm_crossover_shows_both_parents_and_writes_one_child(fake_openai, parity_context):
    from elm_llm.mutators import CrossoverLLMMutator

    fake_openai.responder = lambda path, payload: Reply(f"Combined:\n```python\n{FIXED_PARITY}```")
    first, second = Parent(id=4, program=BUGGY_PARITY), Parent(id=9, program=FIXED_PARITY)
    children = served(CrossoverLLMMutator, fake_openai, parity_context).mutate([first, second, second, first],
                                                                              np.random.default_rng(0))
    assert CrossoverLLMMutator.parents_per_child == 2 and len(children) == 2
    assert [c.meta["parents"] for c in children] == [[4, 9], [9, 4]]
    assert children[0].program == FIXED_PARITY and children[0].parent_id == 4
    # the reply is the first parent (9) as it is: its program, which the engine stores as a duplicate
    assert children[1].program == FIXED_PARITY and children[1].outcome is None and children[1].meta["unchanged"]
    users = [request[1]["messages"][1]["content"] for request in fake_openai.requests]  # sent concurrently
    assert len(users) == 2 and all("Version A" in u and "Version B" in u for u in users)
    # A is each pair's first parent: one prompt shows the buggy program first (4, 9), one the fixed (9, 4)
    assert sorted(u.index(BUGGY_PARITY.strip()) < u.index(FIXED_PARITY.strip()) for u in users) == [False, True]


# -- sampling that spreads: temperatures in turn, several completions per prompt ------------------
class RecordingBackend:
    """Answers every prompt with a diff setting the parity modulus to a number that says which
    call, prompt and sample it is; records each call's prompts and sampling parameters."""

    supports_chat = False
    start_text = ""

    def __init__(self):
        self.calls = []

    def generate(self, prompts, params, seed=None):
        from elm_llm.backend import Completion

        self.calls.append((len(prompts), params.temperature, params.n, seed))
        out = []
        for i, _ in enumerate(prompts):
            for j in range(params.n):
                tag = 100 * len(self.calls) + 10 * i + j
                out.append(Completion(prompt_index=i, text=FIXING_DIFF.replace("% 2", f"% {tag}")))
        return out

    def describe(self):
        return "recording"

    def close(self):
        pass


def recorded(parity_context, **config):
    mutator = DiffMutator(DiffMutator.Config(model="unused", **config), parity_context)
    mutator._backend = RecordingBackend()
    return mutator


def test_temperatures_are_taken_in_turn_one_call_each(parity_context):
    mutator = recorded(parity_context, temperatures=[0.3, 0.8, 1.2])
    children = mutator.mutate(parents(7), np.random.default_rng(0))
    assert len(children) == 7 and all(c.program for c in children)
    # prompts 0, 3, 6 at 0.3; 1, 4 at 0.8; 2, 5 at 1.2: one call per temperature, in order of first use
    assert [(n, t, k) for n, t, k, _ in mutator.backend.calls] == [(3, 0.3, 1), (2, 0.8, 1), (2, 1.2, 1)]
    assert [c.meta["temperature"] for c in children] == [0.3, 0.8, 1.2, 0.3, 0.8, 1.2, 0.3]
    assert len({seed for *_, seed in mutator.backend.calls}) == 3
    again = recorded(parity_context, temperatures=[0.3, 0.8, 1.2]).mutate(parents(7), np.random.default_rng(0))
    assert [c.program for c in again] == [c.program for c in children]  # same rng, same children


def test_one_temperature_is_one_call_as_before(parity_context):
    mutator = recorded(parity_context)
    children = mutator.mutate(parents(4), np.random.default_rng(0))
    assert [(n, t, k) for n, t, k, _ in mutator.backend.calls] == [(4, 0.8, 1)]
    assert "temperature" not in children[0].meta


def test_several_diffs_per_parent_in_one_call(parity_context):
    mutator = recorded(parity_context, samples_per_parent=3)
    many = [Parent(id=10 + i, program=BUGGY_PARITY) for i in range(7)]
    children = mutator.mutate(many, np.random.default_rng(0))
    assert len(children) == 7  # one child per parent asked for, as every mutator returns
    assert [(n, k) for n, _, k, _ in mutator.backend.calls] == [(3, 3)]  # parents 10, 13, 16, three samples each
    assert [c.parent_id for c in children] == [10, 10, 10, 13, 13, 13, 16]
    assert len({c.program for c in children}) == 7  # each sample is its own diff


def test_bad_temperatures_are_one_line_errors():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="temperatures is empty"):
        DiffMutator.Config(temperatures=[])
    with pytest.raises(ValidationError, match="between 0 and 5"):
        DiffMutator.Config(temperatures=[0.5, 9])


def test_a_directed_diff_asks_for_the_move_in_its_commit_message(parity_context):
    from elmcore.types import Aim

    mutator = recorded(parity_context, direct=True)
    assert mutator.directed
    aim = Aim(target=(20.0, 10.0, 30.0), start=(10.0, 10.0, 50.0), message="Make the walker taller and lighter.")
    [child] = mutator.mutate([Parent(id=3, program=BUGGY_PARITY, aim=aim)], np.random.default_rng(0))
    assert child.message == "Make the walker taller and lighter."
    assert child.prompt == diff_prompt("parity.py", BUGGY_PARITY, "Make the walker taller and lighter.")
    assert child.meta["aim"] == {"target": [20.0, 10.0, 30.0], "start": [10.0, 10.0, 50.0]}
    assert not recorded(parity_context).directed
