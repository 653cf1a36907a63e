"""Sodarace for elm: walkers built by Python programs, simulated with Box2D on terrains.

Public API: ``SodaraceDomain``; ``walker_creator`` / ``query_cppn`` (the program interface,
``walk_creator`` inside programs); ``parse_walker`` / ``Walker`` (the trusted check);
``simulate``; ``Terrain``, ``register_terrain``, ``make_terrain`` and ``terrain_hookimpl``
(adding terrains); ``PhysicsParams`` and ``LIMITS``.
"""

from elm_sodarace.limits import LIMITS, WalkerLimits
from elm_sodarace.physics_params import DEFAULT_PHYSICS, PhysicsParams
from elm_sodarace.terrain_hooks import hookimpl as terrain_hookimpl
from elm_sodarace.terrains import Terrain, TerrainParams, TerrainShape, make_terrain, register_terrain, terrain_registry
from elm_sodarace.walk_creator import query_cppn, walker_creator
from elm_sodarace.walker import InvalidWalker, Walker, parse_walker

__all__ = [
    "DEFAULT_PHYSICS", "InvalidWalker", "LIMITS", "PhysicsParams", "Terrain", "TerrainParams", "TerrainShape",
    "Walker", "WalkerLimits", "make_terrain", "parse_walker", "query_cppn", "register_terrain",
    "terrain_hookimpl", "terrain_registry", "walker_creator",
]
