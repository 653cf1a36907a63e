"""Settings both GP mutators share: a per-site mutation rate and a cap on parent size."""

from __future__ import annotations

from pydantic import Field, field_validator

from elmcore import PluginConfig


class PointMutationConfig(PluginConfig):
    """Base of the ``gp`` and ``gp-tree`` configs (the ``mutator`` section of a run config)."""

    rate: float = Field(0.1, description="probability that each site is mutated (at least one always is)")
    max_program_chars: int = Field(100_000, description="parents longer than this are not mutated")

    @field_validator("rate")
    @classmethod
    def _rate_is_probability(cls, rate: float) -> float:
        if not 0.0 < rate <= 1.0:
            raise ValueError("rate must be in (0, 1]")
        return rate

    @field_validator("max_program_chars")
    @classmethod
    def _positive_size(cls, value: int) -> int:
        if value < 1:
            raise ValueError("max_program_chars must be at least 1")
        return value
