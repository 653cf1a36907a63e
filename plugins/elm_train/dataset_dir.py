"""A dataset directory: a Hugging Face ``datasets`` DatasetDict saved to disk (splits
``train`` and ``test``), a JSONL copy of each split, and ``elm_dataset.json`` saying what
it holds and where it came from.

A directory is written under a temporary name and renamed into place, so an export that
is killed leaves nothing half-written, and an existing directory is never overwritten.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

MANIFEST = "elm_dataset.json"
FORMAT_VERSION = 1


class DatasetError(ValueError):
    """A dataset directory that cannot be written or read; the message says what to do."""


_VALUE_TYPES = {"str": "string", "int": "int64", "bool": "bool", "float": "float64", "float | None": "float64"}


def _features(kind: str):
    """The columns of a dataset kind: the fields of its record type."""
    from dataclasses import fields

    from datasets import Features, Sequence, Value

    from elm_train.commits import CommitRecord
    from elm_train.corpus import CodeRecord
    from elm_train.programs import ProgramRecord
    from elm_train.records import DiffRecord

    record_types = {"diffs": DiffRecord, "programs": ProgramRecord, "code": CodeRecord, "commits": CommitRecord}
    if kind not in record_types:
        raise DatasetError(f"unknown dataset kind {kind!r}")

    def feature(type_name: str):
        if type_name == "list[float]":
            return Sequence(Value("float64"))
        return Value(_VALUE_TYPES[type_name])

    return Features({f.name: feature(str(f.type)) for f in fields(record_types[kind])})


def check_new_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatasetError(f"--out {out} already exists and is not empty; choose another directory "
                           "(nothing there was changed)")


def write_dataset(out: Path, kind: str, splits: dict[str, list[dict]], manifest: dict[str, Any]) -> Path:
    """Write the splits (lists of row dicts) and the manifest to ``out``, atomically."""
    from datasets import Dataset, DatasetDict
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    out = Path(out)
    check_new_dir(out)
    features = _features(kind)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
        dataset = DatasetDict({
            name: Dataset.from_dict({col: [row[col] for row in rows] for col in features}, features=features)
            for name, rows in splits.items() if rows})  # datasets cannot load back an empty split
        dataset.save_to_disk(str(partial))
        for name, rows in splits.items():
            with open(partial / f"{name}.jsonl", "w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        full = {"kind": kind, "format": FORMAT_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "rows": {name: len(rows) for name, rows in splits.items()}, **manifest}
        (partial / MANIFEST).write_text(json.dumps(full, indent=2) + "\n")
        if out.exists():
            out.rmdir()  # empty, checked above
        partial.rename(out)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise DatasetError(f"cannot write the dataset to {out}: {exc.strerror or exc}; check the directory "
                           "is writable and the disk is not full") from None
    return out


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a dataset directory; DatasetError when ``path`` is not one."""
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise DatasetError(f"{path} is not a dataset directory (no {MANIFEST}); make one with "
                           "`elm dataset diffs RUN_DIR --out DIR`, `elm dataset programs RUN_DIR --out DIR` or "
                           "`elm dataset code --out DIR`")
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{manifest} cannot be read ({exc}); export the dataset again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise DatasetError(f"{manifest} is not a dataset manifest of format {FORMAT_VERSION}; export the "
                           "dataset again with this version of elm")
    return data


def load_split(path: Path, split: str) -> list[dict[str, Any]]:
    """The rows of one split of a dataset directory, from its saved ``datasets`` form."""
    from datasets import load_from_disk

    read_manifest(path)
    try:
        dataset = load_from_disk(str(path))
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise DatasetError(f"{path}: the saved dataset cannot be loaded ({str(exc).splitlines()[0]}); "
                           "export it again") from None
    if split not in dataset or dataset[split].num_rows == 0:
        return []
    return dataset[split].to_list()
