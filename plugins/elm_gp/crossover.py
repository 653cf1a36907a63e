"""The "crossover" operator: a child from two parents, kept parseable.

Both parents are parsed; the statements crossed are the body of the function the domain
names (Sodarace's ``make_walker``, parity's ``parity``) when both define it at the top
level, else the body of the first top-level function both define, else the module's own
top-level statements. The cut is homologous: the child takes the first ``i`` statements
from the first parent and the rest, from position ``i``, from the second, so statements
keep their places (in a Sodarace walker the joints are added in order before the muscles
that use them). A docstring stays the first parent's. The child is written back with
``ast.unparse`` and checked to parse.
"""

from __future__ import annotations

import ast
from elmcore import parse_source
from collections.abc import Sequence

import numpy as np
from pydantic import Field

from elmcore import Child, Mutator, Parent, PluginConfig
from elmcore import failed_child, unified_diff

OPERATOR_NAME = "crossover"


class CrossoverConfig(PluginConfig):
    max_program_chars: int = Field(100_000, ge=1, description="parents longer than this are not crossed")


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _body(node: ast.Module | ast.FunctionDef) -> tuple[list[ast.stmt], int]:
    """The statements to cross and how many leading ones stay fixed (a docstring)."""
    body = node.body
    fixed = 1 if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
        and isinstance(body[0].value.value, str) else 0
    return body, fixed


def cross(first: str, second: str, rng: np.random.Generator, function_name: str = "") -> tuple[str, str]:
    """A child of ``first`` and ``second`` and a description of the cut; ValueError when the
    parents cannot be crossed (they do not parse, or offer nothing to cut)."""
    try:
        a, b = parse_source(first), parse_source(second)
    except (SyntaxError, ValueError, RecursionError) as exc:
        raise ValueError(f"a parent does not parse: {type(exc).__name__}: {exc}") from None
    functions_a, functions_b = _functions(a), _functions(b)
    shared = [name for name in functions_a if name in functions_b]
    name = function_name if function_name in shared else (shared[0] if shared else "")
    target_a: ast.Module | ast.FunctionDef = functions_a[name] if name else a
    target_b: ast.Module | ast.FunctionDef = functions_b[name] if name else b
    body_a, fixed = _body(target_a)
    body_b, fixed_b = _body(target_b)
    tail_b = body_b[fixed_b:]
    # cut points i (first parent's statements kept) with at least one statement from each parent
    low, high = fixed + 1, min(len(body_a), fixed + len(tail_b) - 1)
    if high < low:
        raise ValueError(f"nothing to cut: {name or 'the module'} has {len(body_a) - fixed} and "
                         f"{len(tail_b)} statements")
    cut = int(rng.integers(low, high + 1))
    target_a.body = body_a[:cut] + tail_b[cut - fixed:]
    try:
        child = ast.unparse(a) + "\n"
        parse_source(child)
    except (RecursionError, ValueError, SyntaxError, AttributeError, TypeError) as exc:
        raise ValueError(f"the child cannot be written back: {type(exc).__name__}: {exc}") from None
    where = f"{name}()" if name else "the module"
    return child, (f"crossover of {where}: statements 1-{cut - fixed} of the first parent, "
                   f"then the second's from {cut - fixed + 1}")


class CrossoverMutator(Mutator):
    """Two parents in, one child out (see the module docstring)."""

    name = OPERATOR_NAME
    description = "crossover: the first statements of one parent's function with the rest of another's"
    Config = CrossoverConfig
    config: CrossoverConfig
    parents_per_child = 2

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        children = []
        for first, second in zip(parents[0::2], parents[1::2]):
            children.append(self._child(first, second, rng))
        return children

    def _child(self, first: Parent, second: Parent, rng: np.random.Generator) -> Child:
        if max(len(first.program), len(second.program)) > self.config.max_program_chars:
            return failed_child(first, OPERATOR_NAME, f"a parent has more than {self.config.max_program_chars} "
                                                      "characters (max_program_chars)")
        try:
            program, message = cross(first.program, second.program, rng, self.context.function_name)
        except ValueError as exc:
            return failed_child(first, OPERATOR_NAME, str(exc))
        if program.strip() == first.program.strip():
            return failed_child(first, OPERATOR_NAME, "the child is the first parent as it is (the parents agree "
                                                      "after the cut)", no_edit=True)
        return Child(program=program, parent_id=first.id, operator=OPERATOR_NAME,
                     message=f"{message} (parents {first.id} and {second.id})",
                     diff=unified_diff(first.program, program, self.context.file_name),
                     meta={"parents": [first.id, second.id]})
