"""Which names each ``ast.Name`` may be replaced by: the names bound where it is used.

An approximate static scope: a function sees its own parameters and assignments, those of
the functions around it and the module's. Comprehension variables count as bound in the
enclosing function; a class body's names are not visible to its methods (as in Python).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def visible_names(tree: ast.Module) -> dict[int, frozenset[str]]:
    """``id(name_node) -> names bound in its scope or an enclosing one`` for every Name."""
    visible: dict[int, frozenset[str]] = {}
    _visit_scope(tree, frozenset(), visible)
    return visible


def _visit_scope(scope: ast.AST, outer: frozenset[str], visible: dict[int, frozenset[str]]) -> None:
    here = outer | _bound_in(scope)
    # a class body's names do not reach the functions defined inside it
    inner = outer if isinstance(scope, ast.ClassDef) else here
    for node in _same_scope_nodes(scope):
        if isinstance(node, ast.Name):
            visible[id(node)] = here
        elif isinstance(node, _SCOPES):
            _visit_scope(node, inner, visible)


def _same_scope_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """Descendants of ``scope`` that belong to it; a nested scope is yielded, not entered."""
    stack = list(reversed(list(ast.iter_child_nodes(scope))))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _bound_in(scope: ast.AST) -> frozenset[str]:
    names: set[str] = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = scope.args
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            names.add(arg.arg)
        for arg in (arguments.vararg, arguments.kwarg):
            if arg is not None:
                names.add(arg.arg)
    for node in _same_scope_nodes(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return frozenset(names)
