"""The "gp-tree" mutator: a tiny-GP style tree GP, the baseline of the paper's Figures 1 and 2.

The target function's straight-line body (``name = expression`` statements and ``return``)
is translated to expression trees of function nodes (binary operators, ``-x``, ``abs``,
``sum``/``max``/``min`` over a list) and terminals (parameters, names assigned earlier,
numbers). A mutation replaces each node independently with probability ``rate`` (at least
one node always): a function node by another function of the same arity, a terminal by
another member of the terminal set, which holds the variables in scope, the function's own
numbers and the extra c-terminals ``constants``. The child is the function rebuilt from the
trees; everything else in the program is kept as it was.
"""

from __future__ import annotations

import ast
from elmcore import parse_source
import copy
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from elmcore import Child, Mutator, Parent
from elmcore import edited_child, failed_child
from elm_gp.config import PointMutationConfig

OPERATOR_NAME = "gp-tree"
DEFAULT_RATE = 0.1
DEFAULT_CONSTANTS = (0, 1, 2, 3)
BINARY_FUNCTIONS: dict[str, type[ast.operator]] = {
    "add": ast.Add, "sub": ast.Sub, "mul": ast.Mult, "div": ast.Div, "floordiv": ast.FloorDiv,
    "mod": ast.Mod, "pow": ast.Pow}
UNARY_FUNCTIONS = ("neg", "abs")
LIST_FUNCTIONS = ("sum", "max", "min")  # written f([x, y, ...]); the arity is the list's length
_BINARY_BY_OP = {op: name for name, op in BINARY_FUNCTIONS.items()}
_EDIT_LABELS = {"function": "fn", "variable": "leaf", "constant": "leaf"}


class TreeGPConfig(PointMutationConfig):
    """Settings of the ``gp-tree`` mutator (the ``mutator`` section of a run config)."""

    rate: float = Field(DEFAULT_RATE, description="probability that each tree node is replaced "
                                                  "(at least one always is)")
    constants: list[int | float] = Field(list(DEFAULT_CONSTANTS),
                                         description="extra c-terminals added to the terminal set")

    @field_validator("constants", mode="before")
    @classmethod
    def _plain_numbers(cls, constants: Any) -> Any:
        if isinstance(constants, (list, tuple)) and any(
                isinstance(c, (bool, str)) or (isinstance(c, float) and not math.isfinite(c)) for c in constants):
            raise ValueError(f"constants must be a list of finite numbers, e.g. [0, 1, 2, 3]; got {constants!r}")
        return constants


@dataclass(frozen=True)
class Node:
    """One tree node. ``kind`` is function, variable, constant or fixed (an expression gp-tree
    does not model: kept verbatim, never replaced); ``value`` holds a constant's number, a
    fixed leaf's AST, or a list function's container ("List" or "Tuple")."""

    kind: str
    symbol: str
    children: tuple["Node", ...] = ()
    value: Any = None


@dataclass(frozen=True)
class Line:
    """A top-level statement of the function: ``target = tree``, ``return tree`` (target None),
    or any other statement (tree None), kept as it is."""

    statement: ast.stmt
    target: str | None = None
    tree: Node | None = None


@dataclass(frozen=True)
class Site:
    """A replaceable node: where it is (line index, child positions) and what may replace it."""

    line: int
    path: tuple[int, ...]
    options: tuple[Node, ...]


@dataclass(frozen=True)
class TreeProgram:
    """A parent translated once: its trees and their replaceable nodes, and ``template``, the
    parent's unparsed text cut around each tree, when every tree can be written as text."""

    module: ast.Module
    function_index: int
    lines: tuple[Line, ...]
    sites: tuple[Site, ...]
    template: tuple[str, ...] | None


class TreeGPFailed(Exception):
    """No child; ``no_edit`` is True when the parent has nothing to mutate."""

    def __init__(self, reason: str, no_edit: bool = False) -> None:
        super().__init__(reason)
        self.no_edit = no_edit


@dataclass(frozen=True)
class TreeMutation:
    program: str
    edits: tuple[str, ...]


# -- translation: source -> trees ------------------------------------------------------
def variable(name: str) -> Node:
    return Node("variable", name)


def constant(value: int | float) -> Node:
    return Node("constant", repr(value), value=value)


def to_tree(expr: ast.expr) -> Node:
    """The expression as a tree; parts gp-tree does not model become fixed leaves."""
    if isinstance(expr, ast.BinOp) and type(expr.op) in _BINARY_BY_OP:
        return Node("function", _BINARY_BY_OP[type(expr.op)], (to_tree(expr.left), to_tree(expr.right)))
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
        if _is_number(expr.operand):
            return constant(-expr.operand.value)  # type: ignore[attr-defined]
        return Node("function", "neg", (to_tree(expr.operand),))
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and not expr.keywords:
        args = expr.args
        if expr.func.id == "abs" and len(args) == 1 and not isinstance(args[0], ast.Starred):
            return Node("function", "abs", (to_tree(args[0]),))
        if expr.func.id in LIST_FUNCTIONS and len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)) \
                and args[0].elts and not any(isinstance(e, ast.Starred) for e in args[0].elts):
            return Node("function", expr.func.id, tuple(to_tree(e) for e in args[0].elts),
                        value=type(args[0]).__name__)
    if isinstance(expr, ast.Name) and isinstance(expr.ctx, ast.Load):
        return variable(expr.id)
    if _is_number(expr):
        return constant(expr.value)  # type: ignore[attr-defined]
    return Node("fixed", ast.unparse(expr), value=expr)


def _is_number(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and type(expr.value) in (int, float)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _constant_set(values: Sequence[int | float]) -> tuple[Node, ...]:
    """One terminal per distinct number (2 and 2.0 are distinct), in increasing order."""
    unique = {(type(v).__name__, v): v for v in values}
    return tuple(constant(unique[key]) for key in sorted(unique, key=lambda k: (unique[k], k[0])))


def alternatives(node: Node, terminals: tuple[Node, ...]) -> tuple[Node, ...]:
    """What a node may be replaced by: the other functions of its arity, or the other terminals."""
    if node.kind == "function":
        if node.symbol in BINARY_FUNCTIONS:
            group: Sequence[str] = tuple(BINARY_FUNCTIONS)
        elif node.symbol in UNARY_FUNCTIONS:
            group = UNARY_FUNCTIONS
        else:
            group = LIST_FUNCTIONS
        return tuple(Node("function", s, (), node.value) for s in group if s != node.symbol)
    if node.kind in ("variable", "constant"):
        return tuple(t for t in terminals if (t.kind, t.symbol) != (node.kind, node.symbol))
    return ()


def _target_function(module: ast.Module, function_name: str) -> int:
    functions = [i for i, s in enumerate(module.body) if isinstance(s, ast.FunctionDef)]
    named = [i for i in functions if module.body[i].name == function_name]  # type: ignore[attr-defined]
    if not named and len(functions) != 1:
        raise TreeGPFailed(f"parent defines no top-level function {function_name}(...) for gp-tree to translate",
                           no_edit=True)
    return (named or functions)[0]


@lru_cache(maxsize=64)
def translate(source: str, function_name: str, constants: tuple[int | float, ...]) -> TreeProgram:
    """The parent's target function as trees (cached: a parent is mutated many times)."""
    try:
        module = parse_source(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise TreeGPFailed(f"parent does not parse: {getattr(exc, 'msg', exc)}") from None
    index = _target_function(module, function_name)
    function = module.body[index]
    assert isinstance(function, ast.FunctionDef)
    lines: list[Line] = []
    for statement in function.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            lines.append(Line(statement, statement.targets[0].id, to_tree(statement.value)))
        elif isinstance(statement, ast.Return) and statement.value is not None:
            lines.append(Line(statement, None, to_tree(statement.value)))
        else:
            lines.append(Line(statement))
    trees = [line.tree for line in lines if line.tree is not None]
    numbers = [*constants, *(n.value for tree in trees for n in _walk(tree) if n.kind == "constant")]
    constant_terminals = _constant_set(numbers)
    arguments = function.args
    bound = list(dict.fromkeys(a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]))
    sites: list[Site] = []
    for number, line in enumerate(lines):
        if line.tree is not None:
            terminals = (*(variable(name) for name in bound), *constant_terminals)
            sites.extend(_sites(number, (), line.tree, terminals))
        if line.target is not None and line.target not in bound:
            bound.append(line.target)
    textual = all(_writable(n) for tree in trees for n in _walk(tree)) \
        and all(_writable(t) for t in constant_terminals)
    template = _template(module, index, lines, source) if textual else None
    return TreeProgram(module, index, tuple(lines), tuple(sites), template)


def _sites(line: int, path: tuple[int, ...], node: Node, terminals: tuple[Node, ...]) -> Iterator[Site]:
    options = alternatives(node, terminals)
    if options:
        yield Site(line, path, options)
    for position, child in enumerate(node.children):
        yield from _sites(line, (*path, position), child, terminals)


# -- mutation --------------------------------------------------------------------------
def _replace_at(tree: Node, path: tuple[int, ...], new: Node) -> Node:
    if not path:
        return new
    children = list(tree.children)
    children[path[0]] = _replace_at(children[path[0]], path[1:], new)
    return replace(tree, children=tuple(children))


def _at(tree: Node, path: tuple[int, ...]) -> Node:
    for position in path:
        tree = tree.children[position]
    return tree


def mutate_trees(program: TreeProgram, rng: np.random.Generator, rate: float) -> tuple[list[Node | None], list[str]]:
    """Point mutation: each site is replaced with probability ``rate``, one site if none was drawn."""
    sites = program.sites
    if not sites:
        raise TreeGPFailed("parent has nothing gp-tree can replace (no operators, names or numbers in the "
                           "function's assignments and return)", no_edit=True)
    hits = np.flatnonzero(rng.random(len(sites)) < rate).tolist()
    if not hits:
        hits = [int(rng.integers(len(sites)))]
    trees: list[Node | None] = [line.tree for line in program.lines]
    edits: list[str] = []
    for hit in hits:
        site = sites[hit]
        tree = trees[site.line]
        assert tree is not None
        old = _at(tree, site.path)
        new = site.options[int(rng.integers(len(site.options)))]
        if new.kind == "function":
            new = replace(new, children=old.children)
        trees[site.line] = _replace_at(tree, site.path, new)
        edits.append(f"{_EDIT_LABELS[old.kind]} {old.symbol}->{new.symbol}")
    return trees, edits


# -- writing back: trees -> source -----------------------------------------------------
def to_ast(node: Node) -> ast.expr:
    """The tree as a Python expression."""
    if node.kind == "variable":
        return ast.Name(node.symbol, ast.Load())
    if node.kind == "constant":
        if _negative(node.value):  # -1 as a unary minus keeps (-1) ** 2 parenthesised
            return ast.UnaryOp(ast.USub(), ast.Constant(-node.value))
        return ast.Constant(node.value)
    if node.kind == "fixed":
        return copy.deepcopy(node.value)
    args = [to_ast(child) for child in node.children]
    if node.symbol in BINARY_FUNCTIONS:
        return ast.BinOp(args[0], BINARY_FUNCTIONS[node.symbol](), args[1])
    if node.symbol == "neg":
        return ast.UnaryOp(ast.USub(), args[0])
    if node.symbol == "abs":
        return ast.Call(ast.Name("abs", ast.Load()), args, [])
    container = ast.Tuple if node.value == "Tuple" else ast.List
    return ast.Call(ast.Name(node.symbol, ast.Load()), [container(args, ast.Load())], [])


def render_ast(program: TreeProgram, trees: Sequence[Node | None]) -> str:
    """The parent with the function's statements rebuilt from ``trees``, via ``ast.unparse``."""
    function = copy.copy(program.module.body[program.function_index])
    assert isinstance(function, ast.FunctionDef)
    body: list[ast.stmt] = []
    for line, tree in zip(program.lines, trees):
        if tree is None or tree is line.tree:
            body.append(line.statement)
        elif line.target is not None:
            body.append(ast.copy_location(ast.Assign([ast.Name(line.target, ast.Store())], to_ast(tree)),
                                          line.statement))
        else:
            body.append(ast.copy_location(ast.Return(to_ast(tree)), line.statement))
    function.body = body
    body_before, body_after = program.module.body[:program.function_index], \
        program.module.body[program.function_index + 1:]
    return ast.unparse(ast.Module([*body_before, function, *body_after], [])) + "\n"


# Precedence levels as ast.unparse uses them: a child is parenthesised when its context
# asks for more than its own level.
_TEST, _ARITH, _TERM, _FACTOR, _POWER, _ABOVE_POWER = range(6)
_BINARY_TEXT = {"add": ("+", _ARITH), "sub": ("-", _ARITH), "mul": ("*", _TERM), "div": ("/", _TERM),
                "floordiv": ("//", _TERM), "mod": ("%", _TERM), "pow": ("**", _POWER)}


def _writable(node: Node) -> bool:
    """Whether ``to_text`` writes this node exactly as ``ast.unparse`` would."""
    if node.kind == "fixed":
        return False
    return node.kind != "constant" or isinstance(node.value, int) or math.isfinite(node.value)


def _negative(value: int | float) -> bool:
    return value < 0 if isinstance(value, int) else math.copysign(1.0, value) < 0


def to_text(node: Node, context: int = _TEST) -> str:
    """The tree as source text, identical to ``ast.unparse(to_ast(node))`` (and much faster)."""
    if node.kind == "variable":
        return node.symbol
    if node.kind == "constant":
        if _negative(node.value):
            text = "-" + repr(-node.value)
            return f"({text})" if context > _FACTOR else text
        return repr(node.value)
    if node.symbol in _BINARY_TEXT:
        symbol, level = _BINARY_TEXT[node.symbol]
        left, right = (level + 1, level) if node.symbol == "pow" else (level, level + 1)
        text = f"{to_text(node.children[0], left)} {symbol} {to_text(node.children[1], right)}"
        return f"({text})" if context > level else text
    if node.symbol == "neg":
        text = "-" + to_text(node.children[0], _FACTOR)
        return f"({text})" if context > _FACTOR else text
    items = ", ".join(to_text(child) for child in node.children)
    if node.symbol == "abs":
        return f"abs({items})"
    if node.value == "Tuple":
        return f"{node.symbol}(({items}{',' if len(node.children) == 1 else ''}))"
    return f"{node.symbol}([{items}])"


def _template(module: ast.Module, index: int, lines: list[Line], source: str) -> tuple[str, ...] | None:
    """The parent's unparsed text cut where each tree goes (a placeholder name marks the spot)."""
    holes = [f"_gp_tree_slot_{i}_" for i in range(len(lines))]
    if any(hole in source for hole in holes):
        return None
    function = copy.copy(module.body[index])
    assert isinstance(function, ast.FunctionDef)
    body: list[ast.stmt] = []
    for line, hole in zip(lines, holes):
        if line.tree is None:
            body.append(line.statement)
            continue
        statement = copy.copy(line.statement)
        statement.value = ast.Name(hole, ast.Load())  # type: ignore[attr-defined]
        body.append(statement)
    function.body = body
    text = ast.unparse(ast.Module([*module.body[:index], function, *module.body[index + 1:]], [])) + "\n"
    parts: list[str] = []
    for line, hole in zip(lines, holes):
        if line.tree is not None:
            before, found, text = text.partition(hole)
            if not found:
                return None
            parts.append(before)
    parts.append(text)
    return tuple(parts)


def render(program: TreeProgram, trees: Sequence[Node | None]) -> str:
    """The child's source: the template filled with each tree's text, else via ``ast.unparse``."""
    if program.template is None:
        return render_ast(program, trees)
    texts = [to_text(tree) for tree in trees if tree is not None]
    pieces = [program.template[0]]
    for text, after in zip(texts, program.template[1:]):
        pieces.append(text)
        pieces.append(after)
    return "".join(pieces)


def mutate_tree_source(source: str, rng: np.random.Generator, config: TreeGPConfig,
                       function_name: str) -> TreeMutation:
    """One gp-tree child of ``source``; TreeGPFailed when none can be made."""
    if len(source) > config.max_program_chars:
        raise TreeGPFailed(f"parent has {len(source)} characters, more than max_program_chars "
                           f"({config.max_program_chars})")
    program = translate(source, function_name, tuple(config.constants))
    trees, edits = mutate_trees(program, rng, config.rate)
    try:
        child = render(program, trees)
        parse_source(child)
    except (SyntaxError, ValueError, RecursionError, MemoryError, AttributeError, TypeError) as exc:
        raise TreeGPFailed(f"child cannot be written back as source: {type(exc).__name__}: {exc}") from None
    return TreeMutation(child, tuple(edits))


class TreeGPMutator(Mutator):
    name = OPERATOR_NAME
    description = "tree GP (tiny-GP style): the function as expression trees, node replacement, extra c-terminals"
    Config = TreeGPConfig
    config: TreeGPConfig

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        return [self._mutate_one(parent, rng) for parent in parents]

    def _mutate_one(self, parent: Parent, rng: np.random.Generator) -> Child:
        try:
            result = mutate_tree_source(parent.program, rng, self.config, self.context.function_name)
        except TreeGPFailed as exc:
            return failed_child(parent, OPERATOR_NAME, str(exc), no_edit=exc.no_edit)
        return edited_child(parent, result.program, OPERATOR_NAME, result.edits, self.context.file_name)
