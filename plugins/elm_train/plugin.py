"""Registers ``elm dataset`` (a command group), ``elm train`` and ``elm sample`` with elm, and
the ``sample-dataset`` mutator that ``elm sample --from-dataset`` runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elmcore import hookimpl


@hookimpl
def elm_register_commands(register: Callable[..., Any]) -> None:
    from elm_train.command import dataset_app, train_command
    from elm_train.sample_command import sample_command

    register("dataset", dataset_app, help="Export run stores as training datasets: `elm dataset diffs|programs "
                                          "RUN_DIR ...`.")
    register("train", train_command, help="Train a causal LM on a dataset (from scratch or fine-tuning).")
    register("sample", sample_command, help="Sample programs from a model (or a dataset) into a fresh map; "
                                            "--complete: complete half programs.")


@hookimpl
def elm_register_mutators(register: Callable[[type], None]) -> None:
    from elm_train.dataset_sampler import DatasetSampleMutator

    register(DatasetSampleMutator)
