"""The "nudge" mutator: token edits of numeric literals and arithmetic operators."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field

from elmcore import Child, Mutator, Parent, PluginConfig
from elmcore import edited_child, failed_child
from elm_example_plugin.token_edits import EditFailed, EditSettings, edit_source

OPERATOR_NAME = "nudge"


class NudgeConfig(PluginConfig):
    """The ``mutator`` section of a run config when ``name: nudge``."""

    max_edits: int = Field(2, ge=1, le=20, description="each child gets between 1 and max_edits token edits")
    sigma: float = Field(0.3, gt=0, description="a float literal moves by Gaussian noise of sd sigma * max(1, |value|)")
    int_step: int = Field(1, ge=1, description="an int literal moves by 1..int_step, up or down")
    operator_rate: float = Field(0.2, ge=0, le=1,
                                 description="probability that an edit swaps + - * / instead of a literal")
    digits: int = Field(4, ge=1, le=17, description="significant digits of a nudged float")

    def settings(self) -> EditSettings:
        return EditSettings(max_edits=self.max_edits, sigma=self.sigma, int_step=self.int_step,
                            operator_rate=self.operator_rate, digits=self.digits)


class NudgeMutator(Mutator):
    name = OPERATOR_NAME
    description = "Token edits: nudge numeric literals, swap + - * / (example plugin)"
    Config = NudgeConfig
    config: NudgeConfig

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        settings = self.config.settings()
        return [self._mutate_one(parent, rng, settings) for parent in parents]

    def _mutate_one(self, parent: Parent, rng: np.random.Generator, settings: EditSettings) -> Child:
        try:
            result = edit_source(parent.program, rng, settings)
        except EditFailed as exc:
            return failed_child(parent, OPERATOR_NAME, str(exc), no_edit=exc.no_edit)
        return edited_child(parent, result.program, OPERATOR_NAME, result.edits, self.context.file_name)
