"""The seed files: the correct programs pass every case, each bug variant is exactly the
documented edit of the correct one, and fails as expected when run in the sandbox."""

from __future__ import annotations

import ast

import pytest

from elm_parity.domain import ParityDomain, QuadraticDomain
from elm_seeds import list_seeds, read_seed
from elmcore import Outcome
from elmcore.workers import evaluate_programs


def parity_with_bugs(bugs: int) -> str:
    """The documented transformation: bugs 1-4 rename b1..b4 to c1..c4 in the sum; bug 5: % 2 -> % 3."""
    tree = ast.parse(read_seed("parity", "parity_correct"))
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "sum")
    for element in call.args[0].elts[:min(bugs, 4)]:
        element.id = "c" + element.id[1:]
    if bugs >= 5:
        modulo = next(n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod))
        modulo.right.value = 3
    return ast.dump(tree)


def quadratic_with_bugs(bugs: int) -> str:
    """The documented transformation: the first ``bugs`` '+' operators, left to right, become '-'."""
    tree = ast.parse(read_seed("quadratic", "quadratic_correct"))
    additions = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add)]
    additions.sort(key=lambda n: n.right.col_offset)
    for node in additions[:bugs]:
        node.op = ast.Sub()
    return ast.dump(tree)


def test_seed_files_are_listed() -> None:
    assert list_seeds("parity") == ["parity_bugs_1", "parity_bugs_2", "parity_bugs_3", "parity_bugs_4",
                                    "parity_bugs_5", "parity_correct"]
    assert list_seeds("quadratic") == ["quadratic_bugs_1", "quadratic_bugs_2", "quadratic_correct"]


@pytest.mark.parametrize("bugs", range(1, 6))
def test_parity_bug_files_are_the_documented_edit(bugs: int) -> None:
    assert ast.dump(ast.parse(read_seed("parity", f"parity_bugs_{bugs}"))) == parity_with_bugs(bugs)


@pytest.mark.parametrize("bugs", [1, 2])
def test_quadratic_bug_files_are_the_documented_edit(bugs: int) -> None:
    assert ast.dump(ast.parse(read_seed("quadratic", f"quadratic_bugs_{bugs}"))) == quadratic_with_bugs(bugs)


@pytest.mark.parametrize("name", list_seeds("parity") + list_seeds("quadratic"))
def test_seeds_are_in_unparse_form(name: str) -> None:
    # GP children are written with ast.unparse; seeds in that form keep the first diffs minimal
    text = read_seed(name.split("_")[0], name)
    assert ast.unparse(ast.parse(text)) + "\n" == text


def test_correct_parity_passes_all_16_and_each_bug_variant_fails() -> None:
    domain = ParityDomain()
    names = ["parity_correct"] + [f"parity_bugs_{k}" for k in range(1, 6)]
    evaluations = evaluate_programs(domain, [read_seed("parity", n) for n in names])
    correct, *bugged = evaluations
    assert correct.outcome is Outcome.VALID and correct.fitness == 1.0
    assert correct.extras["passed"] == 16 and correct.extras["errors"] == 0
    assert domain.is_solution(correct)
    for evaluation in bugged:
        assert evaluation.outcome is Outcome.VALID
        assert evaluation.extras["passed"] == 0 and evaluation.extras["errors"] == 16
        assert evaluation.extras["first_error"] == "NameError: name 'c1' is not defined"
        assert not domain.is_solution(evaluation)


def test_modulo_three_alone_passes_only_the_sums_zero_and_one() -> None:
    program = "def parity(b1, b2, b3, b4):\n    return sum([b1, b2, b3, b4]) % 3\n"
    [evaluation] = evaluate_programs(ParityDomain(), [program])
    assert evaluation.extras["passed"] == 5  # sum 0 (1 input) and sum 1 (4 inputs)
    assert evaluation.fitness == pytest.approx(5 / 16)


def test_quadratic_seeds() -> None:
    domain = QuadraticDomain()
    names = ["quadratic_correct", "quadratic_bugs_1", "quadratic_bugs_2"]
    correct, one, two = evaluate_programs(domain, [read_seed("quadratic", n) for n in names])
    assert correct.fitness == 1.0 and domain.is_solution(correct)
    assert one.outcome is Outcome.VALID and one.extras["passed"] == 0 and one.extras["errors"] == 0
    assert two.outcome is Outcome.VALID and two.extras["passed"] == 0


def test_one_fixed_term_of_two_bugs_is_still_wrong() -> None:
    program = "def quadratic(a, b, c, x):\n    return a * x ** 2 + b * x - c\n"
    [evaluation] = evaluate_programs(QuadraticDomain(), [program])
    assert evaluation.extras["passed"] == 0
