"""elm plugin entry point: registers the ``ppo`` conditional learner and ``elm evaluate-learner``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from elmcore import hookimpl


@hookimpl
def elm_register_learners(register: Callable[[type], None]) -> None:
    from elm_ppo.ppo import PPOLearner

    register(PPOLearner)


def evaluate_learner_command(
    run_dirs: Annotated[list[Path], typer.Argument(help="learning runs made by `elm learn` from one Stage-2 model")],
    n: Annotated[int, typer.Option(help="programs per terrain and source")] = 256,
    terrains: Annotated[Optional[str], typer.Option(help="comma-separated (default: the first run's)")] = None,
    dataset: Annotated[Optional[Path], typer.Option(help="also draw programs from this Stage-2 dataset")] = None,
    extra: Annotated[Optional[str], typer.Option(
        help="also give the mean of this numeric extra over the valid programs (Sodarace: displacement, "
             "the signed distance walked)")] = None,
    workers: Annotated[int, typer.Option(help="evaluation worker processes per terrain")] = 1,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    report: Annotated[Optional[Path], typer.Option(help="also write the table as JSON here")] = None,
) -> None:
    """The paper's Stage-3 table: best and mean fitness per terrain of N programs from the
    dataset, the Stage-2 model and each run's learner after its last iteration."""
    import json

    from elmcore import get_plugin_manager
    from elm_ppo.evaluation import evaluate_learner, format_table

    def fail(message: str) -> None:
        typer.echo(f"elm: error: {message}", err=True)
        raise typer.Exit(2)

    if n < 1:
        fail(f"--n {n}: must be at least 1")
    programs = None
    if dataset is not None:
        from elm_train.dataset_sampler import load_programs

        try:
            programs = [row["program"] for row in load_programs(str(dataset), "all")]
        except ValueError as exc:
            fail(str(exc))
    conditions = [t.strip() for t in terrains.split(",") if t.strip()] if terrains else None
    from elmcore import RunError
    from elmcore import StoreError

    try:
        table = evaluate_learner(run_dirs, get_plugin_manager(), n, conditions, programs, seed, workers, extra)
    except (ValueError, RunError, StoreError) as exc:
        fail(str(exc))
    typer.echo(format_table(table, n, extra))
    if report is not None:
        report.write_text(json.dumps({"runs": [str(d) for d in run_dirs], "n": n, "extra": extra,
                                      "sources": list(next(iter(table.values()))), "terrains": table},
                                     indent=2) + "\n")


@hookimpl
def elm_register_commands(register: Callable[..., Any]) -> None:
    register("evaluate-learner", evaluate_learner_command,
             help="Stage-3 table: best and mean fitness per terrain of dataset, Stage-2 and learnt programs.")
