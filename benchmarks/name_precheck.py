"""Would a check before the sandbox pay for itself? A measurement, over real runs' children.

The check: a Sodarace program that reads, where it is certain to be read, a name it binds
nowhere (not a builtin, not given by the harness) raises NameError in the sandbox, so it
cannot run. "Certain to be read": in the module's top-level statements, or in
``make_walker``'s (the harness calls it and lets its exceptions through), or in a
module-level function called from them, in the statements before any that may return,
and only in the parts of an expression that are always evaluated (the first operand of
``and``/``or``, the test of ``x if c else y``, the first comparison of a chain, the first
iterable of a comprehension, a lambda's defaults). Programs that can bind names in ways
the syntax does not show (``globals``, ``exec``, dunder names, ``import *``) are not
judged. An earlier statement that fails or never ends leaves the program not runnable
too, so the verdict is exact, though the sandbox's reason may name another error.

For each run directory it prints: children judged, how many the check rejects, how many
of those the sandbox ran (must be 0), how often the sandbox's reason is the same
NameError, and the check's cost per program (parse and analysis, CPU) beside the
sandbox's mean time for a program that does not run (``eval_seconds`` in the store).

    python benchmarks/name_precheck.py RUN_DIR... [--limit 20000]
"""

from __future__ import annotations

import argparse
import ast
import builtins
import sqlite3
import time
from collections import Counter
from pathlib import Path

BUILTINS = frozenset(dir(builtins))
DYNAMIC = frozenset({"globals", "vars", "locals", "exec", "eval", "__import__", "setattr", "delattr", "compile",
                     "breakpoint"})
ENTRY, PROVIDED = "make_walker", frozenset({"query_cppn"})  # elm_sodarace.harness.run_walker
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def certain_unbound_name(program: str) -> str | None:
    """The name whose NameError the program cannot escape, or None when not certain."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    bindings: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in DYNAMIC or node.id.startswith("__"):
                return None
            if not isinstance(node.ctx, ast.Load):
                bindings[node.id] += 1
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            return None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bindings[node.name] += 1
        elif isinstance(node, ast.arg):
            bindings[node.arg] += 1
        elif isinstance(node, ast.alias):
            if node.name == "*":
                return None
            bindings[(node.asname or node.name).split(".")[0]] += 1
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bindings[node.name] += 1
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bindings[node.rest] += 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bindings.update(node.names)
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef) and not f.decorator_list
                 and bindings[f.name] == 1 and not _suspends(f)}
    return _Reads(bindings, functions).program(tree)


class _Reads:
    def __init__(self, bindings: Counter[str], functions: dict[str, ast.FunctionDef]) -> None:
        self.bindings, self.functions, self.entered = bindings, functions, set[str]()

    def program(self, tree: ast.Module) -> str | None:
        return self.body(tree.body) or self.call(ENTRY)

    def call(self, name: str) -> str | None:
        if name not in self.functions or name in self.entered:
            return None
        self.entered.add(name)
        return self.body(self.functions[name].body)

    def unbound(self, name: str) -> bool:
        return self.bindings[name] == 0 and name not in BUILTINS and name not in PROVIDED

    def expr(self, e: ast.expr | None) -> str | None:
        if e is None:
            return None
        if isinstance(e, ast.Name):
            return e.id if isinstance(e.ctx, ast.Load) and self.unbound(e.id) else None
        if isinstance(e, ast.BoolOp):
            return self.expr(e.values[0])
        if isinstance(e, ast.IfExp):
            return self.expr(e.test)
        if isinstance(e, ast.Lambda):
            return self.exprs([*e.args.defaults, *(d for d in e.args.kw_defaults if d is not None)])
        if isinstance(e, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self.expr(e.generators[0].iter)
        if isinstance(e, ast.Compare):
            return self.exprs([e.left, e.comparators[0]])
        if isinstance(e, (ast.Yield, ast.YieldFrom, ast.Await)):
            return None
        if isinstance(e, ast.Call):
            found = self.exprs([e.func, *e.args, *(k.value for k in e.keywords)])
            return found or (self.call(e.func.id) if isinstance(e.func, ast.Name) else None)
        return self.exprs([c for c in ast.iter_child_nodes(e) if isinstance(c, ast.expr)])

    def exprs(self, es: list[ast.expr]) -> str | None:
        for e in es:
            found = self.expr(e)
            if found:
                return found
        return None

    def body(self, statements: list[ast.stmt]) -> str | None:
        for s in statements:
            if isinstance(s, (ast.Expr, ast.Return)):
                found = self.expr(s.value)
            elif isinstance(s, ast.Assign):
                found = self.expr(s.value) or self.exprs(s.targets)
            elif isinstance(s, ast.AugAssign):
                found = self.expr(s.value) or self.expr(s.target)
            elif isinstance(s, ast.AnnAssign):
                found = self.expr(s.value)
            elif isinstance(s, (ast.If, ast.While)):
                found = self.expr(s.test)
            elif isinstance(s, ast.For):
                found = self.expr(s.iter)
            elif isinstance(s, ast.With):
                found = self.exprs([item.context_expr for item in s.items])
            elif isinstance(s, ast.Raise):
                found = self.expr(s.exc)
            elif isinstance(s, ast.FunctionDef):
                found = self.exprs([*s.decorator_list, *s.args.defaults, *(d for d in s.args.kw_defaults if d)])
            elif isinstance(s, (ast.Pass, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
                found = None
            else:  # try, class, match, assert, del, async: not followed
                return None
            if found:
                return found
            if isinstance(s, (ast.Return, ast.Raise)) or _may_return(s):
                return None
        return None


def _may_return(node: ast.AST) -> bool:
    stack = list(ast.iter_child_nodes(node))
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await)):
            return True
        if not isinstance(n, SCOPES):
            stack.extend(ast.iter_child_nodes(n))
    return False


def _suspends(function: ast.FunctionDef) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)) for n in ast.walk(function))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="Sodarace run directories")
    parser.add_argument("--limit", type=int, default=20000, help="children read per run")
    args = parser.parse_args()
    print("| run | children judged | rejected | of those, ran in the sandbox | same reason | "
          "parse ms | analysis ms | sandbox ms, not runnable |")
    print("|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        db = sqlite3.connect(f"file:{run / 'store.sqlite'}?mode=ro", uri=True)
        rows = db.execute("SELECT outcome, program, reason, eval_seconds FROM candidates WHERE program IS NOT NULL "
                          "AND outcome != 'duplicate' AND operator != 'seed' ORDER BY id LIMIT ?",
                          (args.limit,)).fetchall()
        db.close()
        programs = [r[1] for r in rows]
        started = time.process_time()
        for program in programs:
            ast.parse(program)
        parse_ms = (time.process_time() - started) / len(rows) * 1e3
        started = time.process_time()
        verdicts = [certain_unbound_name(p) for p in programs]
        check_ms = (time.process_time() - started) / len(rows) * 1e3
        rejected = [(r, name) for r, name in zip(rows, verdicts) if name]
        ran = sum(r[0] != "not_runnable" for r, _ in rejected)
        same = sum(r[2] == f"NameError: name '{name}' is not defined" for r, name in rejected)
        failed = [r[3] for r in rows if r[0] == "not_runnable" and r[3] is not None]
        sandbox_ms = 1e3 * sum(failed) / max(1, len(failed))
        print(f"| {run} | {len(rows):,} | {len(rejected):,} ({100 * len(rejected) / len(rows):.1f} %) | {ran} | "
              f"{same:,} ({100 * same / max(1, len(rejected)):.0f} %) | {parse_ms:.2f} | {check_ms - parse_ms:.2f} | "
              f"{sandbox_ms:.2f} |")


if __name__ == "__main__":
    main()
