"""The "curve" domain: evolve a Python function f(x) until it matches a target curve.

The program runs only in the sandbox (``harness.sample_curve`` samples f there); the
trusted ``evaluate`` checks that output, scores the fit and measures the program's shape.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator

from elmcore import Dimension, Domain, Evaluation, MutationContext, Outcome, PluginConfig, SandboxSpec
from elm_example_plugin.curve_shape import ShapeError, program_size, turning_points
from elm_example_plugin.output_check import MalformedOutput, check_output
from elm_example_plugin.samples import SAMPLE_COUNT, X_HIGH, X_LOW
from elm_example_plugin.seed_loading import read_seed
from elm_example_plugin.targets import TARGETS

HARNESS = "elm_example_plugin.harness:sample_curve"
HARNESS_OUTPUT_BYTES = 16_000


class CurveConfig(PluginConfig):
    """The ``domain`` section of a run config when ``name: curve``."""

    target: Literal["wave", "cubic", "bump"] = Field("wave", description="curve to fit: wave, cubic or bump")
    seed_program: str = Field("line", description="packaged seed program the run starts from: line, poly or wave")
    error_cap: float = Field(10.0, gt=0,
                             description="largest error counted at one point; undefined points count this much")
    tolerance: float = Field(1e-3, gt=0,
                             description="root-mean-square error at or below which a program solves the task")
    timeout_s: float = Field(2.0, gt=0, le=60, description="wall-clock seconds one program may run in the sandbox")

    @field_validator("seed_program")
    @classmethod
    def _known_seed(cls, name: str) -> str:
        read_seed(name)  # ValueError listing the seeds
        return name


class CurveDomain(Domain):
    name = "curve"
    description = (f"Curve fitting: evolve f(x) to match a target curve on {SAMPLE_COUNT} points "
                   f"in [{X_LOW:g}, {X_HIGH:g}]")
    Config = CurveConfig
    config: CurveConfig
    cli_options = ("seed_program", "target")  # `elm run --domain curve --target cubic`

    def seed_programs(self) -> list[str]:
        return [read_seed(self.config.seed_program)]

    def behaviour_space(self) -> list[Dimension]:
        return [
            Dimension("size", 3.0, 60.0, 19, "statements plus expressions in the program"),
            Dimension("turns", 0.0, 8.0, 9, "times the sampled curve switches between rising and falling"),
        ]

    def sandbox_spec(self) -> SandboxSpec:
        return SandboxSpec(harness=HARNESS, timeout_s=self.config.timeout_s, memory_mb=256,
                           max_output_bytes=HARNESS_OUTPUT_BYTES)

    def mutation_context(self) -> MutationContext:
        formula = TARGETS[self.config.target].formula
        return MutationContext(
            file_name="curve.py",
            function_name="f",
            commit_messages=(("Fit the target curve more closely", 1.0),),
            instruction=f"Change f so that f(x) equals {formula} for x in [{X_LOW:g}, {X_HIGH:g}].",
            description=self.description,
        )

    def evaluate(self, output: Any, program: str) -> Evaluation:
        try:
            samples = check_output(output, SAMPLE_COUNT)
        except MalformedOutput as exc:
            return Evaluation.failed(Outcome.INVALID, f"malformed harness output: {exc}")
        if not samples.found:
            return Evaluation.failed(Outcome.INVALID, f"no function f(x): {samples.detail}")
        defined = sum(y is not None for y in samples.ys)
        if defined == 0:
            reason = "f(x) returned no finite number at any sample point"
            return Evaluation.failed(Outcome.INVALID, reason + (f" ({samples.error})" if samples.error else ""))
        try:
            size = program_size(program)
        except ShapeError as exc:
            return Evaluation.failed(Outcome.INVALID, str(exc))
        rmse = self.rms_error(samples.ys)
        extras: dict[str, Any] = {"rmse": rmse, "defined_points": defined}
        if samples.error:
            extras["first_error"] = samples.error
        return Evaluation.valid(1.0 / (1.0 + rmse), (float(size), float(turning_points(samples.ys))), **extras)

    def rms_error(self, ys: tuple[float | None, ...]) -> float:
        """Root-mean-square error against the target, each point's error capped at error_cap."""
        cap = self.config.error_cap
        errors = [cap if y is None else min(abs(y - t), cap) for y, t in zip(ys, TARGETS[self.config.target].values())]
        return math.sqrt(sum(e * e for e in errors) / len(errors))

    def is_solution(self, evaluation: Evaluation) -> bool:
        return evaluation.outcome is Outcome.VALID and evaluation.extras.get("rmse", math.inf) <= self.config.tolerance
