"""The sandbox harness, called directly on namespaces built from ordinary test functions."""

from __future__ import annotations

from elm_parity.harness import MAX_ERROR_CHARS, as_number, run_parity, run_quadratic
from elm_parity.tasks import PARITY, QUADRATIC


def test_parity_cases_are_all_16_bit_patterns() -> None:
    assert len(set(PARITY.inputs)) == 16
    assert all(len(bits) == 4 and set(bits) <= {0, 1} for bits in PARITY.inputs)
    assert PARITY.expected == tuple(sum(bits) % 2 for bits in PARITY.inputs)


def test_quadratic_cases_are_fixed_integers() -> None:
    assert len(QUADRATIC.inputs) == 16
    assert QUADRATIC.inputs[0] == (-1, -3, -4, -2) and QUADRATIC.expected[0] == -2
    assert all(v != 0 for case in QUADRATIC.inputs for v in case)


def test_a_correct_function_gets_every_output() -> None:
    output = run_parity({"parity": lambda b1, b2, b3, b4: (b1 + b2 + b3 + b4) % 2})
    assert output == {"found": True, "outputs": list(PARITY.expected), "errors": [None] * 16}


def test_quadratic_harness_uses_its_own_cases() -> None:
    output = run_quadratic({"quadratic": lambda a, b, c, x: a * x**2 + b * x + c})
    assert output["outputs"] == list(QUADRATIC.expected)


def test_a_missing_or_uncallable_function_is_reported() -> None:
    assert run_parity({}) == {"found": False, "detail": "no name 'parity' is defined"}
    assert run_parity({"parity": 3})["found"] is False


def test_exceptions_are_recorded_per_case() -> None:
    def half_broken(b1: int, b2: int, b3: int, b4: int) -> int:
        if b1:
            raise ZeroDivisionError("boom " + "x" * 1000)
        return (b2 + b3 + b4) % 2

    output = run_parity({"parity": half_broken})
    broken = [i for i, bits in enumerate(PARITY.inputs) if bits[0]]
    assert [output["errors"][i] is not None for i in range(16)] == [i in broken for i in range(16)]
    assert all(output["outputs"][i] is None for i in broken)
    assert output["errors"][broken[0]].startswith("ZeroDivisionError: boom")
    assert len(output["errors"][broken[0]]) == MAX_ERROR_CHARS


def test_outputs_become_plain_numbers_or_none() -> None:
    class Hostile(float):
        def __float__(self) -> float:
            raise RuntimeError("no")

    assert as_number(True) == 1 and type(as_number(True)) is int
    assert as_number(2.5) == 2.5
    assert as_number(float("inf")) is None and as_number(float("nan")) is None
    assert as_number(10**30) == float(10**30)
    assert as_number(10**400) is None
    assert as_number("1") is None and as_number(None) is None and as_number([1]) is None
    assert as_number(1 + 0j) is None
    assert as_number(Hostile(1.0)) is None
