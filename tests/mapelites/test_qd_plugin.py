"""Both archives are found through the installed entry point, as the engine finds them."""

from __future__ import annotations

import numpy as np

from elm_mapelites import CVTMapElites, MapElites
from elmcore.interfaces import QDAlgorithm
from elmcore.plugins import PluginManager
from elmcore.types import Dimension


def test_registered_through_the_plugin_manager(tmp_path):
    pm = PluginManager()
    assert pm.get("qd", "map-elites") is MapElites
    assert pm.get("qd", "cvt-map-elites") is CVTMapElites
    info = next(p for p in pm.plugins() if p.name == "map-elites")
    assert info.errors == [] and info.registered["qd"] == ["map-elites", "cvt-map-elites"]


def test_constructed_the_way_the_engine_does(tmp_path):
    space = [Dimension("a", 0.0, 1.0, 3), Dimension("b", 0.0, 2.0, 3)]
    for name, options in [("map-elites", {}), ("cvt-map-elites", {"centroids": 9, "samples": 900,
                                                                  "cache_dir": str(tmp_path)})]:
        cls = PluginManager().get("qd", name)
        archive = cls(cls.Config(**options), space=space, seed=5)
        assert isinstance(archive, QDAlgorithm) and archive.num_niches == 9
        assert [d.name for d in archive.dimensions] == ["a", "b"]
        results = archive.insert([1], ["def f(): pass"], [1.0], [(0.5, 1.0)])
        assert results[0].added
        assert archive.select(2, np.random.default_rng(0))[0].program == "def f(): pass"
