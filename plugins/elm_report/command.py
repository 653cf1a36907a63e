"""``elm report RUN_DIR... --out report.html``: runs and `elm compare` outputs on one page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from elm_report.data import ReportError, RunData, label_runs, read_compare, read_run


def _domain(run: RunData, pm: Any):
    """The run's domain as configured, or None where its plugin is not installed. Validated as
    a worker validates it: a seed file the run started from need not be here."""
    from elmcore import component_options
    from elmcore import PluginError

    try:
        cls = pm.get("domain", run.domain)
        return cls(cls.Config.model_validate(component_options(run.config, "domain"), context={"worker": True}))
    except (PluginError, ValueError, KeyError):
        return None


def compare_plot(results: dict[str, Any]) -> bytes:
    """`elm compare`'s own plot of its results, as PNG bytes."""
    import io

    from elm_compare.plot import plot_success
    from elm_compare.results import series_of

    buffer = io.BytesIO()
    plot_success(series_of(results["rows"]), f"{results.get('domain', '')}: single mutations that pass every test",
                 buffer)
    return buffer.getvalue()


def build_report(sources: list[Path], out: Path, top: int = 5, animations: bool = True) -> str:
    """Write the report of ``sources`` (run directories, `elm compare` output directories) to
    ``out``; returns a one-line summary."""
    from elm_report import figures
    from elm_report.html import page
    from elmcore import get_plugin_manager

    runs: list[RunData] = []
    compares: list[tuple[str, dict[str, Any], bytes]] = []
    for source in sources:
        if not source.is_dir():
            raise ReportError(f"{source}: not a directory; give run directories (`elm run --out`) or "
                              "`elm compare --out` directories")
        results = read_compare(source)
        if results is not None:
            compares.append((str(source), results, compare_plot(results)))
        elif (source / "store.sqlite").exists():
            runs.append(read_run(source, top))
        else:
            raise ReportError(f"{source}: holds neither a run (store.sqlite) nor `elm compare` results "
                              "(results.json)")
    label_runs(runs)
    pm = get_plugin_manager()
    domains = [_domain(run, pm) for run in runs]
    drawn: dict[str, bytes] = {"progress": figures.progress(runs)} if runs else {}
    for k, (run, domain) in enumerate(zip(runs, domains)):
        drawn[f"outcomes-{k}"] = figures.outcome_mix(run)
        dims = domain.behaviour_space() if domain is not None else []
        if dims:
            drawn[f"archive-{k}"] = figures.archive(run, dims)

    def animate(run: RunData, record: Any) -> tuple[str, bytes] | None:
        domain = domains[runs.index(run)]
        if not animations or domain is None or not record.program:
            return None
        return domain.animate(record.program)

    text = page(runs, drawn, animate, compares)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)
    return f"{out}: {len(runs)} run(s), {len(compares)} comparison(s), {len(text) / 1e6:.1f} MB"


def report_command(
    sources: Annotated[list[Path], typer.Argument(help="run directories and `elm compare` output directories")],
    out: Annotated[Path, typer.Option(help="the HTML file to write")] = Path("report.html"),
    top: Annotated[int, typer.Option(help="elites shown per run, with their code (and animation)")] = 5,
    animations: Annotated[bool, typer.Option(help="animate the top elites where the domain can "
                                                  "(Sodarace: runs each in the sandbox)")] = True,
) -> None:
    """One self-contained HTML page of runs: progress, outcomes, the archive, the best elites
    and the lineage of the best; several runs overlaid; `elm compare` results too."""
    if top < 0:
        typer.echo(f"elm: error: --top {top}: must be 0 or more", err=True)
        raise typer.Exit(2)
    started = time.perf_counter()
    try:
        line = build_report(sources, out, top, animations)
    except ReportError as exc:
        typer.echo(f"elm: error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"elm: error: cannot write {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{line} ({time.perf_counter() - started:.1f} s)")
