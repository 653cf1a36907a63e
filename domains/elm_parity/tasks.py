"""The unit tests of each task: inputs and expected outputs, shared by harness and domain.

Plain data only, so the sandbox harness and the trusted domain read the same cases.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """A function a program must define, and the cases it must pass."""

    function_name: str
    parameters: tuple[str, ...]
    inputs: tuple[tuple[int, ...], ...]
    expected: tuple[int, ...]


def _parity_task() -> Task:
    inputs = tuple(itertools.product((0, 1), repeat=4))
    return Task("parity", ("b1", "b2", "b3", "b4"), inputs, tuple(sum(bits) % 2 for bits in inputs))


def _quadratic_task() -> Task:
    # Every coefficient and x is non-zero and each pair differs in sign somewhere, so a flipped
    # sign on any term, a swapped coefficient or x*2 in place of x**2 fails at least one case.
    inputs = tuple(itertools.product((-1, 2), (-3, 1), (-4, 5), (-2, 3)))
    return Task("quadratic", ("a", "b", "c", "x"), inputs, tuple(a * x**2 + b * x + c for a, b, c, x in inputs))


PARITY = _parity_task()
QUADRATIC = _quadratic_task()
TASKS: dict[str, Task] = {PARITY.function_name: PARITY, QUADRATIC.function_name: QUADRATIC}
