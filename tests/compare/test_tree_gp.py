"""The gp-tree mutator: valid, deterministic children; node replacement as documented;
the fast text writer agrees with ast.unparse; failures are outcomes, not exceptions."""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest

from elm_gp.tree_gp import (
    BINARY_FUNCTIONS,
    TreeGPConfig,
    TreeGPMutator,
    mutate_tree_source,
    mutate_trees,
    render,
    render_ast,
    translate,
)
from elm_seeds import read_seed
from elmcore import MutationContext, Outcome, Parent
from elmcore.config import ConfigError, build_config
from elmcore.plugins import get_plugin_manager

PARITY_1 = read_seed("parity", "parity_bugs_1")
QUADRATIC_2 = read_seed("quadratic", "quadratic_bugs_2")
RICH = '''import math

SCALE = 3


def f(x, y, z=2):
    """Docstring."""
    a = -x ** 2 + abs(y - 1.5) // 2 ** -1
    b = max((a, y)) * min([x]) - (-2) ** z
    for i in range(3):
        a = a + i
    c = a % (b - SCALE) / math.pi + sum([x, y, z, 1e300])
    return -(c - a) ** 2 ** b
'''


def context(name: str) -> MutationContext:
    return MutationContext(file_name=f"{name}.py", function_name=name)


def children(source: str, name: str, seed: int, count: int, **config: object) -> list[tuple[str, tuple[str, ...]]]:
    rng = np.random.default_rng(seed)
    settings = TreeGPConfig(**config)
    return [(r.program, r.edits) for r in (mutate_tree_source(source, rng, settings, name) for _ in range(count))]


@pytest.mark.parametrize("source,name", [(PARITY_1, "parity"), (QUADRATIC_2, "quadratic"), (RICH, "f")])
def test_children_parse_differ_from_the_parent_and_keep_the_rest(source: str, name: str) -> None:
    parent = ast.parse(source)
    for program, edits in children(source, name, 0, 300, rate=0.3):
        child = ast.parse(program)
        assert edits and program != ast.unparse(parent) + "\n"
        function = next(s for s in child.body if isinstance(s, ast.FunctionDef) and s.name == name)
        original = next(s for s in parent.body if isinstance(s, ast.FunctionDef) and s.name == name)
        assert ast.dump(function.args) == ast.dump(original.args)
        assert [type(s) for s in function.body] == [type(s) for s in original.body]
        assert ast.get_docstring(function) == ast.get_docstring(original)
        others = [ast.dump(s) for s in child.body if s is not function]
        assert others == [ast.dump(s) for s in parent.body if s is not original]


def test_same_seed_same_children_other_seed_other_children() -> None:
    assert children(PARITY_1, "parity", 7, 100) == children(PARITY_1, "parity", 7, 100)
    assert children(PARITY_1, "parity", 7, 100) != children(PARITY_1, "parity", 8, 100)


def test_the_terminal_set_holds_variables_in_scope_program_numbers_and_c_terminals() -> None:
    program = translate(PARITY_1, "parity", (0, 1, 2, 3))
    assert len(program.sites) == 8  # sum, c1, b2, b3, b4, %, bit_sum, 2
    leaf_options = {tuple(o.symbol for o in site.options) for site in program.sites if site.path}
    assert ("b1", "b2", "b3", "b4", "0", "1", "2", "3") in leaf_options  # c1 (unbound) may become any
    assert ("b1", "b2", "b3", "b4", "bit_sum", "0", "1", "3") in leaf_options  # the 2 in bit_sum % 2
    quadratic = translate(QUADRATIC_2, "quadratic", (7.5,))
    assert [o.symbol for o in quadratic.sites[3].options] == ["b", "c", "x", "2", "7.5"]  # the leaf a


def test_rate_one_replaces_every_node_by_one_of_its_alternatives() -> None:
    program = translate(QUADRATIC_2, "quadratic", (0, 1, 2, 3))
    [(child, edits)] = children(QUADRATIC_2, "quadratic", 3, 1, rate=1.0)
    assert len(edits) == len(program.sites) == 11
    functions = [e for e in edits if e.startswith("fn ")]
    assert len(functions) == 5 and all(e.split()[1].split("->")[1] in BINARY_FUNCTIONS for e in functions)


def test_at_least_one_node_even_at_a_tiny_rate() -> None:
    for program, edits in children(PARITY_1, "parity", 1, 200, rate=1e-9):
        assert len(edits) == 1 and program != PARITY_1


def test_fixing_one_bug_happens_as_often_as_the_rate_predicts() -> None:
    """The exact fix c1->b1 needs that node drawn and b1 picked from 8 terminals, nothing else
    replaced: rate/8 (1-rate)^7, plus (1-rate)^8/64 when one node is forced (1.27 % at rate 0.1)."""
    correct = read_seed("parity", "parity_correct")
    trials = 20_000
    fixed = sum(program == correct for program, _ in children(PARITY_1, "parity", 5, trials))
    expected = 0.1 / 8 * 0.9 ** 7 + 0.9 ** 8 / 64
    assert abs(fixed / trials - expected) < 5 * math.sqrt(expected * (1 - expected) / trials)


@pytest.mark.parametrize("source,name", [(PARITY_1, "parity"), (QUADRATIC_2, "quadratic"),
                                         ("def g(x):\n    return -x ** 2 + (-1) ** x - 2 ** -x\n", "g")])
def test_the_text_writer_matches_ast_unparse(source: str, name: str) -> None:
    program = translate(source, name, (-2, 0, 1, 2.5))
    assert program.template is not None
    rng = np.random.default_rng(0)
    for _ in range(2000):
        trees, _ = mutate_trees(program, rng, 0.4)
        assert render(program, trees) == render_ast(program, trees)


def test_programs_gp_tree_cannot_write_as_text_go_through_ast() -> None:
    assert translate(RICH, "f", (0, 1)).template is None  # math.pi and SCALE... are fixed leaves


def test_the_mutator_returns_children_with_diffs_and_edits() -> None:
    mutator = TreeGPMutator(TreeGPConfig(), context=context("parity"))
    kids = mutator.mutate([Parent(id=4, program=PARITY_1)] * 5, np.random.default_rng(0))
    assert len(kids) == 5
    for kid in kids:
        assert kid.operator == "gp-tree" and kid.parent_id == 4 and kid.program and kid.outcome is None
        assert kid.diff.startswith("--- a/parity.py\n+++ b/parity.py\n")
        assert kid.message == "; ".join(kid.meta["edits"])


@pytest.mark.parametrize("source,outcome,reason", [
    ("def parity(:\n", Outcome.EDIT_FAILED, "parent does not parse"),
    ("x = 1\n", Outcome.NO_EDIT, "no top-level function parity"),
    ("def parity():\n    print('hi')\n", Outcome.NO_EDIT, "nothing gp-tree can replace"),
    ("def parity(a):\n    return a\n" + "#" * 200, Outcome.EDIT_FAILED, "more than max_program_chars"),
])
def test_failures_are_children_without_programs(source: str, outcome: Outcome, reason: str) -> None:
    mutator = TreeGPMutator(TreeGPConfig(max_program_chars=200), context=context("parity"))
    [kid] = mutator.mutate([Parent(id=None, program=source)], np.random.default_rng(0))
    assert kid.program is None and kid.outcome is outcome and reason in kid.reason


def test_the_only_function_is_used_when_the_name_differs() -> None:
    mutator = TreeGPMutator(TreeGPConfig(), context=context("parity"))
    [kid] = mutator.mutate([Parent(id=None, program="def h(a, b):\n    return a + b\n")], np.random.default_rng(0))
    assert kid.program is not None and kid.program.startswith("def h(a, b):")


def test_registered_and_configured_through_the_run_config() -> None:
    pm = get_plugin_manager()
    assert pm.get("mutator", "gp-tree") is TreeGPMutator
    resolved = build_config(pm, shortcuts={"mutator.name": "gp-tree"},
                            overrides=["mutator.rate=0.25", "mutator.constants=[1, 2.5]"]).as_dict()
    assert resolved["mutator"] == {"name": "gp-tree", "rate": 0.25, "constants": [1, 2.5], "max_program_chars": 100000}


@pytest.mark.parametrize("override,message", [
    ("mutator.rate=0", "config key 'mutator.rate': rate must be in (0, 1]"),
    ("mutator.constants=[1, true]", "constants must be a list of finite numbers"),
    ("mutator.constants=[.inf]", "constants must be a list of finite numbers"),
    ("mutator.rte=0.1", "config key 'mutator.rte' is not accepted. Did you mean 'rate'?"),
])
def test_config_errors_are_one_line(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(get_plugin_manager(), shortcuts={"mutator.name": "gp-tree"}, overrides=[override])
    assert message in str(caught.value) and "\n" not in str(caught.value)
