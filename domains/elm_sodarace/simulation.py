"""Simulates a checked walker on a terrain with Box2D and measures how far it moves.

Joints are small circle bodies that do not rotate (point masses that slide, not roll)
and do not collide with each other; every spring is a Box2D distance joint with a
natural frequency and damping (a soft constraint, solved implicitly and so stable for
stiff springs at a fixed step). Active muscles change their joint's target length each
step: rest + amplitude * sin(2 pi t / period + phase). Each step costs one Box2D step
plus one C-level pass that sets the muscle lengths from a precomputed table row.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import Box2D
import numpy as np
from Box2D import b2

from elm_sodarace.physics_params import DEFAULT_PHYSICS, PhysicsParams
from elm_sodarace.terrains import Terrain
from elm_sodarace.walker import Walker

_set_length = Box2D._Box2D.b2DistanceJoint___SetLength  # the raw setter, no property lookup
_consume = deque(maxlen=0).extend  # runs a map() to exhaustion in C


@dataclass
class SimulationResult:
    """What one simulation measured, in program units."""

    displacement: float  # signed x displacement of the centre of mass
    exploded: str | None  # why the simulation was stopped as a numerical explosion, else None
    steps: int  # physics steps taken
    simulated_s: float
    wall_s: float  # wall-clock seconds spent in physics, building the world included
    start: np.ndarray  # (n, 2) joint positions as placed on the terrain
    frames: list[np.ndarray] = field(default_factory=list)  # joint positions every record_every steps
    frame_times: list[float] = field(default_factory=list)
    setup_s: float = 0.0  # of wall_s, the seconds spent building the world

    @property
    def step_us(self) -> float:
        """Wall-clock microseconds per physics step, world building excluded."""
        return 1e6 * (self.wall_s - self.setup_s) / max(1, self.steps)


def place_on_terrain(walker: Walker, terrain: Terrain, physics: PhysicsParams = DEFAULT_PHYSICS) -> np.ndarray:
    """Joint positions with the walker's width centred on x = 0 and its lowest joint
    resting on the ground (no joint below the surface, at least one touching it)."""
    points = walker.joints.copy()
    points[:, 0] -= 0.5 * (points[:, 0].min() + points[:, 0].max())
    lift = terrain.surface_height(points[:, 0]) + physics.joint_radius - points[:, 1]
    points[:, 1] += float(lift.max())
    return points


def _build_terrain(world: b2.world, terrain: Terrain, start: np.ndarray, physics: PhysicsParams) -> None:
    s = physics.scale
    left, right = float(start[:, 0].min()), float(start[:, 0].max())
    for shape in terrain.shapes(left - physics.joint_radius, right + physics.joint_radius):
        vertices = [(x * s, y * s) for x, y in shape.points]
        body = world.CreateStaticBody()
        geometry = b2.polygonShape(vertices=vertices) if shape.solid else b2.chainShape(vertices_chain=vertices)
        body.CreateFixture(shape=geometry, friction=physics.friction, restitution=physics.restitution)


def _positions(bodies: list[b2.body], scale: float) -> np.ndarray:
    return np.array([b.position.tuple for b in bodies]) / scale


def _velocities(bodies: list[b2.body], scale: float) -> np.ndarray:
    return np.array([b.linearVelocity.tuple for b in bodies]) / scale


def explosion_reason(walker: Walker, points: np.ndarray, velocities: np.ndarray, physics: PhysicsParams,
                     reach: np.ndarray, top: float, floor: float, t: float) -> str | None:
    """Why the walker counts as numerically exploded at time ``t`` (positions and
    velocities in program units), or None. ``reach`` is each spring's stretch reference."""
    if not np.isfinite(points).all():
        k = int(np.flatnonzero(~np.isfinite(points).all(axis=1))[0])
        return f"numerical explosion: joint {k} position became {points[k].tolist()} at t={t:.2f} s"
    speeds = np.hypot(*velocities.T)
    fastest = int(np.argmax(speeds))
    if not speeds[fastest] <= physics.max_joint_speed:
        return (f"numerical explosion: joint {fastest} moved at {speeds[fastest]:.4g} units/s at t={t:.2f} s "
                f"(limit max_joint_speed {physics.max_joint_speed:g})")
    lengths = np.hypot(*(points[walker.pairs[:, 1]] - points[walker.pairs[:, 0]]).T)
    stretch = lengths / reach
    worst = int(np.argmax(stretch))
    if stretch[worst] > physics.max_stretch:
        return (f"numerical explosion: spring {worst} stretched to {lengths[worst]:.4g} units (rest length "
                f"{walker.rest_length[worst]:.4g}) at t={t:.2f} s (limit max_stretch {physics.max_stretch:g})")
    if points[:, 1].max() > top + physics.max_rise:
        return f"numerical explosion: a joint was flung {physics.max_rise:g} units into the air at t={t:.2f} s"
    if points[:, 1].min() < floor - physics.max_sink:
        return f"numerical explosion: a joint fell through the terrain at t={t:.2f} s"
    return None


@dataclass
class BuiltWorld:
    """A Box2D world holding the terrain and the walker, ready to step."""

    world: b2.world
    bodies: list[b2.body]  # one per joint, in joint order
    springs: list[b2.distanceJoint]  # one per spring or muscle, in muscle order
    start: np.ndarray  # (n, 2) joint positions as placed, program units
    masses: np.ndarray  # (n,) joint masses


def build_world(walker: Walker, terrain: Terrain, physics: PhysicsParams = DEFAULT_PHYSICS) -> BuiltWorld:
    """Place the walker on the terrain and build both in a fresh Box2D world (no sleeping:
    a muscle changing its length does not wake a sleeping body)."""
    s = physics.scale
    start = place_on_terrain(walker, terrain, physics)
    world = b2.world(gravity=(0.0, -physics.gravity), doSleep=False)
    _build_terrain(world, terrain, start, physics)
    radius = physics.joint_radius * s
    masses = walker.joint_masses(physics)
    # one reused definition per kind: far cheaper than pybox2d's keyword constructors
    body_def = b2.bodyDef()
    body_def.type = b2.dynamicBody
    body_def.fixedRotation = True
    fixture = b2.fixtureDef(shape=b2.circleShape(radius=radius), friction=physics.friction,
                            restitution=physics.restitution)
    fixture.filter.groupIndex = -1  # joints of one walker never collide with each other
    area = math.pi * radius * radius
    bodies: list[b2.body] = []
    for (x, y), mass in zip(start.tolist(), masses.tolist()):
        body_def.position = (x * s, y * s)
        body = world.CreateBody(body_def)
        fixture.density = mass / area
        body.CreateFixture(fixture)
        bodies.append(body)
    spring_def = b2.distanceJointDef()
    spring_def.frequencyHz = physics.spring_frequency_hz
    spring_def.dampingRatio = physics.spring_damping_ratio
    spring_def.collideConnected = False
    springs = []
    for (i, j), rest in zip(walker.pairs.tolist(), walker.rest_length.tolist()):
        spring_def.bodyA = bodies[i]
        spring_def.bodyB = bodies[j]
        spring_def.length = rest * s  # anchors stay at the bodies' centres
        springs.append(world.CreateJoint(spring_def))
    return BuiltWorld(world, bodies, springs, start, masses)


def simulate(walker: Walker, terrain: Terrain, physics: PhysicsParams = DEFAULT_PHYSICS,
             record_every: int | None = None) -> SimulationResult:
    """Run the walker for ``physics.duration_s`` on ``terrain``; deterministic for the
    same walker, terrain and parameters. ``record_every`` keeps joint positions every
    that many steps (for rendering)."""
    started = time.perf_counter()
    s = physics.scale
    built = build_world(walker, terrain, physics)
    world, bodies, springs, start, masses = built.world, built.bodies, built.springs, built.start, built.masses

    active = np.flatnonzero(walker.active)
    muscles = [springs[k] for k in active.tolist()]
    rest = walker.rest_length[active] * s
    amplitude = walker.amplitude[active] * s
    phase = walker.phase[active]
    omega = 2.0 * math.pi / physics.muscle_period_s

    dt = physics.time_step
    total = physics.steps
    chunk = physics.check_every_steps
    step = world.Step
    vel_iters, pos_iters = physics.velocity_iterations, physics.position_iterations
    com_start = float(np.dot(masses, start[:, 0]) / masses.sum())
    top = float(start[:, 1].max())
    reach = np.maximum(walker.rest_length, 0.5 * max(walker.width, walker.height))
    floor = terrain.lowest_point()
    result = SimulationResult(displacement=0.0, exploded=None, steps=0, simulated_s=0.0, wall_s=0.0, start=start)
    result.setup_s = time.perf_counter() - started
    if record_every:
        result.frames.append(start.copy())
        result.frame_times.append(0.0)

    done = 0
    points = start
    while done < total:
        count = min(chunk, total - done)
        times = (np.arange(done + 1, done + count + 1) * dt)[:, None]
        if muscles:
            ramp = np.minimum(1.0, times / physics.muscle_ramp_s) if physics.muscle_ramp_s > 0 else 1.0
            table = (rest + amplitude * ramp * np.sin(omega * times + phase)).tolist()
        for k in range(count):
            if muscles:
                _consume(map(_set_length, muscles, table[k]))
            step(dt, vel_iters, pos_iters)
            if record_every and (done + k + 1) % record_every == 0:
                result.frames.append(_positions(bodies, s))
                result.frame_times.append((done + k + 1) * dt)
        done += count
        points = _positions(bodies, s)
        reason = explosion_reason(walker, points, _velocities(bodies, s), physics, reach, top, floor, done * dt)
        if reason is not None:
            result.exploded = reason
            break

    result.steps = done
    result.simulated_s = done * dt
    if result.exploded is None:
        result.displacement = float(np.dot(masses, points[:, 0]) / masses.sum()) - com_start
    result.wall_s = time.perf_counter() - started
    return result
