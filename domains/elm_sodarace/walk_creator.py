"""The interface Sodarace programs build walkers with: ``from walk_creator import walker_creator``.

Inside the sandbox this module is importable as ``walk_creator``. A program adds joints
and muscles and returns ``wc.get_walker()``, the plain dictionary of the paper's
Listing 2. The interface only records what the program asks for (and clips muscle
amplitudes, as the paper's interface did); whether the walker respects the limits is
judged afterwards by the trusted domain code, which makes a bad walker INVALID.

``add_muscle`` accepts every form the paper's programs use::

    wc.add_muscle(j0, j1)                          # passive spring, pulls towards its rest length
    wc.add_muscle(j0, j1, False, 5.0, 0.0)         # active muscle: amplitude 5, phase 0 rad
    wc.add_muscle(j0, j1, True, 2.0)               # active, phase defaults to 0.0
    wc.add_muscle(j0, j1, 0.0)                     # active, amplitude defaults to the cap

The third argument (the flag) is accepted and ignored: the paper's seeds pass False for
muscles that its Listing 2 shows as active, so it cannot mean "active", and nothing else
is known about it. Any argument after the two joints makes the muscle active.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable
from typing import Any

from elm_sodarace.limits import LIMITS

__all__ = ["Joint", "walker_creator", "query_cppn"]

_NOT_GIVEN: Any = object()
DEFAULT_PHASE = 0.0


class Joint(int):
    """Handle of a joint: its index in the walker (so it is an int), with its position."""

    x: float
    y: float

    def __new__(cls, index: int, x: float, y: float) -> "Joint":
        handle = super().__new__(cls, index)
        handle.x = x
        handle.y = y
        return handle

    def __repr__(self) -> str:
        return f"Joint({int(self)}, x={self.x!r}, y={self.y!r})"


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    return float(value)


def _joint_index(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a joint returned by add_joint, got a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be a joint returned by add_joint (or its index), "
                        f"got {type(value).__name__}") from None


def _is_amplitude(flag: Any) -> bool:
    """Whether a third argument can only be an amplitude: a number other than the flag values
    programs pass (True, False, 0, 1)."""
    return (isinstance(flag, (int, float)) and not isinstance(flag, bool) and flag not in (0, 1)
            and math.isfinite(flag))


class walker_creator:  # noqa: N801 - the paper's programs use this exact name
    """Collects joints and muscles; ``get_walker()`` returns the walker dictionary."""

    def __init__(self) -> None:
        self._joints: list[tuple[float, float]] = []
        self._muscles: list[tuple[int, int, bool, float | None, float]] = []

    def add_joint(self, x: float, y: float) -> Joint:
        """Add a point mass at (x, y) in program units; returns its handle."""
        if len(self._joints) >= LIMITS.hard_max_elements:
            raise ValueError(f"add_joint: more than {LIMITS.hard_max_elements} joints; "
                             f"a walker may have at most {LIMITS.max_joints}")
        point = (_number(x, "add_joint x"), _number(y, "add_joint y"))
        self._joints.append(point)
        return Joint(len(self._joints) - 1, *point)

    def add_muscle(self, j0: Any, j1: Any, flag: Any = _NOT_GIVEN, amplitude: Any = None,
                   phase: Any = None) -> int:
        """Connect two joints: a passive spring when only the joints are given, else an
        active muscle (``flag`` is ignored; amplitude in program units, phase in radians).
        ``add_muscle(j0, j1, 2.5, 1.0)``, whose third argument can only be an amplitude, is
        read as amplitude 2.5 and phase 1.0 (another implementation's form).
        Returns the muscle's index."""
        if len(self._muscles) >= LIMITS.hard_max_elements:
            raise ValueError(f"add_muscle: more than {LIMITS.hard_max_elements} muscles; "
                             f"a walker may have at most {LIMITS.max_muscles}")
        i = _joint_index(j0, "add_muscle j0")
        j = _joint_index(j1, "add_muscle j1")
        if _is_amplitude(flag) and amplitude is not None and phase is None:
            # add_muscle(j0, j1, amplitude, phase): another implementation's form, without the flag
            flag, amplitude, phase = _NOT_GIVEN, flag, amplitude
        active = flag is not _NOT_GIVEN or amplitude is not None or phase is not None
        amp = None if amplitude is None else _number(amplitude, "add_muscle amplitude")
        ph = DEFAULT_PHASE if phase is None else _number(phase, "add_muscle phase")
        self._muscles.append((i, j, active, amp, ph))
        return len(self._muscles) - 1

    def _rest_length(self, i: int, j: int) -> float | None:
        n = len(self._joints)
        if not (0 <= i < n and 0 <= j < n):
            return None
        (x0, y0), (x1, y1) = self._joints[i], self._joints[j]
        return math.hypot(x1 - x0, y1 - y0)

    def get_walker(self) -> dict[str, Any]:
        """The walker as plain data (Listing 2): joints as (x, y); muscles as [i, j, props]
        with props {"type": "distance"} or {"type": "muscle", "amplitude": a, "phase": p}.
        A missing amplitude becomes the cap; a finite amplitude is clipped to the cap, and
        then the key "clipped" counts the amplitudes that were over it."""
        muscles: list[list[Any]] = []
        clipped = 0
        for i, j, active, amp, phase in self._muscles:
            if not active:
                muscles.append([i, j, {"type": "distance"}])
                continue
            rest = self._rest_length(i, j)
            if amp is None:
                amp = LIMITS.max_amplitude(rest) if rest is not None and math.isfinite(rest) else 0.0
            elif rest is not None and math.isfinite(rest) and math.isfinite(amp):
                capped = LIMITS.clip_amplitude(amp, rest)
                clipped += capped != amp
                amp = capped
            muscles.append([i, j, {"type": "muscle", "amplitude": amp, "phase": phase}])
        walker: dict[str, Any] = {"joints": list(self._joints), "muscles": muscles}
        if clipped:
            walker["clipped"] = clipped  # how many amplitudes were over the cap, for the record
        return walker


def query_cppn(wc: walker_creator, x_count: int, y_count: int, spacing: float,
               connect: Callable[[float, float, float, float], Any],
               amplitude: Callable[[float, float, float, float], float],
               phase: Callable[[float, float, float, float], float]) -> dict[tuple[int, int], Joint]:
    """Lay out an ``x_count`` x ``y_count`` grid of joints ``spacing`` apart (centred on
    x = 0, bottom row at y = 0) and, for every pair of joints with ``connect(x1, y1, x2, y2)``
    true, add a muscle with ``amplitude(...)`` and ``phase(...)`` of the same coordinates.
    Returns the joints keyed by (column, row)."""
    joints: dict[tuple[int, int], Joint] = {}
    for col in range(x_count):
        for row in range(y_count):
            joints[(col, row)] = wc.add_joint((col - (x_count - 1) / 2) * spacing, row * spacing)
    handles = list(joints.values())
    for a, first in enumerate(handles):
        for second in handles[a + 1:]:
            x1, y1, x2, y2 = first.x, first.y, second.x, second.y
            if connect(x1, y1, x2, y2):
                wc.add_muscle(first, second, False, amplitude(x1, y1, x2, y2), phase(x1, y1, x2, y2))
    return joints
