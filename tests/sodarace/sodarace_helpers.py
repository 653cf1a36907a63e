"""Shared helpers for the Sodarace tests: short simulations, programs run in the sandbox."""

from __future__ import annotations

from typing import Any

from elmcore.sandbox import run_in_sandbox
from elmcore.types import Evaluation
from elmcore.workers import evaluate_programs
from elm_sodarace.config import SodaraceConfig
from elm_sodarace.domain import SodaraceDomain
from elm_sodarace.physics_params import PhysicsParams

SHORT = PhysicsParams(duration_s=3.0)

PROGRAM_HEAD = "from walk_creator import walker_creator\n\n"


def make_domain(terrain: str = "flat", duration_s: float = 3.0, **physics: Any) -> SodaraceDomain:
    return SodaraceDomain(SodaraceConfig(terrain=terrain, physics=PhysicsParams(duration_s=duration_s, **physics)))


def run_program(program: str) -> Any:
    """Harness output of a program run in the sandbox (asserts that it ran)."""
    ran = run_in_sandbox(program, SodaraceDomain().sandbox_spec())
    assert ran.ok, ran.reason
    return ran.output


def evaluate(program: str, terrain: str = "flat", duration_s: float = 3.0, **physics: Any) -> Evaluation:
    return evaluate_programs(make_domain(terrain, duration_s, **physics), [program])[0]


def body(lines: str) -> str:
    """A program whose make_walker() runs the given (4-space indented) lines."""
    return PROGRAM_HEAD + "def make_walker():\n    wc = walker_creator()\n" + lines + "    return wc.get_walker()\n"
