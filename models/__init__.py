"""Models shipped with elm, each a ``save_pretrained`` directory beside this file with its
training recipe. A shipped model is named by its directory name (``--model NAME``); the
loading code treats it like any other local model directory."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def shipped_models() -> list[str]:
    """Names of the shipped models (directories holding a ``config.json``)."""
    return sorted(p.name for p in HERE.iterdir() if (p / "config.json").is_file())


def shipped_model(name: str) -> Path | None:
    """The directory of the shipped model called ``name``, or None when there is none."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = HERE / name
    return path if (path / "config.json").is_file() else None
