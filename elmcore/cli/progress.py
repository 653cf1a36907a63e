"""Progress lines while a run goes, and the summary when it ends: ``drive`` (``elm run``,
``elm resume``, plugin commands that start runs) and ``drive_learning`` (``elm learn``)."""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

from elmcore.cli.common import _fail
from elmcore.engine import Engine, Progress


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
            line += " | " + " ".join(f"{op} {100 * c['children'] / total:.0f}% "
                                     f"({100 * c['entered'] / max(1, c['children']):.1f}% in)"
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


def _run_to_end(loop: Any, printer: _ProgressPrinter, kept: str) -> Any:
    """``loop.run`` with ``printer``; Ctrl-C says what is kept and how to go on."""
    try:
        return loop.run(printer)
    except KeyboardInterrupt:
        printer.stop()
        _fail(f"interrupted; {kept} are kept: continue with `elm resume {loop.run_dir}`")
    finally:
        printer.stop()


def drive(engine: Engine, quiet: bool) -> None:
    """Run ``engine`` to its budget with a progress line, then print the summary; for every
    command that starts or continues a run (plugin commands too)."""
    stats = _run_to_end(engine, _ProgressPrinter(engine.budget, quiet), "committed batches")
    best = "-" if stats.max_fitness is None else f"{stats.max_fitness:.6g}"
    duplicates = engine.store.count() - engine.store.evaluations()
    typer.echo(f"run {engine.run_dir}: {engine.store.evaluations()} evaluations"
               + (f" ({duplicates} duplicates not evaluated)" if duplicates else "")
               + f", niches {stats.filled}/{stats.niches} "
               f"({100 * stats.coverage:.1f}%), QD score {stats.qd_score:.6g}, best fitness {best}")
    engine.close()


def drive_learning(learning: Any, quiet: bool) -> None:
    """Run a learning run to its last iteration with a progress line, then print the summary."""
    stats = _run_to_end(learning, _LearnPrinter(learning.iterations, quiet), "finished iterations")
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
