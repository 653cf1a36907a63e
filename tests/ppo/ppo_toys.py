"""A toy domain with two conditions for the learner tests: a program's value() is a digit;
under "high" its fitness is the digit, under "low" nine minus the digit. Importable by the
spawned evaluation workers (pytest puts this folder on sys.path)."""

from __future__ import annotations

import numpy as np

from elmcore import Dimension, Domain, Evaluation, Outcome, PluginConfig, SandboxSpec, hookimpl


def harness(namespace):
    return namespace["value"]()


class DigitDomain(Domain):
    name = "digit"
    description = "toy domain with conditions low and high"

    class Config(PluginConfig):
        condition: str = "high"

    def seed_programs(self):
        return ["def value():\n    return 5\n"]

    def behaviour_space(self):
        return [Dimension("value", 0.0, 9.0, 10)]

    def sandbox_spec(self):
        return SandboxSpec(harness="ppo_toys:harness", timeout_s=2.0, memory_mb=256)

    def conditions(self):
        return ["low", "high"]

    def condition_options(self, condition):
        return {"condition": condition}

    def evaluate(self, output, program):
        if isinstance(output, bool) or not isinstance(output, int) or not 0 <= output <= 9:
            return Evaluation.failed(Outcome.INVALID, f"value() returned {output!r}, not a digit")
        fitness = output if self.config.condition == "high" else 9 - output
        return Evaluation.valid(float(fitness), (float(output),), digit=output)


class PicturedDigitDomain(DigitDomain):
    """The same, with pictures of its conditions (for the vision TEN)."""

    name = "pictured-digit"

    def draw_condition(self, condition, size=64):
        image = np.zeros((size, size), dtype=np.float32)
        image[: size // 2 if condition == "high" else size] = 1.0
        return image


class ToyPlugin:
    @hookimpl
    def elm_register_domains(self, register):
        register(DigitDomain)
        register(PicturedDigitDomain)


toy_plugin = ToyPlugin()
