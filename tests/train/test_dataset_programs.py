"""`elm dataset programs`: the Stage-2 dataset. Every program that entered a map, kept by
the threshold of its niche's best across runs, deduplicated, with an exact held-out share;
and the inputs it refuses, one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from elmcore.store import CandidateRecord, RunStore
from elm_train.dataset_dir import load_split, read_manifest
from elm_train.programs import keeps, program_digest
from train_cli import elm, error_line

DOMAIN = {"name": "sodarace", "terrain": "flat"}
QD = {"name": "map-elites", "bins": None}


def program(k: int) -> str:
    return f"def make_walker():\n    return {k}\n"


def make_run(run_dir: Path, rows: list[tuple], seed: str = "square", domain: dict | None = None,
             qd: dict | None = None) -> Path:
    """A store whose candidates are ``rows``: (program, niche, fitness, entered, parent id)."""
    config = {"domain": {**(domain or DOMAIN), "seed_program": seed}, "qd": qd or QD}
    store = RunStore.create(run_dir, {"config": config})
    records = [CandidateRecord(id=i, batch=0, parent_id=parent, operator="seed" if parent is None else "gp",
                               program=text, outcome="valid", entered=entered, fitness=fitness, niche=niche,
                               descriptors=(float(niche), 0.5, 1.0), status="new" if entered else "not_added")
               for i, (text, niche, fitness, entered, parent) in enumerate(rows)]
    store.commit_batch(0, records, 0.0, 0.0, {})
    store.close()
    return run_dir


def export(tmp_path: Path, runs: list[Path], *options: str) -> tuple[list[dict], list[dict], dict]:
    out = tmp_path / f"ds{len(list(tmp_path.iterdir()))}"
    done = elm("dataset", "programs", *map(str, runs), "--out", str(out), *options, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return load_split(out, "train"), load_split(out, "test"), read_manifest(out)


def test_threshold_is_against_the_best_in_the_niche_across_runs(tmp_path: Path) -> None:
    # niche 1: best 100 in run b; niche 2: best 10 in run a
    a = make_run(tmp_path / "a", [(program(0), 1, 60.0, True, None), (program(1), 1, 49.0, True, 0),
                                  (program(2), 2, 10.0, True, 0), (program(3), 2, 5.0, True, 0),
                                  (program(4), 2, 4.9, True, 0), (program(5), 1, 99.0, False, 0)])
    b = make_run(tmp_path / "b", [(program(10), 1, 100.0, True, None), (program(11), 1, 50.0, True, 0)])
    train, test, manifest = export(tmp_path, [a, b], "--threshold", "0.5", "--holdout", "0")
    assert test == []
    kept = {r["program"]: r for r in train}
    # 49 < 50% of 100 (run b's best counts for run a's programs); 5.0 >= 50% of 10 > 4.9; never entered: out
    assert set(kept) == {program(0), program(2), program(3), program(10), program(11)}
    assert kept[program(11)]["fitness"] == 50.0  # exactly at the threshold: kept
    train80, _, _ = export(tmp_path, [a, b], "--threshold", "0.8", "--holdout", "0")
    assert {r["program"] for r in train80} == {program(2), program(10)}
    assert manifest["threshold"] == 0.5 and manifest["domain"] == {"name": "sodarace", "terrain": "flat"}
    assert manifest["qd"] == QD and manifest["per_run"][str(a)]["kept"] == 3


def test_records_carry_their_provenance_and_lineage(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", [(program(0), 3, 10.0, True, None), (program(1), 4, 10.0, True, 0),
                                    (program(2), 5, 10.0, True, 1)], seed="cppn_fixed")
    train, _, _ = export(tmp_path, [run], "--holdout", "0")
    last = next(r for r in train if r["program"] == program(2))
    assert last["run"] == str(run) and last["candidate_id"] == 2 and last["niche"] == 5
    assert last["fitness"] == 10.0 and last["descriptors"] == [5.0, 0.5, 1.0]
    assert last["seed"] == "cppn-fixed" and last["root_id"] == 0  # grandchild of the seed candidate
    assert last["prompt"] == "" and last["completion"] == program(2)  # the model writes the whole program


def test_identical_programs_are_kept_once_at_their_best(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", [(program(0), 1, 8.0, True, None), (program(0), 2, 9.0, True, 0)])
    b = make_run(tmp_path / "b", [(program(0), 1, 10.0, True, None)])
    train, _, _ = export(tmp_path, [a, b], "--holdout", "0")
    assert len(train) == 1
    assert (train[0]["run"], train[0]["fitness"]) == (str(b), 10.0)


def test_holdout_takes_the_exact_share_by_program_hash(tmp_path: Path) -> None:
    rows = [(program(k), k % 5, 10.0, True, None if k == 0 else 0) for k in range(40)]
    run = make_run(tmp_path / "r", rows)
    train, test, manifest = export(tmp_path, [run], "--holdout", "0.1")
    assert len(test) == 4 and len(train) == 36 and manifest["rows"] == {"train": 36, "test": 4}
    lowest = sorted((program(k) for k in range(40)), key=program_digest)[:4]
    assert {r["program"] for r in test} == set(lowest)
    # the split of a program does not depend on which runs go with it
    other = make_run(tmp_path / "o", [(program(k), k % 5, 10.0, True, None) for k in range(40, 80)])
    _, test2, _ = export(tmp_path, [other, run], "--holdout", "0.05")
    assert len(test2) == 4


def test_exclude_seed_leaves_out_those_runs(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", [(program(0), 1, 10.0, True, None)], seed="square")
    b = make_run(tmp_path / "b", [(program(1), 1, 100.0, True, None)], seed="radial")
    train, _, manifest = export(tmp_path, [a, b], "--exclude-seed", "radial", "--holdout", "0")
    # the radial run neither contributes programs nor raises niche 1's bar
    assert [r["program"] for r in train] == [program(0)]
    assert manifest["per_run"][str(b)]["excluded"] is True and manifest["exclude_seed"] == ["radial"]


def test_keeps_rule_for_negative_fitness() -> None:
    assert keeps(50.0, 100.0, 0.5) and not keeps(49.9, 100.0, 0.5)
    assert keeps(-12.0, -10.0, 0.8) and not keeps(-12.1, -10.0, 0.8)  # within 20% of |best| below it


@pytest.mark.parametrize("case, expected", [
    ("threshold 0", "--threshold 0.0: must be above 0 and at most 1"),
    ("threshold 1.5", "--threshold 1.5: must be above 0 and at most 1"),
    ("other domain", "is a run of domain 'parity'"),
    ("other qd", "differ in their qd settings (bins: [4, 4] against null)"),
    ("all excluded", "every run was excluded by --exclude-seed"),
    ("nothing entered", "the runs hold 0 programs that entered a map"),
    ("not a run", "is not a directory"),
])
def test_errors_are_one_line_and_write_nothing(tmp_path: Path, case: str, expected: str) -> None:
    a = make_run(tmp_path / "a", [(program(0), 1, 10.0, True, None)])
    runs, options = [a], []
    if case.startswith("threshold"):
        options = ["--threshold", case.split()[1]]
    elif case == "other domain":
        runs.append(make_run(tmp_path / "p", [(program(1), 1, 1.0, True, None)], domain={"name": "parity"}))
    elif case == "other qd":
        runs.append(make_run(tmp_path / "q", [(program(1), 1, 1.0, True, None)], qd={**QD, "bins": [4, 4]}))
    elif case == "all excluded":
        options = ["--exclude-seed", "square"]
    elif case == "nothing entered":
        runs = [make_run(tmp_path / "n", [(program(1), 1, 1.0, False, None)])]
    elif case == "not a run":
        runs = [tmp_path / "missing"]
    done = elm("dataset", "programs", *map(str, runs), "--out", str(tmp_path / "out"), *options, cwd=tmp_path)
    assert expected in error_line(done)
    assert not (tmp_path / "out").exists()
