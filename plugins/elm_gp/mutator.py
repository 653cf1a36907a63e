"""The "gp" mutator: one AST point-mutation child per parent, with its diff and edit list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from elmcore import Child, Mutator, Parent
from elmcore import edited_child, failed_child
from elm_gp.ast_mutation import EDIT_KINDS, MutationFailed, MutationSettings, ParentCache, mutate_source
from elm_gp.config import PointMutationConfig

OPERATOR_NAME = "gp"


class GPConfig(PointMutationConfig):
    """Settings of the ``gp`` mutator (the ``mutator`` section of a run config)."""

    rate: float = Field(0.1, description="probability that each mutable site is edited (at least one always is)")
    max_expected_edits: float | None = Field(1.5, description="in large programs the per-site probability is "
                                             "lowered to max_expected_edits / number of sites, so children keep "
                                             "running; null applies rate as it is")
    kinds: list[str] = Field(list(EDIT_KINDS), description=f"edit kinds to use, from {', '.join(EDIT_KINDS)}")
    int_step: int = Field(2, description="an integer constant moves by 1..int_step, up or down")
    float_sigma: float = Field(0.5,
                               description="a float constant gets Gaussian noise of sd float_sigma * max(1, |value|)")
    builtin_rate: float = Field(0.05, description="probability that a replaced name becomes a builtin (abs, len, ...)")

    @field_validator("builtin_rate")
    @classmethod
    def _builtin_rate_is_probability(cls, builtin_rate: float) -> float:
        if not 0.0 <= builtin_rate <= 1.0:
            raise ValueError("builtin_rate must be in [0, 1]")
        return builtin_rate

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in EDIT_KINDS]
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty list from {', '.join(EDIT_KINDS)}; got {kinds}")
        return kinds

    @field_validator("int_step")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("max_expected_edits")
    @classmethod
    def _positive_edits(cls, value: float | None) -> float | None:
        if value is not None and not value > 0:
            raise ValueError("max_expected_edits must be positive")
        return value

    @field_validator("float_sigma")
    @classmethod
    def _positive_sigma(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("float_sigma must be positive")
        return value

    def settings(self) -> MutationSettings:
        return MutationSettings(rate=self.rate, max_expected_edits=self.max_expected_edits,
                                kinds=tuple(dict.fromkeys(self.kinds)), int_step=self.int_step,
                                float_sigma=self.float_sigma, builtin_rate=self.builtin_rate,
                                max_program_chars=self.max_program_chars)


class GPMutator(Mutator):
    name = OPERATOR_NAME
    description = "GP point mutation through the syntax tree: names, constants, operators, statements"
    Config = GPConfig
    config: GPConfig
    default = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache = ParentCache()  # parents repeat from batch to batch: their analysis is kept

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        settings = self.config.settings()
        return [self._mutate_one(parent, rng, settings) for parent in parents]

    def _mutate_one(self, parent: Parent, rng: np.random.Generator, settings: MutationSettings) -> Child:
        try:
            result = mutate_source(parent.program, rng, settings, self.cache)
        except MutationFailed as exc:
            return failed_child(parent, OPERATOR_NAME, str(exc), no_edit=exc.no_edit)
        child = edited_child(parent, result.program, OPERATOR_NAME, result.edits, self.context.file_name)
        child.normalised = result.normalised  # finding duplicates need not parse the child again
        return child
