"""Behaviour descriptors: the program's size (from its AST, parsed in the trusted process,
never run) and how often the sampled curve changes direction."""

from __future__ import annotations

import ast
from collections.abc import Sequence

MAX_PROGRAM_CHARS = 50_000


class ShapeError(ValueError):
    """The program text cannot be measured."""


def program_size(program: str) -> int:
    """Number of statements and expressions in ``program``."""
    if len(program) > MAX_PROGRAM_CHARS:
        raise ShapeError(f"program has {len(program)} characters, more than the {MAX_PROGRAM_CHARS} measured")
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ShapeError(f"program does not parse: {type(exc).__name__}: {exc}") from None
    return sum(isinstance(node, (ast.stmt, ast.expr)) for node in ast.walk(tree))


def turning_points(ys: Sequence[float | None]) -> int:
    """How many times the curve switches between rising and falling (undefined points and
    flat steps are skipped)."""
    defined = [y for y in ys if y is not None]
    turns = 0
    direction = 0
    for before, after in zip(defined, defined[1:]):
        step = (after > before) - (after < before)
        if step == 0:
            continue
        if direction and step != direction:
            turns += 1
        direction = step
    return turns
