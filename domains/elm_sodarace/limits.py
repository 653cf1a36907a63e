"""The limits a walker must respect, shared by the program interface and the trusted check.

They keep walkers from breaking the physics (the paper's interface caps muscles per joint,
muscle strength and the distance between joints) and keep one evaluation cheap. They are
fixed, not configurable: the same numbers hold in the sandbox (where ``walker_creator``
clips amplitudes) and in the trusted ``evaluate``. A plain dataclass, not a pydantic model:
the sandbox's forker imports this module (through ``walk_creator``), and every module a
forker holds makes each of its forks dearer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


def _limit(default: T, description: str) -> T:
    """A limit with its reason (kept with the field, readable in ``dataclasses.fields``)."""
    return field(default=default, metadata={"description": description})  # type: ignore[no-any-return]


@dataclass(frozen=True, kw_only=True)
class WalkerLimits:
    min_joints: int = _limit(2, description="a walker needs two joints to have a spring")
    max_joints: int = _limit(100, description=(
        "four times the 24 joints of the CPPN seeds: room to grow, while one evaluation stays "
        "under about 0.2 s of physics"))
    min_muscles: int = _limit(1, description="at least one spring or muscle")
    max_muscles: int = _limit(400, description="four springs per joint at the joint cap")
    max_muscles_per_joint: int = _limit(16, description=(
        "springs meeting at one joint: a full 3x3 neighbourhood plus its second ring needs 16; "
        "more makes that joint so stiff that the 60 Hz solver rings"))
    min_joint_distance: float = _limit(0.5, description=(
        "program units between any two joints (and shortest spring): below this two joints are "
        "one point to the solver and springs between them have no direction"))
    max_extent: float = _limit(60.0, description=(
        "largest width or height of a walker in program units (6 m): six Square seeds across"))
    max_coordinate: float = _limit(1e6, description=(
        "largest absolute joint coordinate in program units: far beyond any walker's extent, "
        "and small enough that moving the walker to its start point loses no precision (near "
        "1e308 the sum of two coordinates is infinite)"))
    max_amplitude_fraction: float = _limit(0.3, description=(
        "a muscle's amplitude is clipped to this fraction of its rest length, so it swings "
        "between 0.7x and 1.3x its length: the cap on muscle strength. 0.3 x 7.07 = 2.12 is the "
        "amplitude Listing 2 of the paper shows for the Square seed's diagonal muscles"))
    hard_max_elements: int = _limit(10_000, description=(
        "walker_creator refuses to grow beyond this many joints or muscles, so a runaway loop in "
        "a program fails fast instead of filling memory"))

    def max_amplitude(self, rest_length: float) -> float:
        return self.max_amplitude_fraction * rest_length

    def clip_amplitude(self, amplitude: float, rest_length: float) -> float:
        """Clip |amplitude| to the cap for a muscle of this rest length, keeping its sign."""
        cap = self.max_amplitude(rest_length)
        return math.copysign(min(abs(amplitude), cap), amplitude)


LIMITS = WalkerLimits()
