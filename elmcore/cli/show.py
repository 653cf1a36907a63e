"""The commands that look at what is there: ``elm status`` (a run) and ``elm plugins``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from elmcore.cli.common import _readable, app
from elmcore.cli.progress import _LearnPrinter
from elmcore.plugins import KIND_LABELS, get_plugin_manager
from elmcore.store import RunStore


def _declared_options(config: dict[str, Any]) -> dict[str, Any]:
    """The run's values of the options its domain declares for the command line (Sodarace:
    seed program and terrain): what tells one run of a domain from another. Empty when the
    domain's plugin is not installed."""
    section = config.get("domain")
    if not isinstance(section, dict):
        return {}
    try:
        domain = get_plugin_manager().registration("domain", str(section.get("name"))).obj
    except Exception:  # the domain's plugin is gone or broken: status still shows the rest
        return {}
    return {key: section[key] for key in getattr(domain, "cli_options", ()) or () if section.get(key) is not None}


@app.command()
def status(run_dir: Annotated[Path, typer.Argument(help="run directory")],
           as_json: Annotated[bool, typer.Option("--json", help="print JSON, for scripts")] = False) -> None:
    """Show a run's progress, outcome mix, a short history and its best candidate."""
    store = RunStore.open(run_dir, readonly=True)
    try:
        config = store.get_meta("config", kind=dict) or {}
        stats = store.last_stats() or {}
        outcomes = store.outcome_counts()
        count = store.count()
        evaluations = store.evaluations()
        history = store.history(points=5)

        def setting(section: str, key: str) -> Any:
            """config[section][key], or None where a hand-edited config lacks it or has another shape."""
            values = config.get(section)
            return values.get(key) if isinstance(values, dict) else None

        from elmcore.learning import is_learning_config

        learning = is_learning_config(config)
        best_per_condition = store.best_per_condition() if learning else {}
        best = None if learning else store.best()
        last = None if learning else store.last_batch_stats()
        iterations = store.next_batch()
        operators = {} if learning else {op: c for op, c in store.operator_counts().items() if op != "seed"}
    finally:
        store.close()
    share = {k: 100.0 * v / max(count, 1) for k, v in outcomes.items()}
    if as_json:
        data: dict[str, Any] = {"run_dir": str(run_dir), "domain": setting("domain", "name"), "candidates": count,
                                "outcomes": outcomes, "history": history, "last": stats}
        if learning:
            data.update(learner=setting("learner", "name"), conditions=setting("learn", "conditions"),
                        iterations=iterations, planned_iterations=setting("learn", "iterations"),
                        best_per_condition={c: {"id": r.id, "fitness": r.fitness}
                                            for c, r in sorted(best_per_condition.items())})
        else:
            duplicates = outcomes.get("duplicate", 0)
            data.update(evaluations=evaluations, duplicates=duplicates,
                        duplicate_pct=round(100.0 * duplicates / max(count, 1), 2))
            data.update(mutator=setting("mutator", "name"), qd=setting("qd", "name"), budget=setting("run", "evals"),
                        domain_options=_declared_options(config), seed=setting("run", "seed"),
                        best={"id": best.id, "fitness": best.fitness} if best else None, operators=operators)
        typer.echo(json.dumps(data, indent=2))
        return
    mix = " · ".join(f"{k.replace('_', ' ')} {share[k]:.1f} % ({_readable(outcomes[k])})"
                     for k in sorted(outcomes, key=lambda k: -outcomes[k]))
    if learning:
        typer.echo(f"{run_dir}: domain {setting('domain', 'name')}, learner {setting('learner', 'name')}, "
                   f"conditions {', '.join(map(str, setting('learn', 'conditions') or []))}")
        typer.echo(f"iterations {iterations} of {setting('learn', 'iterations')}; samples {_readable(count)}; "
                   f"last: {_LearnPrinter.line(stats)}")
        for condition, record in sorted(best_per_condition.items()):
            typer.echo(f"  {condition}: best fitness {record.fitness:.4g} (candidate {record.id})")
        typer.echo(f"outcomes: {mix}")
        return
    declared = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in _declared_options(config).items())
    typer.echo(f"{run_dir}: domain {setting('domain', 'name')}" + (f" ({declared})" if declared else "")
               + f", mutator {setting('mutator', 'name')}, qd {setting('qd', 'name')}, seed {setting('run', 'seed')}")
    budget = setting("run", "evals")
    done = f" ({100.0 * evaluations / budget:.1f} %)" if isinstance(budget, int) and budget > 0 else ""
    filled = "-" if last is None else _readable(last.filled) + (f" of {_readable(last.niches)}" if last.niches else "")
    typer.echo(f"evaluations {_readable(evaluations)} of {_readable(budget)}{done}; niches filled {filled}; "
               f"QD score {_readable(last and last.qd_score)}; best fitness {_readable(last and last.max_fitness)}"
               + (f" (candidate {best.id})" if best else ""))
    typer.echo(f"outcomes: {mix}")
    if count > evaluations:
        typer.echo(f"duplicates: {_readable(count - evaluations)} of {_readable(count)} proposals "
                   f"({100.0 * (count - evaluations) / count:.1f} %) repeated a program already evaluated and were "
                   "not evaluated again")
    if len(operators) > 1:
        total = sum(c["children"] for c in operators.values()) or 1
        typer.echo("operators: " + " · ".join(
            f"{op} {100 * c['children'] / total:.1f} % of children ({_readable(c['children'])}), "
            f"{100 * c['valid'] / max(1, c['children']):.1f} % valid, {_readable(c['entered'])} entered the archive"
            + (f", {_readable(c['duplicates'])} duplicates" if c.get("duplicates") else "")
            for op, c in operators.items()))
    if history:
        typer.echo(f"history: {'evaluations':>12} {'niches':>7} {'QD score':>10} {'best':>9}")
        for h in history:
            typer.echo(f"         {_readable(h['evals']):>12} {_readable(h.get('filled')):>7} "
                       f"{_readable(h.get('qd_score')):>10} {_readable(h.get('max_fitness')):>9}")


@app.command()
def plugins(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
            verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                                  help="descriptions and import tracebacks")] = False,
            ) -> None:
    """List installed plugins, what each registers, and any that failed to load."""
    pm = get_plugin_manager()
    infos = pm.plugins()
    if as_json:
        typer.echo(json.dumps([i.as_dict() for i in infos], indent=2))
        return
    for info in infos:
        version = f" {info.version}" if info.version else ""
        dist = f" ({info.distribution}{version})" if info.distribution else ""
        state = "ok" if not info.errors else "ERROR"
        typer.echo(f"{info.name}{dist} [{state}]  {info.module}")
        for kind, names in info.registered.items():
            if not verbose:
                typer.echo(f"    {KIND_LABELS[kind]}: {', '.join(names)}")
                continue
            for name in names:
                description = pm.registration(kind, name).help
                typer.echo(f"    {KIND_LABELS[kind]} {name}" + (f": {description}" if description else ""))
        for error in info.errors:
            typer.echo(f"    error: {error}")
        if verbose and info.traceback:
            typer.echo("    " + info.traceback.rstrip().replace("\n", "\n    "))
