"""Whole runs: the loop, the store, determinism, resume after SIGKILL, clear failures."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elm_seeds import read_seed
from elmcore import Child
from elmcore.config import build_config
from elmcore.engine import Engine, RunError
from elmcore.plugins import PluginManager
from elmcore.store import RunStore, StoreError
from toys import ToyPlugin


@pytest.fixture(scope="module")
def pm():
    return PluginManager(plugins=[("toys", ToyPlugin())]).load()


def toy_config(pm, **run):
    overrides = [f"run.{k}={v}" for k, v in {"evals": 300, "batch_size": 25, **run}.items()]
    return build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift"}, overrides=overrides)


def rows(run_dir):
    db = sqlite3.connect(run_dir / "store.sqlite")
    return db.execute("SELECT id, batch, parent_id, program, outcome, fitness, niche, entered FROM candidates "
                      "ORDER BY id").fetchall()


def test_run_records_every_candidate_and_fills_the_archive(pm, tmp_path):
    engine = Engine.start(tmp_path / "r", toy_config(pm), pm)
    stats = engine.run()
    store = engine.store
    assert store.evaluations() == 300  # the budget counts evaluations; duplicates are stored besides
    counts = store.outcome_counts()
    assert store.count() == 300 + counts["duplicate"]
    assert counts["valid"] > 150 and counts["not_runnable"] > 20  # the shift mutator breaks 1 in 5
    assert stats.max_fitness == 0.0  # value 7 is found
    assert stats.filled == len(store.elite_ids())
    broken = next(store.iter_candidates("outcome = 'not_runnable'"))
    assert "NameError" in broken.reason and broken.parent_id is not None and broken.operator == "shift"
    assert (tmp_path / "r" / "config.yaml").is_file()
    assert store.get_meta("plugins")["toys"]["ok"] is True
    engine.close()


def test_same_seed_same_archive_other_seed_other_archive(pm, tmp_path):
    results = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        engine = Engine.start(tmp_path / name, toy_config(pm, seed=seed, workers=2 if name == "b" else 1), pm)
        engine.run()
        results.append(sorted((e.niche, e.program, e.fitness) for e in engine.qd.elites()))
        engine.close()
    assert results[0] == results[1]
    assert rows(tmp_path / "a") == rows(tmp_path / "b")
    assert rows(tmp_path / "a") != rows(tmp_path / "c")


@pytest.mark.parametrize("overlap", [True, False])
def test_resume_continues_as_if_never_stopped(pm, tmp_path, overlap):
    whole = Engine.start(tmp_path / "whole", toy_config(pm, overlap=overlap), pm)
    whole.run()
    part = Engine.start(tmp_path / "part", toy_config(pm, evals=101, overlap=overlap), pm)  # ends on a batch boundary
    part.run()
    part.close()
    resumed = Engine.resume(tmp_path / "part", pm, evals=300)
    assert resumed.qd.stats().filled > 0  # the archive was rebuilt from the store
    resumed.run()
    assert rows(tmp_path / "part") == rows(tmp_path / "whole")


def test_overlap_changes_which_archive_parents_come_from(pm, tmp_path):
    for overlap in (True, False):
        Engine.start(tmp_path / str(overlap), toy_config(pm, overlap=overlap), pm).run()
    assert rows(tmp_path / "True")[:26] == rows(tmp_path / "False")[:26]  # seed batch and batch 1 agree
    assert rows(tmp_path / "True") != rows(tmp_path / "False")


def test_invalid_seed_is_a_clear_error(pm, tmp_path):
    engine = Engine.start(tmp_path / "r", toy_config(pm), pm)
    engine.domain.seed_programs = lambda: ["def value():\n    return 'text'\n"]
    with pytest.raises(RunError, match="no seed program of domain 'number' is valid"):
        engine.run()


def inventing_config(pm, **run):
    overrides = [f"run.{k}={v}" for k, v in {"evals": 120, "batch_size": 16, **run}.items()]
    return build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "guess"}, overrides=overrides)


def test_an_inventing_mutator_fills_a_fresh_map_without_seeds(pm, tmp_path):
    engine = Engine.start(tmp_path / "r", inventing_config(pm), pm)
    stats = engine.run()
    store = engine.store
    candidates = list(store.iter_candidates())
    assert len(candidates) == 120
    assert {c.operator for c in candidates} == {"guess"}  # no seed program was evaluated
    assert all(c.parent_id is None for c in candidates)
    assert store.outcome_counts() == {"valid": 90, "invalid": 30}  # every 4th is not a number
    assert stats.filled == len({c.niche for c in candidates if c.outcome == "valid"})
    engine.close()


@pytest.mark.parametrize("overlap", [True, False])
def test_an_inventing_run_resumes_as_if_never_stopped(pm, tmp_path, overlap):
    Engine.start(tmp_path / "whole", inventing_config(pm, overlap=overlap), pm).run()
    Engine.start(tmp_path / "part", inventing_config(pm, evals=48, overlap=overlap), pm).run()
    Engine.resume(tmp_path / "part", pm, evals=120).run()
    assert rows(tmp_path / "part") == rows(tmp_path / "whole")


def test_a_first_batch_of_inventions_that_all_fail_is_not_an_error(pm, tmp_path):
    engine = Engine.start(tmp_path / "r", inventing_config(pm, evals=32), pm)
    engine.mutator.invent = lambda n, rng: [Child(f"def value():\n    return 'not {int(rng.integers(1 << 40))}'\n",
                                                  None, "guess") for _ in range(n)]
    stats = engine.run()
    assert stats.filled == 0 and engine.store.count() == 32


def test_existing_run_directory_is_not_overwritten(pm, tmp_path):
    Engine.start(tmp_path / "r", toy_config(pm), pm).close()
    with pytest.raises(StoreError, match="elm resume"):
        Engine.start(tmp_path / "r", toy_config(pm), pm)


def test_resume_of_a_non_run_directory(pm, tmp_path):
    with pytest.raises(StoreError, match="not a run directory"):
        Engine.resume(tmp_path, pm)


def test_store_batch_is_atomic(tmp_path):
    from elmcore.store import CandidateRecord
    store = RunStore.create(tmp_path / "r")
    rec = CandidateRecord(id=0, batch=0, parent_id=None, operator="seed", program="x", outcome="valid")
    store.commit_batch(0, [rec], 0, 0, {})
    dup = CandidateRecord(id=1, batch=1, parent_id=0, operator="m", program="y", outcome="valid")
    with pytest.raises(StoreError, match="Nothing of this batch was written"):
        store.commit_batch(1, [dup, rec], 0, 0, {})  # id 0 again: the whole batch is refused
    assert store.count() == 1 and store.next_batch() == 1


def test_records_carry_outcome_and_status_as_enums(pm, tmp_path):
    from elmcore import InsertStatus, Outcome
    from elmcore.store import CandidateRecord
    Engine.start(tmp_path / "r", toy_config(pm, evals=60), pm).run()
    records = list(RunStore.open(tmp_path / "r").iter_candidates())
    assert all(isinstance(r.outcome, Outcome) for r in records)
    entered = [r for r in records if r.entered]
    assert entered and all(r.status in (InsertStatus.NEW, InsertStatus.IMPROVED) for r in entered)
    assert f"{records[0].outcome}" == "valid" and records[0].outcome == "valid"  # a string enum, written as its value
    with pytest.raises(ValueError, match="the outcome of candidate 7 is 'fine', not one of no_edit"):
        CandidateRecord(id=7, batch=0, parent_id=None, operator="m", program="x", outcome="fine")


def test_a_key_added_after_a_run_was_made_resumes_with_the_value_it_had(pm, tmp_path):
    """A stored config without a key (made before the key existed) resumes with the value
    the component declares such runs had (PluginConfig.stored_defaults), not the new default;
    a stored config with the key keeps its own value."""
    Engine.start(tmp_path / "old", toy_config(pm, evals=50), pm).run()
    db = sqlite3.connect(tmp_path / "old" / "store.sqlite")
    config = json.loads(db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
    assert config["mutator"]["variants"] == 100
    del config["mutator"]["variants"]  # as a run made before the key would have stored it
    db.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))
    db.commit()
    db.close()
    assert Engine.resume(tmp_path / "old", pm, evals=60).mutator.config.variants == 0
    Engine.start(tmp_path / "new", toy_config(pm, evals=50), pm).run()
    assert Engine.resume(tmp_path / "new", pm, evals=60).mutator.config.variants == 100


def elm(*args, **kw):
    return subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True, **kw)


def test_cli_run_kill_resume(tmp_path):
    """`elm run` killed with SIGKILL mid-run resumes with nothing lost or evaluated twice,
    and ends with exactly the candidates of an uninterrupted run."""
    common = ["--domain", "parity", "--mutator", "gp", "--batch-size", "32", "--seed", "5", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "elmcore.cli", "run", *common, "--evals", "1500",
                             "--out", str(tmp_path / "killed")])
    store_path = tmp_path / "killed" / "store.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline:
        if store_path.exists():
            try:
                n = sqlite3.connect(store_path).execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
            except sqlite3.Error:
                n = 0
            if n >= 200:
                break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(rows(tmp_path / "killed"))
    assert 0 < partial < 1500
    done = elm("resume", str(tmp_path / "killed"), "--quiet")
    assert done.returncode == 0, done.stderr
    whole = elm("run", *common, "--evals", "1500", "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    assert rows(tmp_path / "killed") == rows(tmp_path / "whole")


def test_cli_errors_are_one_line(tmp_path):
    bad = elm("run", "--domain", "parity", "--mutator", "gp", "--set", "qd.binz=3", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "qd.binz" in bad.stderr and "bins" in bad.stderr
    unknown = elm("run", "--domain", "parrity", "--out", str(tmp_path / "y"))
    assert unknown.returncode == 2 and "Did you mean 'parity'" in unknown.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_cli_plugins_json():
    import json
    out = elm("plugins", "--json")
    assert out.returncode == 0
    plugins = {p["name"]: p for p in json.loads(out.stdout)}
    assert "parity" in plugins["parity"]["registered"]["domain"]


def test_cli_version_and_defaults_in_help():
    from importlib.metadata import version

    out = elm("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"elm {version('elm-evolution')}"
    helped = elm("run", "--help", env={**os.environ, "COLUMNS": "200"})
    assert "(default: 10,000)" in helped.stdout and "(default: map-elites)" in helped.stdout


def test_cli_a_run_whose_seed_fails_leaves_nothing_behind(tmp_path):
    """The seed files sit under /tmp, which evaluation workers see as a fresh, empty tmpfs
    (run from the repository, so the working directory does not keep /tmp visible)."""
    repo = Path(__file__).resolve().parents[2]
    good = tmp_path / "good.py"
    good.write_text(read_seed("sodarace", "square"))
    bad = tmp_path / "bad.py"
    bad.write_text("def make_walker():\n    return 1 / 0\n")
    common = ["--domain", "sodarace", "--mutator", "gp", "--evals", "8", "--batch-size", "4", "--quiet"]
    failed = elm("run", *common, "--seed-program", str(bad), "--out", str(tmp_path / "r"), cwd=repo)
    assert failed.returncode == 2 and "ZeroDivisionError" in failed.stderr
    assert f"nothing was kept in {tmp_path / 'r'}" in failed.stderr
    assert not (tmp_path / "r").exists()
    again = elm("run", *common, "--seed-program", str(good), "--out", str(tmp_path / "r"), cwd=repo)
    assert again.returncode == 0, again.stderr
    assert len(rows(tmp_path / "r")) == 8


def test_cli_status_is_readable_and_has_json(tmp_path):
    import json

    done = elm("run", "--domain", "parity", "--mutator", "gp", "--evals", "1200", "--batch-size", "100",
               "--quiet", "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    shown = elm("status", str(tmp_path / "r"))
    assert shown.returncode == 0, shown.stderr
    assert "evaluations 1,200 of 1,200 (100.0 %)" in shown.stdout and "seed 0" in shown.stdout
    assert "outcomes: " in shown.stdout and " % (" in shown.stdout
    assert shown.stdout.count("\n") >= 4 and "history:" in shown.stdout
    filled = re.search(r"niches filled ([\d,]+) of ([\d,]+);", shown.stdout)  # N of the archive's M
    assert filled, shown.stdout
    data = json.loads(elm("status", str(tmp_path / "r"), "--json").stdout)
    assert 0 < int(filled[1].replace(",", "")) <= int(filled[2].replace(",", "")) == data["last"]["niches"]
    duplicates = data["outcomes"].get("duplicate", 0)
    assert data["evaluations"] == 1200 and data["duplicates"] == duplicates
    assert data["candidates"] == sum(data["outcomes"].values()) == 1200 + duplicates
    assert [h["evals"] for h in data["history"]][-1] == 1200 and len(data["history"]) == 5
    assert data["history"] == sorted(data["history"], key=lambda h: h["evals"])
    assert data["best"]["fitness"] == data["last"]["max_fitness"]


def test_plugins_follow_a_run_batch_by_batch(tmp_path, capsys):
    """elm_batch_committed sees every committed batch with its stats and records; a hook that
    raises is reported once and the run goes on."""
    from elmcore import hookimpl

    class Follower:
        def __init__(self) -> None:
            self.seen: list[tuple[int, int, int]] = []

        @hookimpl
        def elm_batch_committed(self, run_dir, batch, stats, records):
            assert run_dir == str(tmp_path / "r")
            self.seen.append((batch, stats.evals, len(records)))
            assert stats.niches == 40 and 0 < stats.filled <= stats.niches  # the toy domain has 40 bins

    class Broken:
        @hookimpl
        def elm_batch_committed(self, run_dir, batch, stats, records):
            raise RuntimeError("dashboard down")

    follower = Follower()
    manager = PluginManager(plugins=[("toys", ToyPlugin()), ("follower", follower), ("broken", Broken())]).load()
    engine = Engine.start(tmp_path / "r", toy_config(manager), manager)
    engine.run()
    engine.close()
    batches = rows(tmp_path / "r")
    assert follower.seen[-1][1] == 300  # evaluations; duplicates are records too
    assert [b for b, _, _ in follower.seen] == list(range(len(follower.seen)))
    assert sum(n for _, _, n in follower.seen) == len(batches)
    err = capsys.readouterr().err
    assert err.count("elm_batch_committed failed (RuntimeError: dashboard down)") == 1


def test_batch_stats_read_stores_written_before_niches_were_recorded():
    """A batch's stats as old stores hold them (no niches, no evals, no duplicates) read, and
    the stored form of new ones reads back to the same record."""
    from elmcore.types import BatchStats, IslandBatchStats, OperatorBatchStats

    old = BatchStats.from_json({"filled": 3, "qd_score": 12.5, "max_fitness": -1.0}, evals=64)
    assert (old.evals, old.filled, old.niches, old.duplicates, old.coverage) == (64, 3, None, 0, None)
    new = BatchStats(evals=96, filled=5, niches=40, qd_score=20.0, max_fitness=0.0, duplicates=2,
                     operators={"gp": OperatorBatchStats(children=30, entered=2, share=0.5, next_share=0.4)},
                     islands=(IslandBatchStats(3, 10.0), IslandBatchStats(2, 10.0)), migrated=1)
    assert BatchStats.from_json(new.to_json(), evals=0) == new and new.coverage == 5 / 40
    with pytest.raises(ValueError, match="filled is 'many'"):
        BatchStats.from_json({"filled": "many"}, evals=1)


def test_ctrl_c_keeps_the_committed_batches_and_says_how_to_go_on(tmp_path):
    """Ctrl-C during `elm run`: one line naming `elm resume`, and the run resumes."""
    proc = subprocess.Popen([sys.executable, "-m", "elmcore.cli", "run", "--domain", "parity", "--mutator", "gp",
                             "--evals", "1000000", "--batch-size", "32", "--quiet", "--out", str(tmp_path / "r")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # as at a terminal: a shell that starts the tests in the background
                            # ignores SIGINT, and Python then never turns Ctrl-C into KeyboardInterrupt
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    store = tmp_path / "r" / "store.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if store.exists() and sqlite3.connect(store).execute("SELECT COUNT(*) FROM batches").fetchone()[0] >= 2:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err[-2000:]
    assert f"interrupted; committed batches are kept: continue with `elm resume {tmp_path / 'r'}`" in err
    assert elm("resume", str(tmp_path / "r"), "--evals", "160", "--quiet").returncode == 0
