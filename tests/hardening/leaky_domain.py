"""Toy domains whose trusted evaluate() misbehaves in the worker as a native library might:
one leaks memory (the worker-recycling test), one ends the worker's process (the crash
report). Importable by spawned workers."""

from __future__ import annotations

import os

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


class CrashingDomain(LeakyDomain):
    name = "crashing"
    description = "returns value(); evaluate ends the worker with exit status value() when it is 3..9"

    def evaluate(self, output, program):
        if isinstance(output, int) and 3 <= output <= 9:
            os._exit(output)
        return Evaluation.valid(float(output), (float(output),))
