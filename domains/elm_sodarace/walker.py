"""The trusted form of a walker: the harness output checked against every limit.

``parse_walker`` takes the untrusted plain data a program produced (the dictionary of
the paper's Listing 2) and returns a ``Walker`` of numpy arrays, or raises
``InvalidWalker`` naming the broken limit and the offending value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from elm_sodarace.limits import LIMITS, WalkerLimits
from elm_sodarace.physics_params import PhysicsParams

WALKER_KEYS = ("joints", "muscles")
DISTANCE_KEYS = {"type"}
MUSCLE_KEYS = {"type", "amplitude", "phase"}


class InvalidWalker(ValueError):
    """The walker breaks a rule; the message says which rule and which value."""


@dataclass(frozen=True)
class Walker:
    """A checked walker in program units. Passive springs have ``active`` False and amplitude 0."""

    joints: np.ndarray  # (n, 2) float
    pairs: np.ndarray  # (m, 2) int, joint indices of each spring
    active: np.ndarray  # (m,) bool
    amplitude: np.ndarray  # (m,) float, already clipped
    phase: np.ndarray  # (m,) float, radians
    rest_length: np.ndarray  # (m,) float
    clipped: int = 0  # amplitudes that were over the cap

    @property
    def width(self) -> float:
        return float(np.ptp(self.joints[:, 0]))

    @property
    def height(self) -> float:
        return float(np.ptp(self.joints[:, 1]))

    def joint_masses(self, physics: PhysicsParams) -> np.ndarray:
        """Each joint's own mass plus half the mass of every spring that ends on it."""
        masses = np.full(len(self.joints), physics.joint_mass)
        half = 0.5 * physics.muscle_mass_per_length * self.rest_length
        np.add.at(masses, self.pairs[:, 0], half)
        np.add.at(masses, self.pairs[:, 1], half)
        return masses

    def total_mass(self, physics: PhysicsParams) -> float:
        return float(len(self.joints) * physics.joint_mass
                     + physics.muscle_mass_per_length * self.rest_length.sum())

    def to_dict(self) -> dict[str, Any]:
        """Back to the plain Listing 2 form (with clipped amplitudes)."""
        muscles: list[list[Any]] = []
        for (i, j), act, amp, ph in zip(self.pairs.tolist(), self.active.tolist(),
                                        self.amplitude.tolist(), self.phase.tolist()):
            props = {"type": "muscle", "amplitude": amp, "phase": ph} if act else {"type": "distance"}
            muscles.append([i, j, props])
        return {"joints": [tuple(p) for p in self.joints.tolist()], "muscles": muscles}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite_number(value: Any, what: str, bound: float | None = None, limit: str = "") -> float:
    """``value`` as a finite float; with ``bound``, also at most ``bound`` in absolute value."""
    if not _is_number(value):
        raise InvalidWalker(f"{what} is {type(value).__name__} {value!r:.40}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the largest float (10**400...)
        allowed = f"; at most {bound:g} allowed (limit {limit})" if bound is not None else ""
        raise InvalidWalker(f"{what} is an integer of {value.bit_length()} bits, too large for a number"
                            f"{allowed}") from None
    if not math.isfinite(number):
        raise InvalidWalker(f"{what} is {number}, not a finite number")
    if bound is not None and abs(number) > bound:
        raise InvalidWalker(f"{what} is {number:.4g}; at most {bound:g} in absolute value allowed (limit {limit})")
    return number


def _count(items: Any, what: str, low: int, high: int, limit: str) -> None:
    if not isinstance(items, list):
        raise InvalidWalker(f"walker {what} is {type(items).__name__}, not a list")
    if len(items) < low:
        raise InvalidWalker(f"walker has {len(items)} {what}; at least {low} needed (limit min_{limit})")
    if len(items) > high:
        raise InvalidWalker(f"walker has {len(items)} {what}; at most {high} allowed (limit max_{limit})")


def _parse_joints(raw: Any, limits: WalkerLimits) -> np.ndarray:
    _count(raw, "joints", limits.min_joints, limits.max_joints, "joints")
    points = np.empty((len(raw), 2))
    for k, joint in enumerate(raw):
        if not isinstance(joint, (list, tuple)) or len(joint) != 2:
            raise InvalidWalker(f"joint {k} is {joint!r:.60}, not an (x, y) pair")
        for axis, name in ((0, "x"), (1, "y")):
            points[k, axis] = _finite_number(joint[axis], f"joint {k} {name}", limits.max_coordinate, "max_coordinate")
    return points


def _parse_muscle(k: int, muscle: Any, n_joints: int) -> tuple[int, int, bool, float, float]:
    if not isinstance(muscle, (list, tuple)) or len(muscle) != 3:
        raise InvalidWalker(f"muscle {k} is {muscle!r:.60}, not [joint, joint, properties]")
    i, j, props = muscle
    for end, index in (("first", i), ("second", j)):
        if not isinstance(index, int) or isinstance(index, bool):
            raise InvalidWalker(f"muscle {k}: {end} joint is {index!r:.30}, not a joint index")
        if not 0 <= index < n_joints:
            raise InvalidWalker(f"muscle {k} refers to joint {index}, but the walker has joints 0..{n_joints - 1}")
    if i == j:
        raise InvalidWalker(f"muscle {k} connects joint {i} to itself")
    if not isinstance(props, dict):
        raise InvalidWalker(f"muscle {k}: properties are {type(props).__name__}, not a dict")
    kind = props.get("type")
    if kind == "distance":
        allowed = DISTANCE_KEYS
    elif kind == "muscle":
        allowed = MUSCLE_KEYS
    else:
        raise InvalidWalker(f"muscle {k}: type is {kind!r:.30}; use 'distance' or 'muscle'")
    keys = set(props)
    if keys != allowed:
        extra, missing = sorted(map(str, keys - allowed)), sorted(allowed - keys)
        detail = f"unexpected {extra}" if extra else f"missing {missing}"
        raise InvalidWalker(f"muscle {k} ({kind}): {detail} in its properties")
    if kind == "distance":
        return i, j, False, 0.0, 0.0
    amplitude = _finite_number(props["amplitude"], f"muscle {k} amplitude")
    phase = _finite_number(props["phase"], f"muscle {k} phase")
    return i, j, True, amplitude, phase


def _check_geometry(points: np.ndarray, pairs: np.ndarray, rest: np.ndarray, limits: WalkerLimits) -> None:
    for axis, name in ((0, "width"), (1, "height")):
        extent = float(np.ptp(points[:, axis]))
        if extent > limits.max_extent:
            raise InvalidWalker(f"walker {name} is {extent:.4g}; "
                                f"at most {limits.max_extent:g} allowed (limit max_extent)")
    short = np.flatnonzero(rest < limits.min_joint_distance)
    if short.size:
        k = int(short[0])
        i, j = pairs[k]
        raise InvalidWalker(f"muscle {k} (joints {i}-{j}) has length {rest[k]:.4g}; springs must be at least "
                            f"{limits.min_joint_distance:g} long (limit min_joint_distance)")
    gaps = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    gaps[np.diag_indices(len(points))] = np.inf
    a, b = np.unravel_index(int(np.argmin(gaps)), gaps.shape)
    if gaps[a, b] < limits.min_joint_distance:
        a, b = sorted((int(a), int(b)))
        raise InvalidWalker(f"joints {a} and {b} are {gaps[a, b]:.4g} apart; joints must be at least "
                            f"{limits.min_joint_distance:g} apart (limit min_joint_distance)")
    per_joint = np.bincount(pairs.ravel(), minlength=len(points))
    busiest = int(np.argmax(per_joint))
    if per_joint[busiest] > limits.max_muscles_per_joint:
        raise InvalidWalker(f"joint {busiest} has {per_joint[busiest]} springs; at most "
                            f"{limits.max_muscles_per_joint} allowed (limit max_muscles_per_joint)")


def parse_walker(data: Any, limits: WalkerLimits = LIMITS) -> Walker:
    """Check untrusted walker data against every limit; clip muscle amplitudes to the cap."""
    if not isinstance(data, dict):
        raise InvalidWalker(f"the walker is {type(data).__name__}, not a dict with joints and muscles")
    extra = sorted(str(k) for k in data if k not in WALKER_KEYS and k != "clipped")
    if extra:
        raise InvalidWalker(f"the walker has unexpected keys {extra}; only 'joints' and 'muscles' are used "
                            "(and 'clipped')")
    for key in WALKER_KEYS:
        if key not in data:
            raise InvalidWalker(f"the walker has no {key!r}")
    points = _parse_joints(data["joints"], limits)
    raw_muscles = data["muscles"]
    _count(raw_muscles, "muscles", limits.min_muscles, limits.max_muscles, "muscles")
    parsed = [_parse_muscle(k, m, len(points)) for k, m in enumerate(raw_muscles)]
    pairs = np.array([(i, j) for i, j, *_ in parsed], dtype=np.int64)
    active = np.array([p[2] for p in parsed], dtype=bool)
    amplitude = np.array([p[3] for p in parsed])
    phase = np.array([p[4] for p in parsed])
    rest = np.hypot(*(points[pairs[:, 1]] - points[pairs[:, 0]]).T)
    _check_geometry(points, pairs, rest, limits)
    cap = limits.max_amplitude_fraction * rest
    over = np.abs(amplitude) > cap
    amplitude = np.where(over, np.copysign(cap, amplitude), amplitude)
    reported = data.get("clipped", 0)  # clipped in the sandbox by walker_creator: a count, nothing more
    if isinstance(reported, bool) or not isinstance(reported, int) or not 0 <= reported <= len(parsed):
        raise InvalidWalker(f"the walker's 'clipped' must be a count of its muscles, got {str(reported)[:40]}")
    return Walker(joints=points, pairs=pairs, active=active, amplitude=amplitude, phase=phase,
                  rest_length=rest, clipped=int(over.sum()) + reported)
