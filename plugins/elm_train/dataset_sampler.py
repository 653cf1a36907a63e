"""The ``sample-dataset`` mutator: programs drawn from a Stage-2 dataset, without a parent.

It is the baseline a Stage-2 model is measured against (the ELM paper's Figure 13): the
same number of programs, drawn from the dataset instead of written by the model, are
evaluated and inserted into a fresh map the same way. Draws are uniform with replacement,
from ``numpy`` generators the engine hands over, so a run is repeatable and resumable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from elmcore import Child, Mutator, Parent, PluginConfig
from elm_train.dataset_dir import DatasetError, load_split, read_manifest


class DatasetSampleConfig(PluginConfig):
    data: str = Field("", description="dataset directory made by `elm dataset programs`")
    split: Literal["train", "test", "all"] = Field("train", description="which split to draw from")


class DatasetSampleMutator(Mutator):
    name = "sample-dataset"
    description = "draws whole programs from a Stage-2 dataset (elm dataset programs), no parent: elm sample's baseline"
    Config = DatasetSampleConfig
    invents = True

    def __init__(self, config: PluginConfig | None = None, context: Any = None) -> None:
        super().__init__(config, context)
        self.config: DatasetSampleConfig
        self._rows: list[dict[str, Any]] | None = None

    def prepare(self) -> None:
        _ = self.rows

    @property
    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = load_programs(self.config.data, self.config.split)
        return self._rows

    def invent(self, n: int, rng: np.random.Generator) -> list[Child]:
        rows = self.rows
        picks = rng.integers(0, len(rows), size=n) if n > 0 else []
        return [Child(program=rows[i]["program"], parent_id=None, operator=self.name,
                      meta={"dataset_row": int(i), "source_run": rows[i]["run"],
                            "source_id": rows[i]["candidate_id"]}) for i in picks]

    def mutate(self, parents: Sequence[Parent], rng: np.random.Generator) -> list[Child]:
        """One drawn program per parent; the parents are not read."""
        return self.invent(len(parents), rng)


def load_programs(data: str, split: str = "train") -> list[dict[str, Any]]:
    """The rows of a programs dataset's split (``all``: both); ValueError (one line) when
    ``data`` is not a programs dataset or the split is empty."""
    if not data:
        raise ValueError("no dataset given; set mutator.data to a directory made by `elm dataset programs`")
    path = Path(data)
    try:
        kind = read_manifest(path).get("kind")
        if kind != "programs":
            raise ValueError(f"{path} is a dataset of {kind}, not of programs; make one with "
                             "`elm dataset programs RUN_DIR --out DIR`")
        rows = [row for name in (("train", "test") if split == "all" else (split,)) for row in load_split(path, name)]
    except DatasetError as exc:
        raise ValueError(str(exc)) from None
    if not rows:
        raise ValueError(f"the {split} split of {path} holds no programs; draw from another split (--split)")
    return rows
