"""Islands (run.islands): migration moves the best elites along the ring as configured, each
batch competes in its own island, the run reports the union, and resume rebuilds it all."""

from __future__ import annotations

import json
import sqlite3

import pytest

from elmcore.config import build_config
from elmcore.engine import Engine
from elmcore.islands import RunArchive
from elmcore.plugins import PluginManager
from elmcore.types import Dimension
from toys import ToyPlugin, resumed_rows, store_rows as rows


@pytest.fixture(scope="module")
def pm():
    return PluginManager(plugins=[("toys", ToyPlugin())]).load()


def island_config(pm, **run):
    sets = [f"run.{k}={v}" for k, v in {"evals": 301, "batch_size": 25, "islands": 3, "migrate_every": 2,
                                          **run}.items()]
    return build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift"}, overrides=sets)


def test_migration_sends_each_islands_best_to_the_next(pm):
    config = build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift"})
    space = [Dimension("value", -20.0, 20.0, 40)]
    islands = RunArchive(lambda: config.qd.build(space=space, seed=0), count=3, migrate_every=2, migrants=2)
    for island, (ids, values) in enumerate([((1, 2, 3), (1.0, 2.0, 3.0)), ((4,), (10.0,)), ((), ())]):
        islands.use(island)
        if ids:
            islands.insert(list(ids), ["p"] * len(ids), [-abs(v - 7) for v in values], [(v,) for v in values])
    assert not islands.due(0) and islands.due(1)
    assert islands.migrate() == 3  # island 0 sends its best two (3.0, 2.0) to 1; island 1 sends 10.0 to 2
    held = [sorted(e.candidate_id for e in island.elites()) for island in islands.islands]
    assert held == [[1, 2, 3], [2, 3, 4], [4]]
    assert islands.stats().filled == 4  # the union holds every candidate once


def test_an_islands_run_logs_each_island_and_differs_from_one_archive(pm, tmp_path):
    engine = Engine.start(tmp_path / "i", island_config(pm), pm)
    engine.run()
    engine.close()
    db = sqlite3.connect(tmp_path / "i" / "store.sqlite")
    stats = [json.loads(s) for (s,) in db.execute("SELECT stats FROM batches ORDER BY batch")]
    db.close()
    assert all(len(s["islands"]) == 3 for s in stats)
    assert ["migrated" in s for s in stats[:4]] == [False, True, False, True]  # after batches 1 and 3
    assert all(s["filled"] >= max(i["filled"] for i in s["islands"]) for s in stats)  # the union
    assert all(i["filled"] > 0 for i in stats[0]["islands"])  # the seed entered every island
    single = Engine.start(tmp_path / "one", island_config(pm, islands=1), pm)
    single.run()
    single.close()
    assert rows(tmp_path / "one") != rows(tmp_path / "i")


@pytest.mark.parametrize("overlap", [True, False])
def test_islands_resume_equals_an_uninterrupted_run(pm, tmp_path, overlap):
    resumed, whole = resumed_rows(pm, island_config, tmp_path, 126, overlap=overlap)  # stops after a migration
    assert resumed == whole
