"""Resolves the behaviour space an archive uses: the domain's dimensions with the
config's overrides of ranges and bins applied, checked against each other."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from elmcore import ConfigError
from elmcore import Dimension


def describe(space: Sequence[Dimension]) -> str:
    return ", ".join(d.name for d in space)


def resolve_dimensions(space: Sequence[Dimension], algorithm: str,
                       ranges: Sequence[tuple[float, float]] | None = None,
                       bins: int | Sequence[int] | None = None) -> list[Dimension]:
    """Apply ``ranges`` (one [low, high] per dimension) and ``bins`` (one int for all, or one
    per dimension) to the domain's ``space``; mismatched lengths are a ``ConfigError``
    (a ``ValueError`` the CLI reports as one line)."""
    space = list(space)
    if not space:
        raise ConfigError(f"{algorithm}: the behaviour space has no dimensions; "
                          f"the domain must define at least one")
    for dim in space:
        if not isinstance(dim, Dimension):
            raise ConfigError(f"{algorithm}: the behaviour space must hold elmcore.Dimension objects, "
                              f"got {type(dim).__name__}")
    if ranges is not None:
        if len(ranges) != len(space):
            raise ConfigError(f"{algorithm} config: ranges has {len(ranges)} entries but the behaviour space "
                              f"has {len(space)} dimensions ({describe(space)}); give one [low, high] "
                              f"per dimension")
        space = [dataclasses.replace(d, low=float(lo), high=float(hi)) for d, (lo, hi) in zip(space, ranges)]
    if bins is not None:
        per_dim = [bins] * len(space) if isinstance(bins, int) else list(bins)
        if len(per_dim) != len(space):
            raise ConfigError(f"{algorithm} config: bins has {len(per_dim)} entries but the behaviour space "
                              f"has {len(space)} dimensions ({describe(space)}); give one int for all "
                              f"dimensions or one per dimension")
        space = [dataclasses.replace(d, bins=int(b)) for d, b in zip(space, per_dim)]
    for dim in space:
        if not (math.isfinite(dim.low) and math.isfinite(dim.high)):
            raise ConfigError(f"{algorithm}: dimension {dim.name!r} has a non-finite range "
                              f"[{dim.low}, {dim.high}]; set finite ranges in the config")
    return space
