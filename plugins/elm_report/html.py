"""Assembles the report: one HTML file, images inline, no script, viewable without a network."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from typing import Any

from elm_report.data import OUTCOMES, RunData

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ddd; padding: .25em .6em; }
th { background: #f4f4f4; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: .85em; }
img { max-width: 100%; } figure { margin: 1em 0; } .elite { display: flex; gap: 1em; align-items: flex-start; }
.elite pre { flex: 1; max-height: 28em; } details { margin: .3em 0; } .muted { color: #777; }
"""


def image(png: bytes, alt: str, mime: str = "image/png") -> str:
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{base64.b64encode(png).decode()}">'


def number(value: Any, digits: int = 4) -> str:
    """Readable: thousands separators, a few significant digits, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return html.escape(str(value))


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="n">{number(c)}</td>' if isinstance(c, (int, float)) else
                                    f"<td>{c if isinstance(c, Markup) else html.escape(str(c))}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class Markup(str):
    """Text already escaped."""


def summary(runs: Sequence[RunData]) -> str:
    rows = [[run.label, Markup(f"<code>{html.escape(str(run.path))}</code>"), run.domain,
             str(run.setting("qd", "name")), run.evaluations, run.budget or "-", f"{run.duplicate_pct:.1f}",
             run.last.get("filled"), run.last.get("qd_score"), run.last.get("max_fitness")] for run in runs]
    return table(["run", "directory", "domain", "QD", "evaluations", "budget", "duplicates % of proposals",
                  "niches filled", "QD score", "best fitness"], rows)


def operators(run: RunData) -> str:
    rows = []
    for name, counts in sorted(run.operators.items()):
        duplicates = counts.get("duplicate", 0)
        proposed = sum(counts.get(o, 0) for o in OUTCOMES)
        total = (proposed - duplicates) or 1  # the children that cost an evaluation
        applied = total - counts.get("no_edit", 0) - counts.get("edit_failed", 0)
        runnable = counts.get("invalid", 0) + counts.get("valid", 0)
        rows.append([name, proposed - duplicates, f"{100 * duplicates / max(proposed, 1):.1f}",
                     f"{100 * applied / total:.1f}", f"{100 * runnable / total:.1f}",
                     f"{100 * counts.get('valid', 0) / total:.1f}", counts.get("entered", 0)])
    return table(["operator", "children evaluated", "duplicates % of proposals", "edit applied %", "ran %",
                  "valid %", "entered the map"], rows)


def elite(record: Any, animation: tuple[str, bytes] | None) -> str:
    picture = image(animation[1], f"candidate {record.id} at work", animation[0]) if animation else ""
    return (f"<h3>candidate {record.id}: fitness {number(record.fitness)}, niche {number(record.niche)}, "
            f"{html.escape(record.operator or '')}</h3><div class=\"elite\"><pre>{html.escape(record.program or '')}"
            f"</pre>{picture}</div>")


def lineage(run: RunData) -> str:
    if not run.lineage:
        return '<p class="muted">no valid candidate yet</p>'
    steps = []
    for k, record in enumerate(run.lineage):
        what = "seed" if record.parent_id is None else html.escape(record.message or record.operator or "")
        summary_line = (f"step {k}: candidate {record.id} ({html.escape(record.operator or '')}), "
                        f"{what}; fitness {number(record.fitness)}")
        body = html.escape(record.diff) if record.diff else html.escape(record.program or "")
        steps.append(f"<details{' open' if k == len(run.lineage) - 1 else ''}><summary>{summary_line}</summary>"
                     f"<pre>{body}</pre></details>")
    return (f"<p>{len(run.lineage) - 1} mutations from the seed to the best elite (each step's message and "
            "diff; the seed's program at step 0).</p>" + "".join(steps))


def page(runs: Sequence[RunData], figures: dict[str, bytes], animate: Callable[[RunData, Any], Any],
         compare: Sequence[tuple[str, dict[str, Any], bytes]] = ()) -> str:
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>elm report</title>"
             f"<style>{STYLE}</style></head><body><h1>elm report</h1>"]
    if runs:
        parts.append(f'<section id="summary"><h2>Runs</h2>{summary(runs)}</section>')
        parts.append(f'<section id="progress"><h2>Progress</h2>{image(figures["progress"], "progress")}</section>')
        parts.append('<section id="outcomes"><h2>Outcomes and operators</h2>')
        for k, run in enumerate(runs):
            parts.append(f"<figure>{image(figures[f'outcomes-{k}'], 'outcomes ' + run.label)}</figure>{operators(run)}")
        parts.append("</section>")
        parts.append('<section id="archive"><h2>Archive</h2>')
        for k, run in enumerate(runs):
            key = f"archive-{k}"
            parts.append(f"<figure>{image(figures[key], 'archive ' + run.label)}</figure>" if key in figures else
                         f'<p class="muted">{html.escape(run.label)}: no behaviour space to draw</p>')
        parts.append("</section>")
        parts.append('<section id="elites"><h2>Top elites</h2>')
        for run in runs:
            parts.append(f"<h3>{html.escape(run.label)}</h3>")
            parts.extend(elite(r, animate(run, r)) for r in run.top)
            if not run.top:
                parts.append('<p class="muted">no elite yet</p>')
        parts.append("</section>")
        parts.append('<section id="lineage"><h2>Lineage of the best elite</h2>')
        for run in runs:
            parts.append(f"<h3>{html.escape(run.label)}</h3>{lineage(run)}")
        parts.append("</section>")
    if compare:
        parts.append('<section id="compare"><h2>Operator comparisons</h2>')
        for path, results, png in compare:
            rows = [[r["operator"], "seed" if r["bugs"] is None else r["bugs"], r["successes"], r["trials"],
                     f"{r['success_pct']:.3g}", f"{r['ci95_low_pct']:.3g}-{r['ci95_high_pct']:.3g}",
                     r.get("lenient_successes", 0)] for r in results["rows"]]
            parts.append(f"<h3><code>{html.escape(path)}</code></h3><figure>{image(png, 'success rate')}</figure>"
                         + table(["operator", "bugs", "solved", "trials", "success %", "95 % interval",
                                  "not credited"], rows))
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "".join(parts)
