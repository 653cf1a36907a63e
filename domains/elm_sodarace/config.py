"""The ``domain`` section of a Sodarace run config."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator, model_validator

from elmcore import PluginConfig
from elm_sodarace.physics_params import PhysicsParams
from elm_sodarace.seed_loading import SeedError, load_seed
from elm_sodarace.terrains import terrain_registry


class SodaraceConfig(PluginConfig):
    seed_program: str = Field("square", description=(
        "seed name (square, radial, cppn-fixed, cppn-mutable, wheel, galloper, runner) or a .py path"))
    terrain: str = Field("flat", description="terrain name: flat, left-wall, right-wall, bumpy, tunnel or a plugin's")
    terrain_options: dict[str, float] = Field(default_factory=dict, description=(
        "overrides of the terrain's parameters, e.g. {clearance: 5} for the tunnel"))
    physics: PhysicsParams = Field(default_factory=PhysicsParams, description=(
        "physics overrides, e.g. physics.duration_s; defaults in elm_sodarace/physics_params.py"))

    @field_validator("seed_program")
    @classmethod
    def _seed_exists(cls, seed_program: str, info: ValidationInfo) -> str:
        if (info.context or {}).get("worker"):  # checked by the engine; workers never read the seed
            return seed_program
        try:
            load_seed(seed_program)
        except SeedError as exc:
            raise ValueError(str(exc)) from None
        return seed_program

    @field_validator("terrain")
    @classmethod
    def _terrain_known(cls, terrain: str) -> str:
        terrain_registry().get(terrain)  # raises with "did you mean"
        return terrain

    @model_validator(mode="after")
    def _terrain_options_fit(self) -> "SodaraceConfig":
        terrain_registry().create(self.terrain, self.terrain_options)
        return self
