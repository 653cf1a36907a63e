"""The ``elm compare`` command (and ``elm solve-rate``, its one-operator short form)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from elmcore import ConfigError, build_config
from elmcore import PluginError, get_plugin_manager
from elmcore import WorkerCrashed, WorkerPool
from elm_compare.counting import CompareError, VerdictCache, count_successes
from elm_compare.options import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_TRIALS,
    build_plan,
    parse_bugs,
    parse_operators,
    parse_per_operator,
)
from elm_compare.results import markdown_table, row
from elm_compare.runner import Comparison


def _fail(message: str) -> None:
    typer.echo(f"elm: error: {message}", err=True)
    raise typer.Exit(2)


def compare_command(
    domain: Annotated[str, typer.Option(help="task domain with unit tests, e.g. parity, quadratic")] = "parity",
    mutators: Annotated[Optional[list[str]], typer.Option(
        help="operators to compare, comma-separated, e.g. gp,gp-tree,diff,prompt,edit")] = None,
    bugs: Annotated[Optional[str], typer.Option(
        help="bug counts: 1-5, 1,3,5 or 2 (default: the domain's seed as configured)")] = None,
    trials: Annotated[Optional[list[str]], typer.Option(
        help=f"single mutations per bug count: N for every operator, OP=N for one (default {DEFAULT_TRIALS})")] = None,
    batch_size: Annotated[Optional[list[str]], typer.Option(
        help=f"parents per mutate() call: N or OP=N (default {DEFAULT_BATCH_SIZE})")] = None,
    set_: Annotated[Optional[list[str]], typer.Option(
        "--set", help="OP.KEY=VALUE for one operator's config (e.g. diff.model=PATH, edit.base_url=URL), "
                      "or domain.KEY=VALUE (repeatable)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    workers: Annotated[int, typer.Option(help="evaluation worker processes")] = 1,
    out: Annotated[Optional[Path], typer.Option(help="directory for results.{json,csv,md,png}")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress lines")] = False,
) -> None:
    """Success rate of single mutations of a bugged program, per operator and number of bugs
    (the paper's Figures 1 and 2): results.json, .csv, .md and a log-scale plot."""
    if workers < 1:
        _fail(f"--workers {workers}: must be at least 1")
    pm = get_plugin_manager()
    try:
        operators = parse_operators(mutators or ["gp"], pm)
        counts = parse_bugs(bugs) if bugs is not None else None
        plan = build_plan(pm, domain, operators, counts,
                          parse_per_operator("--trials", trials or [], operators, DEFAULT_TRIALS),
                          parse_per_operator("--batch-size", batch_size or [], operators, DEFAULT_BATCH_SIZE),
                          list(set_ or []), seed=seed, workers=workers, bugs_text=bugs or "")
    except (CompareError, PluginError) as exc:
        _fail(str(exc))
    if out is None:
        out = Path("runs") / f"compare-{domain}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and not out.is_dir():
        _fail(f"--out {out}: exists and is not a directory; give a directory")
    progress = None if quiet else (lambda line: typer.echo(line, err=True))
    comparison = Comparison(plan, pm, out, echo=lambda line: typer.echo(line, err=True), progress=progress)
    try:
        comparison.prepare()
    except CompareError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted while loading the operators; nothing was written")
    try:
        comparison.run()
    except CompareError as exc:
        _fail(f"{exc} (results so far are in {out})")
    except KeyboardInterrupt:
        _fail(f"interrupted; results so far are in {out}")
    typer.echo(markdown_table([row(c, plan.domain) for c in comparison.counts]), nl=False)
    typer.echo(f"results: {out}/results.json, results.csv, results.md, results.png "
               f"({comparison.meta['seconds']:.0f} s)", err=True)


def solve_rate_command(
    domain: Annotated[str, typer.Option(help="domain plugin, e.g. parity, quadratic")] = "parity",
    mutator: Annotated[str, typer.Option(help="mutation operator, e.g. gp, gp-tree")] = "gp",
    trials: Annotated[int, typer.Option(help="number of single mutations of the seed")] = 5000,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    workers: Annotated[int, typer.Option(help="evaluation worker processes")] = 1,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override: SECTION.KEY=VALUE, "
                                                      "e.g. domain.bugs=2 or mutator.rate=0.2")] = None,
) -> None:
    """Success rate of single mutations of a domain's seed, one operator (short form of `elm compare`)."""
    if trials < 1:
        _fail("--trials must be at least 1")
    if workers < 1:
        _fail(f"--workers {workers}: must be at least 1")
    pm = get_plugin_manager()
    try:
        resolved = build_config(pm, shortcuts={"domain.name": domain, "mutator.name": mutator},
                                overrides=list(set_ or []))
        domain_cls = pm.get("domain", domain)
    except (ConfigError, PluginError) as exc:
        _fail(str(exc))
    the_domain = resolved.domain.build()
    the_mutator = resolved.mutator.build(context=the_domain.mutation_context())
    try:
        the_mutator.prepare()
        with WorkerPool(domain_cls, resolved.domain.options, workers=workers) as pool:
            result = count_successes(the_mutator, the_domain.seed_programs()[0], trials,
                                     np.random.default_rng(seed), VerdictCache(the_domain, pool.evaluate))
    except ValueError as exc:  # prepare(): the plugin's one-line message
        _fail(f"mutator {mutator!r}: {exc}")
    except (CompareError, WorkerCrashed) as exc:
        _fail(str(exc))
    finally:
        the_mutator.close()
    low, high = result.interval()
    shown = {k: v for k, v in resolved.domain.values().items() if v is not None}
    typer.echo(f"domain {domain} {shown} | mutator {mutator} | seed {seed}")
    typer.echo(f"solved {result.successes} of {result.trials} = {100 * result.rate:.3f} % "
               f"(95 % interval {100 * low:.3f}-{100 * high:.3f} %)"
               + (f"; {result.lenient_successes} more by edits applied leniently, not credited"
                  if result.lenient_successes else ""))
    typer.echo(f"outcomes {dict(sorted(result.outcomes.items()))} | distinct children "
               f"{result.distinct_programs} | {result.seconds:.1f} s")

