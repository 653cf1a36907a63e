"""The behaviour space: a walker's initial height, width and total mass (the paper's three
features), 12 bins each by default, so 1,728 niches. Values beyond a range go to its edge bin.

The ranges were chosen from the spread of the seeds and of their mutants (docs/sodarace.md):
the seeds sit in the lower-middle of each range, so mutants that shrink or grow a walker
still find bins on both sides rather than piling into an edge bin.
"""

from __future__ import annotations

from elmcore import Dimension
from elm_sodarace.physics_params import PhysicsParams
from elm_sodarace.walker import Walker

BINS = 12
HEIGHT = Dimension("height", 0.0, 24.0, BINS, "initial height of the walker (program units): top joint minus bottom joint")
WIDTH = Dimension("width", 0.0, 36.0, BINS, "initial width of the walker (program units): rightmost minus leftmost joint")
MASS = Dimension("mass", 0.0, 96.0, BINS, "total mass: 1 per joint plus 0.1 per program unit of spring")


def behaviour_space() -> list[Dimension]:
    return [HEIGHT, WIDTH, MASS]


def descriptors(walker: Walker, physics: PhysicsParams) -> tuple[float, float, float]:
    return walker.height, walker.width, walker.total_mass(physics)
