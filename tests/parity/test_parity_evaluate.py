"""evaluate() treats the harness output as hostile: malformed data is INVALID, never an exception."""

from __future__ import annotations

from typing import Any

import pytest

from elm_parity.domain import ParityDomain, QuadraticDomain
from elm_parity.tasks import PARITY, QUADRATIC
from elm_seeds import read_seed
from elmcore import Outcome

SEED = read_seed("parity", "parity_correct")


def good_output() -> dict[str, Any]:
    return {"found": True, "outputs": list(PARITY.expected), "errors": [None] * 16}


def with_change(**changes: Any) -> dict[str, Any]:
    output = good_output()
    output.update(changes)
    return output


def test_good_output_is_valid_with_shape_descriptors() -> None:
    evaluation = ParityDomain().evaluate(good_output(), SEED)
    assert evaluation.outcome is Outcome.VALID and evaluation.fitness == 1.0
    assert evaluation.descriptors == (16.0, 6.0)  # 4 statements + 12 expressions; b1-b4, bit_sum, sum


def test_fitness_is_the_fraction_passed() -> None:
    outputs = list(PARITY.expected)
    outputs[:3] = [1 - v for v in outputs[:3]]
    evaluation = ParityDomain().evaluate(with_change(outputs=outputs), SEED)
    assert evaluation.fitness == pytest.approx(13 / 16) and evaluation.extras["passed"] == 13
    assert not ParityDomain().is_solution(evaluation)


def test_float_outputs_pass_when_equal_up_to_rounding() -> None:
    outputs = [float(v) + 1e-12 for v in QUADRATIC.expected]
    evaluation = QuadraticDomain().evaluate({"found": True, "outputs": outputs, "errors": [None] * 16},
                                            read_seed("quadratic", "quadratic_correct"))
    assert evaluation.fitness == 1.0
    outputs[0] += 0.01
    evaluation = QuadraticDomain().evaluate({"found": True, "outputs": outputs, "errors": [None] * 16}, "x = 1")
    assert evaluation.extras["passed"] == 15


MALFORMED = {
    "not a dict": [0] * 16,
    "none": None,
    "found missing": {"outputs": list(PARITY.expected), "errors": [None] * 16},
    "found not bool": with_change(found=1),
    "extra key": with_change(score=1.0),
    "missing errors": {"found": True, "outputs": list(PARITY.expected)},
    "short outputs": with_change(outputs=[0] * 15),
    "long errors": with_change(errors=[None] * 17),
    "outputs not a list": with_change(outputs="0" * 16),
    "string output": with_change(outputs=["1"] + [0] * 15),
    "bool output": with_change(outputs=[True] + [0] * 15),
    "nan output": with_change(outputs=[float("nan")] + [0] * 15),
    "inf output": with_change(outputs=[float("inf")] + [0] * 15),
    "nested output": with_change(outputs=[[0]] + [0] * 15),
    "error not a string": with_change(errors=[3] + [None] * 15),
    "output and error": with_change(errors=["NameError: x"] + [None] * 15),
    "missing detail": {"found": False},
    "detail not string": {"found": False, "detail": 5},
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_output_is_invalid_with_a_reason(case: str) -> None:
    evaluation = ParityDomain().evaluate(MALFORMED[case], SEED)
    assert evaluation.outcome is Outcome.INVALID
    assert evaluation.reason.startswith("malformed harness output: ")
    assert evaluation.fitness is None and evaluation.descriptors is None


def test_missing_function_is_invalid_with_the_documented_reason() -> None:
    evaluation = ParityDomain().evaluate({"found": False, "detail": "no name 'parity' is defined"}, "x = 1\n")
    assert evaluation.outcome is Outcome.INVALID
    assert evaluation.reason == "program defines no function parity(...)"
    evaluation = QuadraticDomain().evaluate({"found": False, "detail": "?"}, "x = 1\n")
    assert evaluation.reason == "program defines no function quadratic(...)"


def test_program_text_that_cannot_be_measured_is_invalid() -> None:
    assert ParityDomain().evaluate(good_output(), "def parity(:\n").outcome is Outcome.INVALID
    evaluation = ParityDomain().evaluate(good_output(), "x = 1\n" * 50_000)
    assert evaluation.outcome is Outcome.INVALID and "characters" in evaluation.reason


def test_errors_are_counted_and_the_first_is_kept() -> None:
    outputs: list[Any] = list(PARITY.expected)
    errors: list[Any] = [None] * 16
    outputs[4], errors[4] = None, "TypeError: bad"
    evaluation = ParityDomain().evaluate({"found": True, "outputs": outputs, "errors": errors}, SEED)
    assert evaluation.extras["errors"] == 1 and evaluation.extras["first_error"] == "TypeError: bad"
    assert evaluation.extras["passed"] == 15


def test_is_solution_needs_a_valid_evaluation() -> None:
    domain = ParityDomain()
    assert domain.is_solution(domain.evaluate(good_output(), SEED))
    assert not domain.is_solution(domain.evaluate(None, SEED))
