"""A toy domain whose trusted evaluate() leaks memory in the worker (as a native library
might), for the worker-recycling test. Importable by spawned workers."""

from __future__ import annotations

from elmcore import Dimension, Domain, Evaluation, PluginConfig, SandboxSpec

_HOARD: list[bytearray] = []


def harness(namespace):
    return namespace["value"]()


class LeakyDomain(Domain):
    name = "leaky"
    description = "returns value(); each evaluation keeps leak_mb of memory in the worker"

    class Config(PluginConfig):
        leak_mb: int = 40

    def seed_programs(self):
        return ["def value():\n    return 1\n"]

    def behaviour_space(self):
        return [Dimension("value", 0.0, 10.0, 10)]

    def sandbox_spec(self):
        return SandboxSpec(harness="leaky_domain:harness", timeout_s=3.0, memory_mb=128)

    def evaluate(self, output, program):
        _HOARD.append(bytearray(self.config.leak_mb * 1024 * 1024))  # zero-filled: resident
        return Evaluation.valid(float(output), (float(output),))
