"""End to end through the installed `elm` command: runs with this plugin's domain and both
its own mutator and the first-party gp mutator, checked in the run store."""

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

EVALS = 300


def elm_command():
    """The `elm` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("elm")
    if script.exists():
        return [str(script)]
    found = shutil.which("elm")
    if found is None:
        pytest.fail("the `elm` command is not installed; install elm first (pip install -e . in the elm repository)")
    return [found]


def elm(*args, cwd):
    return subprocess.run(elm_command() + list(args), cwd=cwd, capture_output=True, text=True, timeout=300)


def rows(run_dir, sql):
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return db.execute(sql).fetchall()


@pytest.mark.parametrize("mutator", ["nudge", "gp"])
def test_run_with_the_curve_domain(tmp_path, mutator):
    run_dir = tmp_path / "run"
    done = elm("run", "--domain", "curve", "--mutator", mutator, "--evals", str(EVALS), "--batch-size", "50",
               "--seed", "3", "--out", str(run_dir), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # the budget counts evaluations; a child whose program was already evaluated is stored as a
    # duplicate and costs none
    assert f"{EVALS} evaluations" in done.stdout
    assert rows(run_dir, "SELECT COUNT(*) FROM candidates WHERE outcome != 'duplicate'") == [(EVALS,)]
    operators = dict(rows(run_dir, "SELECT operator, COUNT(*) FROM candidates WHERE outcome != 'duplicate' "
                                   "GROUP BY operator"))
    assert operators == {"seed": 1, mutator: EVALS - 1}
    [(seed_fitness,)] = rows(run_dir, "SELECT fitness FROM candidates WHERE operator = 'seed'")
    [(best,)] = rows(run_dir, "SELECT MAX(fitness) FROM candidates WHERE entered = 1")
    assert best > seed_fitness
    for descriptors, fitness in rows(run_dir, "SELECT descriptors, fitness FROM candidates WHERE outcome = 'valid'"):
        assert len(json.loads(descriptors)) == 2 and 0.0 < fitness <= 1.0
    config = json.loads(rows(run_dir, "SELECT value FROM meta WHERE key = 'config'")[0][0])
    assert config["domain"]["name"] == "curve" and config["mutator"]["name"] == mutator
    plugins = json.loads(rows(run_dir, "SELECT value FROM meta WHERE key = 'plugins'")[0][0])
    assert plugins["curve"]["distribution"] == "elm-plugin-example"


def test_plugins_listing_and_command(tmp_path):
    listed = elm("plugins", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    curve = next(p for p in json.loads(listed.stdout) if p["name"] == "curve")
    assert curve["ok"] and curve["registered"]["domain"] == ["curve"]
    targets = elm("curve-targets", cwd=tmp_path)
    assert targets.returncode == 0, targets.stderr
    assert "wave: sin(x) + 0.5*x" in targets.stdout


def test_a_misspelt_option_is_a_one_line_error(tmp_path):
    done = elm("run", "--domain", "curve", "--set", "domain.targt=wave", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == ("elm: error: config key 'domain.targt' is not accepted. Did you mean 'target'? "
                                   "Accepted keys: target, seed_program, error_cap, tolerance, timeout_s")
    assert not (tmp_path / "r").exists()


def test_the_domain_declares_its_own_options(tmp_path):
    helped = elm("run", "--help", cwd=tmp_path)
    assert "--target" in helped.stdout and "domain.target" in helped.stdout
    run_dir = tmp_path / "r"
    done = elm("run", "--domain", "curve", "--target", "cubic", "--seed-program", "poly", "--evals", "4",
               "--batch-size", "2", "--out", str(run_dir), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads(rows(run_dir, "SELECT value FROM meta WHERE key = 'config'")[0][0])
    assert config["domain"]["target"] == "cubic" and config["domain"]["seed_program"] == "poly"
