"""Point mutations of Python source through its AST, the classic GP operator on code.

Every mutable place in the program is a *site*; each site mutates independently with
probability ``rate``, and when none was drawn one site chosen uniformly mutates, so a
child always differs from its parent. The child is written back with ``ast.unparse``.

Parents repeat (an archive of a few dozen elites feeds every batch), so a parent's tree and
sites can be kept in a ``ParentCache``: a child then edits the cached tree, is written
back, and the edits are undone, instead of parsing and analysing the parent again. The
random draws and the child are the same with or without the cache.
"""

from __future__ import annotations

import ast
from elmcore import parse_source
import copy
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from elm_gp.scopes import visible_names

EDIT_KINDS = ("name", "constant", "operator", "comparison", "statement")
BINARY_OPERATORS: tuple[type[ast.operator], ...] = (
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
COMPARISON_OPERATORS: tuple[type[ast.cmpop], ...] = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
BUILTIN_NAMES = ("abs", "len", "max", "min", "round", "sum")
# Whole definitions and imports are never deleted or duplicated: doing so only breaks the program.
_FIXED_STATEMENTS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
_BODY_FIELDS = ("body", "orelse", "finalbody")


@dataclass(frozen=True)
class MutationSettings:
    """How strongly and in which ways to mutate (see docs/gp.md)."""

    rate: float = 0.1
    max_expected_edits: float | None = 1.5  # None: the rate applies as it is
    kinds: tuple[str, ...] = EDIT_KINDS
    int_step: int = 2
    float_sigma: float = 0.5
    builtin_rate: float = 0.05
    max_program_chars: int = 100_000


class MutationFailed(Exception):
    """No child could be made; ``no_edit`` is True when the parent offers nothing to mutate."""

    def __init__(self, reason: str, no_edit: bool = False) -> None:
        super().__init__(reason)
        self.no_edit = no_edit


@dataclass(frozen=True)
class MutationResult:
    program: str
    edits: tuple[str, ...]
    # ``ast.unparse(ast.parse(program))`` (the default normal form the engine compares programs
    # in), made from the check that the child parses; not part of equality
    normalised: str | None = field(default=None, compare=False, repr=False)


@dataclass
class _Site:
    kind: str
    node: ast.AST
    index: int = 0  # position of the operator in a Compare, or of the statement in its body
    body: list[ast.stmt] = field(default_factory=list)  # the list holding a statement site
    names: tuple[str, ...] = ()  # replacement names for a Name site (sorted, current one excluded)


class ParentCache:
    """The parsed tree and the sites of recently mutated parents (least recently used out)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, MutationSettings], tuple[ast.Module, list[_Site]]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, source: str, settings: MutationSettings) -> tuple[ast.Module, list[_Site]]:
        key = (source, settings)
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return entry
        self.misses += 1
        tree = _parse(source, "parent")
        entry = (tree, list(_find_sites(tree, settings)))
        self._entries[key] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def drop(self, source: str, settings: MutationSettings) -> None:
        self._entries.pop((source, settings), None)


def mutate_source(source: str, rng: np.random.Generator, settings: MutationSettings,
                  cache: ParentCache | None = None) -> MutationResult:
    """A mutated copy of ``source``; MutationFailed when the parent or the child does not parse.
    With ``cache``, the parent's analysis is reused and its cached tree left as it was."""
    if len(source) > settings.max_program_chars:
        raise MutationFailed(f"parent has {len(source)} characters, more than max_program_chars "
                             f"({settings.max_program_chars})")
    if cache is None:
        tree = _parse(source, "parent")
        return _mutate_tree(tree, list(_find_sites(tree, settings)), rng, settings, undo=None)
    tree, sites = cache.get(source, settings)
    undo: list[Callable[[], None]] = []
    try:
        return _mutate_tree(tree, sites, rng, settings, undo)
    finally:
        try:
            for step in reversed(undo):
                step()
        except Exception:  # the cached tree may be inconsistent: analyse the parent afresh next time
            cache.drop(source, settings)
            raise


def _mutate_tree(tree: ast.Module, sites: list[_Site], rng: np.random.Generator, settings: MutationSettings,
                 undo: list[Callable[[], None]] | None) -> MutationResult:
    """Edit ``tree`` at sites drawn from ``sites`` and write it back; with ``undo``, each edit
    appends how to reverse it (the tree is then not copied)."""
    if not sites:
        raise MutationFailed("parent has nothing to mutate (no names, numbers, operators or statements)",
                             no_edit=True)
    # large programs (a Sodarace walker has ~100 sites) would get ~10 edits at a fixed rate and
    # rarely run: the per-site probability is lowered so at most max_expected_edits are expected
    rate = settings.rate if settings.max_expected_edits is None else min(
        settings.rate, settings.max_expected_edits / len(sites))
    chosen = [site for site, hit in zip(sites, rng.random(len(sites)) < rate) if hit]
    if not chosen:
        chosen = [sites[int(rng.integers(len(sites)))]]
    node_sites, statement_plan = _plan_statement_edits(chosen, rng)
    node_sites.sort(key=lambda site: (getattr(site.node, "lineno", 0), getattr(site.node, "col_offset", 0)))
    edits = []
    for site in node_sites:
        if undo is not None:
            undo.append(_restorer(site))
        edits.append(_apply_node_edit(site, rng, settings))
    try:
        edits.extend(_apply_statement_edits(statement_plan, undo))
    except RecursionError:  # copying a pathologically deep statement
        raise MutationFailed("parent is nested too deeply to copy a statement") from None
    try:
        program = ast.unparse(tree) + "\n"
    except (RecursionError, ValueError, AttributeError, TypeError) as exc:
        raise MutationFailed(f"child cannot be written back as source: {type(exc).__name__}: {exc}") from None
    checked = _parse(program, "child")
    try:
        normalised: str | None = ast.unparse(checked)
    except (ValueError, RecursionError, MemoryError):  # the engine then tries, and fails, as before
        normalised = None
    return MutationResult(program=program, edits=tuple(edits), normalised=normalised)


def _parse(source: str, which: str) -> ast.Module:
    try:
        return parse_source(source)
    except SyntaxError as exc:
        raise MutationFailed(f"{which} does not parse: line {exc.lineno}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise MutationFailed(f"{which} does not parse: {type(exc).__name__}: {exc}") from None


def _find_sites(tree: ast.Module, settings: MutationSettings) -> Iterator[_Site]:
    kinds = set(settings.kinds)
    scopes = visible_names(tree) if "name" in kinds else {}
    docstrings = _docstring_nodes(tree)
    for node in ast.walk(tree):
        if "name" in kinds and isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Del):
            names = tuple(sorted(scopes.get(id(node), frozenset()) - {node.id}))
            if names or isinstance(node.ctx, ast.Load):
                yield _Site("name", node, names=names)
        elif "constant" in kinds and isinstance(node, ast.Constant) and type(node.value) in (bool, int, float):
            yield _Site("constant", node)
        elif "operator" in kinds and isinstance(node, (ast.BinOp, ast.AugAssign)) \
                and type(node.op) in BINARY_OPERATORS:
            yield _Site("operator", node)
        elif "comparison" in kinds and isinstance(node, ast.Compare):
            for index, op in enumerate(node.ops):
                if type(op) in COMPARISON_OPERATORS:
                    yield _Site("comparison", node, index=index)
        if "statement" in kinds:
            for body in _bodies(node):
                for index, statement in enumerate(body):
                    if not isinstance(statement, _FIXED_STATEMENTS) and id(statement) not in docstrings:
                        yield _Site("statement", statement, index=index, body=body)


def _bodies(node: ast.AST) -> Iterator[list[ast.stmt]]:
    for name in _BODY_FIELDS:
        body = getattr(node, name, None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            yield body


def _docstring_nodes(tree: ast.Module) -> set[int]:
    owners = [tree, *(n for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))]
    return {id(owner.body[0]) for owner in owners if ast.get_docstring(owner, clean=False) is not None}


def _plan_statement_edits(chosen: list[_Site], rng: np.random.Generator
                          ) -> tuple[list[_Site], list[tuple[_Site, bool]]]:
    """Split the chosen sites into node edits and (statement, delete?) pairs; sites inside a
    deleted statement are dropped, and no body is ever left empty."""
    plan: list[tuple[_Site, bool]] = []
    remaining: dict[int, int] = {}
    for site in chosen:
        if site.kind != "statement":
            continue
        left = remaining.setdefault(id(site.body), len(site.body))
        delete = bool(rng.random() < 0.5) and left > 1
        if delete:
            remaining[id(site.body)] = left - 1
        plan.append((site, delete))
    removed: set[int] = set()
    for site, delete in plan:
        if delete:
            removed.update(id(n) for n in ast.walk(site.node) if n is not site.node)
    plan = [(site, delete) for site, delete in plan if id(site.node) not in removed]
    node_sites = [s for s in chosen if s.kind != "statement" and id(s.node) not in removed]
    return node_sites, plan


def _apply_node_edit(site: _Site, rng: np.random.Generator, settings: MutationSettings) -> str:
    node = site.node
    if isinstance(node, ast.Name):
        return _replace_name(node, site.names, rng, settings.builtin_rate)
    if isinstance(node, ast.Constant):
        return _perturb_constant(node, rng, settings)
    if isinstance(node, (ast.BinOp, ast.AugAssign)):
        old = type(node.op)
        new = _other(BINARY_OPERATORS, old, rng)
        node.op = new()
        return f"op {old.__name__}->{new.__name__}"
    assert isinstance(node, ast.Compare)
    old_cmp = type(node.ops[site.index])
    new_cmp = _other(COMPARISON_OPERATORS, old_cmp, rng)
    node.ops[site.index] = new_cmp()
    return f"cmp {old_cmp.__name__}->{new_cmp.__name__}"


def _replace_name(node: ast.Name, names: tuple[str, ...], rng: np.random.Generator, builtin_rate: float) -> str:
    builtins = tuple(b for b in BUILTIN_NAMES if b != node.id) if isinstance(node.ctx, ast.Load) else ()
    use_builtin = bool(builtins) and (not names or bool(rng.random() < builtin_rate))
    pool = builtins if use_builtin else names
    old = node.id
    node.id = pool[int(rng.integers(len(pool)))]
    return f"name {old}->{node.id}"


def _perturb_constant(node: ast.Constant, rng: np.random.Generator, settings: MutationSettings) -> str:
    old = node.value
    if isinstance(old, bool):
        node.value = not old
    elif isinstance(old, int):
        magnitude = int(rng.integers(1, settings.int_step + 1))
        node.value = old + (magnitude if rng.random() < 0.5 else -magnitude)
    else:
        scale = settings.float_sigma * max(1.0, abs(old))
        node.value = float(f"{old + float(rng.normal(0.0, scale)):.6g}")
    return f"const {old!r}->{node.value!r}"


def _restorer(site: _Site) -> Callable[[], None]:
    """How to put a node site back as it is now."""
    node = site.node
    if isinstance(node, ast.Name):
        old_id = node.id
        return lambda: setattr(node, "id", old_id)
    if isinstance(node, ast.Constant):
        old_value = node.value
        return lambda: setattr(node, "value", old_value)
    if isinstance(node, (ast.BinOp, ast.AugAssign)):
        old_op = node.op
        return lambda: setattr(node, "op", old_op)
    assert isinstance(node, ast.Compare)
    ops, index, old_cmp = node.ops, site.index, node.ops[site.index]
    return lambda: ops.__setitem__(index, old_cmp)


def _other(options: tuple[type, ...], current: type, rng: np.random.Generator) -> type:
    others = [option for option in options if option is not current]
    return others[int(rng.integers(len(others)))]


def _apply_statement_edits(plan: list[tuple[_Site, bool]], undo: list[Callable[[], None]] | None = None
                           ) -> list[str]:
    """Delete or duplicate statements, from the end of each body so positions stay valid."""
    edits: list[str] = []
    for site, delete in sorted(plan, key=lambda item: (getattr(item[0].node, "lineno", 0), item[0].index),
                               reverse=True):
        body = site.body
        position = next(i for i, statement in enumerate(body) if statement is site.node)
        label = f"line {getattr(site.node, 'lineno', '?')} ({type(site.node).__name__})"
        if delete:
            del body[position]
            if undo is not None:
                undo.append(lambda body=body, position=position, node=site.node: body.insert(position, node))
            edits.append(f"delete {label}")
        else:
            body.insert(position + 1, copy.deepcopy(site.node))
            if undo is not None:
                undo.append(lambda body=body, position=position: body.pop(position + 1))
            edits.append(f"duplicate {label}")
    edits.reverse()
    return edits
