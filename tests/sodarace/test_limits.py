"""Every limit makes a walker INVALID with a reason naming the limit and the value, and
hostile harness output never crashes the trusted evaluate()."""

from __future__ import annotations

import math

import pytest

from elmcore.types import Outcome
from elm_sodarace.limits import LIMITS
from elm_sodarace.walker import parse_walker

from sodarace_helpers import make_domain

SPRING = {"type": "distance"}


def muscle(amplitude=1.0, phase=0.0):
    return {"type": "muscle", "amplitude": amplitude, "phase": phase}


def line_walker(n: int, spacing: float = 1.0) -> dict:
    joints = [[k * spacing, 0.0] for k in range(n)]
    return {"joints": joints, "muscles": [[k, k + 1, SPRING] for k in range(n - 1)]}


def star(n_spokes: int) -> dict:
    joints = [[0.0, 0.0]] + [[5 * math.cos(2 * math.pi * k / n_spokes), 5 * math.sin(2 * math.pi * k / n_spokes)]
                             for k in range(n_spokes)]
    return {"joints": joints, "muscles": [[0, k + 1, SPRING] for k in range(n_spokes)]}


def many_muscles(count: int) -> dict:
    walker = line_walker(30)
    pairs = [[i, j, SPRING] for i in range(30) for j in range(i + 1, 30)][:count]
    walker["muscles"] = pairs
    return walker


CASES = [
    ("too few joints", {"joints": [[0, 0]], "muscles": []}, "limit min_joints"),
    ("too many joints", line_walker(LIMITS.max_joints + 1, 0.5), "101 joints; at most 100"),
    ("no muscles", {"joints": [[0, 0], [1, 0]], "muscles": []}, "limit min_muscles"),
    ("too many muscles", many_muscles(LIMITS.max_muscles + 1), "401 muscles; at most 400"),
    ("muscles per joint", star(LIMITS.max_muscles_per_joint + 1), "joint 0 has 17 springs"),
    ("joints too close", {"joints": [[0, 0], [3, 0], [3.2, 0]], "muscles": [[0, 1, SPRING]]},
     "joints 1 and 2 are 0.2 apart"),
    ("zero-length muscle", {"joints": [[0, 0], [0, 0]], "muscles": [[0, 1, SPRING]]}, "has length 0"),
    ("self-connected", {"joints": [[0, 0], [1, 0]], "muscles": [[1, 1, SPRING]]}, "connects joint 1 to itself"),
    ("missing joint", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 2, SPRING]]}, "refers to joint 2"),
    ("negative index", {"joints": [[0, 0], [1, 0]], "muscles": [[-1, 0, SPRING]]}, "refers to joint -1"),
    ("too wide", {"joints": [[0, 0], [61, 0]], "muscles": [[0, 1, SPRING]]}, "width is 61"),
    ("too tall", {"joints": [[0, 0], [0, 70]], "muscles": [[0, 1, SPRING]]}, "height is 70"),
    ("infinite x", {"joints": [[math.inf, 0], [1, 0]], "muscles": [[0, 1, SPRING]]}, "joint 0 x is inf"),
    ("nan y", {"joints": [[0, math.nan], [1, 0]], "muscles": [[0, 1, SPRING]]}, "joint 0 y is nan"),
    ("nan amplitude", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 1, muscle(math.nan)]]}, "amplitude is nan"),
    ("inf phase", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 1, muscle(1.0, -math.inf)]]}, "phase is -inf"),
    ("bool coordinate", {"joints": [[True, 0], [1, 0]], "muscles": [[0, 1, SPRING]]}, "not a number"),
    ("string coordinate", {"joints": [["0", 0], [1, 0]], "muscles": [[0, 1, SPRING]]}, "not a number"),
    ("float index", {"joints": [[0, 0], [1, 0]], "muscles": [[0.0, 1, SPRING]]}, "not a joint index"),
    ("three coordinates", {"joints": [[0, 0, 0], [1, 0]], "muscles": [[0, 1, SPRING]]}, "not an (x, y) pair"),
    ("unknown muscle type", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 1, {"type": "rope"}]]}, "'rope'"),
    ("muscle without phase", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 1, {"type": "muscle", "amplitude": 1}]]},
     "missing ['phase']"),
    ("extra property", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 1, {"type": "distance", "k": 1}]]},
     "unexpected ['k']"),
    ("properties not a dict", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 1, "distance"]]}, "not a dict"),
    ("short muscle entry", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 1]]}, "not [joint, joint, properties]"),
    ("extra walker key", {"joints": [[0, 0], [1, 0]], "muscles": [[0, 1, SPRING]], "speed": 9}, "unexpected keys"),
    ("no muscles key", {"joints": [[0, 0], [1, 0]]}, "no 'muscles'"),
    ("joints not a list", {"joints": "abc", "muscles": []}, "not a list"),
    ("not a dict", [1, 2, 3], "not a dict"),
    ("nothing", None, "not a dict"),
]


@pytest.mark.parametrize("data, reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_limit_violation_is_invalid_with_reason(data, reason):
    evaluation = make_domain(duration_s=0.5).evaluate(data, "")
    assert evaluation.outcome is Outcome.INVALID
    assert reason in evaluation.reason


def test_amplitude_over_the_cap_is_clipped_not_rejected():
    data = {"joints": [[0, 0], [10, 0]], "muscles": [[0, 1, muscle(50.0, 0.0)]]}
    walker = parse_walker(data)
    assert walker.amplitude[0] == pytest.approx(3.0) and walker.clipped == 1
    evaluation = make_domain(duration_s=0.5).evaluate(data, "")
    assert evaluation.outcome is Outcome.VALID
    assert evaluation.extras["clipped_amplitudes"] == 1


def test_walker_at_the_limits_is_valid():
    evaluation = make_domain(duration_s=0.5).evaluate(star(LIMITS.max_muscles_per_joint), "")
    assert evaluation.outcome is Outcome.VALID, evaluation.reason
