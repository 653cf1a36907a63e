"""The commands that start or continue a run: ``elm run``, ``elm learn``, ``elm resume``.
``run`` and ``learn`` are installed with the options plugins declare (``elmcore.cli.options``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from elmcore.cli.common import _check_workers, _default, _fail, app
from elmcore.cli.options import _check_plugin_options
from elmcore.cli.progress import drive, drive_learning
from elmcore.config import LearnSection, RunSection, raw_config, resolve
from elmcore.engine import Engine
from elmcore.plugins import get_plugin_manager
from elmcore.store import RunStore


def run(
    domain: Annotated[Optional[str], typer.Option(
        help="domain plugin, e.g. parity, sodarace")] = None,
    mutator: Annotated[Optional[str], typer.Option(
        help="mutation operator, e.g. gp, diff, prompt, edit")] = None,
    qd: Annotated[Optional[str], typer.Option(
        help="QD algorithm, e.g. map-elites, cvt-map-elites")] = None,
    evals: Annotated[Optional[int], typer.Option(
        help="evaluations to spend (a duplicate of a program already evaluated costs none)"
             + _default(RunSection, "evals"))] = None,
    batch_size: Annotated[Optional[int], typer.Option(
        help="children per iteration" + _default(RunSection, "batch_size"))] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="evaluation worker processes" + _default(RunSection, "workers"))] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed" + _default(RunSection, "seed"))] = None,
    executor: Annotated[Optional[str], typer.Option(
        help="where programs are evaluated: local or ray" + _default(RunSection, "executor"))] = None,
    ray_address: Annotated[Optional[str], typer.Option(
        help="Ray cluster to join (auto, ray://HOST:10001); default: a local Ray instance")] = None,
    config: Annotated[Optional[Path], typer.Option(help="config file (.yaml, .toml or .json)")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override: SECTION.KEY=VALUE (repeatable)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="run directory to create")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
    plugin_options: dict[str, Any] | None = None,
) -> None:
    """Start a run: evolve programs of a domain with a mutator and a QD algorithm."""
    pm = get_plugin_manager()
    shortcuts: dict[str, Any] = {
        "domain.name": domain, "mutator.name": mutator, "qd.name": qd, "run.evals": evals,
        "run.batch_size": batch_size, "run.workers": workers, "run.seed": seed, "run.executor": executor,
        "run.ray_address": ray_address, **(plugin_options or {})}
    data = raw_config(config, shortcuts, set_ or [])
    _check_plugin_options(pm, "run", data, plugin_options or {})
    resolved = resolve(data, pm)
    _check_workers(resolved.run.workers, resolved.run.executor, "run.workers")
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        mutators = resolved.mutator_name.replace(",", "+").replace(":", "-")
        out = Path("runs") / f"{resolved.domain.name}-{mutators}-{stamp}"
    engine = Engine.start(out, resolved, pm)
    if not quiet:
        typer.echo(f"run directory: {out}", err=True)
    drive(engine, quiet)


def learn(
    learner: Annotated[Optional[str], typer.Option(
        help="conditional learner, e.g. ppo")] = None,
    conditions: Annotated[Optional[str], typer.Option(
        "--conditions", help="comma-separated conditions, drawn uniformly")] = None,
    samples: Annotated[Optional[int], typer.Option(
        help="programs per iteration" + _default(LearnSection, "samples"))] = None,
    iterations: Annotated[Optional[int], typer.Option(
        help="learning iterations" + _default(LearnSection, "iterations"))] = None,
    domain: Annotated[Optional[str], typer.Option(help="domain (default: the one that has these conditions)")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="evaluation worker processes per condition" + _default(LearnSection, "workers"))] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed" + _default(LearnSection, "seed"))] = None,
    config: Annotated[Optional[Path], typer.Option(help="config file with sections learn, domain, learner")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override: SECTION.KEY=VALUE (repeatable)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="run directory to create")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
    plugin_options: dict[str, Any] | None = None,
) -> None:
    """Train a conditional learner (Stage 3): it writes a program per condition, each is
    evaluated under its condition, and it learns from the results."""
    from elmcore.config import resolve_learning
    from elmcore.learning import Learning, conditions_by_domain, domains_with_conditions

    pm = get_plugin_manager()
    shortcuts = {"learner.name": learner, "learn.samples": samples, "learn.iterations": iterations,
                 "learn.workers": workers, "learn.seed": seed, "domain.name": domain,
                 "learn.conditions": [c.strip() for c in conditions.split(",") if c.strip()] if conditions else None,
                 **(plugin_options or {})}
    data = raw_config(config, shortcuts, set_ or [])
    wanted = (data.get("learn") or {}).get("conditions")
    if not wanted:
        known = "; ".join(f"domain {d}: --{word}s {','.join(names)}"
                          for d, (word, names) in conditions_by_domain(pm).items())
        _fail("give the conditions to learn for: --conditions NAME,NAME" + (f" ({known})" if known else
                                                                           " (no installed domain has conditions)"))
    if "name" not in (data.get("domain") or {}):
        found = domains_with_conditions(pm, wanted)
        if len(found) != 1:
            _fail(f"no installed domain has the conditions {', '.join(wanted)}; pass --domain" if not found else
                  f"domains {', '.join(found)} all have the conditions {', '.join(wanted)}; pass --domain")
        data.setdefault("domain", {})["name"] = found[0]
    _check_plugin_options(pm, "learn", data, plugin_options or {})
    resolved = resolve_learning(data, pm)
    _check_workers(resolved.learn.workers, "local", "learn.workers")
    if out is None:
        out = Path("runs") / f"learn-{resolved.learner.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    learning = Learning.start(out, resolved, pm)
    if not quiet:
        typer.echo(f"run directory: {out}", err=True)
    drive_learning(learning, quiet)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="run directory made by `elm run` or `elm learn`")],
    evals: Annotated[Optional[int], typer.Option(help="new total budget of evaluations")] = None,
    iterations: Annotated[Optional[int], typer.Option(help="learning runs: new number of iterations")] = None,
    workers: Annotated[Optional[int], typer.Option(help="evaluation worker processes")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Continue a run from its store (also one that was killed)."""
    from elmcore.learning import Learning, is_learning_config
    from elmcore.rundir import resume_run

    store = RunStore.open(run_dir, readonly=True)
    try:
        stored = store.get_meta("config")
        learning = is_learning_config(stored)
    finally:
        store.close()
    section = (stored or {}).get("learn" if learning else "run") if isinstance(stored, dict) else None
    if isinstance(section, dict):  # the workers it will start: --workers, else the run's own
        wanted = workers if workers is not None else section.get("workers")
        if isinstance(wanted, int):
            _check_workers(wanted, "local" if learning else section.get("executor", "local"),
                           "--workers" if workers is not None else f"{'learn' if learning else 'run'}.workers")
    loop = resume_run(run_dir, get_plugin_manager(), evals=evals, iterations=iterations, workers=workers)
    if isinstance(loop, Learning):
        drive_learning(loop, quiet)
    else:
        drive(loop, quiet)  # type: ignore[arg-type]
