"""Behaviour descriptors read from a program's source: its size and its vocabulary.

Computed in the trusted process with ``ast.parse`` only (parsing is safe, running is not).
"""

from __future__ import annotations

import ast
from elmcore import parse_source

MAX_PROGRAM_CHARS = 100_000


class ShapeError(ValueError):
    """The program text cannot be measured (too long, or does not parse)."""


def parse_program(program: str) -> ast.Module:
    """The AST of ``program``; ShapeError when it is too long or not valid Python."""
    if len(program) > MAX_PROGRAM_CHARS:
        raise ShapeError(f"program is {len(program)} characters, more than the {MAX_PROGRAM_CHARS} measured")
    try:
        return parse_source(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ShapeError(f"program does not parse: {type(exc).__name__}: {exc}") from None


def node_count(tree: ast.AST) -> int:
    """Number of statements and expressions (operators and load/store markers not counted)."""
    return sum(isinstance(node, (ast.stmt, ast.expr)) for node in ast.walk(tree))


def distinct_names(tree: ast.AST) -> int:
    """Number of different identifiers used as variables or parameters."""
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names.update(node.arg for node in ast.walk(tree) if isinstance(node, ast.arg))
    return len(names)
