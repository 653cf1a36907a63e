"""Token-level edits of Python source: nudge a numeric literal, or swap an arithmetic operator.

Works on the token stream, so everything else in the program (comments, layout, names) is
left exactly as it was. All randomness comes from the ``numpy`` generator passed in.
"""

from __future__ import annotations

import ast
import io
import math
import tokenize
from dataclasses import dataclass

import numpy as np

ARITHMETIC_OPERATORS = ("+", "-", "*", "/")


class EditFailed(Exception):
    """No child could be made; ``no_edit`` is True when the parent offers nothing to edit."""

    def __init__(self, reason: str, no_edit: bool = False) -> None:
        super().__init__(reason)
        self.no_edit = no_edit


@dataclass(frozen=True)
class EditSettings:
    max_edits: int = 2
    sigma: float = 0.3
    int_step: int = 1
    operator_rate: float = 0.2
    digits: int = 4


@dataclass(frozen=True)
class Site:
    """One editable token: its character span in the source, its text and kind."""

    start: int
    end: int
    text: str
    kind: str  # "number" or "operator"
    line: int


@dataclass(frozen=True)
class EditResult:
    program: str
    edits: tuple[str, ...]


def find_sites(source: str) -> list[Site]:
    """Real and integer literals and binary-looking arithmetic operators, in source order."""
    line_starts = _line_starts(source)
    sites: list[Site] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NUMBER and _literal_value(token.string) is not None:
                kind = "number"
            elif token.type == tokenize.OP and token.string in ARITHMETIC_OPERATORS:
                kind = "operator"
            else:
                continue
            start = line_starts[token.start[0] - 1] + token.start[1]
            end = line_starts[token.end[0] - 1] + token.end[1]
            sites.append(Site(start, end, token.string, kind, token.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise EditFailed(f"parent does not tokenize: {exc}") from None
    return sites


def edit_source(source: str, rng: np.random.Generator, settings: EditSettings) -> EditResult:
    """A copy of ``source`` with 1..max_edits token edits; EditFailed if none can be made
    or the child does not parse."""
    sites = find_sites(source)
    numbers = [s for s in sites if s.kind == "number"]
    operators = [s for s in sites if s.kind == "operator"]
    if not sites:
        raise EditFailed("parent has no numeric literal or arithmetic operator to edit", no_edit=True)
    count = int(rng.integers(1, settings.max_edits + 1))
    replacements: dict[Site, str] = {}
    for _ in range(count):
        use_operator = bool(operators) and (not numbers or rng.random() < settings.operator_rate)
        pool = operators if use_operator else numbers
        site = pool[int(rng.integers(len(pool)))]
        if site in replacements:
            continue
        replacements[site] = _swap_operator(site.text, rng) if use_operator else _nudge(site.text, rng, settings)
    program = source
    for site in sorted(replacements, key=lambda s: s.start, reverse=True):
        program = program[:site.start] + replacements[site] + program[site.end:]
    edits = tuple(f"line {s.line}: {s.text} -> {replacements[s]}" for s in sorted(replacements, key=lambda s: s.start))
    if program == source:
        raise EditFailed("the edit left the program unchanged", no_edit=True)
    try:
        ast.parse(program)
    except (SyntaxError, ValueError) as exc:
        raise EditFailed(f"child does not parse after {'; '.join(edits)}: {exc}") from None
    return EditResult(program, edits)


def _swap_operator(text: str, rng: np.random.Generator) -> str:
    others = [op for op in ARITHMETIC_OPERATORS if op != text]
    return others[int(rng.integers(len(others)))]


def _nudge(text: str, rng: np.random.Generator, settings: EditSettings) -> str:
    value = _literal_value(text)
    if isinstance(value, int):
        offsets = [d for d in range(-settings.int_step, settings.int_step + 1) if d != 0]
        return _as_literal(value + offsets[int(rng.integers(len(offsets)))])
    assert value is not None
    scale = settings.sigma * max(1.0, abs(value))
    new = value + float(rng.normal(0.0, scale))
    return _as_literal(float(f"{new:.{settings.digits}g}"))


def _as_literal(value: int | float) -> str:
    """Source text for ``value`` that is a literal of the same type wherever the old one stood."""
    text = repr(value)
    return f"({text})" if value < 0 else text


def _literal_value(text: str) -> int | float | None:
    """The value of an int or finite float literal; None for complex literals and the like."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _line_starts(source: str) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts
