"""Finds the seed program a run starts from: a seed name (``cppn-fixed`` or ``cppn_fixed``)
under seeds/sodarace/, or a path to a .py file."""

from __future__ import annotations

import ast
from pathlib import Path

from elm_seeds import list_seeds, read_seed

SEED_DIR = "sodarace"
FUNCTION_NAME = "make_walker"
MAX_SEED_BYTES = 100_000


class SeedError(ValueError):
    """A seed program that cannot be used; the message says what to do instead."""


def seed_names() -> list[str]:
    """Seed names as users type them (``cppn-fixed``)."""
    return [name.replace("_", "-") for name in list_seeds(SEED_DIR)]


def is_path(seed_program: str) -> bool:
    return seed_program.endswith(".py") or "/" in seed_program or "\\" in seed_program


def load_seed(seed_program: str) -> str:
    """Source text of a named seed or of a .py file, checked to parse and define make_walker()."""
    if is_path(seed_program):
        path = Path(seed_program).expanduser()
        if not path.is_file():
            raise SeedError(f"seed_program {seed_program!r}: file not found; give an existing .py file "
                            f"or one of: {', '.join(seed_names())}")
        if path.stat().st_size > MAX_SEED_BYTES:
            raise SeedError(f"seed_program {seed_program!r}: larger than {MAX_SEED_BYTES} bytes")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SeedError(f"seed_program {seed_program!r}: cannot be read as UTF-8 text ({exc})") from None
    else:
        try:
            text = read_seed(SEED_DIR, seed_program.replace("-", "_"))
        except FileNotFoundError:
            raise SeedError(f"seed_program {seed_program!r}: no such Sodarace seed; use one of: "
                            f"{', '.join(seed_names())}, or a path to a .py file") from None
    _check(text, seed_program)
    return text


def _check(text: str, shown: str) -> None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise SeedError(f"seed_program {shown!r} does not parse as Python"
                        + (f" (line {line})" if line else "") + "; fix it or pick another seed") from None
    if not any(isinstance(node, ast.FunctionDef) and node.name == FUNCTION_NAME for node in tree.body):
        raise SeedError(f"seed_program {shown!r} defines no function {FUNCTION_NAME}(); "
                        "a Sodarace program must define it at top level and return wc.get_walker()")
