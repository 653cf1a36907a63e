"""The curve domain: strict validation of harness output, scoring, descriptors, config, seeds."""

import math

import pytest
from pydantic import ValidationError

from elmcore import Outcome
from elmcore.workers import evaluate_programs
from elm_example_plugin.curve_shape import program_size, turning_points
from elm_example_plugin.domain import CurveConfig, CurveDomain
from elm_example_plugin.samples import SAMPLE_COUNT, SAMPLE_XS
from elm_example_plugin.seed_loading import list_seeds, read_seed
from elm_example_plugin.targets import TARGETS

PROGRAM = "def f(x):\n    return x\n"


def domain(**options):
    return CurveDomain(CurveConfig(**options))


def output(ys, error=None):
    return {"found": True, "ys": list(ys), "error": error}


def test_exact_target_has_fitness_one_and_is_a_solution():
    d = domain(target="cubic")
    ev = d.evaluate(output(TARGETS["cubic"].values()), PROGRAM)
    assert ev.outcome is Outcome.VALID
    assert ev.fitness == pytest.approx(1.0)
    assert ev.extras["rmse"] == pytest.approx(0.0, abs=1e-12)
    assert d.is_solution(ev)


def test_fitness_falls_with_the_error():
    d = domain(target="wave")
    target = TARGETS["wave"].values()
    near = d.evaluate(output(t + 0.1 for t in target), PROGRAM)
    far = d.evaluate(output(t + 1.0 for t in target), PROGRAM)
    assert near.fitness == pytest.approx(1 / 1.1)
    assert far.fitness == pytest.approx(0.5)
    assert not d.is_solution(near)


def test_undefined_points_count_as_the_capped_error():
    d = domain(target="bump", error_cap=4.0)
    ys = list(TARGETS["bump"].values())
    ys[0] = None
    ev = d.evaluate(output(ys, "ZeroDivisionError: division by zero"), PROGRAM)
    assert ev.outcome is Outcome.VALID
    assert ev.extras["rmse"] == pytest.approx(math.sqrt(16.0 / SAMPLE_COUNT))
    assert ev.extras["defined_points"] == SAMPLE_COUNT - 1
    assert ev.extras["first_error"].startswith("ZeroDivisionError")


def test_no_defined_point_is_invalid():
    ev = domain().evaluate(output([None] * SAMPLE_COUNT, "TypeError: x"), PROGRAM)
    assert ev.outcome is Outcome.INVALID and "no finite number" in ev.reason


def test_descriptors_are_program_size_and_turning_points():
    ys = [math.sin(x) for x in SAMPLE_XS]  # sin on [-4, 4] turns at -pi/2 and pi/2
    ev = domain().evaluate(output(ys), PROGRAM)
    assert ev.descriptors == (float(program_size(PROGRAM)), 2.0)
    assert len(ev.descriptors) == len(domain().behaviour_space())


def test_turning_points_skip_flat_steps_and_undefined_points():
    assert turning_points([0, 1, 1, 2, None, 1, 0, 3]) == 2
    assert turning_points([]) == 0
    assert turning_points([5, 5, 5]) == 0


@pytest.mark.parametrize("bad, message", [
    (None, "expected an object"),
    ([1, 2], "expected an object"),
    ({"found": "yes"}, "'found'"),
    ({"found": True, "ys": [0.0] * SAMPLE_COUNT}, "keys are"),
    ({"found": True, "ys": [0.0] * SAMPLE_COUNT, "error": None, "extra": 1}, "keys are"),
    ({"found": True, "ys": "0" * SAMPLE_COUNT, "error": None}, "not a list"),
    ({"found": True, "ys": [0.0] * (SAMPLE_COUNT + 1), "error": None}, "entries"),
    ({"found": True, "ys": [True] * SAMPLE_COUNT, "error": None}, "ys[0]"),
    ({"found": True, "ys": ["1"] + [0.0] * (SAMPLE_COUNT - 1), "error": None}, "ys[0]"),
    ({"found": True, "ys": [0.0] * (SAMPLE_COUNT - 1) + [math.inf], "error": None}, f"ys[{SAMPLE_COUNT - 1}]"),
    ({"found": True, "ys": [10**400] + [0.0] * (SAMPLE_COUNT - 1), "error": None}, "ys[0]"),
    ({"found": True, "ys": [[0.0]] * SAMPLE_COUNT, "error": None}, "ys[0]"),
    ({"found": True, "ys": [0.0] * SAMPLE_COUNT, "error": 7}, "'error'"),
    ({"found": False, "detail": ["x"]}, "'detail'"),
    ({"found": False, "detail": "x", "ys": []}, "keys are"),
])
def test_malformed_output_is_invalid_with_a_reason(bad, message):
    ev = domain().evaluate(bad, PROGRAM)
    assert ev.outcome is Outcome.INVALID
    assert ev.reason.startswith("malformed harness output") and message in ev.reason


def test_missing_function_is_invalid():
    ev = domain().evaluate({"found": False, "detail": "the program defines no name 'f'"}, PROGRAM)
    assert ev.outcome is Outcome.INVALID and "no name 'f'" in ev.reason


def test_unparseable_program_text_is_invalid():
    ev = domain().evaluate(output([0.0] * SAMPLE_COUNT), "def f(x:\n")
    assert ev.outcome is Outcome.INVALID and "does not parse" in ev.reason


def test_every_packaged_seed_is_valid_in_the_sandbox():
    assert list_seeds() == ["line", "poly", "wave"]
    for name in list_seeds():
        d = domain(seed_program=name)
        [ev] = evaluate_programs(d, d.seed_programs())
        assert ev.outcome is Outcome.VALID, (name, ev.reason)
        assert 0.0 < ev.fitness < 1.0


def test_sandboxed_evaluation_sorts_programs_into_outcomes():
    programs = [
        "def f(x):\n    return 0.1 * x ** 3 - x + 1\n",
        "def g(x):\n    return x\n",
        "def f(x):\n    return 'text'\n",
        "def f(x:\n",
        "import os\nos._exit(3)\n",
    ]
    evs = evaluate_programs(domain(target="cubic"), programs)
    assert [e.outcome for e in evs] == [Outcome.VALID, Outcome.INVALID, Outcome.INVALID,
                                        Outcome.NOT_RUNNABLE, Outcome.NOT_RUNNABLE]
    assert domain(target="cubic").is_solution(evs[0])
    assert "SyntaxError" in evs[3].reason


def test_seeds_are_read_as_text():
    assert read_seed("line").startswith("def f(x):")
    with pytest.raises(ValueError, match="use one of: line, poly, wave"):
        read_seed("nope")


def test_config_rejects_unknown_keys_targets_and_seeds():
    with pytest.raises(ValidationError):
        CurveConfig(targt="wave")
    with pytest.raises(ValidationError):
        CurveConfig(target="square")
    with pytest.raises(ValidationError, match="use one of"):
        CurveConfig(seed_program="nope")
    with pytest.raises(ValidationError):
        CurveConfig(error_cap=0)


def test_mutation_context_names_f_and_the_target_formula():
    context = domain(target="bump").mutation_context()
    assert context.function_name == "f"
    assert TARGETS["bump"].formula in context.instruction
