"""Synthetic commits from a code corpus, in the diff models' ``<NME> <BEF> <MSG> <DFF>`` form.

Each function of the corpus (top-level functions and methods, dedented, of a few lines to a
few dozen) gives one commit of one of three kinds:

- ``bugfix``: one to three bugs put into the working function (an arithmetic or comparison
  operator, a variable, a name misspelt, a constant, the order of two arguments, an
  off-by-one in a ``range`` or an index, a deleted or a duplicated statement: the bugs of
  the 4-Parity and Quadratic tasks and the edits GP makes). ``<BEF>`` is the buggy
  function, the diff is the fix, the message says so ("Fixed bugs", "Fix bugs in f").
- ``complete``: one to four consecutive lines taken out of the function's body; the diff
  writes them back ("Add the missing lines to f").
- ``change``: the other direction of a bug: the working function is changed by a few of the
  same edits (constants, operators, arguments, a line repeated with another constant), with
  the messages of a program being explored ("Changed parameters in f function.").

Every record is checked: its diff, parsed and applied strictly to ``<BEF>`` with elm's own
diff reader, must give the other side back exactly; both sides must parse, and a bug must
change the program's syntax tree. Records that fail are dropped and counted."""

from __future__ import annotations

import ast
import io
import keyword
import textwrap
import tokenize
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from elm_llm.diffs import DiffApplyError, apply_hunks, parse_hunks
from elm_llm.prompts import diff_prompt
from elm_train.records import diff_completion, diff_hunks

KINDS = ("bugfix", "complete", "change")
DEFAULT_MIX = {"bugfix": 0.5, "complete": 0.2, "change": 0.3}
BUGS = ("operator", "comparison", "variable", "misspelt", "constant", "argument_order", "off_by_one",
        "delete_statement", "duplicate_statement")
CHANGES = ("constant", "operator", "argument_order", "duplicate_changed")
MESSAGES = {
    "bugfix": ("Fixed bugs", "Fixed bugs in {f}.", "Fix bugs in {f}", "Fix the bug in {f}"),
    "complete": ("Add the missing lines to {f}", "Complete {f}", "Finish the implementation of {f}."),
    "change": ("Changed {f} function.", "Small change to {f} function."),
    "change_parameters": ("Changed parameters in {f} function.", "Changed {f} function.",
                          "Small change to {f} function."),
}
ARITHMETIC = ("+", "-", "*", "/", "//", "%", "**")
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
_OPERAND_END = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}


class CommitError(ValueError):
    """Commits that cannot be made; the message names the input and what to do."""


@dataclass(frozen=True)
class CommitRecord:
    """One synthetic commit, with where its function came from."""

    file_name: str
    parent: str
    message: str
    diff: str
    prompt: str
    completion: str
    kind: str
    edits: str
    source: str
    package: str
    licence: str


# -- the functions of a corpus -------------------------------------------------------------
def functions_of(text: str, min_lines: int = 3, max_lines: int = 40, max_chars: int = 2000) -> list[tuple[str, str]]:
    """(name, dedented source) of each function or method in ``text`` of a size a diff
    model of elm edits (the seeds are 4 to 60 lines)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
    lines = text.splitlines(keepends=True)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.end_lineno is None:
            continue
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        count = node.end_lineno - start
        if not min_lines <= count <= max_lines:
            continue
        source = textwrap.dedent("".join(lines[start:node.end_lineno]))
        if len(source) > max_chars or "\t" in source or not source.strip():
            continue
        if not source.endswith("\n"):
            source += "\n"
        found.append((node.name, source))
    return found


# -- edits -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spot:
    """Replace text on one line: ``line`` (0-based), columns ``start``..``end``."""

    line: int
    start: int
    end: int
    text: str


def _apply_spot(source: str, spot: Spot) -> str:
    lines = source.splitlines(keepends=True)
    row = lines[spot.line]
    lines[spot.line] = row[:spot.start] + spot.text + row[spot.end:]
    return "".join(lines)


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def _significant(tokens: list[tokenize.TokenInfo]) -> list[tokenize.TokenInfo]:
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    return [t for t in tokens if t.type not in skip]


def _binary_operators(source: str, group: tuple[str, ...]) -> list[tokenize.TokenInfo]:
    sig = _significant(_tokens(source))
    found = []
    for i, tok in enumerate(sig):
        if tok.type != tokenize.OP or tok.string not in group or i == 0:
            continue
        before = sig[i - 1]
        if before.type in _OPERAND_END or before.string in (")", "]", "}"):
            if not (before.type == tokenize.NAME and keyword.iskeyword(before.string)
                    and before.string not in ("None", "True", "False")):
                found.append(tok)
    return found


def _swap_token(tok: tokenize.TokenInfo, group: tuple[str, ...], rng: np.random.Generator) -> Spot:
    others = [g for g in group if g != tok.string]
    row, col = tok.start
    return Spot(row - 1, col, tok.end[1], str(others[int(rng.integers(len(others)))]))


def _names(source: str) -> tuple[list[tokenize.TokenInfo], list[str]]:
    """Name tokens a bug may hit (variables read or written, not attributes, keywords,
    keyword-argument names or the function's own name), and the function's local names."""
    tokens = _significant(_tokens(source))
    tree = ast.parse(source)
    func = tree.body[0]
    local = {a.arg for a in ast.walk(func) if isinstance(a, ast.arg)}
    local |= {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    used = []
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or keyword.iskeyword(tok.string) or tok.string not in local:
            continue
        prev = tokens[i - 1].string if i else ""
        nxt = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if prev in (".", "def", "class") or (nxt == "=" and prev in ("(", ",")):
            continue
        if tok.start[0] == tokens[0].start[0] and tokens[0].string in ("def", "async"):
            continue  # the signature: renaming a parameter there is not a bug in the body
        used.append(tok)
    return used, sorted(local)


def _misspell(name: str) -> str:
    """``b1`` -> ``c1``: the first letter moved on by one (as in the 4-Parity bugs)."""
    first = name[0]
    if first.isalpha():
        nxt = chr(ord(first) + 1) if first not in "zZ" else chr(ord(first) - 1)
        return nxt + name[1:]
    return "x" + name


def _statements(source: str) -> list[ast.stmt]:
    """One-line simple statements inside the function body that are not its only
    statement nor a docstring."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree.body[0]):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if not isinstance(body, list) or len(body) < 2:
                continue
            for i, stmt in enumerate(body):
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For,
                                     ast.While, ast.With, ast.Try, ast.AsyncFor, ast.AsyncWith)):
                    continue
                if stmt.lineno != stmt.end_lineno:
                    continue
                if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    continue  # docstring
                found.append(stmt)
    return found


def _line_of(source: str, stmt: ast.stmt) -> tuple[list[str], int] | None:
    lines = source.splitlines(keepends=True)
    index = stmt.lineno - 1
    row = lines[index]
    if row.strip().endswith(";") or row[stmt.col_offset:stmt.end_col_offset].strip() != row.strip():
        return None  # another statement shares the line
    return lines, index


def bug_edit(source: str, bug: str, rng: np.random.Generator) -> str | None:
    """``source`` with one edit of kind ``bug`` at a random place, or None when the
    function has no place for it."""
    if bug in ("operator", "comparison"):
        group = ARITHMETIC if bug == "operator" else COMPARISONS
        spots = _binary_operators(source, group)
        if not spots:
            return None
        return _apply_spot(source, _swap_token(spots[int(rng.integers(len(spots)))], group, rng))
    if bug in ("variable", "misspelt"):
        used, local = _names(source)
        if not used:
            return None
        tok = used[int(rng.integers(len(used)))]
        if bug == "misspelt":
            new = _misspell(tok.string)
        else:
            others = [n for n in local if n != tok.string]
            if not others:
                return None
            new = others[int(rng.integers(len(others)))]
        return _apply_spot(source, Spot(tok.start[0] - 1, tok.start[1], tok.end[1], new))
    if bug == "constant":
        numbers = [t for t in _significant(_tokens(source)) if t.type == tokenize.NUMBER]
        if not numbers:
            return None
        tok = numbers[int(rng.integers(len(numbers)))]
        new = _changed_number(tok.string, rng)
        return None if new is None else _apply_spot(source, Spot(tok.start[0] - 1, tok.start[1], tok.end[1], new))
    if bug == "argument_order":
        tree = ast.parse(source)
        calls = [c for c in ast.walk(tree) if isinstance(c, ast.Call) and len(c.args) >= 2
                 and not any(isinstance(a, ast.Starred) for a in c.args)
                 and c.args[0].lineno == c.args[-1].end_lineno]
        if not calls:
            return None
        call = calls[int(rng.integers(len(calls)))]
        i = int(rng.integers(len(call.args) - 1))
        first, second = call.args[i], call.args[i + 1]
        line = source.splitlines(keepends=True)[first.lineno - 1]
        a = line[first.col_offset:first.end_col_offset]
        b = line[second.col_offset:second.end_col_offset]
        if a == b:
            return None
        middle = line[first.end_col_offset:second.col_offset]
        return _apply_spot(source, Spot(first.lineno - 1, first.col_offset, second.end_col_offset, b + middle + a))
    if bug == "off_by_one":
        tree = ast.parse(source)
        targets = []
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
                    and node.args and not isinstance(node.args[-1] if len(node.args) < 3 else node.args[1],
                                                     ast.Starred)):
                targets.append(node.args[0] if len(node.args) == 1 else node.args[1])
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, (ast.Name, ast.Constant)) \
                    and not isinstance(getattr(node.slice, "value", 0), str):
                targets.append(node.slice)
        targets = [t for t in targets if t.lineno == t.end_lineno]
        if not targets:
            return None
        node = targets[int(rng.integers(len(targets)))]
        line = source.splitlines(keepends=True)[node.lineno - 1]
        text = line[node.col_offset:node.end_col_offset]
        return _apply_spot(source, Spot(node.lineno - 1, node.col_offset, node.end_col_offset,
                                        f"{text} {'+-'[int(rng.integers(2))]} 1"))
    if bug in ("delete_statement", "duplicate_statement", "duplicate_changed"):
        stmts = _statements(source)
        rng.shuffle(stmts)
        for stmt in stmts:
            located = _line_of(source, stmt)
            if located is None:
                continue
            lines, index = located
            if bug == "delete_statement":
                return "".join(lines[:index] + lines[index + 1:])
            copy = lines[index]
            if bug == "duplicate_changed":
                changed = bug_edit(copy.lstrip(), "constant", rng)
                if changed is None:
                    continue
                copy = copy[:len(copy) - len(copy.lstrip())] + changed
            return "".join(lines[:index + 1] + [copy] + lines[index + 1:])
        return None
    raise ValueError(f"unknown edit {bug!r}")


def _changed_number(text: str, rng: np.random.Generator) -> str | None:
    try:
        value = int(text, 0)
    except ValueError:
        try:
            value_f = float(text)
        except ValueError:
            return None  # complex literals
        if value_f == 0:
            return "1.0"
        factor = (0.5, 2.0, 0.9, 1.1)[int(rng.integers(4))]
        new = repr(round(value_f * factor, 6))
        return new if new != text else None
    if text.startswith(("0x", "0o", "0b", "0X", "0O", "0B")) or "_" in text:
        return None
    if value == 0:
        return "1"
    step = int(rng.choice([-1, 1])) if value > 1 else 1
    return str(value + step)


# -- records -----------------------------------------------------------------------------
def _tree(source: str) -> tuple[str, ...] | None:
    """What the program is, formatting and comments aside (its significant tokens), or None
    when it does not parse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, "<commit>", "exec", ast.PyCF_ONLY_AST)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    return tuple(t.string for t in _significant(_tokens(source)))


def _edited(source: str, kinds: tuple[str, ...], count: int, rng: np.random.Generator) -> tuple[str, list[str]] | None:
    """``source`` after ``count`` edits drawn from ``kinds`` (each one that finds no place is
    redrawn, a few times), and the kinds applied; None when none could be made."""
    current, done = source, []
    original = _tree(source)
    for _ in range(count * 4):
        if len(done) == count:
            break
        kind = kinds[int(rng.integers(len(kinds)))]
        try:
            new = bug_edit(current, kind, rng)
        except (SyntaxError, ValueError, IndexError):
            new = None
        if new is None or new == current:
            continue
        tree = _tree(new)
        if tree is None or tree == original:
            continue
        current, done = new, done + [kind]
    return (current, done) if done else None


def _missing_lines(source: str, rng: np.random.Generator) -> str | None:
    lines = source.splitlines(keepends=True)
    body_start = next((i + 1 for i, line in enumerate(lines) if line.rstrip().endswith(":")), None)
    if body_start is None or len(lines) - body_start < 2:
        return None
    for _ in range(4):
        size = int(rng.integers(1, min(4, len(lines) - body_start - 1) + 1))
        start = int(rng.integers(body_start, len(lines) - size + 1))
        cut = lines[:start] + lines[start + size:]
        if not "".join(lines[start:start + size]).strip():
            continue
        text = "".join(cut)
        if _tree(text) is not None:
            return text
    return None


def commit_for(name: str, source: str, kind: str, rng: np.random.Generator) -> tuple[str, str, str, list[str]] | None:
    """(before, after, message template, edits) of one commit of ``kind`` on function
    ``name``; the template's ``{f}`` stands for the function's name."""
    if kind == "bugfix":
        made = _edited(source, BUGS, int(rng.choice([1, 1, 1, 2, 2, 3])), rng)
        if made is None:
            return None
        before, edits = made
        after, family = source, "bugfix"
    elif kind == "complete":
        before = _missing_lines(source, rng)
        if before is None:
            return None
        after, edits, family = source, ["missing_lines"], "complete"
    elif kind == "change":
        made = _edited(source, CHANGES, int(rng.choice([1, 1, 2])), rng)
        if made is None:
            return None
        after, edits = made
        before = source
        family = "change_parameters" if set(edits) <= {"constant", "duplicate_changed"} else "change"
    else:
        raise ValueError(f"unknown commit kind {kind!r}")
    options = MESSAGES[family]
    template = options[int(rng.integers(len(options)))]
    return before, after, template, edits


def verify(before: str, after: str, completion: str) -> bool:
    """Whether the completion's hunks, applied strictly to ``before``, give ``after``."""
    try:
        return apply_hunks(before, parse_hunks(completion), strict=True) == after
    except DiffApplyError:
        return False


def make_commits(rows: list[dict], mix: dict[str, float], seed: int, context: int = 3, per_function: int = 1,
                 max_commits: int | None = None, min_lines: int = 3, max_lines: int = 40,
                 progress: Callable[[int, int], None] = lambda done, total: None) -> tuple[list[dict], Counter]:
    """Commit records from code rows (``CodeRecord`` dicts), and counts of what was made
    (per kind, per edit, per message) and dropped."""
    kinds = [k for k in KINDS if mix.get(k, 0) > 0]
    weights = np.array([mix[k] for k in kinds], dtype=float)
    weights /= weights.sum()
    counts: Counter = Counter()
    out: list[dict] = []
    order = np.random.default_rng([seed, len(rows)]).permutation(len(rows))  # a cap takes from every package
    for done, index in enumerate(order.tolist()):
        row = rows[index]
        progress(done, len(rows))
        if max_commits is not None and len(out) >= max_commits:
            break
        file_name = Path(row["name"].split("::")[0]).name or "program.py"
        for fn_index, (name, source) in enumerate(functions_of(row["text"], min_lines, max_lines)):
            for k in range(per_function):
                rng = np.random.default_rng([seed, index, fn_index, k])
                kind = kinds[int(rng.choice(len(kinds), p=weights))]
                counts["functions_tried"] += 1
                made = commit_for(name, source, kind, rng)
                if made is None:
                    counts[f"no_place:{kind}"] += 1
                    continue
                before, after, template, edits = made
                message = template.format(f=name)
                hunks = diff_hunks(before, after, file_name, context)
                completion = diff_completion(hunks)
                if not hunks.strip() or not verify(before, after, completion):
                    counts[f"unverified:{kind}"] += 1
                    continue
                counts[f"kind:{kind}"] += 1
                counts[f"message:{template}"] += 1
                for edit in edits:
                    counts[f"edit:{edit}"] += 1
                out.append(asdict(CommitRecord(
                    file_name=file_name, parent=before, message=message, diff=hunks,
                    prompt=diff_prompt(file_name, before, message), completion=completion, kind=kind,
                    edits=",".join(edits), source=row["name"], package=row["package"], licence=row["licence"])))
                if max_commits is not None and len(out) >= max_commits:
                    break
    progress(len(rows), len(rows))
    return out, counts
