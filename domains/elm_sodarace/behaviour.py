"""The behaviour space: a walker's initial height, width and total mass (the paper's three
features), 12 bins each by default, so 1,728 niches. Values beyond a range go to its edge bin.

The ranges were chosen from the spread of the seeds and of their mutants (docs/sodarace.md):
the seeds sit in the lower third of each range (walkers grow more easily than they shrink
below a few units), and at most 2 % of the valid mutants of a GP run fall beyond a range,
except the tallest Radial mutants (12 % of one run), which the top height bin collects.
"""

from __future__ import annotations

from elmcore import Dimension
from elm_sodarace.physics_params import PhysicsParams
from elm_sodarace.walker import Walker

BINS = 12
HEIGHT = Dimension("height", 0.0, 36.0, BINS,
                   "initial height of the walker (program units): top joint minus bottom joint",
                   more="taller", less="shorter")
WIDTH = Dimension("width", 0.0, 36.0, BINS,
                  "initial width of the walker (program units): rightmost minus leftmost joint",
                  more="wider", less="narrower")
MASS = Dimension("mass", 0.0, 120.0, BINS, "total mass: 1 per joint plus 0.1 per program unit of spring",
                 more="heavier", less="lighter")


def behaviour_space() -> list[Dimension]:
    return [HEIGHT, WIDTH, MASS]


def descriptors(walker: Walker, physics: PhysicsParams) -> tuple[float, float, float]:
    return walker.height, walker.width, walker.total_mass(physics)
