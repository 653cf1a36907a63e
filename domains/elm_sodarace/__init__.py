"""Sodarace for elm: walkers built by Python programs, simulated with Box2D on terrains.

Public API: ``SodaraceDomain``; ``walker_creator`` / ``query_cppn`` (the program interface,
``walk_creator`` inside programs); ``parse_walker`` / ``Walker`` (the trusted check);
``simulate``; ``Terrain``, ``register_terrain``, ``make_terrain`` and ``terrain_hookimpl``
(adding terrains); ``PhysicsParams`` and ``LIMITS``.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elm_sodarace.limits import LIMITS, WalkerLimits
    from elm_sodarace.physics_params import DEFAULT_PHYSICS, PhysicsParams
    from elm_sodarace.terrain_hooks import hookimpl as terrain_hookimpl
    from elm_sodarace.terrains import (Terrain, TerrainParams, TerrainShape, make_terrain, register_terrain,
                                       terrain_registry)
    from elm_sodarace.walk_creator import query_cppn, walker_creator
    from elm_sodarace.walker import InvalidWalker, Walker, parse_walker

# Names load on first use: the sandbox's forker imports ``elm_sodarace.harness`` and
# ``elm_sodarace.walk_creator`` only (not pydantic, pluggy or the terrains), so it stays small.
_WHERE = {
    "LIMITS": "limits", "WalkerLimits": "limits", "DEFAULT_PHYSICS": "physics_params",
    "PhysicsParams": "physics_params", "Terrain": "terrains", "TerrainParams": "terrains",
    "TerrainShape": "terrains", "make_terrain": "terrains", "register_terrain": "terrains",
    "terrain_registry": "terrains", "query_cppn": "walk_creator", "walker_creator": "walk_creator",
    "InvalidWalker": "walker", "Walker": "walker", "parse_walker": "walker",
}


def __getattr__(name: str) -> Any:
    if name == "terrain_hookimpl":
        return import_module("elm_sodarace.terrain_hooks").hookimpl
    if name in _WHERE:
        return getattr(import_module(f"elm_sodarace.{_WHERE[name]}"), name)
    if not name.startswith("_") and find_spec(f"elm_sodarace.{name}") is not None:  # a submodule
        return import_module(f"elm_sodarace.{name}")
    raise AttributeError(f"module 'elm_sodarace' has no attribute {name!r}")


__all__ = [
    "DEFAULT_PHYSICS", "InvalidWalker", "LIMITS", "PhysicsParams", "Terrain", "TerrainParams", "TerrainShape",
    "Walker", "WalkerLimits", "make_terrain", "parse_walker", "query_cppn", "register_terrain",
    "terrain_hookimpl", "terrain_registry", "walker_creator",
]
