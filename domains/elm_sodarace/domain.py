"""The Sodarace domain: programs build walkers; the walkers race on a terrain.

A program runs in the sandbox and returns the walker dictionary (``harness.run_walker``);
``evaluate`` checks it against the limits (``walker.parse_walker``), simulates it with
Box2D (``simulation.simulate``) and scores the absolute distance its centre of mass moved
along x. The behaviour descriptor is (height, width, mass).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from elmcore import Dimension, Domain, Evaluation, MutationContext, Outcome, SandboxSpec
from elm_sodarace import behaviour
from elm_sodarace.config import SodaraceConfig
from elm_sodarace.seed_loading import load_seed
from elm_sodarace.simulation import simulate
from elm_sodarace.terrains import Terrain, make_terrain, terrain_registry
from elm_sodarace.walker import InvalidWalker, parse_walker

HARNESS = "elm_sodarace.harness:run_walker"
VIEW_X = (-24.0, 24.0)  # what draw_condition shows, in program units
VIEW_Y = (-4.0, 44.0)
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
    cli_options = ("seed_program", "terrain")
    condition_word = "terrain"  # elm learn --terrains

    def __init__(self, config: SodaraceConfig | None = None) -> None:
        super().__init__(config)
        self.terrain: Terrain = make_terrain(self.config.terrain, self.config.terrain_options)

    def seed_programs(self) -> list[str]:
        return [load_seed(self.config.seed_program)]

    def seed_advice(self) -> str:
        return "fix the seed or pick another with --seed-program"

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
            subject="walker",
            instruction="Change make_walker so that the walker moves further.",
            description=("make_walker() builds a Sodarace walker with walk_creator: wc.add_joint(x, y) adds a "
                         "point mass, wc.add_muscle(j0, j1) a passive spring and wc.add_muscle(j0, j1, False, "
                         "amplitude, phase) an oscillating muscle; it returns wc.get_walker()."),
        )

    # -- conditions: the terrains --------------------------------------------------
    def conditions(self) -> list[str]:
        return terrain_registry().names()

    def condition_options(self, condition: str) -> dict[str, Any]:
        terrain_registry().get(condition)  # an unknown name raises, with the known ones
        return {"terrain": condition, "terrain_options": {}}

    def animate(self, program: str) -> tuple[str, bytes] | None:
        """A 320 x 180 GIF of the walker on the run's terrain, 10 frames per simulated second
        (the program runs in the sandbox); None when it does not build a valid walker."""
        import io

        from elmcore import run_in_sandbox
        from elm_sodarace.render import record, write_gif

        ran = run_in_sandbox(program, self.sandbox_spec())
        if not ran.ok:
            return None
        try:
            walker = parse_walker(ran.output)
        except InvalidWalker:
            return None
        buffer = io.BytesIO()
        write_gif(record(walker, self.terrain, self.config.physics, fps=10.0), buffer, (320, 180), 10.0)
        return "image/gif", buffer.getvalue()

    def draw_condition(self, condition: str, size: int = 64) -> np.ndarray:
        """The terrain around the start as a walker 10 units wide meets it: x from -24 to 24,
        y from -4 to 44 (a walker is at most 60 tall), solid = 1."""
        from PIL import Image, ImageDraw

        terrain = make_terrain(condition, {})
        (x0, x1), (y0, y1) = VIEW_X, VIEW_Y

        def pixel(x: float, y: float) -> tuple[float, float]:
            x = min(max(x, x0 - 1.0), x1 + 1.0)  # far points clipped just outside the view
            return (x - x0) / (x1 - x0) * size, (y1 - min(max(y, y0 - 1.0), y1 + 1.0)) / (y1 - y0) * size

        image = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(image)
        for shape in terrain.shapes(-5.0, 5.0):
            xs, ys = [x for x, _ in shape.points], [y for _, y in shape.points]
            if max(xs) < x0 or min(xs) > x1 or (shape.solid and (max(ys) < y0 or min(ys) > y1)):
                continue  # out of view (the walls at the world's edges)
            points = [pixel(x, y) for x, y in shape.points]
            if not shape.solid:  # a ground line: solid below it
                points = points + [(points[-1][0], size + 1.0), (points[0][0], size + 1.0)]
            draw.polygon(points, fill=255)
        return np.asarray(image, dtype=np.float32) / 255.0

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
