"""The ``elm`` command: run, resume, inspect plugins; plugins add their own commands."""

from __future__ import annotations

import copy
import inspect
import json
import sqlite3
import sys
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import yaml

from elmcore.config import ConfigError, LearnSection, RunSection, default_name, raw_config, resolve
from elmcore.engine import Engine, Progress, RunError
from elmcore.plugins import KIND_LABELS, PluginError, get_plugin_manager
from elmcore.ray_pool import RayUnavailable
from elmcore.store import RunStore, StoreError
from elmcore.workers import TooManyWorkers, WorkerCrashed, workers_problem

app = typer.Typer(name="elm", help="Evolution through Large Models: evolve Python programs with LLM mutation "
                  "operators and quality-diversity search.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)

USER_ERRORS = (ConfigError, PluginError, RunError, StoreError, WorkerCrashed, TooManyWorkers, RayUnavailable)


def _default(section: type, key: str) -> str:
    """' (default: V)' for a help text, from the config model that holds the default."""
    value = section.model_fields[key].default
    return f" (default: {value:,})" if isinstance(value, int) else f" (default: {value})"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"elm {version('elm')}")
        except PackageNotFoundError:
            typer.echo("elm (not installed: run it from an installed copy to see its version)")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print elm's version and exit")] = False) -> None:
    """Evolution through Large Models: evolve Python programs with LLM mutation operators and
    quality-diversity search."""


def _fail(message: str) -> None:
    typer.echo(f"elm: error: {message}", err=True)
    raise typer.Exit(2)


class _ProgressPrinter:
    """A live line on a terminal; a plain log line every few seconds otherwise (CI, pipes)."""

    unit = "evals"

    def __init__(self, budget: int, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.bar = None
        if self.tty and not quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn
            self.bar = Bar(TextColumn(self.unit), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           TextColumn("{task.fields[line]}"), transient=False)
            self.task = self.bar.add_task("run", total=budget, line="")
            self.bar.start()

    @staticmethod
    def line(p: Progress) -> str:
        best = "-" if p.stats.max_fitness is None else f"{p.stats.max_fitness:.4g}"
        line = (f"{p.evals_per_s:.1f} evals/s | niches {p.stats.filled}/{p.stats.niches} | "
                f"QD {p.stats.qd_score:.4g} | best {best} | edits ok {p.edit_ok_pct:.0f}% | "
                f"ran {p.ran_pct:.0f}% | valid {p.valid_pct:.0f}% | dup {p.duplicate_pct:.0f}%")
        if p.operators:  # a portfolio: each operator's share of the children and % of its children that entered
            total = sum(c["children"] for c in p.operators.values()) or 1
            line += " | " + " ".join(f"{op} {100 * c['children'] / total:.0f}% ({100 * c['entered'] / max(1, c['children']):.1f}% in)"
                                     for op, c in p.operators.items())
        return line

    def __call__(self, p: Progress) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(self.task, completed=p.evals, line=self.line(p))
        elif time.monotonic() - self.last > 5 or p.evals >= p.budget:
            self.last = time.monotonic()
            typer.echo(f"[{p.evals}/{p.budget}] {self.line(p)}", err=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _check_workers(workers: int, executor: Any, option: str) -> None:
    """Local workers are processes on this machine: refuse absurd numbers before anything starts."""
    problem = workers_problem(workers, option) if executor == "local" else None
    if problem:
        _fail(problem)


def drive(engine: Engine, quiet: bool) -> None:
    """Run ``engine`` to its budget with a progress line, then print the summary; for every
    command that starts or continues a run (plugin commands too)."""
    printer = _ProgressPrinter(engine.budget, quiet)
    try:
        stats = engine.run(printer)
    except KeyboardInterrupt:
        printer.stop()
        _fail(f"interrupted; committed batches are kept: continue with `elm resume {engine.run_dir}`")
    finally:
        printer.stop()
    best = "-" if stats.max_fitness is None else f"{stats.max_fitness:.6g}"
    duplicates = engine.store.count() - engine.store.evaluations()
    typer.echo(f"run {engine.run_dir}: {engine.store.evaluations()} evaluations"
               + (f" ({duplicates} duplicates not evaluated)" if duplicates else "")
               + f", niches {stats.filled}/{stats.niches} "
               f"({100 * stats.coverage:.1f}%), QD score {stats.qd_score:.6g}, best fitness {best}")
    engine.close()


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
        "--conditions", "--terrains", help="comma-separated conditions (Sodarace: terrains), drawn uniformly")] = None,
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
    from elmcore.learning import Learning, domains_with_conditions

    pm = get_plugin_manager()
    shortcuts = {"learner.name": learner, "learn.samples": samples, "learn.iterations": iterations,
                 "learn.workers": workers, "learn.seed": seed, "domain.name": domain,
                 "learn.conditions": [c.strip() for c in conditions.split(",") if c.strip()] if conditions else None,
                 **(plugin_options or {})}
    data = raw_config(config, shortcuts, set_ or [])
    wanted = (data.get("learn") or {}).get("conditions")
    if not wanted:
        _fail("give the conditions to learn for: --terrains left-wall,right-wall (or --conditions)")
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


def drive_learning(learning: Any, quiet: bool) -> None:
    """Run a learning run to its last iteration with a progress line, then print the summary."""
    printer = _LearnPrinter(learning.iterations, quiet)
    try:
        stats = learning.run(printer)
    except KeyboardInterrupt:
        printer.stop()
        _fail(f"interrupted; finished iterations are kept: continue with `elm resume {learning.run_dir}`")
    finally:
        printer.stop()
    typer.echo(f"run {learning.run_dir}: {learning.store.next_batch()} iterations; " + _LearnPrinter.line(stats))
    learning.close()


class _LearnPrinter(_ProgressPrinter):
    """Per iteration: mean/max reward per condition, KL to the starting model, % valid."""

    unit = "iterations"

    @staticmethod
    def line(stats: dict[str, Any]) -> str:  # type: ignore[override]
        per = stats.get("conditions") or {}
        rewards = " ".join(f"{c} {v['reward_mean']:.2f}/{v['reward_max']:.2f}" for c, v in sorted(per.items()))
        return (f"reward mean/max {rewards} | KL {stats.get('kl', 0.0):.3f} | "
                f"valid {stats.get('valid_pct', 0.0):.0f}%")

    def __call__(self, p: Any) -> None:  # a LearnProgress
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(self.task, completed=p.iteration, line=self.line(p.stats))
        else:
            typer.echo(f"[{p.iteration}/{p.iterations}] {self.line(p.stats)} ({p.seconds:.0f} s)", err=True)


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
    if learning:
        if evals is not None:
            _fail("a learning run counts --iterations, not --evals")
        drive_learning(Learning.resume(run_dir, get_plugin_manager(), iterations=iterations, workers=workers), quiet)
        return
    if iterations is not None:
        _fail("--iterations applies to learning runs (`elm learn`); a run of `elm run` takes --evals")
    engine = Engine.resume(run_dir, get_plugin_manager(), evals=evals, workers=workers)
    drive(engine, quiet)


def _readable(value: Any) -> str:
    """Thousands separators for counts, four significant digits for the rest, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


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
                        seed_program=setting("domain", "seed_program"), seed=setting("run", "seed"),
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
    seed_program = setting("domain", "seed_program")
    typer.echo(f"{run_dir}: domain {setting('domain', 'name')}, mutator {setting('mutator', 'name')}, "
               f"qd {setting('qd', 'name')}" + (f", seed program {seed_program}" if seed_program else "")
               + f", seed {setting('run', 'seed')}")
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
            verbose: Annotated[bool, typer.Option("--verbose", "-v", help="descriptions and import tracebacks")] = False,
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


BUILTIN_COMMANDS = ("run", "learn", "resume", "status", "plugins")

# -- options that plugins declare (Component.cli_options) ----------------------------------
COMMAND_SECTIONS = {"run": {"domain": "domain", "mutator": "mutator", "qd": "qd"},
                    "learn": {"learner": "learner"}}
"""The component sections whose plugins may add options to a built-in command."""


@dataclass
class PluginOption:
    """``--terrain`` on ``elm run``: sets ``domain.terrain``; taken by the components in ``owners``."""

    flag: str
    section: str
    key: str
    kind: str
    annotation: Any = str
    help: str = ""
    owners: list[str] = field(default_factory=list)

    @property
    def param(self) -> str:
        return f"plugin_{self.section}_{self.key}"

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}"


_PLUGIN_OPTIONS: dict[str, list[PluginOption]] = {"run": [], "learn": []}


def _option_type(annotation: Any) -> Any:
    """int, float or str for the command line; anything else is read as YAML, like --set."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] \
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union else [annotation]
    if len(args) == 1 and args[0] in (int, float, str):
        return args[0]
    if len(args) == 1 and typing.get_origin(args[0]) is typing.Literal \
            and all(isinstance(v, str) for v in typing.get_args(args[0])):
        return str  # a choice of names: pydantic says which when the value is not one
    return None


def _own_flags(command: Callable[..., Any]) -> set[str]:
    """The option names a built-in command declares itself (``--set``, ``--seed`` ...)."""
    flags = set()
    for param in inspect.signature(command, eval_str=True).parameters.values():
        if param.name == "plugin_options":
            continue
        flags.add("--" + param.name.rstrip("_").replace("_", "-"))
        for meta in getattr(param.annotation, "__metadata__", ()):
            flags.update(d for d in (getattr(meta, "param_decls", None) or ()) if d.startswith("-"))
            default = getattr(meta, "default", None)
            if isinstance(default, str) and default.startswith("-"):
                flags.add(default)
    return flags


def plugin_options(pm: Any, command: str, own: set[str]) -> list[PluginOption]:
    """The options the installed components declare for ``elm COMMAND``. A flag the command
    already has, or one two sections claim, is rejected (shown by `elm plugins`)."""
    found: dict[str, PluginOption] = {}
    for section, kind in COMMAND_SECTIONS[command].items():
        for name in pm.names(kind):
            reg = pm.registration(kind, name)
            for key in getattr(reg.obj, "cli_options", ()) or ():
                fields = reg.obj.Config.model_fields
                flag = "--" + str(key).replace("_", "-")
                if key not in fields:
                    pm.reject(reg.plugin, f"{KIND_LABELS[kind]} {name!r}: cli_options names {key!r}, which is not "
                                          f"a key of its Config ({', '.join(fields) or 'none'})")
                    continue
                if flag in own:
                    pm.reject(reg.plugin, f"{KIND_LABELS[kind]} {name!r}: option {flag} rejected: `elm {command}` "
                                          "has that option itself")
                    continue
                option = found.get(flag)
                if option is not None and option.section != section:
                    pm.reject(reg.plugin, f"{KIND_LABELS[kind]} {name!r}: option {flag} rejected: it already sets "
                                          f"{option.dotted} (for {', '.join(option.owners)})")
                    continue
                info = fields[key]
                if option is None:
                    option = found[flag] = PluginOption(flag, section, str(key), kind, _option_type(info.annotation))
                option.owners.append(name)
                option.help = option.help or (info.description or "")
                if option.annotation is not None and _option_type(info.annotation) != option.annotation:
                    option.annotation = None  # the owners disagree on the type: read it as YAML
    for option in found.values():
        where = f"{option.dotted}; {KIND_LABELS[option.kind]} {', '.join(option.owners)}"
        option.help = f"{option.help} ({where})" if option.help else where
    return sorted(found.values(), key=lambda o: o.flag)


def _check_plugin_options(pm: Any, command: str, data: dict[str, Any], given: dict[str, Any]) -> None:
    """A plugin option given for a component that does not take it: say whose option it is."""
    for option in _PLUGIN_OPTIONS.get(command, []):
        if option.dotted not in given:
            continue
        section = data.get(option.section)
        chosen = section.get("name") if isinstance(section, dict) else None
        chosen = str(chosen or default_name(pm, option.kind, option.section))
        names = [label.strip().partition(":")[0] for label in chosen.split(",")]  # a portfolio: any of them
        if not any(name in option.owners for name in names):
            label = KIND_LABELS[option.kind]
            raise ConfigError(f"{option.flag} is an option of {label} {', '.join(option.owners)}, not of {label} "
                              f"{chosen!r}; leave it out or choose --{option.section} {option.owners[0]}")


def _with_plugin_options(impl: Callable[..., None], command: str, options: list[PluginOption],
                         defaults: dict[str, str] | None = None) -> Callable[..., None]:
    """``impl`` as a typer command with the plugin options added; their values reach it as
    ``plugin_options={"domain.terrain": "hills"}``. ``defaults``: parameter -> the default
    component, added to its help."""
    signature = inspect.signature(impl, eval_str=True)
    params = []
    for param in signature.parameters.values():
        if param.name == "plugin_options":
            continue
        if param.name in (defaults or {}):
            base, info = typing.get_args(param.annotation)[:2]
            info = copy.copy(info)
            info.help = f"{info.help} (default: {defaults[param.name]})"  # type: ignore[index]
            param = param.replace(annotation=Annotated[base, info])
        params.append(param)
    for option in options:
        params.append(inspect.Parameter(
            option.param, inspect.Parameter.KEYWORD_ONLY, default=None,
            annotation=Annotated[Optional[option.annotation or str], typer.Option(option.flag, help=option.help)]))

    def command_function(**kwargs: Any) -> None:
        given: dict[str, Any] = {}
        for option in options:
            value = kwargs.pop(option.param, None)
            if value is None:
                continue
            if option.annotation is None:  # a list, a bool, a choice: read as YAML, like --set
                try:
                    value = yaml.safe_load(value)
                except yaml.YAMLError:
                    pass
            given[option.dotted] = value
        impl(**kwargs, plugin_options=given)

    command_function.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    command_function.__annotations__ = {p.name: p.annotation for p in params}
    command_function.__doc__ = impl.__doc__
    command_function.__name__ = command
    return command_function


def _install_builtin(command: str, impl: Callable[..., None], options: list[PluginOption],
                     defaults: dict[str, str] | None = None) -> None:
    _PLUGIN_OPTIONS[command] = options
    function = _with_plugin_options(impl, command, options, defaults)
    for info in app.registered_commands:
        if info.name == command:
            info.callback = function
            return
    app.command(name=command)(function)


_install_builtin("run", run, [])
_install_builtin("learn", learn, [])


def _add_plugin_commands() -> None:
    pm = get_plugin_manager()
    for command, impl in (("run", run), ("learn", learn)):
        defaults = {section: names[0] for section, kind in COMMAND_SECTIONS[command].items()
                    if len(names := pm.defaults(kind)) == 1}
        _install_builtin(command, impl, plugin_options(pm, command, _own_flags(impl)), defaults)
    for name in pm.names("command"):
        reg = pm.registration("command", name)
        if name in BUILTIN_COMMANDS:
            pm.reject(reg.plugin, f"command {name!r} rejected: it is a built-in elm command; choose another name")
            continue
        if isinstance(reg.obj, typer.Typer):  # a command group: `elm NAME SUBCOMMAND ...`
            app.add_typer(reg.obj, name=name, help=reg.help or None)
        else:
            app.command(name=name, help=reg.help or None)(reg.obj)


# typer's command-line errors (its own copy of click's), found without importing a private module
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _run_only_flags() -> set[str]:
    """Options of `elm run` (plugins' too) that `elm resume` does not take."""
    flags = _own_flags(run) | {o.flag for o in _PLUGIN_OPTIONS["run"]}
    return flags - _own_flags(resume)


def _usage_error(exc: Exception) -> str:
    """One line for a command-line mistake, with what to do."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path.replace(ctx.find_root().info_name or "", "elm", 1) if ctx is not None else "elm"
    option = getattr(exc, "option_name", None)
    if command == "elm resume" and option in _run_only_flags():
        return (f"`elm resume` takes no {option}: a run continues with the config it was started with (only "
                "--evals and --workers may change); to change it, start a new run with `elm run ... --out NEW_DIR`")
    message = exc.format_message().replace("\n", " ")  # type: ignore[attr-defined]
    return f"{message} (see `{command} --help`)"


def main() -> None:
    """Entry point of the ``elm`` console script."""
    _add_plugin_commands()
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except _ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `elm` or `elm COMMAND`: show the help
            typer.echo(exc.ctx.get_help())  # type: ignore[attr-defined]
            sys.exit(0)
        typer.echo(f"elm: error: {_usage_error(exc)}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("elm: error: aborted", err=True)
        sys.exit(1)
    except USER_ERRORS as exc:
        typer.echo(f"elm: error: {exc}", err=True)
        sys.exit(2)
    except sqlite3.Error as exc:  # a store that went bad under a command (disk, permissions, another writer)
        typer.echo(f"elm: error: the run store cannot be read or written: {exc}. Check the run directory "
                   "(free space, permissions, a read-only file system).", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
