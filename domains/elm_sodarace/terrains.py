"""Terrains: the static world a walker is simulated in, and the registry that names them.

A terrain is a set of static shapes in program units. The walker is always placed with
the middle of its width at x = 0, resting on the ground; obstacles (walls, a tunnel
ceiling) are placed relative to the walker's extent, so every walker starts the same
distance from them. Built-in terrains: flat, left-wall, right-wall, bumpy, tunnel.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pluggy
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from elm_sodarace import terrain_hooks

WORLD_HALF_LENGTH = 1000.0  # program units of ground either side of the start
EDGE_WALL_HEIGHT = 200.0


class TerrainParams(BaseModel):
    """Base of every terrain's parameters: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class TerrainShape:
    """A static shape in program units: a ground polyline (``solid`` False, any number of
    points) or a convex solid polygon of at most 8 points (``solid`` True)."""

    points: tuple[tuple[float, float], ...]
    solid: bool


def _box(x0: float, y0: float, x1: float, y1: float) -> TerrainShape:
    return TerrainShape(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), solid=True)


def _flat_ground() -> list[TerrainShape]:
    """Flat ground at y = 0, closed by tall walls at the world's edges."""
    half = WORLD_HALF_LENGTH
    return [TerrainShape(((-half, 0.0), (half, 0.0)), solid=False),
            _box(-half - 10.0, 0.0, -half, EDGE_WALL_HEIGHT), _box(half, 0.0, half + 10.0, EDGE_WALL_HEIGHT)]


class Terrain(ABC):
    """A terrain kind. Subclasses set ``name``, ``description`` and a ``Params`` model."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[TerrainParams]] = TerrainParams

    def __init__(self, params: TerrainParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    def surface_height(self, x: np.ndarray) -> np.ndarray:
        """Height of the ground (the walkable surface) at each x."""
        return np.zeros_like(np.asarray(x, dtype=float))

    @abstractmethod
    def shapes(self, walker_left: float, walker_right: float) -> list[TerrainShape]:
        """The static shapes, given the x extent of the walker as placed at the start."""

    def lowest_point(self) -> float:
        return 0.0


class Flat(Terrain):
    name = "flat"
    description = "flat ground: the terrain of the paper's Stage 1 runs"

    def shapes(self, walker_left: float, walker_right: float) -> list[TerrainShape]:
        return _flat_ground()


class WallParams(TerrainParams):
    gap: float = Field(2.0, ge=0, description="program units between the walker and the wall at the start")
    height: float = Field(100.0, gt=0, description=(
        "wall height: above the tallest allowed walker (60), so no walker climbs or topples over it"))
    thickness: float = Field(10.0, gt=0, description="wall thickness (solid, nothing tunnels through)")


class LeftWall(Terrain):
    name = "left-wall"
    description = "a tall wall just left of the walker: only walking right gets anywhere"
    Params = WallParams

    def shapes(self, walker_left: float, walker_right: float) -> list[TerrainShape]:
        p: WallParams = self.params  # type: ignore[assignment]
        face = walker_left - p.gap
        return _flat_ground() + [_box(face - p.thickness, 0.0, face, p.height)]


class RightWall(Terrain):
    name = "right-wall"
    description = "a tall wall just right of the walker: only walking left gets anywhere"
    Params = WallParams

    def shapes(self, walker_left: float, walker_right: float) -> list[TerrainShape]:
        p: WallParams = self.params  # type: ignore[assignment]
        face = walker_right + p.gap
        return _flat_ground() + [_box(face, 0.0, face + p.thickness, p.height)]


class BumpyParams(TerrainParams):
    amplitude: float = Field(1.5, ge=0, description=(
        "height of a crest above the mean ground (trough to crest is twice this): 15 % of a "
        "Square seed's height, enough to trip a gait tuned for flat ground"))
    wavelength: float = Field(15.0, gt=0, description=(
        "crest to crest: three crests under a 45-unit view of a 10-unit walker (Figure 16)"))
    extent: float = Field(250.0, gt=0, description=(
        "bumps reach this far either side of the start (flat beyond): further than any walker "
        "goes in the default 10 s, and short enough to build in about a millisecond"))
    points_per_wavelength: int = Field(24, ge=8, description="ground vertices per wavelength")


class Bumpy(Terrain):
    name = "bumpy"
    description = "wavy ground (a sine); the start is at a trough"
    Params = BumpyParams

    def surface_height(self, x: np.ndarray) -> np.ndarray:
        p: BumpyParams = self.params  # type: ignore[assignment]
        x = np.asarray(x, dtype=float)
        inside = np.abs(x) <= p.extent
        wave = p.amplitude * (1.0 - np.cos(2.0 * math.pi * x / p.wavelength))
        edge = p.amplitude * (1.0 - math.cos(2.0 * math.pi * p.extent / p.wavelength))
        return np.where(inside, wave, edge)

    def shapes(self, walker_left: float, walker_right: float) -> list[TerrainShape]:
        p: BumpyParams = self.params  # type: ignore[assignment]
        count = max(2, int(math.ceil(2 * p.extent / p.wavelength * p.points_per_wavelength)) + 1)
        xs = np.linspace(-p.extent, p.extent, count)
        edge = float(self.surface_height(np.array([p.extent]))[0])
        xs = np.concatenate(([-WORLD_HALF_LENGTH], xs, [WORLD_HALF_LENGTH]))
        ys = self.surface_height(xs)
        ground = TerrainShape(tuple(zip(xs.tolist(), ys.tolist())), solid=False)
        half = WORLD_HALF_LENGTH
        return [ground, _box(-half - 10.0, edge, -half, edge + EDGE_WALL_HEIGHT),
                _box(half, edge, half + 10.0, edge + EDGE_WALL_HEIGHT)]


class TunnelParams(TerrainParams):
    clearance: float = Field(6.0, gt=0, description=(
        "height of the ceiling above the ground: the 3-unit CPPN walkers pass, the 10-unit "
        "Square and Radial seeds do not"))
    gap: float = Field(2.0, ge=0, description="program units between the walker and the tunnel mouths at the start")
    thickness: float = Field(10.0, gt=0, description="ceiling thickness")


class Tunnel(Terrain):
    name = "tunnel"
    description = "a low ceiling starting just beyond the walker on both sides: only short walkers get far"
    Params = TunnelParams

    def shapes(self, walker_left: float, walker_right: float) -> list[TerrainShape]:
        p: TunnelParams = self.params  # type: ignore[assignment]
        low, high = p.clearance, p.clearance + p.thickness
        right = walker_right + p.gap
        left = walker_left - p.gap
        return _flat_ground() + [_box(right, low, WORLD_HALF_LENGTH, high),
                                 _box(-WORLD_HALF_LENGTH, low, left, high)]


BUILTIN_TERRAINS: tuple[type[Terrain], ...] = (Flat, LeftWall, RightWall, Bumpy, Tunnel)


class UnknownTerrain(ValueError):
    pass


class TerrainRegistry:
    """Terrain classes by name; duplicates and non-terrains are rejected with a message."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Terrain]] = {}
        self._owners: dict[str, str] = {}
        self.errors: list[str] = []

    def register(self, cls: Any, owner: str = "direct") -> None:
        if not (isinstance(cls, type) and issubclass(cls, Terrain)):
            raise TypeError(f"{cls!r} is not a subclass of elm_sodarace.Terrain")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"terrain class {cls.__name__} has no string attribute 'name'")
        if name in self._classes and self._classes[name] is not cls:
            raise ValueError(f"terrain {name!r} from {owner!r} rejected: {self._owners[name]!r} "
                             "already registers that name")
        self._classes[name] = cls
        self._owners[name] = owner

    def names(self) -> list[str]:
        return sorted(self._classes)

    def get(self, name: str) -> type[Terrain]:
        if name in self._classes:
            return self._classes[name]
        close = difflib.get_close_matches(str(name), self.names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownTerrain(f"unknown terrain {name!r}.{hint} Known terrains: {', '.join(self.names())}")

    def create(self, name: str, options: dict[str, Any] | None = None) -> Terrain:
        """An instance of terrain ``name`` with ``options`` checked against its Params."""
        cls = self.get(name)
        try:
            params = cls.Params(**(options or {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            accepted = ", ".join(cls.Params.model_fields) or "none"
            raise ValueError(f"terrain {name!r} option {key!r}: {err['msg']} (accepted options: {accepted})") from None
        return cls(params)


def load_plugins(registry: TerrainRegistry, plugins: Iterable[tuple[str, Any]] = (),
                 entry_point_group: str | None = terrain_hooks.ENTRY_POINT_GROUP) -> None:
    """Call every terrain plugin's hook (entry points of the group, then ``plugins``); a
    broken plugin is recorded in ``registry.errors`` and skipped."""
    pm = pluggy.PluginManager(terrain_hooks.PROJECT)
    pm.add_hookspecs(terrain_hooks)
    found: list[tuple[str, Any]] = []
    if entry_point_group:
        for ep in sorted(md.entry_points(group=entry_point_group), key=lambda e: e.name):
            try:
                found.append((ep.name, ep.load()))
            except Exception as exc:  # a broken plugin must not hide the built-in terrains
                registry.errors.append(f"terrain plugin {ep.name!r}: import failed: {type(exc).__name__}: {exc}")
    for name, plugin in [*found, *plugins]:
        try:
            pm.register(plugin, name=name)
            pm.check_pending()
        except Exception as exc:
            registry.errors.append(f"terrain plugin {name!r}: {type(exc).__name__}: {exc}")
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            continue
    for impl in pm.hook.elm_sodarace_register_terrains.get_hookimpls():
        owner = impl.plugin_name
        try:
            impl.function(register=lambda cls, _owner=owner: registry.register(cls, _owner))
        except Exception as exc:
            registry.errors.append(f"terrain plugin {owner!r}: {type(exc).__name__}: {exc}")


_REGISTRY: TerrainRegistry | None = None


def terrain_registry() -> TerrainRegistry:
    """The process-wide registry: built-in terrains plus those of installed plugins."""
    global _REGISTRY
    if _REGISTRY is None:
        registry = TerrainRegistry()
        for cls in BUILTIN_TERRAINS:
            registry.register(cls, "elm_sodarace")
        load_plugins(registry)
        _REGISTRY = registry
    return _REGISTRY


def register_terrain(cls: type[Terrain]) -> type[Terrain]:
    """Add a terrain from Python (scripts, notebooks); usable as a class decorator."""
    terrain_registry().register(cls, getattr(cls, "__module__", "direct"))
    return cls


def make_terrain(name: str, options: dict[str, Any] | None = None) -> Terrain:
    return terrain_registry().create(name, options)
