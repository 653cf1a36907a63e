"""Building a child program from its parent and the code a model wrote.

A model often writes only the function it changed. The rule: if the new code defines
every top-level function and class of the parent, it is the whole program and is taken
as it is. Otherwise it is spliced into the parent: each top-level function or class it
defines replaces the parent's one of the same name (decorators included) or, if new, is
appended; its import statements that the parent lacks go after the parent's imports.
Everything else of the parent (imports, helpers, constants) stays, so a new function
can still call the parent's helpers. Only ``ast.parse`` looks at the text; nothing runs.
"""

from __future__ import annotations

import ast
from elmcore import parse_source
import warnings


def syntax_problem(program: str) -> str | None:
    """Why ``program`` is not valid Python (one line), or None when it parses."""
    try:
        with warnings.catch_warnings():  # generated text trips SyntaxWarnings (e.g. "1is"); not ours to show
            warnings.simplefilter("ignore")
            parse_source(program)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return f"{type(exc).__name__}: {exc}"
    return None


def _definitions(tree: ast.Module) -> dict[str, tuple[int, int]]:
    """Top-level function/class name -> (first line, last line), 1-based, decorators included."""
    spans: dict[str, tuple[int, int]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            spans[node.name] = (first, node.end_lineno or node.lineno)
    return spans


def assemble_child(parent: str, code: str) -> str:
    """The child program for ``code`` written against ``parent`` (see the module rule).
    ``code`` must parse; a parent that does not parse gets the code appended."""
    new_tree = parse_source(code)
    try:
        old_tree = parse_source(parent)
    except (SyntaxError, ValueError):
        return parent.rstrip("\n") + "\n\n\n" + code.strip("\n") + "\n"
    old_defs, new_defs = _definitions(old_tree), _definitions(new_tree)
    if set(old_defs) <= set(new_defs):
        return code if code.endswith("\n") else code + "\n"
    return _splice(parent, old_tree, old_defs, code, new_tree, new_defs)


def _splice(parent: str, old_tree: ast.Module, old_defs: dict[str, tuple[int, int]], code: str,
            new_tree: ast.Module, new_defs: dict[str, tuple[int, int]]) -> str:
    lines = parent.split("\n")
    code_lines = code.split("\n")

    def source(span: tuple[int, int]) -> list[str]:
        return code_lines[span[0] - 1:span[1]]

    appended: list[list[str]] = []
    replacements: list[tuple[tuple[int, int], list[str]]] = []
    for name, span in new_defs.items():
        if name in old_defs:
            replacements.append((old_defs[name], source(span)))
        else:
            appended.append(source(span))
    for (first, last), new in sorted(replacements, reverse=True):
        lines[first - 1:last] = new
    while lines and not lines[-1].strip():
        lines.pop()
    for block in appended:
        lines += ["", ""] + block
    have = {ast.unparse(n) for n in old_tree.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    imports = [ast.unparse(n) for n in new_tree.body
               if isinstance(n, (ast.Import, ast.ImportFrom)) and ast.unparse(n) not in have]
    if imports:
        at = _import_insertion_line(old_tree)
        lines[at:at] = imports
    return "\n".join(lines) + "\n"


def _import_insertion_line(tree: ast.Module) -> int:
    """0-based line after the parent's leading docstring and imports."""
    at = 0
    for k, node in enumerate(tree.body):
        is_doc = k == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
            and isinstance(node.value.value, str)
        if is_doc or isinstance(node, (ast.Import, ast.ImportFrom)):
            at = node.end_lineno or node.lineno
        else:
            break
    return at
