"""The Sodarace domain: programs build walkers; the walkers race on a terrain.

A program runs in the sandbox and returns the walker dictionary (``harness.run_walker``);
``evaluate`` checks it against the limits (``walker.parse_walker``), simulates it with
Box2D (``simulation.simulate``) and scores the absolute distance its centre of mass moved
along x. The behaviour descriptor is (height, width, mass).
"""

from __future__ import annotations

from typing import Any

from elmcore import Dimension, Domain, Evaluation, MutationContext, Outcome, SandboxSpec
from elm_sodarace import behaviour
from elm_sodarace.config import SodaraceConfig
from elm_sodarace.seed_loading import load_seed
from elm_sodarace.simulation import simulate
from elm_sodarace.terrains import Terrain, make_terrain
from elm_sodarace.walker import InvalidWalker, parse_walker

HARNESS = "elm_sodarace.harness:run_walker"
COMMIT_MESSAGES = (
    ("Changed make_walker function.", 0.4),
    ("Changed parameters in make_walker function.", 0.3),
    ("Small change to make_walker function.", 0.3),
)


class SodaraceDomain(Domain):
    name = "sodarace"
    description = "Sodarace: programs build walkers of joints and oscillating muscles; fitness is distance walked"
    Config = SodaraceConfig
    config: SodaraceConfig

    def __init__(self, config: SodaraceConfig | None = None) -> None:
        super().__init__(config)
        self.terrain: Terrain = make_terrain(self.config.terrain, self.config.terrain_options)

    def seed_programs(self) -> list[str]:
        return [load_seed(self.config.seed_program)]

    def behaviour_space(self) -> list[Dimension]:
        return behaviour.behaviour_space()

    def sandbox_spec(self) -> SandboxSpec:
        return SandboxSpec(harness=HARNESS, modules={"walk_creator": "elm_sodarace.walk_creator"},
                           preload=("math", "numpy"), timeout_s=5.0, memory_mb=512, max_output_bytes=1_000_000)

    def mutation_context(self) -> MutationContext:
        return MutationContext(
            file_name="walker.py",
            function_name="make_walker",
            commit_messages=COMMIT_MESSAGES,
            instruction="Change make_walker so that the walker moves further.",
            description=("make_walker() builds a Sodarace walker with walk_creator: wc.add_joint(x, y) adds a "
                         "point mass, wc.add_muscle(j0, j1) a passive spring and wc.add_muscle(j0, j1, False, "
                         "amplitude, phase) an oscillating muscle; it returns wc.get_walker()."),
        )

    def evaluate(self, output: Any, program: str) -> Evaluation:
        try:
            walker = parse_walker(output)
        except InvalidWalker as exc:
            return Evaluation.failed(Outcome.INVALID, str(exc))
        physics = self.config.physics
        run = simulate(walker, self.terrain, physics)
        extras = {"terrain": self.terrain.name, "joints": len(walker.joints), "muscles": len(walker.pairs),
                  "active_muscles": int(walker.active.sum()), "clipped_amplitudes": walker.clipped,
                  "physics_seconds": run.wall_s, "simulated_s": run.simulated_s}
        if run.exploded is not None:
            return Evaluation.failed(Outcome.INVALID, run.exploded, **extras)
        return Evaluation.valid(abs(run.displacement), behaviour.descriptors(walker, physics),
                                displacement=run.displacement, **extras)
