"""Entry point of the map-elites plugin: registers the grid and CVT MAP-Elites archives."""

from __future__ import annotations

from collections.abc import Callable

from elm_mapelites.cvt import CVTMapElites
from elm_mapelites.grid import MapElites
from elmcore import hookimpl


@hookimpl
def elm_register_qd_algorithms(register: Callable[[type], None]) -> None:
    register(MapElites)
    register(CVTMapElites)
