"""Writing a comparison's results: results.json, results.csv, results.md and the plot."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from elm_compare.counting import TrialCount
from elm_compare.paper import paper_success_pct
from elm_compare.plot import Point, Series, plot_success

CSV_FIELDS = ("operator", "bugs", "successes", "trials", "success_pct", "ci95_low_pct", "ci95_high_pct",
              "lenient_successes", "distinct_programs", "seconds")
FILES = ("results.json", "results.csv", "results.md", "results.png")


def format_pct(value: float) -> str:
    """A percentage with 3 significant digits, plain 0 for zero."""
    if value == 0:
        return "0"
    return f"{value:.3g}" if value >= 1e-4 else f"{value:.2e}"


def row(count: TrialCount, domain: str) -> dict[str, Any]:
    """One result as plain data (percentages, not fractions)."""
    low, high = count.interval()
    return {"operator": count.operator, "bugs": count.bugs, "successes": count.successes, "trials": count.trials,
            "success_pct": 100 * count.rate, "ci95_low_pct": 100 * low, "ci95_high_pct": 100 * high,
            "lenient_successes": count.lenient_successes, "distinct_programs": count.distinct_programs,
            "evaluated_programs": count.evaluated_programs,
            "outcomes": dict(sorted(count.outcomes.items())), "seconds": round(count.seconds, 3),
            "paper_pct": paper_success_pct(domain, count.operator, count.bugs)}


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| operator | bugs | solved | trials | success % | 95 % interval | paper % | not credited |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        paper = "-" if r["paper_pct"] is None else format_pct(r["paper_pct"])
        bugs = "seed" if r["bugs"] is None else r["bugs"]
        lines.append(f"| {r['operator']} | {bugs} | {r['successes']:,} | {r['trials']:,} | "
                     f"{format_pct(r['success_pct'])} | {format_pct(r['ci95_low_pct'])}-"
                     f"{format_pct(r['ci95_high_pct'])} | {paper} | {r.get('lenient_successes', 0):,} |")
    return "\n".join(lines) + ("\n\nnot credited: children that would pass but were made by an edit applied "
                               "leniently (its SEARCH text or diff context is not in the parent as it is)\n")


def write_results(out_dir: Path, meta: dict[str, Any], counts: Sequence[TrialCount]) -> list[Path]:
    """Write the four result files from the counts so far; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    domain = str(meta["domain"])
    rows = [row(c, domain) for c in counts]
    paths = [out_dir / name for name in FILES]
    _write_atomic(paths[0], json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    temporary = paths[1].with_suffix(".csv.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({**r, "bugs": "" if r["bugs"] is None else r["bugs"]} for r in rows)
    temporary.replace(paths[1])
    title = f"{domain}: single mutations that pass every test"
    note = f"{meta.get('machine', {}).get('note', '')}".strip()
    _write_atomic(paths[2], f"# {title}\n\n{markdown_table(rows)}" + (f"\n{note}\n" if note else ""))
    plot_success(series_of(rows), title, paths[3])
    return paths


def series_of(rows: Sequence[dict[str, Any]]) -> list[Series]:
    """The plot's series (one per operator) from result rows."""
    series: dict[str, list[Point]] = {}
    for r in rows:
        label = "seed" if r["bugs"] is None else str(r["bugs"])
        series.setdefault(r["operator"], []).append(Point(label, r["successes"], r["trials"], r["success_pct"],
                                                          r["ci95_low_pct"], r["ci95_high_pct"]))
    return [Series(name, points) for name, points in series.items()]


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
