"""`elm dataset diffs`: run stores -> diff-model records (filters, held-out split by parent,
deduplication, the training format), and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elmcore.children import unified_diff
from elmcore.store import CandidateRecord, RunStore
from elm_llm.prompts import diff_prompt
from elm_train.dataset_dir import load_split, read_manifest
from elm_train.records import held_out
from train_cli import elm, error_line

SEED = "def f(x):\n    a = 1\n    b = 2\n    return a + b + x\n"


def child_of(parent: str, old: str, new: str) -> str:
    assert old in parent
    return parent.replace(old, new, 1)


def make_run(run_dir: Path, children: list[tuple]) -> RunStore:
    """A store with the seed (id 0) and ``children``: (program, outcome, entered, parent id[,
    message]); the message defaults to "edit K" for candidate K."""
    store = RunStore.create(run_dir, {"config": {"domain": {"name": "toy"}}})
    records = [CandidateRecord(id=0, batch=0, parent_id=None, operator="seed", program=SEED, outcome="valid",
                               entered=True, fitness=1.0)]
    programs = {0: SEED}
    for k, (program, outcome, entered, parent, *message) in enumerate(children, start=1):
        programs[k] = program
        records.append(CandidateRecord(
            id=k, batch=0, parent_id=parent, operator="gp", program=program, outcome=outcome, entered=entered,
            message=message[0] if message else f"edit {k}", diff=unified_diff(programs[parent], program, "toy.py"),
            fitness=float(k) if outcome == "valid" else None))
    store.commit_batch(0, records, 0.0, 0.0, {})
    store.close()
    return store


@pytest.fixture
def run(tmp_path: Path) -> Path:
    c1 = child_of(SEED, "a = 1", "a = 3")
    c2 = child_of(SEED, "b = 2", "b = 5")
    c3 = child_of(c1, "return a + b + x", "return a * b + x")
    make_run(tmp_path / "run", [
        (c1, "valid", True, 0),
        (c2, "valid", False, 0),
        (c3, "invalid", False, 1),
        (child_of(SEED, "x):", "y):"), "not_runnable", False, 0),
        (c1, "valid", True, 0, "edit 1"),  # the same edit with the same message again: a duplicate
    ])
    return tmp_path / "run"


def export(tmp_path: Path, runs: list[Path], *options: str) -> tuple[list[dict], list[dict], dict]:
    out = tmp_path / f"ds{len(list(tmp_path.iterdir()))}"
    done = elm("dataset", "diffs", *map(str, runs), "--out", str(out), *options, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return load_split(out, "train"), load_split(out, "test"), read_manifest(out)


@pytest.mark.parametrize("filter_, expected", [
    ("entered", {"edit 1"}),
    ("valid", {"edit 1", "edit 2"}),
    ("runnable", {"edit 1", "edit 2", "edit 3"}),
])
def test_filters_choose_children_and_drop_duplicates(tmp_path: Path, run: Path, filter_: str, expected: set) -> None:
    train, test, manifest = export(tmp_path, [run], "--filter", filter_, "--holdout", "0")
    assert test == []
    assert {r["message"] for r in train} == expected
    assert len(train) == len(expected)  # the repeated edit 1 (candidate 5) is kept once
    assert manifest["kind"] == "diffs" and manifest["filter"] == filter_
    assert manifest["rows"] == {"train": len(expected), "test": 0}


def test_records_are_the_diff_models_training_format(tmp_path: Path, run: Path) -> None:
    train, _, _ = export(tmp_path, [run], "--filter", "runnable", "--holdout", "0")
    by_message = {r["message"]: r for r in train}
    third = by_message["edit 3"]
    assert third["file_name"] == "toy.py"
    assert third["parent"] == child_of(SEED, "a = 1", "a = 3")  # its parent is candidate 1, not the seed
    assert third["prompt"] == diff_prompt("toy.py", third["parent"], "edit 3")
    assert third["prompt"].endswith("<MSG> edit 3\n<DFF>")
    assert third["completion"] == "\n" + third["diff"]
    assert third["diff"].startswith("@@ -") and "---" not in third["diff"].splitlines()[0]
    assert "-    return a + b + x\n+    return a * b + x\n" in third["diff"]
    assert (third["candidate_id"], third["parent_id"], third["operator"], third["outcome"]) == (3, 1, "gp", "invalid")


def test_jsonl_copy_equals_the_saved_dataset(tmp_path: Path, run: Path) -> None:
    out = tmp_path / "ds"
    assert elm("dataset", "diffs", str(run), "--out", str(out), "--filter", "valid", cwd=tmp_path).returncode == 0
    for split in ("train", "test"):
        lines = [json.loads(line) for line in (out / f"{split}.jsonl").read_text().splitlines()]
        assert lines == load_split(out, split)


def test_held_out_split_is_by_parent_and_deterministic(tmp_path: Path) -> None:
    parents = [SEED.replace("a = 1", f"a = {k}") for k in range(60)]
    store = RunStore.create(tmp_path / "many", {})
    records, next_id = [], 0
    for parent in parents:
        pid = next_id
        records.append(CandidateRecord(id=pid, batch=0, parent_id=None, operator="seed", program=parent,
                                       outcome="valid", entered=True))
        next_id += 1
        for new in ("b = 7", "b = 8"):
            child = parent.replace("b = 2", new)
            records.append(CandidateRecord(id=next_id, batch=0, parent_id=pid, operator="gp", program=child,
                                           outcome="valid", entered=True, diff=unified_diff(parent, child, "t.py")))
            next_id += 1
    store.commit_batch(0, records, 0.0, 0.0, {})
    store.close()
    train, test, _ = export(tmp_path, [tmp_path / "many"], "--holdout", "0.3")
    again_train, again_test, _ = export(tmp_path, [tmp_path / "many"], "--holdout", "0.3")
    assert (train, test) == (again_train, again_test)
    assert 0 < len(test) < len(train)
    assert not {r["parent"] for r in train} & {r["parent"] for r in test}
    assert all(held_out(r["parent"], 0.3) for r in test)


def test_several_runs_are_merged_with_their_origin(tmp_path: Path, run: Path) -> None:
    make_run(tmp_path / "other", [(child_of(SEED, "b = 2", "b = 9"), "valid", True, 0)])
    train, _, manifest = export(tmp_path, [run, tmp_path / "other"], "--holdout", "0")
    assert {Path(r["run"]).name for r in train} == {"run", "other"}
    assert set(manifest["per_run"]) == {str(run), str(tmp_path / "other")}


def test_not_a_run_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    line = error_line(elm("dataset", "diffs", "empty", "--out", "ds", cwd=tmp_path))
    assert "empty is not a run directory" in line and "elm run" in line
    assert not (tmp_path / "ds").exists()


def test_export_matching_nothing_writes_nothing(tmp_path: Path) -> None:
    make_run(tmp_path / "run", [(child_of(SEED, "b = 2", "b = 9"), "not_runnable", False, 0)])
    line = error_line(elm("dataset", "diffs", "run", "--out", "ds", "--filter", "entered", cwd=tmp_path))
    assert "no records match --filter entered" in line and "--filter valid" in line
    assert not (tmp_path / "ds").exists()


def test_existing_output_is_never_overwritten(tmp_path: Path, run: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("mine")
    line = error_line(elm("dataset", "diffs", "run", "--out", "ds", cwd=tmp_path))
    assert "already exists" in line
    assert (tmp_path / "ds" / "keep.txt").read_text() == "mine"


def test_unknown_filter(tmp_path: Path, run: Path) -> None:
    line = error_line(elm("dataset", "diffs", "run", "--out", "ds", "--filter", "best", cwd=tmp_path))
    assert "--filter 'best'" in line and "entered, valid, runnable" in line


def test_entered_export_caps_how_often_one_change_appears(tmp_path: Path) -> None:
    """The same change made in three parents is kept at most --max-repeats times; identical
    records are collapsed; other changes and children that did not enter are unaffected."""
    p1 = child_of(SEED, "b = 2", "b = 4")
    p2 = child_of(SEED, "return a + b + x", "return a + b - x")
    make_run(tmp_path / "run", [
        (p1, "valid", True, 0),                                  # 1: b = 4
        (p2, "valid", True, 0),                                  # 2: return ... - x
        (child_of(SEED, "a = 1", "a = 7"), "valid", True, 0),    # 3: a = 7 in the seed
        (child_of(p1, "a = 1", "a = 7"), "valid", True, 1),      # 4: a = 7 again, in another parent
        (child_of(p2, "a = 1", "a = 7"), "valid", True, 2),      # 5: and a third time
        (child_of(SEED, "a = 1", "a = 7"), "valid", True, 0, "edit 3"),  # 6: record 3 again: collapsed
        (child_of(SEED, "a = 1", "a = 8"), "valid", False, 0),   # 7: did not enter the map
    ])
    train, _, manifest = export(tmp_path, [tmp_path / "run"], "--filter", "entered", "--holdout", "0",
                                "--max-repeats", "2")
    assert [r["candidate_id"] for r in train] == [1, 2, 3, 4]  # a = 7 twice (3 and 4), not 5, 6 or 7
    assert manifest["max_repeats"] == 2
    assert manifest["per_run"][str(tmp_path / "run")] == {"matched": 6, "duplicates": 1, "repeats": 1}
    uncapped, _, _ = export(tmp_path, [tmp_path / "run"], "--filter", "entered", "--holdout", "0")
    assert [r["candidate_id"] for r in uncapped] == [1, 2, 3, 4, 5]
    done = elm("dataset", "diffs", "run", "--out", "capped", "--max-repeats", "1", cwd=tmp_path)
    assert (done.returncode == 0 and "3 distinct changes" in done.stdout
            and "2 over --max-repeats 1 dropped" in done.stdout)
    line = error_line(elm("dataset", "diffs", "run", "--out", "bad", "--max-repeats", "0", cwd=tmp_path))
    assert "--max-repeats 0: must be at least 1" in line and not (tmp_path / "bad").exists()


def test_a_filter_that_matches_no_child_says_so_in_one_line(tmp_path: Path) -> None:
    make_run(tmp_path / "run", [(child_of(SEED, "b = 2", "b = 9"), "valid", False, 0)])
    line = error_line(elm("dataset", "diffs", "run", "--out", "ds", "--filter", "entered", cwd=tmp_path))
    assert "no child passes it" in line and "entered the map" in line and "Nothing was written" in line
    assert not (tmp_path / "ds").exists()


def test_messages_can_describe_the_move_from_stored_descriptors(tmp_path: Path) -> None:
    """Sodarace names its dimensions: a child taller and lighter than its parent gets that
    message; a child that barely moved keeps its own; a domain without words is one line."""
    store = RunStore.create(tmp_path / "soda", {"config": {"domain": {"name": "sodarace"}}})
    store.commit_batch(0, [
        CandidateRecord(id=0, batch=0, parent_id=None, operator="seed", program=SEED, outcome="valid", entered=True,
                        fitness=1.0, descriptors=(10.0, 10.0, 50.0)),
        CandidateRecord(id=1, batch=0, parent_id=0, operator="gp", program=child_of(SEED, "a = 1", "a = 2"),
                        outcome="valid", entered=True, fitness=2.0, descriptors=(16.0, 10.5, 30.0), message="edit 1"),
        CandidateRecord(id=2, batch=0, parent_id=0, operator="gp", program=child_of(SEED, "b = 2", "b = 3"),
                        outcome="valid", entered=True, fitness=3.0, descriptors=(10.5, 10.0, 51.0), message="edit 2"),
    ], 0.0, 0.0, {})
    store.close()
    train, _, manifest = export(tmp_path, [tmp_path / "soda"], "--messages", "moves", "--holdout", "0")
    assert [r["message"] for r in train] == ["Make the walker taller and lighter.", "edit 2"]
    assert train[0]["prompt"].endswith("<MSG> Make the walker taller and lighter.\n<DFF>")
    assert manifest["messages"] == "moves" and manifest["per_run"][str(tmp_path / "soda")]["moves"] == 1
    store = RunStore.create(tmp_path / "parity", {"config": {"domain": {"name": "parity"}}})
    store.commit_batch(0, [CandidateRecord(id=0, batch=0, parent_id=None, operator="seed", program=SEED,
                                           outcome="valid", entered=True, fitness=1.0, descriptors=(5.0, 3.0))],
                       0.0, 0.0, {})
    store.close()
    line = error_line(elm("dataset", "diffs", "parity", "--out", "ds", "--messages", "moves", cwd=tmp_path))
    assert "has no words for its behaviour dimension" in line and "--messages stored" in line
    assert not (tmp_path / "ds").exists()
