"""Terrains build, block what they should, and can be added by plugins."""

from __future__ import annotations

import types

import pytest

from elm_seeds import read_seed
from elm_sodarace import Terrain, terrain_hookimpl
from elm_sodarace.physics_params import PhysicsParams
from elm_sodarace.simulation import simulate
from elm_sodarace.terrains import (
    BUILTIN_TERRAINS, Flat, TerrainParams, TerrainRegistry, TerrainShape, load_plugins, make_terrain,
    terrain_registry,
)
from elm_sodarace.walker import parse_walker

from sodarace_helpers import run_program

SHORT = PhysicsParams(duration_s=3.0)


@pytest.fixture(scope="module")
def walkers():
    return {name: parse_walker(run_program(read_seed("sodarace", name))) for name in ("square", "wheel", "cppn_fixed")}


def distance(walker, terrain: str) -> float:
    result = simulate(walker, make_terrain(terrain), SHORT)
    assert result.exploded is None
    return result.displacement


@pytest.mark.parametrize("name", [cls.name for cls in BUILTIN_TERRAINS])
def test_every_terrain_builds_and_simulates(walkers, name):
    assert name in terrain_registry().names()
    result = simulate(walkers["cppn_fixed"], make_terrain(name), PhysicsParams(duration_s=0.5))
    assert result.exploded is None and result.steps == 30


def test_left_wall_stops_a_walker_moving_left(walkers):
    assert distance(walkers["wheel"], "flat") < -20
    assert distance(walkers["wheel"], "left-wall") > -4  # the wall is 2 units away


def test_right_wall_stops_a_walker_moving_right(walkers):
    assert distance(walkers["square"], "flat") > 10
    assert distance(walkers["square"], "right-wall") < 4


def test_walls_do_not_hinder_walking_away(walkers):
    assert distance(walkers["wheel"], "right-wall") == distance(walkers["wheel"], "flat")


def test_tunnel_stops_tall_walkers_and_lets_short_ones_through(walkers):
    # the mouth is 2 units away; a squeezed Square gets a few units in, then sticks
    in_tunnel = distance(walkers["square"], "tunnel")
    assert in_tunnel < 8 and distance(walkers["square"], "flat") > 2 * in_tunnel
    assert distance(walkers["cppn_fixed"], "tunnel") == pytest.approx(distance(walkers["cppn_fixed"], "flat"))


def test_bumpy_surface_is_a_wave_starting_at_a_trough():
    bumpy = make_terrain("bumpy", {"amplitude": 2.0, "wavelength": 10.0})
    assert bumpy.surface_height([0.0, 5.0, 10.0]).tolist() == pytest.approx([0.0, 4.0, 0.0])
    ground = bumpy.shapes(-1, 1)[0]
    assert not ground.solid and len(ground.points) > 100


def test_terrain_options_change_the_geometry():
    low = make_terrain("tunnel", {"clearance": 3.0}).shapes(-5, 5)
    assert min(y for shape in low if shape.solid for _, y in shape.points if _ > 0 and y > 0) == 3.0


def test_unknown_terrain_suggests_a_name():
    with pytest.raises(ValueError, match=r"unknown terrain 'tunel'. Did you mean 'tunnel'\?"):
        make_terrain("tunel")


def test_bad_terrain_option_names_the_accepted_ones():
    with pytest.raises(ValueError, match="accepted options: gap, height, thickness"):
        make_terrain("left-wall", {"hieght": 3.0})


class Ramp(Terrain):
    name = "test-ramp"
    description = "a gentle slope"

    def surface_height(self, x):
        return 0.1 * abs(x)

    def shapes(self, walker_left, walker_right):
        return [TerrainShape(((-100.0, 10.0), (0.0, 0.0), (100.0, 10.0)), solid=False)]


def test_a_plugin_adds_a_terrain_through_the_hook(walkers):
    plugin = types.SimpleNamespace(
        elm_sodarace_register_terrains=terrain_hookimpl(lambda register: register(Ramp)))
    registry = TerrainRegistry()
    load_plugins(registry, plugins=[("ramps", plugin)], entry_point_group=None)
    assert registry.names() == ["test-ramp"] and not registry.errors
    result = simulate(walkers["cppn_fixed"], registry.create("test-ramp"), PhysicsParams(duration_s=0.5))
    assert result.exploded is None


def test_broken_plugins_are_recorded_not_fatal():
    duplicate = types.SimpleNamespace(
        elm_sodarace_register_terrains=terrain_hookimpl(lambda register: register(Flat)))
    typo = types.SimpleNamespace(elm_sodarace_register_terrain=terrain_hookimpl(lambda register: None))
    raises = types.SimpleNamespace(
        elm_sodarace_register_terrains=terrain_hookimpl(lambda register: register(object)))
    registry = TerrainRegistry()

    class OtherFlat(Flat):
        pass

    registry.register(OtherFlat, "first")
    load_plugins(registry, plugins=[("dup", duplicate), ("typo", typo), ("bad", raises)], entry_point_group=None)
    errors = " | ".join(registry.errors)
    assert "'first' already registers" in errors
    assert "'typo'" in errors and "'bad'" in errors
    assert registry.names() == ["flat"]


def test_terrain_params_reject_unknown_keys():
    with pytest.raises(ValueError):
        TerrainParams(anything=1)
