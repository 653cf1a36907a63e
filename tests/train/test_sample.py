"""`elm sample`: programs from a model trained on a programs dataset, or drawn from the
dataset, evaluated on Sodarace and inserted into a fresh map in an ordinary run directory;
`--complete` completes half programs; the inputs it refuses, one line each."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

import pytest

from elm_sodarace.seed_loading import load_seed
from elm_train.dataset_dir import write_dataset
from elm_train.programs import ProgramRecord
from elm_train.trainer import TrainArgs, Trainer
from train_cli import elm, error_line

SQUARE = load_seed("square")
DOMAIN = {"name": "sodarace", "terrain": "flat"}
QD = {"name": "map-elites"}


def variant(k: int) -> str:
    """The Square seed with its first active muscle's amplitude set to 1 + k / 2 (a valid walker)."""
    old = "wc.add_muscle(corners[0], center, False, 5.0, 0.0)"
    assert old in SQUARE
    return SQUARE.replace(old, f"wc.add_muscle(corners[0], center, False, {1 + k / 2}, 0.0)")


def rows(programs: list[str]) -> list[dict]:
    return [asdict(ProgramRecord(program=p, prompt="", completion=p, run="toy", candidate_id=k, niche=k, fitness=1.0,
                                 descriptors=[0.0, 0.0, 0.0], seed="square", root_id=0))
            for k, p in enumerate(programs)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("programs") / "ds"
    write_dataset(out, "programs", {"train": rows([variant(k) for k in range(6)]), "test": rows([variant(9)])},
                  {"runs": ["toy"], "threshold": 0.5, "domain": DOMAIN, "qd": QD})
    return out


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, dataset: Path) -> Path:
    """A tiny model that has learnt the six walkers of the dataset by heart."""
    out = tmp_path_factory.mktemp("model") / "m"
    Trainer.start(TrainArgs(data=str(dataset), out=str(out), size="0.1m", context=512, batch_tokens=4096,
                            vocab_size=1000, steps=60, lr=5e-3, eval_every=60)).run()
    return out


def candidates(run_dir: Path) -> list[tuple]:
    db = sqlite3.connect(run_dir / "store.sqlite")
    return db.execute("SELECT operator, parent_id, prompt, program, outcome, entered FROM candidates "
                      "ORDER BY id").fetchall()


def test_samples_from_the_dataset_fill_a_fresh_map(tmp_path: Path, dataset: Path) -> None:
    done = elm("sample", "--from-dataset", str(dataset), "--n", "6", "--batch-size", "4", "--out",
               str(tmp_path / "r"), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows_ = candidates(tmp_path / "r")
    evaluated = [r for r in rows_ if r[4] != "duplicate"]
    assert len(evaluated) == 6 and {r[0] for r in rows_} == {"sample-dataset"}
    assert all(r[1] is None and r[4] == "valid" for r in evaluated)  # no parent; every draw is a valid walker
    assert {r[3] for r in rows_} == {variant(k) for k in range(6)}  # each program of the train split once
    assert any(r[5] for r in rows_)
    status = elm("status", str(tmp_path / "r"), cwd=tmp_path)
    assert "mutator sample-dataset" in status.stdout and "evaluations 6 of 6" in status.stdout
    again = elm("sample", "--from-dataset", str(dataset), "--n", "6", "--batch-size", "4", "--out",
                str(tmp_path / "r2"), "--quiet", cwd=tmp_path)
    assert again.returncode == 0 and candidates(tmp_path / "r2") == rows_  # same seed, same draws


def test_a_model_writes_walkers_into_a_run_directory(tmp_path: Path, model: Path) -> None:
    done = elm("sample", str(model), "--n", "6", "--batch-size", "3", "--temperature", "0", "--out",
               str(tmp_path / "r"), "--quiet", "--set", "run.deduplicate=false", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows_ = candidates(tmp_path / "r")
    assert len(rows_) == 6 and {r[0] for r in rows_} == {"sample"}
    assert {r[2] for r in rows_} == {"<|endoftext|>"}  # sampled from the start of a document, nothing else
    assert {r[4] for r in rows_} == {"valid"}
    assert rows_[0][3] in {variant(k) for k in range(6)}  # greedy: the model writes a walker it learnt
    config = json.loads(sqlite3.connect(tmp_path / "r" / "store.sqlite").execute(
        "SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
    assert config["domain"]["name"] == "sodarace" and config["mutator"]["model"] == str(model.resolve())
    resumed = elm("resume", str(tmp_path / "r"), "--evals", "8", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert len(candidates(tmp_path / "r")) == 8


def test_complete_reports_the_best_completion_against_the_original(tmp_path: Path, model: Path) -> None:
    program = tmp_path / "walker.py"
    program.write_text(variant(2))
    report = tmp_path / "completion.json"
    done = elm("sample", str(model), "--complete", str(program), "--n", "3", "--temperature", "0",
               "--report", str(report), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    row = json.loads(report.read_text())["rows"][0]
    assert row["program"] == "walker" and row["lines"] == len(variant(2).splitlines())
    assert row["given_lines"] == row["lines"] // 2
    assert row["valid"] >= 1 and row["original_fitness"] > 0
    assert row["best_percent"] == pytest.approx(100 * row["best_fitness"] / row["original_fitness"])
    assert "walker" in done.stdout and "best %" in done.stdout


def test_complete_takes_seed_names_and_held_out_programs(tmp_path: Path, model: Path, dataset: Path) -> None:
    report = tmp_path / "completion.json"
    done = elm("sample", str(model), "--complete", f"wheel,{dataset}", "--n", "2", "--report", str(report),
               "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = [r["program"] for r in json.loads(report.read_text())["rows"]]
    assert names == ["wheel", "held-out square #0"]


@pytest.mark.parametrize("case, expected", [
    ("neither", "give a MODEL or --from-dataset DIR"),
    ("no weights", "cannot load model"),
    ("diff model", "was trained on diffs"),
    ("diff dataset", "is a dataset of diffs, not of programs"),
    ("complete with out", "it writes no run directory: drop --out"),
    ("unknown seed", "--complete nosuchwalker: not a file, a directory or a seed program"),
    ("no domain", "does not say which domain its programs are for"),
])
def test_errors_are_one_line(tmp_path: Path, model: Path, case: str, expected: str) -> None:
    args = {
        "neither": ["--n", "4"],
        "complete with out": [str(model), "--complete", "wheel", "--out", str(tmp_path / "r")],
        "unknown seed": [str(model), "--complete", "nosuchwalker", "--n", "2"],
    }.get(case)
    if case == "no weights":
        empty = tmp_path / "empty"
        empty.mkdir()
        (empty / "training.json").write_text(json.dumps({"data": {"kind": "programs", "domain": DOMAIN, "qd": QD}}))
        args = [str(empty), "--n", "4", "--out", str(tmp_path / "r")]
    elif case == "diff model":
        fake = tmp_path / "diffmodel"
        fake.mkdir()
        (fake / "training.json").write_text(json.dumps({"data": {"kind": "diffs"}}))
        args = [str(fake), "--n", "4"]
    elif case == "diff dataset":
        write_dataset(tmp_path / "dd", "diffs", {"train": [], "test": []}, {"runs": []})
        args = ["--from-dataset", str(tmp_path / "dd"), "--n", "4"]
    elif case == "no domain":
        bare = tmp_path / "bare"
        bare.mkdir()
        args = [str(bare), "--n", "4"]
    done = elm("sample", *args, cwd=tmp_path)
    assert expected in error_line(done)
    assert not (tmp_path / "r").exists()


def test_a_model_that_repeats_one_program_stops_cleanly(tmp_path: Path, model: Path) -> None:
    """Greedy sampling writes one walker again and again: it is evaluated once, the repeats are
    stored as duplicates, and the run stops with one line; what it stored stays."""
    done = elm("sample", str(model), "--n", "6", "--batch-size", "3", "--temperature", "0", "--out",
               str(tmp_path / "r"), "--quiet", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "proposed only programs the run had already evaluated" in done.stderr
    rows_ = candidates(tmp_path / "r")
    assert [r[4] for r in rows_].count("valid") == 1 and {r[4] for r in rows_} == {"valid", "duplicate"}
    status = elm("status", str(tmp_path / "r"), cwd=tmp_path)
    assert status.returncode == 0 and "evaluations 1 of 6" in status.stdout and "duplicates: " in status.stdout
