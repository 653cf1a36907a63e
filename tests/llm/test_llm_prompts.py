"""Prompt building, commit-message sampling, cutting completions, assembling children."""

from __future__ import annotations

import numpy as np
import pytest
from llm_samples import BUGGY_PARITY, FIXED_PARITY

from elmcore import MutationContext
from elm_llm.programs import assemble_child, syntax_problem
from elm_llm.prompts import (
    BUGFIX_TEMPLATE,
    GENERIC_TEMPLATE,
    completion_prompt,
    cut_function,
    diff_prompt,
    edit_instruction,
    edit_messages,
    prompt_prefix,
    prompt_template_for,
    sample_commit_message,
    validate_commit_messages,
)

SODARACE_MESSAGES = (("Changed make_walker function.", 0.4), ("Changed parameters in make_walker function.", 0.3),
                     ("Small change to make_walker function.", 0.3))
WALKER = """from walk_creator import walker_creator


def make_square(wc, x0, y0, x1, y1):
    return [wc.add_joint(x0, y0), wc.add_joint(x1, y0), wc.add_joint(x1, y1), wc.add_joint(x0, y1)]


def make_walker():
    wc = walker_creator()
    corners = make_square(wc, 0, 0, 10, 10)
    wc.add_muscle(corners[0], corners[1])
    return wc.get_walker()
"""


def test_diff_prompt_format():
    assert diff_prompt("parity.py", BUGGY_PARITY, "Fixed bugs") == (
        f"<NME> parity.py\n<BEF> {BUGGY_PARITY}<MSG> Fixed bugs\n<DFF>")


def test_commit_messages_follow_their_weights():
    rng = np.random.default_rng(1)
    draws = [sample_commit_message(SODARACE_MESSAGES, rng) for _ in range(6000)]
    shares = [draws.count(m) / len(draws) for m, _ in SODARACE_MESSAGES]
    assert shares == pytest.approx([0.4, 0.3, 0.3], abs=0.03)
    again = [sample_commit_message(SODARACE_MESSAGES, np.random.default_rng(1)) for _ in range(3)]
    assert again == [draws[0]] * 3


@pytest.mark.parametrize("messages", [(), (("a", -1.0), ("b", 2.0)), (("a", 0.0),), (("a", float("nan")),)])
def test_bad_commit_messages_are_rejected(messages):
    with pytest.raises(ValueError):
        validate_commit_messages(messages)


def test_paper_prompt_for_bug_fixing():
    ctx = MutationContext(file_name="parity.py", function_name="parity")
    template = prompt_template_for("auto", "Fixed bugs")
    assert template == BUGFIX_TEMPLATE
    prompt = completion_prompt(template, BUGGY_PARITY, ctx, "Fixed bugs")
    assert prompt == "# A buggy implementation\n" + BUGGY_PARITY + "# Fixed Bugs\ndef"
    assert prompt_prefix(prompt) == "def"


def test_generic_prompt_names_the_function():
    ctx = MutationContext(file_name="walker.py", function_name="make_walker")
    template = prompt_template_for("auto", "Changed make_walker function.")
    assert template == GENERIC_TEMPLATE
    prompt = completion_prompt(template, WALKER, ctx, "Changed make_walker function.")
    assert prompt.endswith("return wc.get_walker()\n# Changed make_walker function.\ndef make_walker(")
    assert prompt_prefix(prompt) == "def make_walker("
    custom = completion_prompt("{program}\n# v2\n", WALKER, ctx, "m")
    assert prompt_prefix(custom) == ""


def test_cut_function_stops_at_the_first_top_level_line():
    text = "def parity(b1, b2, b3, b4):\n    return (b1 + b2 + b3 + b4) % 2\n\n\nprint(parity(1, 1, 1, 1))\n"
    assert cut_function(text) == "def parity(b1, b2, b3, b4):\n    return (b1 + b2 + b3 + b4) % 2\n"


def test_cut_function_skips_column_zero_lines_inside_strings():
    text = 'def f():\n    s = """\nnot the end\n"""\n    return s\nx = f()\n'
    assert cut_function(text) == 'def f():\n    s = """\nnot the end\n"""\n    return s\n'


def test_assemble_replaces_the_function_and_keeps_helpers_and_imports():
    new = ("import math\n\ndef make_walker():\n    wc = walker_creator()\n"
           "    corners = make_square(wc, 0, 0, 5, math.floor(7.5))\n    return wc.get_walker()\n")
    child = assemble_child(WALKER, new)
    assert child.startswith("from walk_creator import walker_creator\nimport math\n")
    assert "def make_square(wc, x0, y0, x1, y1):" in child
    assert "make_square(wc, 0, 0, 5, math.floor(7.5))" in child and "add_muscle" not in child
    assert syntax_problem(child) is None


def test_assemble_appends_new_helpers():
    new = "def helper(x):\n    return x\n\n\ndef make_walker():\n    return helper(1)\n"
    child = assemble_child(WALKER, new)
    assert child.count("def make_walker") == 1 and child.rstrip().endswith("return x")


def test_assemble_takes_a_whole_program_as_it_is():
    assert assemble_child(BUGGY_PARITY, FIXED_PARITY) == FIXED_PARITY


def test_syntax_problem_names_the_line():
    assert syntax_problem("def f(:\n") .startswith("line 1:")
    assert syntax_problem("x = 1\x00") is not None
    assert syntax_problem(FIXED_PARITY) is None


def test_edit_instruction_source():
    parity = MutationContext(file_name="parity.py", function_name="parity", instruction="Fix the bugs.")
    sodarace = MutationContext(file_name="walker.py", function_name="make_walker",
                               commit_messages=SODARACE_MESSAGES)
    assert edit_instruction(parity, "Fixed bugs", "auto") == "Fix the bugs."
    assert edit_instruction(sodarace, "Small change to make_walker function.", "auto") == \
        "Small change to make_walker function."
    assert edit_instruction(parity, "Fixed bugs", "message") == "Fixed bugs"
    messages = edit_messages(BUGGY_PARITY, parity, "Fix the bugs.")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "SEARCH" in messages[0]["content"] and "`parity`" in messages[0]["content"]
    assert messages[1]["content"].startswith("Fix the bugs.") and BUGGY_PARITY in messages[1]["content"]
