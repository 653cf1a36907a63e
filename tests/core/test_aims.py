"""Children aimed at a place in the map: the words for a move, the target a QD archive
proposes for a parent, and a domain without words refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

from elm_mapelites.grid import MapElites
from elm_sodarace.behaviour import behaviour_space
from elmcore import Child, Mutator, hookimpl
from elmcore.aims import aim_for, describe_move, moved_towards
from elmcore.config import ConfigError, build_config
from elmcore.engine import Engine, build_components
from elmcore.plugins import PluginManager, get_plugin_manager
from elmcore.store import RunStore
from elmcore.types import Dimension
from toys import NumberDomain, ToyPlugin, store_rows

SPACE = behaviour_space()  # Sodarace: height 0-36, width 0-36, mass 0-120, 12 bins each


def test_the_message_names_each_dimension_that_moves():
    assert describe_move(SPACE, "walker", (10, 10, 50), (14, 10, 30)) == "Make the walker taller and lighter."
    assert describe_move(SPACE, "walker", (10, 10, 50), (4, 20, 60)) == \
        "Make the walker shorter, wider and heavier."
    assert describe_move(SPACE, "walker", (10, 10, 50), (11, 10, 52)) is None  # under half a bin (1.5, 5): no word
    assert describe_move(SPACE, "walker", (10, 10, 50), (10, 8.4, 50)) == "Make the walker narrower."
    nameless = [Dimension("x", 0, 1, 10)]
    assert describe_move(nameless, "program", (0.1,), (0.9,)) is None


def test_an_aim_and_whether_a_child_hit_it():
    aim = aim_for(SPACE, "walker", (10, 10, 50), (16.5, 10.5, 35.0))
    assert aim.message == "Make the walker taller and lighter." and aim.target == (16.5, 10.5, 35.0)
    assert moved_towards(aim, (13, 10, 45), SPACE)  # closer in bins
    assert not moved_towards(aim, (10, 10, 60), SPACE)  # away
    assert aim_for(SPACE, "walker", (10, 10, 50), None) is None


def grid(bins=4):
    return MapElites({}, [Dimension("a", 0.0, 4.0, bins, more="up", less="down"),
                          Dimension("b", 0.0, 4.0, bins, more="right", less="left")])


def put(archive, cells_fitness):
    ids = list(range(len(cells_fitness)))
    archive.insert(ids, [f"p{i}" for i in ids], [f for _, f in cells_fitness],
                   [(c[0] + 0.5, c[1] + 0.5) for c, _ in cells_fitness])


def test_the_target_is_an_empty_niche_next_to_the_parent():
    archive = grid()
    put(archive, [((1, 1), 5.0), ((1, 2), 5.0), ((2, 1), 5.0)])
    parent = archive.elite_at(archive.niche_of((1.5, 1.5)))
    targets = {archive.target(parent, np.random.default_rng(k)) for k in range(40)}
    # the six nearest niches are (0,1), (1,0), (2,1), (1,2) at one step and two diagonal ones;
    # (2,1) and (1,2) are filled, so targets are empty niches among them
    assert targets and all(archive._occupied[archive.niche_of(t)] == False for t in targets)  # noqa: E712
    assert {(0.5, 1.5), (1.5, 0.5)} <= targets
    assert all(abs(t[0] - 1.5) <= 1 and abs(t[1] - 1.5) <= 1 for t in targets)


def test_with_every_neighbour_filled_the_weakest_is_the_target():
    archive = MapElites({}, [Dimension("a", 0.0, 3.0, 3, more="up", less="down"),
                             Dimension("b", 0.0, 3.0, 3, more="right", less="left")])
    cells = [(a, b) for a in range(3) for b in range(3)]
    archive.insert(list(range(9)), [f"p{i}" for i in range(9)], [1.0 if c == (2, 1) else 10.0 for c in cells],
                   [(a + 0.5, b + 0.5) for a, b in cells])
    parent = archive.elite_at(archive.niche_of((1.5, 1.5)))
    assert archive.target(parent, np.random.default_rng(0)) == (2.5, 1.5)  # the weak cell (2, 1)


def test_direct_with_a_domain_without_words_is_one_line():
    pm = PluginManager(plugins=[("toys", ToyPlugin())]).load()
    pm_all = get_plugin_manager()
    config = build_config(pm_all, shortcuts={"domain.name": "parity", "mutator.name": "diff"},
                          overrides=["mutator.direct=true"])
    with pytest.raises(ConfigError) as caught:
        build_components(config, pm_all)
    assert "no words for its behaviour dimension" in str(caught.value) and "\n" not in str(caught.value)
    assert "mutator.direct" in str(caught.value)
    assert pm is not None


class Wordy(NumberDomain):
    """The toy domain with words for its one dimension."""

    name = "wordy"

    def behaviour_space(self):
        return [Dimension("value", -20.0, 20.0, 40, more="larger", less="smaller")]


class Aimed(Mutator):
    """Writes each child at its parent's target when it has one (a perfect directed mutator)."""

    name = "aimed"
    directed = True

    def mutate(self, parents, rng):
        out = []
        for p in parents:
            value = p.aim.target[0] if p.aim else float(rng.integers(-20, 20))
            out.append(Child(f"def value():\n    return {value}\n", p.id, self.name,
                             message=p.aim.message if p.aim else "", meta={"aimed": p.aim is not None}))
        return out


class AimPlugin:
    @hookimpl
    def elm_register_domains(self, register):
        register(Wordy)

    @hookimpl
    def elm_register_mutators(self, register):
        register(Aimed)


def test_a_directed_mutator_gets_each_parent_with_a_target_near_it(tmp_path):
    pm = PluginManager(plugins=[("toys", ToyPlugin()), ("aims", AimPlugin())]).load()
    config = build_config(pm, shortcuts={"domain.name": "wordy", "mutator.name": "aimed"},
                          overrides=["run.evals=30", "run.batch_size=5"])
    Engine.start(tmp_path / "r", config, pm).run()
    store = RunStore.open(tmp_path / "r", readonly=True)
    children = list(store.iter_candidates("parent_id IS NOT NULL"))
    evaluated = [c for c in children if c.outcome != "duplicate"]
    aimed = [c for c in evaluated if c.message and c.outcome == "valid"]
    assert len(aimed) > len(evaluated) // 2  # a parent gets none only when no move is worth a word
    for child in aimed:
        parent = store.get(child.parent_id)
        assert child.message in ("Make the program larger.", "Make the program smaller.")
        assert abs(child.descriptors[0] - parent.descriptors[0]) <= 3.5  # a niche among the six nearest
    # every niche it aimed at was reached: the map fills outwards from the seed without gaps
    filled = sorted(niche for niche in store.elite_ids())
    assert filled == list(range(filled[0], filled[-1] + 1)) and len(filled) >= 20
    Engine.start(tmp_path / "again", config, pm).run()
    assert store_rows(tmp_path / "again") == store_rows(tmp_path / "r")
