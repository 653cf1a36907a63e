"""The Sodarace seed a run starts from: a seed name (``cppn-fixed`` or ``cppn_fixed``) under
seeds/sodarace/, or a path to a .py file (loaded and checked by ``elm_seeds.load_seed``)."""

from __future__ import annotations

import elm_seeds
from elm_seeds import SeedError, list_seeds

SEED_DIR = "sodarace"
FUNCTION_NAME = "make_walker"

__all__ = ["SeedError", "load_seed", "seed_names"]


def seed_names() -> list[str]:
    """Seed names as users type them (``cppn-fixed``)."""
    return [name.replace("_", "-") for name in list_seeds(SEED_DIR)]


def load_seed(seed_program: str) -> str:
    """Source text of a named seed or of a .py file, checked to parse and define make_walker()."""
    return elm_seeds.load_seed(SEED_DIR, seed_program, FUNCTION_NAME, label="Sodarace", dashed=True)
