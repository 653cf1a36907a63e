"""Tiny components for core tests: a domain whose programs return a number, and a mutator
that rewrites that number. Importable by spawned workers (pytest puts this folder on sys.path)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np

from elmcore import Child, Dimension, Domain, Evaluation, Mutator, Outcome, PluginConfig, SandboxSpec, hookimpl


def harness(namespace):
    return namespace["value"]()


class NumberDomain(Domain):
    """Programs define value(); fitness is -|value - 7|, the descriptor is the value."""

    name = "number"
    description = "toy domain for tests"

    class Config(PluginConfig):
        start: float = 0.0
        timeout_s: float = 2.0

    def seed_programs(self):
        return [f"def value():\n    return {self.config.start}\n"]

    def behaviour_space(self):
        return [Dimension("value", -20.0, 20.0, 40)]

    def sandbox_spec(self):
        return SandboxSpec(harness="toys:harness", timeout_s=self.config.timeout_s, memory_mb=256)

    def evaluate(self, output, program):
        if isinstance(output, bool) or not isinstance(output, (int, float)):
            return Evaluation.failed(Outcome.INVALID, f"value() returned {type(output).__name__}, not a number")
        return Evaluation.valid(-abs(output - 7.0), (float(output),))


class ShiftMutator(Mutator):
    """Adds a random integer step to the number in the program; every 5th child is broken.
    A child also carries one of ``variants`` markers (``variant = K``), which does not change
    its value: the same step with the same marker from the same parent is a duplicate."""

    name = "shift"

    class Config(PluginConfig):
        stored_defaults: ClassVar[dict[str, Any]] = {"variants": 0}  # as if runs predated the key
        step: int = 3
        variants: int = 100  # 0: the program is only its number (few distinct programs)

    def mutate(self, parents, rng):
        children = []
        for parent in parents:
            match = re.search(r"return (-?[0-9.]+)", parent.program)
            if match is None:
                children.append(Child(None, parent.id, self.name, outcome=Outcome.EDIT_FAILED, reason="no number"))
                continue
            new = float(match.group(1)) + int(rng.integers(-self.config.step, self.config.step + 1))
            kind = int(rng.integers(0, 5))
            body = f"return {new}" if kind else "return undefined_name"
            program = re.sub(r"variant = [0-9]+\n", "", parent.program.replace(match.group(0), body))
            variants = getattr(self.config, "variants", 100)  # a subclass's own Config may lack the key
            if variants:
                program += f"variant = {int(rng.integers(0, variants))}\n"
            children.append(Child(program, parent.id, self.name, message=f"shift to {new}"))
        return children


class GuessMutator(Mutator):
    """Invents programs without a parent: a random value; every 4th program is not a number."""

    name = "guess"
    invents = True

    def invent(self, n, rng):
        values = rng.integers(-15, 16, size=n)
        variants = rng.integers(0, 1000, size=n)  # another program for the same value (few duplicates)
        return [Child(f"def value():\n    return {'None' if k % 4 == 3 else int(v)}\nvariant = {w}\n", None,
                      self.name) for k, (v, w) in enumerate(zip(values, variants))]

    def mutate(self, parents, rng):
        return self.invent(len(parents), rng)


class ToyPlugin:
    @hookimpl
    def elm_register_domains(self, register):
        register(NumberDomain)

    @hookimpl
    def elm_register_mutators(self, register):
        register(ShiftMutator)
        register(GuessMutator)


toy_plugin = ToyPlugin()


def rng(seed=0):
    return np.random.default_rng(seed)


def store_rows(run_dir):
    """Every candidate of a run as the store holds it: what equal runs must share."""
    import sqlite3

    db = sqlite3.connect(run_dir / "store.sqlite")
    try:
        return db.execute("SELECT id, batch, parent_id, operator, program, outcome, reason, fitness, descriptors, "
                          "niche, status, entered, program_hash, duplicate_of FROM candidates ORDER BY id").fetchall()
    finally:
        db.close()


def resumed_rows(pm, config_for, tmp_path, part_evals, **run):
    """The rows of a run stopped at ``part_evals`` and resumed to the full budget, and of the
    same run uninterrupted; ``config_for(pm, evals=..., **run)`` makes the config."""
    from elmcore.engine import Engine

    whole = Engine.start(tmp_path / "whole", config_for(pm, **run), pm)
    whole.run()
    whole.close()
    part = Engine.start(tmp_path / "part", config_for(pm, evals=part_evals, **run), pm)
    part.run()
    part.close()
    resumed = Engine.resume(tmp_path / "part", pm, evals=whole.budget)
    resumed.run()
    resumed.close()
    return store_rows(tmp_path / "part"), store_rows(tmp_path / "whole")
