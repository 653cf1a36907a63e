"""Seed programs, as plain .py files read as text (never imported), and the loader every
domain uses to turn a ``seed_program`` setting (a seed name or a path) into checked text."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

MAX_SEED_BYTES = 100_000


class SeedError(ValueError):
    """A seed program that cannot be used; the message says what to do instead."""


def read_seed(domain: str, name: str) -> str:
    """Source text of seeds/<domain>/<name>.py."""
    path = resources.files(__name__).joinpath(domain, f"{name}.py")
    if not path.is_file():
        raise FileNotFoundError(f"no seed {name!r} for domain {domain!r}; available: {', '.join(list_seeds(domain)) or 'none'}")
    return path.read_text(encoding="utf-8")


def list_seeds(domain: str) -> list[str]:
    root = resources.files(__name__).joinpath(domain)
    if not root.is_dir():
        return []
    return sorted(p.name[:-3] for p in root.iterdir() if p.name.endswith(".py") and not p.name.startswith("_"))


def is_path(seed_program: str) -> bool:
    """Whether ``seed_program`` names a file rather than a seed."""
    return seed_program.endswith(".py") or "/" in seed_program or "\\" in seed_program


def load_seed(domain: str, seed_program: str, function_name: str, label: str | None = None,
              dashed: bool = False) -> str:
    """Source text of ``seed_program`` — a seed under seeds/<domain>/ (``-`` and ``_`` alike)
    or a .py path — checked to parse and to define ``function_name`` at top level.
    ``label`` and ``dashed`` only shape the error message (how the domain names its seeds)."""
    names = [n.replace("_", "-") if dashed else n for n in list_seeds(domain)]
    if is_path(seed_program):
        text = _read_path(Path(seed_program).expanduser(), seed_program, names)
    else:
        try:
            text = read_seed(domain, seed_program.replace("-", "_"))
        except FileNotFoundError:
            what = f"no such {label} seed" if label else f"no such seed for {domain!r}"
            raise SeedError(f"seed_program {seed_program!r}: {what}; use one of: {', '.join(names) or 'none'}, "
                            "or a path to a .py file") from None
    check_seed(text, seed_program, function_name)
    return text


def _read_path(path: Path, shown: str, names: list[str]) -> str:
    if not path.is_file():
        raise SeedError(f"seed_program {shown!r}: file not found; give an existing .py file or one of: "
                        f"{', '.join(names) or 'none'}")
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
    except (RecursionError, MemoryError):  # the parser gives up on very deep nesting
        raise SeedError(f"seed_program {shown!r} is nested too deeply for Python to parse (a very long "
                        "expression or chain); split it into statements or pick another seed") from None
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line}: {getattr(exc, 'msg', exc)})" if line else f" ({exc})"
        raise SeedError(f"seed_program {shown!r} does not parse as Python{where}; fix it or pick another seed") from None
    if not any(isinstance(node, ast.FunctionDef) and node.name == function_name for node in tree.body):
        raise SeedError(f"seed_program {shown!r} defines no function {function_name}(...); "
                        "a seed for this domain must define it at top level")
