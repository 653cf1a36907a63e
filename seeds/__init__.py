"""Seed programs, as plain .py files read as text (never imported)."""

from __future__ import annotations

from importlib import resources


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
