"""The paper's program forms run unchanged and give the dictionary of Listing 2."""

from __future__ import annotations

import pytest

from elm_seeds import read_seed
from elmcore.types import Outcome
from elm_sodarace.limits import LIMITS
from elm_sodarace.walk_creator import Joint, walker_creator

from sodarace_helpers import body, evaluate, run_program

TWO_JOINTS = "    a = wc.add_joint(0, 0)\n    b = wc.add_joint(4, 3)\n"


def muscle_of(call: str) -> list:
    output = run_program(body(TWO_JOINTS + f"    {call}\n"))
    assert len(output["muscles"]) == 1
    return output["muscles"][0]


def test_passive_spring():
    assert muscle_of("wc.add_muscle(a, b)") == [0, 1, {"type": "distance"}]


@pytest.mark.parametrize("flag", ["True", "False", "0.0", "1", "None"])
def test_flag_is_accepted_and_ignored(flag):
    assert muscle_of(f"wc.add_muscle(a, b, {flag}, 1.0, 0.5)") == [
        0, 1, {"type": "muscle", "amplitude": 1.0, "phase": 0.5}]


def test_four_argument_form_without_a_flag_reads_amplitude_and_phase():
    assert muscle_of("wc.add_muscle(a, b, 1.2, 0.5)")[2] == {"type": "muscle", "amplitude": 1.2, "phase": 0.5}
    # a flag value in third place keeps its meaning: flag, then amplitude
    assert muscle_of("wc.add_muscle(a, b, 0.0, 1.2)")[2] == {"type": "muscle", "amplitude": 1.2, "phase": 0.0}
    assert muscle_of("wc.add_muscle(a, b, True, 1.2)")[2] == {"type": "muscle", "amplitude": 1.2, "phase": 0.0}


def test_missing_phase_defaults_to_zero():
    assert muscle_of("wc.add_muscle(a, b, False, 1.0)")[2] == {"type": "muscle", "amplitude": 1.0, "phase": 0.0}


def test_missing_amplitude_defaults_to_the_cap():
    props = muscle_of("wc.add_muscle(a, b, True)")[2]
    assert props["type"] == "muscle"
    assert props["amplitude"] == pytest.approx(LIMITS.max_amplitude_fraction * 5.0)
    assert props["phase"] == 0.0


def test_keywords_and_integer_indices():
    assert muscle_of("wc.add_muscle(0, 1, amplitude=0.5, phase=2.0)")[2] == {
        "type": "muscle", "amplitude": 0.5, "phase": 2.0}


def test_amplitude_is_clipped_to_the_cap_keeping_its_sign():
    assert muscle_of("wc.add_muscle(a, b, False, 100.0, 0.0)")[2]["amplitude"] == pytest.approx(1.5)
    assert muscle_of("wc.add_muscle(a, b, False, -100.0, 0.0)")[2]["amplitude"] == pytest.approx(-1.5)


def test_square_seed_gives_listing_2():
    output = run_program(read_seed("sodarace", "square"))
    assert output["joints"] == [[0.0, 0.0], [0.0, 10.0], [10.0, 10.0], [10.0, 0.0], [5.0, 5.0]]
    kinds = [(i, j, props["type"]) for i, j, props in output["muscles"]]
    assert kinds == [(0, 1, "distance"), (1, 2, "distance"), (2, 3, "distance"), (3, 0, "distance"),
                     (3, 4, "distance"), (0, 4, "muscle"), (1, 4, "muscle"), (2, 4, "muscle")]
    amplitudes = [round(props["amplitude"], 2) for *_, props in output["muscles"][5:]]
    # 5 and 10 are clipped to 0.3 x 7.07 = 2.12, as in Listing 2; 2.0 is under the cap
    assert amplitudes == [2.12, 2.12, 2.0]


def test_get_walker_shape_in_process():
    wc = walker_creator()
    a, b = wc.add_joint(0, 0), wc.add_joint(1, 0)
    wc.add_muscle(a, b)
    assert isinstance(a, Joint) and isinstance(a, int) and (a.x, a.y) == (0.0, 0.0)
    assert wc.get_walker() == {"joints": [(0.0, 0.0), (1.0, 0.0)], "muscles": [[0, 1, {"type": "distance"}]]}


def test_math_and_numpy_are_usable():
    program = body("    import numpy as np\n    p = wc.add_joint(np.float64(0.0), math.sin(0.0))\n"
                   "    q = wc.add_joint(np.int64(3), 0)\n    wc.add_muscle(p, q, False, np.float32(0.5), 1)\n")
    output = run_program("import math\n" + program)
    assert output["joints"] == [[0.0, 0.0], [3.0, 0.0]]


def test_query_cppn_is_provided_without_import():
    program = ("from walk_creator import walker_creator\n\ndef make_walker():\n    wc = walker_creator()\n"
               "    query_cppn(wc, 3, 2, 1.5, lambda *c: True, lambda *c: 0.1, lambda *c: 0.0)\n"
               "    return wc.get_walker()\n")
    output = run_program(program)
    assert len(output["joints"]) == 6 and len(output["muscles"]) == 15


def test_cppn_fixed_and_mutable_build_the_same_walker():
    fixed = run_program(read_seed("sodarace", "cppn_fixed"))
    mutable = run_program(read_seed("sodarace", "cppn_mutable"))
    assert fixed == mutable
    assert len(fixed["joints"]) == 24


@pytest.mark.parametrize("program, reason", [
    ("x = 1\n", "no function make_walker"),
    ("def make_walker():\n    return 3\n", "must return wc.get_walker()"),
    (body("    wc.add_joint('a', 0)\n"), "must be a number"),
    (body("    a = wc.add_joint(0, 0)\n    wc.add_muscle(a, 1.5)\n"), "joint returned by add_joint"),
    (body("    wc.add_muscle(0, 1, False, 'big')\n"), "amplitude must be a number"),
    ("def make_walker():\n    return {'joints': [object()]}\n", "object"),
    (body("    while True:\n        wc.add_joint(0, 0)\n"), "joints"),
])
def test_broken_programs_are_not_runnable(program, reason):
    evaluation = evaluate(program)
    assert evaluation.outcome is Outcome.NOT_RUNNABLE
    assert reason in evaluation.reason


def test_nan_coordinates_become_invalid_not_a_crash():
    evaluation = evaluate(body("    a = wc.add_joint(float('nan'), 0)\n    b = wc.add_joint(1, 0)\n"
                               "    wc.add_muscle(a, b)\n"))
    assert evaluation.outcome is Outcome.INVALID
    assert "joint 0 x is nan" in evaluation.reason


def test_clipped_amplitudes_are_counted_whoever_clips_them():
    """The Square asks for 5.0 and 10.0 on prongs of rest length 7.07 (cap 2.12): walker_creator
    clips both in the sandbox and says so; amplitudes over the cap in plain walker data are
    clipped and counted by the trusted check."""
    square = evaluate(read_seed("sodarace", "square"))
    assert square.outcome is Outcome.VALID and square.extras["clipped_amplitudes"] == 2
    plain = ("def make_walker():\n    return {'joints': [(0, 0), (4, 3), (8, 0)], 'muscles': [[0, 1, {'type': "
             "'muscle', 'amplitude': 100.0, 'phase': 0.0}], [1, 2, {'type': 'distance'}], "
             "[0, 2, {'type': 'distance'}]]}\n")
    assert evaluate(plain).extras["clipped_amplitudes"] == 1
    lying = plain.replace("return {", "return {'clipped': -3, ")
    assert evaluate(lying).outcome is Outcome.INVALID
