"""The curves a run can fit. Trusted code only: the harness never needs the target."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from elm_example_plugin.samples import SAMPLE_XS


@dataclass(frozen=True)
class Target:
    name: str
    formula: str
    function: Callable[[float], float]

    def values(self) -> tuple[float, ...]:
        """The target at every sample point."""
        return tuple(self.function(x) for x in SAMPLE_XS)


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target("wave", "sin(x) + 0.5*x", lambda x: math.sin(x) + 0.5 * x),
        Target("cubic", "0.1*x**3 - x + 1", lambda x: 0.1 * x**3 - x + 1.0),
        Target("bump", "2*exp(-x**2)", lambda x: 2.0 * math.exp(-x * x)),
    )
}
