"""The sandbox harness of the curve domain, called directly and through the real sandbox."""

import math

from elmcore import SandboxSpec
from elmcore.sandbox import run_in_sandbox
from elm_example_plugin.harness import as_finite_float, sample_curve
from elm_example_plugin.samples import SAMPLE_COUNT, SAMPLE_XS

SPEC = SandboxSpec(harness="elm_example_plugin.harness:sample_curve", timeout_s=3.0, memory_mb=256)


def test_samples_f_at_every_point():
    output = sample_curve({"f": lambda x: 2 * x})
    assert output == {"found": True, "ys": [2 * x for x in SAMPLE_XS], "error": None}


def test_missing_or_uncallable_f_is_reported():
    assert sample_curve({}) == {"found": False, "detail": "the program defines no name 'f'"}
    assert sample_curve({"f": 3})["found"] is False


def test_failures_at_single_points_become_none_with_the_first_error():
    output = sample_curve({"f": lambda x: 1.0 / x})
    zero = SAMPLE_XS.index(0.0)
    assert output["ys"][zero] is None
    assert output["error"].startswith("ZeroDivisionError")
    assert sum(y is None for y in output["ys"]) == 1


def test_non_numbers_and_non_finite_values_become_none():
    assert as_finite_float(True) is None
    assert as_finite_float("1.0") is None
    assert as_finite_float(complex(1, 2)) is None
    assert as_finite_float(math.nan) is None
    assert as_finite_float(10**400) is None
    assert as_finite_float(3) == 3.0


def test_runs_in_the_sandbox_next_to_the_program():
    ran = run_in_sandbox("import math\ndef f(x):\n    return math.cos(x)\n", SPEC)
    assert ran.ok
    assert ran.output["ys"] == [math.cos(x) for x in SAMPLE_XS]


def test_a_program_that_loops_forever_is_cut_off():
    ran = run_in_sandbox("def f(x):\n    while True:\n        pass\n", SandboxSpec(
        harness=SPEC.harness, timeout_s=0.5, memory_mb=256))
    assert not ran.ok
    assert "timeout" in ran.reason or "CPU" in ran.reason


def test_a_program_that_raises_at_import_is_not_runnable():
    ran = run_in_sandbox("raise RuntimeError('boom')\n", SPEC)
    assert not ran.ok and "boom" in ran.reason


def test_sample_points_span_the_documented_range():
    assert len(SAMPLE_XS) == SAMPLE_COUNT
    assert SAMPLE_XS[0] == -4.0 and SAMPLE_XS[-1] == 4.0
