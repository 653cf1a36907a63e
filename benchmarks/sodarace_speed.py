"""Sodarace evaluation speed, one core: evaluations/s per seed, split into running the
program in the sandbox and the physics; and microseconds per physics step for the
CPPN-Fixed walker (24 joints, 65 springs), with Box2D's own share of the step; and, like
for like on the same world and time step, elm's loop against a plain pybox2d loop (muscle
lengths set through the ``length`` property with ``math.sin`` each step), at elm's solver
iterations and at Box2D's customary 8/3.

    python benchmarks/sodarace_speed.py [--repeats 20] [--terrain flat]
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import statistics
import time

import numpy as np

from elm_seeds import list_seeds, read_seed
from elmcore.sandbox import prepare, run_in_sandbox
from elm_sodarace.domain import SodaraceDomain
from elm_sodarace.physics_params import DEFAULT_PHYSICS
from elm_sodarace.simulation import build_world, simulate
from elm_sodarace.terrains import make_terrain
from elm_sodarace.walker import parse_walker


def evaluation_speed(repeats: int, terrain_name: str) -> None:
    domain = SodaraceDomain()
    spec = domain.sandbox_spec()
    prepare(spec)
    terrain = make_terrain(terrain_name)
    print(f"{'seed':13s} {'joints':>6s} {'springs':>7s} {'sandbox ms':>10s} {'physics ms':>10s} "
          f"{'us/step':>7s} {'evals/s':>8s}")
    for name in list_seeds("sodarace"):
        program = read_seed("sodarace", name)
        sandbox, physics, steps = [], [], []
        for _ in range(repeats):
            started = time.perf_counter()
            ran = run_in_sandbox(program, spec)
            sandbox.append(time.perf_counter() - started)
            started = time.perf_counter()
            walker = parse_walker(ran.output)
            result = simulate(walker, terrain, DEFAULT_PHYSICS)
            physics.append(time.perf_counter() - started)
            steps.append(result.step_us)
        sb, ph = statistics.median(sandbox), statistics.median(physics)
        print(f"{name:13s} {len(walker.joints):6d} {len(walker.pairs):7d} {sb * 1e3:10.1f} {ph * 1e3:10.1f} "
              f"{statistics.median(steps):7.1f} {1.0 / (sb + ph):8.1f}")


def step_breakdown(repeats: int) -> None:
    """Per-step cost of the CPPN-Fixed walker: the whole simulation loop, and within a
    driven walk the Box2D Step alone and the one C-level pass that sets the muscle lengths."""
    spec = SodaraceDomain().sandbox_spec()
    walker = parse_walker(run_in_sandbox(read_seed("sodarace", "cppn_fixed"), spec).output)
    terrain = make_terrain("flat")
    physics = DEFAULT_PHYSICS
    full = [simulate(walker, terrain, physics).step_us for _ in range(repeats)]
    step_only, setting = [], []
    import Box2D

    set_length = Box2D._Box2D.b2DistanceJoint___SetLength
    consume = collections.deque(maxlen=0).extend
    clock = time.perf_counter
    omega = 2.0 * np.pi / physics.muscle_period_s
    for _ in range(repeats):
        built = build_world(walker, terrain, physics)
        active = walker.active
        muscles = [built.springs[k] for k in np.flatnonzero(active).tolist()]
        times = (np.arange(1, physics.steps + 1) * physics.time_step)[:, None]
        table = (physics.scale * (walker.rest_length[active] + walker.amplitude[active]
                                  * np.sin(omega * times + walker.phase[active]))).tolist()
        t_set = t_step = 0.0
        for row in table:
            t0 = clock()
            consume(map(set_length, muscles, row))
            t1 = clock()
            built.world.Step(physics.time_step, physics.velocity_iterations, physics.position_iterations)
            t2 = clock()
            t_set += t1 - t0
            t_step += t2 - t1
        setting.append(t_set / physics.steps * 1e6)
        step_only.append(t_step / physics.steps * 1e6)
    print(f"CPPN-Fixed ({len(walker.joints)} joints, {len(walker.pairs)} springs, {physics.steps} steps of "
          f"{physics.time_step * 1e3:.2f} ms, {physics.velocity_iterations}/{physics.position_iterations} iterations):")
    print(f"  whole step   {statistics.median(full):6.1f} us (median of {repeats}; min {min(full):.1f})")
    print(f"  Box2D Step   {statistics.median(step_only):6.1f} us (the C++ solver)")
    print(f"  set lengths  {statistics.median(setting):6.1f} us ({len(muscles)} muscles)")


def plain_loop_us(walker, terrain, physics, velocity_iterations: int, position_iterations: int) -> float:
    """Microseconds per step of a straightforward pybox2d loop on the world elm builds."""
    import math

    built = build_world(walker, terrain, physics)
    active = np.flatnonzero(walker.active).tolist()
    muscles = [(built.springs[k], float(walker.rest_length[k]), float(walker.amplitude[k]), float(walker.phase[k]))
               for k in active]
    omega = 2.0 * math.pi / physics.muscle_period_s
    scale, dt, world = physics.scale, physics.time_step, built.world
    started = time.perf_counter()
    for step in range(1, physics.steps + 1):
        t = step * dt
        for joint, rest, amplitude, phase in muscles:
            joint.length = scale * (rest + amplitude * math.sin(omega * t + phase))
        world.Step(dt, velocity_iterations, position_iterations)
    return (time.perf_counter() - started) / physics.steps * 1e6


def like_for_like(repeats: int) -> None:
    """elm's simulate against the plain loop, interleaved, on the same CPPN-Fixed world."""
    spec = SodaraceDomain().sandbox_spec()
    walker = parse_walker(run_in_sandbox(read_seed("sodarace", "cppn_fixed"), spec).output)
    terrain = make_terrain("flat")
    physics = DEFAULT_PHYSICS
    own = (physics.velocity_iterations, physics.position_iterations)
    elm_us, same, customary = [], [], []
    for _ in range(repeats):
        elm_us.append(simulate(walker, terrain, physics).step_us)
        same.append(plain_loop_us(walker, terrain, physics, *own))
        customary.append(plain_loop_us(walker, terrain, physics, 8, 3))
    ratio_same = statistics.median(s / e for s, e in zip(same, elm_us))
    ratio_customary = statistics.median(c / e for c, e in zip(customary, elm_us))
    print(f"like for like, CPPN-Fixed on flat ground, {physics.steps} steps of {physics.time_step * 1e3:.2f} ms "
          f"(medians of {repeats} interleaved runs):")
    print(f"  elm simulate, {own[0]}/{own[1]} iterations      {statistics.median(elm_us):6.1f} us/step")
    print(f"  plain pybox2d loop, {own[0]}/{own[1]} iterations {statistics.median(same):6.1f} us/step "
          f"({ratio_same:.2f}x elm's time, pair by pair)")
    print(f"  plain pybox2d loop, 8/3 iterations {statistics.median(customary):6.1f} us/step "
          f"({ratio_customary:.2f}x elm's time, pair by pair)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--terrain", default="flat")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; Python {platform.python_version()}; "
          f"simulated {DEFAULT_PHYSICS.duration_s:g} s per evaluation on {args.terrain}")
    evaluation_speed(args.repeats, args.terrain)
    print()
    step_breakdown(args.repeats)
    print()
    like_for_like(args.repeats)


if __name__ == "__main__":
    main()
