"""The nudge mutator: token edits, one child per parent, outcomes for failures, determinism."""

import ast
import io
import tokenize

import numpy as np
import pytest
from pydantic import ValidationError

from elmcore import MutationContext, Outcome, Parent
from elm_example_plugin.mutator import NudgeConfig, NudgeMutator
from elm_example_plugin.token_edits import EditFailed, EditSettings, edit_source, find_sites

PROGRAM = "def f(x):\n    # keep this comment\n    return 0.5 * x + 1.0 - 3\n"


def tokens(source):
    return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(source).readline)]


def mutator(**options):
    return NudgeMutator(NudgeConfig(**options), context=MutationContext(file_name="curve.py", function_name="f"))


def test_one_child_per_parent_in_order():
    parents = [Parent(id=i, program=PROGRAM) for i in range(7)]
    children = mutator().mutate(parents, np.random.default_rng(0))
    assert [c.parent_id for c in children] == list(range(7))
    assert all(c.operator == "nudge" for c in children)


def test_same_rng_seed_gives_the_same_children():
    parents = [Parent(id=i, program=PROGRAM) for i in range(20)]
    first = mutator().mutate(parents, np.random.default_rng(42))
    second = mutator().mutate(parents, np.random.default_rng(42))
    other = mutator().mutate(parents, np.random.default_rng(43))
    assert [c.program for c in first] == [c.program for c in second]
    assert [c.program for c in first] != [c.program for c in other]


def test_literal_edits_change_only_numbers_and_keep_their_type():
    settings = EditSettings(max_edits=3, operator_rate=0.0)
    rng = np.random.default_rng(1)
    for _ in range(50):
        child = edit_source(PROGRAM, rng, settings).program
        assert "# keep this comment" in child
        ast.parse(child)
        numbers = [ast.literal_eval(text) for kind, text in tokens(child) if kind == tokenize.NUMBER]
        assert [type(n) for n in numbers] == [float, float, int]
        assert ([t for t in tokens(child) if t[0] == tokenize.NAME]
                == [t for t in tokens(PROGRAM) if t[0] == tokenize.NAME])


def test_negative_results_are_parenthesised_so_the_child_parses():
    rng = np.random.default_rng(3)
    seen_negative = False
    for _ in range(200):
        child = edit_source("def f(x):\n    return x ** 1\n", rng, EditSettings(max_edits=1, int_step=3,
                                                                             operator_rate=0.0)).program
        ast.parse(child)
        seen_negative |= "(-" in child
    assert seen_negative


def test_operator_edits_swap_arithmetic_operators():
    rng = np.random.default_rng(5)
    children = {edit_source("def f(x):\n    return x + x\n", rng, EditSettings(max_edits=1)).program
                for _ in range(30)}
    assert children == {f"def f(x):\n    return x {op} x\n" for op in "-*/"}


def test_nothing_to_edit_is_no_edit():
    [child] = mutator().mutate([Parent(id=1, program="def f(x):\n    return x\n")], np.random.default_rng(0))
    assert child.program is None and child.outcome is Outcome.NO_EDIT
    assert "no numeric literal" in child.reason


def test_untokenizable_parent_is_edit_failed():
    [child] = mutator().mutate([Parent(id=1, program='def f(x):\n    return """1.0\n')], np.random.default_rng(0))
    assert child.program is None and child.outcome is Outcome.EDIT_FAILED
    assert "tokenize" in child.reason


def test_child_that_does_not_parse_is_edit_failed():
    with pytest.raises(EditFailed, match="does not parse") as info:
        edit_source("def f(*args):\n    return 1\n", np.random.default_rng(0), EditSettings(max_edits=1,
                                                                                               operator_rate=1.0))
    assert not info.value.no_edit


def test_child_records_diff_and_edits():
    [child] = mutator().mutate([Parent(id=9, program=PROGRAM)], np.random.default_rng(2))
    assert child.diff.startswith("--- a/curve.py\n+++ b/curve.py\n")
    assert child.message == "; ".join(child.meta["edits"])
    assert all(edit.startswith("line 3: ") for edit in child.meta["edits"])


def test_sites_are_found_in_source_order():
    sites = find_sites(PROGRAM)
    assert [(s.kind, s.text) for s in sites] == [("number", "0.5"), ("operator", "*"), ("operator", "+"),
                                                ("number", "1.0"), ("operator", "-"), ("number", "3")]
    assert all(PROGRAM[s.start:s.end] == s.text for s in sites)


def test_complex_literals_are_not_sites():
    assert find_sites("z = 2j\n") == []


def test_config_is_validated():
    with pytest.raises(ValidationError):
        NudgeConfig(max_edits=0)
    with pytest.raises(ValidationError):
        NudgeConfig(operator_rate=1.5)
    with pytest.raises(ValidationError):
        NudgeConfig(sigmaa=1.0)
