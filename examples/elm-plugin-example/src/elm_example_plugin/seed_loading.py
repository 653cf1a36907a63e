"""The seed programs shipped in this package, read as text (never imported)."""

from __future__ import annotations

from importlib import resources

_SEED_DIR = "seeds"


def list_seeds() -> list[str]:
    root = resources.files(__package__).joinpath(_SEED_DIR)
    return sorted(p.name[:-3] for p in root.iterdir() if p.name.endswith(".py") and not p.name.startswith("_"))


def read_seed(name: str) -> str:
    """Source text of seeds/<name>.py; ValueError naming the available seeds otherwise."""
    if name not in list_seeds():
        raise ValueError(f"no seed program {name!r} in elm_example_plugin; use one of: {', '.join(list_seeds())}")
    return resources.files(__package__).joinpath(_SEED_DIR, f"{name}.py").read_text(encoding="utf-8")
