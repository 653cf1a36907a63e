"""What a search run (``Engine``) and a learning run (``Learning``) share: the metadata a new
run stores, the readable ``config.yaml`` beside the store, and the shape both loops have
(``RunLoop``), so that commands that continue or show a run decide once which kind it is."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Protocol

from elmcore.config import dump_yaml
from elmcore.store import RunStore, StoreError

CONFIG_FILE = "config.yaml"


class RunLoop(Protocol):
    """A run bound to its directory: ``Engine`` (``elm run``) or ``Learning`` (``elm learn``)."""

    run_dir: Path

    @property
    def store(self) -> RunStore | None: ...

    def run(self, on_progress: Callable[[Any], None] | None = None) -> Any: ...

    def close(self) -> None: ...


def new_run_meta(config: Any, pm: Any) -> dict[str, Any]:
    """The metadata a new run's store starts with: its config, the plugins and their versions,
    and the environment it was created in."""
    return {"config": config.as_dict(), "plugins": pm.versions(),
            "environment": {"python": sys.version.split()[0], "platform": platform.platform(),
                            "created": time.time()}}


def write_config_file(run_dir: Path, config: Any) -> None:
    """RUN_DIR/config.yaml, for people to read (the store holds the config the run uses)."""
    try:
        (Path(run_dir) / CONFIG_FILE).write_text(dump_yaml(config), encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot write {Path(run_dir) / CONFIG_FILE}: {exc.strerror}. "
                         "Check that the directory is writable and the disk is not full.") from exc


def resume_run(run_dir: Path, pm: Any, evals: int | None = None, iterations: int | None = None,
               workers: int | None = None) -> RunLoop:
    """Continue the run in ``run_dir``, whichever kind it is. ``evals`` applies to search
    runs, ``iterations`` to learning runs; the other kind refuses it in one line."""
    from elmcore.engine import Engine, RunError
    from elmcore.learning import Learning, is_learning_config

    store = RunStore.open(run_dir, readonly=True)
    try:
        learning = is_learning_config(store.get_meta("config"))
    finally:
        store.close()
    if learning:
        if evals is not None:
            raise RunError("a learning run counts --iterations, not --evals")
        return Learning.resume(run_dir, pm, iterations=iterations, workers=workers)
    if iterations is not None:
        raise RunError("--iterations applies to learning runs (`elm learn`); a run of `elm run` takes --evals")
    return Engine.resume(run_dir, pm, evals=evals, workers=workers)
