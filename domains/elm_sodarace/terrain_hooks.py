"""The hook a plugin implements to add Sodarace terrains.

Terrain plugins are found through their own entry-point group, ``elm_sodarace``, with
their own pluggy project name, so they never interfere with elm's core hooks::

    # pyproject.toml of a third-party package
    [project.entry-points.elm_sodarace]
    hills = "my_package.hills"

    # my_package/hills.py
    from elm_sodarace import Terrain, terrain_hookimpl

    @terrain_hookimpl
    def elm_sodarace_register_terrains(register):
        register(Hills)          # a subclass of elm_sodarace.Terrain
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "elm_sodarace"
ENTRY_POINT_GROUP = "elm_sodarace"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def elm_sodarace_register_terrains(register: Callable[[type], None]) -> None:
    """Register ``elm_sodarace.Terrain`` subclasses: ``register(MyTerrain)``; the class's
    ``name`` is what ``--terrain`` (the ``domain.terrain`` key) takes."""
