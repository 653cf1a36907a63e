"""Quality-diversity archives for elm: MAP-Elites on a grid and CVT-MAP-Elites."""

from elm_mapelites.archive import ArchiveConfig, NicheArchive
from elm_mapelites.cvt import CVTConfig, CVTMapElites
from elm_mapelites.grid import GridConfig, MapElites

__all__ = ["ArchiveConfig", "CVTConfig", "CVTMapElites", "GridConfig", "MapElites", "NicheArchive"]
