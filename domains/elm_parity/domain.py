"""The 4-Parity and Quadratic domains: fix a buggy function so it passes its unit tests.

Fitness is the fraction of test cases passed; the behaviour space is the program's shape
(size and vocabulary), read from its source with ``ast.parse`` in the trusted process.
"""

from __future__ import annotations

from typing import Any, ClassVar

from elmcore import Dimension, Domain, Evaluation, MutationContext, Outcome, SandboxSpec
from elm_parity.config import BuggySeedConfig, ParityConfig, QuadraticConfig
from elm_parity.output_check import MalformedOutput, check_output
from elm_parity.program_shape import ShapeError, distinct_names, node_count, parse_program
from elm_seeds import load_seed
from elm_parity.tasks import PARITY, QUADRATIC, Task

FLOAT_TOLERANCE = 1e-9
HARNESS_OUTPUT_BYTES = 64_000


def case_passed(value: int | float | None, expected: int) -> bool:
    """An int output must equal the expected value; a float may differ by rounding only."""
    if value is None:
        return False
    if isinstance(value, int):
        return value == expected
    return abs(value - expected) <= FLOAT_TOLERANCE * max(1.0, abs(expected))


class UnitTestDomain(Domain):
    """A task given by one function and its unit tests; subclasses pick the task."""

    task: ClassVar[Task]
    harness: ClassVar[str]
    config: BuggySeedConfig
    cli_options = ("seed_program",)

    def seed_programs(self) -> list[str]:
        return [load_seed(self.config.seed_dir, self.config.seed_name(), self.task.function_name)]

    def seed_advice(self) -> str:
        return "fix the seed or pick another with --seed-program"

    def behaviour_space(self) -> list[Dimension]:
        return [
            Dimension("size", 4.0, 100.0, 16, "statements plus expressions in the program"),
            Dimension("names", 2.0, 14.0, 12, "distinct variable and parameter names"),
        ]

    def sandbox_spec(self) -> SandboxSpec:
        return SandboxSpec(harness=self.harness, max_output_bytes=HARNESS_OUTPUT_BYTES)

    def mutation_context(self) -> MutationContext:
        return MutationContext(
            file_name=f"{self.task.function_name}.py",
            function_name=self.task.function_name,
            commit_messages=(("Fixed bugs", 1.0),),
            instruction="Fix the bugs in this function.",
            description=self.description,
        )

    def evaluate(self, output: Any, program: str) -> Evaluation:
        name = self.task.function_name
        try:
            results = check_output(output, len(self.task.inputs))
        except MalformedOutput as exc:
            return Evaluation.failed(Outcome.INVALID, f"malformed harness output: {exc}")
        if not results.found:
            return Evaluation.failed(Outcome.INVALID, f"program defines no function {name}(...)",
                                     detail=results.detail)
        try:
            tree = parse_program(program)
        except ShapeError as exc:
            return Evaluation.failed(Outcome.INVALID, str(exc))
        passed = sum(case_passed(v, e) for v, e in zip(results.outputs, self.task.expected))
        errors = [e for e in results.errors if e is not None]
        extras: dict[str, Any] = {"passed": passed, "cases": len(self.task.inputs), "errors": len(errors)}
        if errors:
            extras["first_error"] = errors[0]
        descriptors = (float(node_count(tree)), float(distinct_names(tree)))
        return Evaluation.valid(passed / len(self.task.inputs), descriptors, **extras)

    def is_solution(self, evaluation: Evaluation) -> bool:
        return (evaluation.outcome is Outcome.VALID and evaluation.extras.get("passed") == len(self.task.inputs))


class ParityDomain(UnitTestDomain):
    name = "parity"
    description = "4-Parity: fix a buggy parity(b1, b2, b3, b4) so it returns the parity of four bits"
    default = True
    Config = ParityConfig
    task = PARITY
    harness = "elm_parity.harness:run_parity"


class QuadraticDomain(UnitTestDomain):
    name = "quadratic"
    description = "Quadratic: fix a buggy quadratic(a, b, c, x) so it returns a*x**2 + b*x + c"
    Config = QuadraticConfig
    task = QUADRATIC
    harness = "elm_parity.harness:run_quadratic"
