"""Registers ``elm dataset`` (a command group) and ``elm train`` with elm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elmcore import hookimpl


@hookimpl
def elm_register_commands(register: Callable[..., Any]) -> None:
    from elm_train.command import dataset_app, train_command

    register("dataset", dataset_app, help="Export run stores as training datasets: `elm dataset diffs RUN_DIR ...`.")
    register("train", train_command, help="Train a causal LM on a dataset (from scratch or fine-tuning).")
