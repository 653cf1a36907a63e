"""Finds the seed program a run starts from: a named seed file or a path to a .py file."""

from __future__ import annotations

import ast
from pathlib import Path

from elm_seeds import list_seeds, read_seed

MAX_SEED_BYTES = 100_000


class SeedError(ValueError):
    """A seed program that cannot be used; the message says what to do instead."""


def looks_like_path(seed_program: str) -> bool:
    return seed_program.endswith(".py") or "/" in seed_program or "\\" in seed_program


def load_seed(seed_dir: str, seed_program: str, function_name: str) -> str:
    """Source text of ``seed_program`` (a seed name under seeds/<seed_dir>/ or a .py path),
    checked to parse and to define ``function_name`` at top level."""
    if looks_like_path(seed_program):
        text = _read_path(Path(seed_program).expanduser(), seed_program)
    else:
        try:
            text = read_seed(seed_dir, seed_program)
        except FileNotFoundError:
            names = ", ".join(list_seeds(seed_dir)) or "none"
            raise SeedError(f"seed_program {seed_program!r}: no such seed for {seed_dir!r}; "
                            f"use one of: {names}, or a path to a .py file") from None
    check_seed(text, seed_program, function_name)
    return text


def _read_path(path: Path, shown: str) -> str:
    if not path.is_file():
        raise SeedError(f"seed_program {shown!r}: file not found; give an existing .py file or a seed name")
    if path.stat().st_size > MAX_SEED_BYTES:
        raise SeedError(f"seed_program {shown!r}: larger than {MAX_SEED_BYTES} bytes; give a smaller program")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"seed_program {shown!r}: cannot be read as UTF-8 text ({exc}); fix or replace the file") from None


def check_seed(text: str, shown: str, function_name: str) -> None:
    """SeedError unless ``text`` parses and defines ``function_name`` at top level."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line}: {getattr(exc, 'msg', exc)})" if line else f" ({exc})"
        raise SeedError(f"seed_program {shown!r} does not parse as Python{where}; fix it or pick another seed") from None
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    if function_name not in defined:
        raise SeedError(f"seed_program {shown!r} defines no function {function_name}(...); "
                        f"a seed for this domain must define it at top level")
