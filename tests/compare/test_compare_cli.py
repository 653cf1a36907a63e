"""`elm compare` end to end: the four result files agree with each other and with the table
printed; the same seed gives the same counts; bad input is a one-line error."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from elm_compare.command import compare_command, solve_rate_command
from elm_compare.options import build_plan
from elm_compare.plot import HEIGHT, WIDTH
from elm_compare.runner import Comparison
from elmcore.plugins import get_plugin_manager


def elm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_results_files_agree(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    done = elm("compare", "--domain", "quadratic", "--mutators", "gp,gp-tree", "--bugs", "1-2", "--trials", "150",
               "--trials", "gp-tree=120", "--batch-size", "40", "--set", "gp-tree.rate=0.2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["complete"] and data["domain"] == "quadratic" and data["bugs"] == [1, 2]
    assert [o["config"]["rate"] for o in data["operators"]] == [0.1, 0.2]
    rows = data["rows"]
    assert [(r["operator"], r["bugs"], r["trials"]) for r in rows] == [
        ("gp", 1, 150), ("gp", 2, 150), ("gp-tree", 1, 120), ("gp-tree", 2, 120)]
    for r in rows:
        assert sum(r["outcomes"].values()) == r["trials"]
        assert r["success_pct"] == pytest.approx(100 * r["successes"] / r["trials"])
        assert r["ci95_low_pct"] <= r["success_pct"] <= r["ci95_high_pct"]
        assert r["paper_pct"] == (0.86 if r["bugs"] == 1 else 0.05)
    with (out / "results.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [(t["operator"], int(t["bugs"]), int(t["successes"]), int(t["trials"])) for t in table] == \
        [(r["operator"], r["bugs"], r["successes"], r["trials"]) for r in rows]
    assert [float(t["ci95_high_pct"]) for t in table] == pytest.approx([r["ci95_high_pct"] for r in rows])
    markdown = (out / "results.md").read_text()
    for r in rows:
        assert f"| {r['operator']} | {r['bugs']} | {r['successes']:,} | {r['trials']:,} |" in markdown
    assert markdown.split("\n\n")[1] in done.stdout  # the same table is printed
    with Image.open(out / "results.png") as image:
        assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
        assert len(image.getcolors(maxcolors=1_000_000)) > 20  # drawn, not blank


def test_same_seed_same_counts_whatever_the_workers(tmp_path: Path) -> None:
    pm = get_plugin_manager()

    def counts(workers: int, out: str) -> list[tuple[str, int | None, int, int]]:
        plan = build_plan(pm, "parity", ("gp-tree",), (1,), {"gp-tree": 400}, {"gp-tree": 64}, [], seed=3,
                          workers=workers)
        result = Comparison(plan, pm, tmp_path / out, echo=lambda line: None).run()
        return [(c.operator, c.bugs, c.trials, c.successes, c.distinct_programs) for c in result]

    assert counts(1, "a") == counts(2, "b")


app = typer.Typer()
app.command("compare")(compare_command)
app.command("solve-rate")(solve_rate_command)


@pytest.mark.parametrize("args,message", [
    (["--mutators", "gp,gp-tre"], "unknown mutator 'gp-tre'. Did you mean 'gp-tree'?"),
    (["--domain", "quadratic", "--bugs", "0-9"], "--bugs 0-9: bugs must be between 0 and 2 for 'quadratic'"),
    (["--bugs", "one"], "--bugs 'one': write a count, a range or a list"),
    (["--set", "gp.rte=1"], "config key 'gp.rte' is not accepted. Did you mean 'rate'?"),
    (["--set", "diff.model=x"], "'diff' is not a compared operator or 'domain'"),
    (["--trials", "-5"], "must be at least 1"),
    (["--batch-size", "gp=x"], "--batch-size 'gp=x': write N or OPERATOR=N"),
    (["--workers", "0"], "--workers 0: must be at least 1"),
    (["--domain", "sodarace"], "does not say when a program solves its task"),
])
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare", *args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_a_third_party_mutator_can_be_compared(tmp_path: Path) -> None:
    if "nudge" not in get_plugin_manager().names("mutator"):
        pytest.skip("the example plugin (examples/elm-plugin-example) is not installed")
    pm = get_plugin_manager()
    plan = build_plan(pm, "quadratic", ("nudge",), (1,), {"nudge": 60}, {"nudge": 30}, [])
    [count] = Comparison(plan, pm, tmp_path, echo=lambda line: None).run()
    assert count.operator == "nudge" and count.trials == 60 and sum(count.outcomes.values()) == 60


def test_an_operator_that_cannot_load_fails_before_any_trial(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare", "--mutators", "gp,diff", "--bugs", "1",
                                      "--set", f"diff.model={tmp_path / 'no-such-model'}",
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "operator 'diff'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
