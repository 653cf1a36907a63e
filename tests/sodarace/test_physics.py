"""Simulation: starts resting on the ground, deterministic, explosions detected, fitness
is the centre-of-mass displacement."""

from __future__ import annotations

import numpy as np
import pytest

from elm_seeds import read_seed
from elmcore.types import Outcome
from elmcore.workers import WorkerPool
from elm_sodarace.physics_params import PhysicsParams
from elm_sodarace.simulation import explosion_reason, place_on_terrain, simulate
from elm_sodarace.terrains import make_terrain
from elm_sodarace.walker import parse_walker

from sodarace_helpers import evaluate, make_domain, run_program

TERRAINS = ["flat", "left-wall", "right-wall", "bumpy", "tunnel"]


@pytest.fixture(scope="module")
def square():
    return parse_walker(run_program(read_seed("sodarace", "square")))


@pytest.fixture(scope="module")
def cppn():
    return parse_walker(run_program(read_seed("sodarace", "cppn_fixed")))


def high_square():
    """The Square seed drawn 100 units above the origin."""
    return {"joints": [[0, 100], [0, 110], [10, 110], [10, 100], [5, 105]],
            "muscles": [[0, 1, {"type": "distance"}], [1, 2, {"type": "distance"}], [2, 3, {"type": "distance"}],
                        [3, 0, {"type": "distance"}], [0, 4, {"type": "muscle", "amplitude": 2.0, "phase": 0.0}]]}


@pytest.mark.parametrize("terrain_name", TERRAINS)
def test_walker_is_placed_resting_on_the_surface(cppn, terrain_name):
    terrain = make_terrain(terrain_name)
    physics = PhysicsParams()
    start = place_on_terrain(cppn, terrain, physics)
    clearance = start[:, 1] - physics.joint_radius - terrain.surface_height(start[:, 0])
    assert clearance.min() == pytest.approx(0.0, abs=1e-9)
    assert start[:, 0].min() == pytest.approx(-start[:, 0].max())


@pytest.mark.parametrize("terrain_name", ["flat", "bumpy"])
def test_first_steps_do_not_drop_the_walker(terrain_name):
    walker = parse_walker(high_square())
    result = simulate(walker, make_terrain(terrain_name), PhysicsParams(duration_s=0.25), record_every=1)
    lowest = [float(frame[:, 1].min()) for frame in result.frames]
    # resting on the ground from the first frame: the lowest joint moves by a hair, it does not fall
    assert max(lowest) - min(lowest) < 0.1
    assert lowest[0] < 5.0


def test_fitness_is_absolute_centre_of_mass_displacement(square):
    physics = PhysicsParams(duration_s=3.0)
    result = simulate(square, make_terrain("flat"), physics, record_every=30)
    masses = square.joint_masses(physics)
    com = [float(np.dot(masses, f[:, 0]) / masses.sum()) for f in (result.frames[0], result.frames[-1])]
    assert result.displacement == pytest.approx(com[1] - com[0])
    evaluation = make_domain(duration_s=3.0).evaluate(square.to_dict(), "")
    assert evaluation.fitness == pytest.approx(abs(result.displacement))
    assert evaluation.extras["displacement"] == pytest.approx(result.displacement)


def test_leftward_walker_keeps_its_sign():
    evaluation = evaluate(read_seed("sodarace", "wheel"))
    assert evaluation.extras["displacement"] < 0 < evaluation.fitness


def test_same_program_same_fitness_in_process(cppn):
    physics = PhysicsParams(duration_s=3.0)
    first = simulate(cppn, make_terrain("bumpy"), physics)
    second = simulate(cppn, make_terrain("bumpy"), physics)
    assert first.displacement == second.displacement


def test_same_program_same_fitness_in_another_worker_process():
    programs = [read_seed("sodarace", name) for name in ("cppn_fixed", "wheel")]
    domain = make_domain("bumpy")
    here = [make_domain("bumpy").evaluate(run_program(p), p).fitness for p in programs]
    with WorkerPool(type(domain), domain.config.model_dump(), workers=1) as pool:
        there = [e.fitness for e in pool.evaluate(programs)]
    assert here == there


def test_explosion_detector_reasons(square):
    physics = PhysicsParams()
    points = square.joints.copy()
    still = np.zeros_like(points)
    reach = np.maximum(square.rest_length, 5.0)
    assert explosion_reason(square, points, still, physics, reach, 10.0, 0.0, 1.0) is None
    nan_points = points.copy()
    nan_points[2, 1] = np.nan
    assert "joint 2 position" in explosion_reason(square, nan_points, still, physics, reach, 10.0, 0.0, 1.0)
    fast = still.copy()
    fast[3] = [900.0, 0.0]
    assert "joint 3 moved at 900" in explosion_reason(square, points, fast, physics, reach, 10.0, 0.0, 1.0)
    torn = points.copy()
    torn[4] = [500.0, 5.0]
    assert "stretched" in explosion_reason(square, torn, still, physics, reach, 10.0, 0.0, 1.0)
    flung = points + [0.0, 300.0]
    assert "flung" in explosion_reason(square, flung, still, physics, reach, 10.0, 0.0, 1.0)
    sunk = points - [0.0, 300.0]
    assert "fell through" in explosion_reason(square, sunk, still, physics, reach, 10.0, 0.0, 1.0)


def test_exploding_walker_is_invalid_with_reason():
    # a speed limit far below the Square's gait stands in for a blown-up integration
    evaluation = evaluate(read_seed("sodarace", "square"), max_joint_speed=1.0)
    assert evaluation.outcome is Outcome.INVALID
    assert evaluation.reason.startswith("numerical explosion: joint")
    assert "max_joint_speed" in evaluation.reason


def test_mass_descriptor_counts_joints_and_spring_length(square):
    physics = PhysicsParams()
    expected = 5 * physics.joint_mass + physics.muscle_mass_per_length * (40 + 4 * 50 ** 0.5)
    assert square.total_mass(physics) == pytest.approx(expected)
    assert square.joint_masses(physics).sum() == pytest.approx(expected)
