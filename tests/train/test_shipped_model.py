"""The diff model shipped with elm: its files are intact and small, it is the diff mutator's
default, and it writes diffs that apply to the Square seed, so `elm run --domain sodarace
--mutator diff` works on a machine with no model hub."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from elmcore import Parent
from elmcore.store import RunStore
from elm_llm.config import DEFAULT_DIFF_MODEL, DiffConfig
from elm_llm.mutators import DiffMutator
from elm_models import shipped_model, shipped_models
from elm_seeds import read_seed
from elm_sodarace.domain import SodaraceDomain
from train_cli import elm

MAX_BYTES = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def model_dir() -> Path:
    path = shipped_model(DEFAULT_DIFF_MODEL)
    assert path is not None, f"no shipped model named {DEFAULT_DIFF_MODEL!r} (have {shipped_models()})"
    return path


def test_files_match_their_checksums(model_dir: Path) -> None:
    listed = {}
    for line in (model_dir / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.lstrip("*")] = digest
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((model_dir / name).read_bytes()).hexdigest() == digest, f"{name} was changed"


def test_small_with_its_recipe_beside_it(model_dir: Path) -> None:
    assert sum(p.stat().st_size for p in model_dir.iterdir()) <= MAX_BYTES
    assert (model_dir / "training.json").is_file() and (model_dir / "README.md").is_file()
    assert "examples/pretrain/pretrain.py" in (model_dir / "README.md").read_text()


@pytest.mark.parametrize("name", [DEFAULT_DIFF_MODEL, "elm-diff-1m"])  # and the baseline of examples/pretrain
def test_writes_diffs_that_apply_to_the_square_seed(model_dir: Path, name: str) -> None:
    config = DiffConfig() if name == DEFAULT_DIFF_MODEL else DiffConfig(model=name)
    mutator = DiffMutator(config, SodaraceDomain().mutation_context())
    assert mutator.config.model == name
    parents = [Parent(id=0, program=read_seed("sodarace", "square"))] * 16
    children = mutator.mutate(parents, np.random.default_rng(0))
    changed = [c for c in children if c.program is not None and not c.meta.get("unchanged")]
    outcomes = Counter("applied" if c in changed else "unchanged" if c.program else c.outcome.value for c in children)
    assert len(changed) >= 2, outcomes
    assert all(c.diff.startswith("--- a/walker.py") and c.program != parents[0].program for c in changed)
    assert all(c.program == parents[0].program for c in children if c.meta.get("unchanged"))


def test_the_users_command_runs_without_a_model_option(tmp_path: Path) -> None:
    done = elm("run", "--domain", "sodarace", "--mutator", "diff", "--evals", "48", "--batch-size", "16",
               "--workers", "1", "--out", "run", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["mutator"]["model"] == DEFAULT_DIFF_MODEL
    store = RunStore.open(tmp_path / "run", readonly=True)
    try:
        counts = store.outcome_counts()
        operators = {r.operator for r in store.iter_candidates("operator != 'seed'")}
    finally:
        store.close()
    assert operators == {"diff"} and sum(n for k, n in counts.items() if k != "duplicate") == 48
    assert counts.get("valid", 0) > 1  # the seed and at least one child of the model
