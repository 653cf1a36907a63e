"""Bad input at the edges, through the `elm` command: each mistake is one line on stderr,
exit status 2, naming the input and saying what to do, and nothing is created."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elmcore.store import RunStore, StoreError


def elm(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("elm: error: "), done.stderr[-2000:]
    return lines[0]


FILES = {
    "bad_key.yaml": "run:\n  evalz: 5\n",
    "bad_section.yaml": "runn:\n  evals: 5\n",
    "bad_type.yaml": "run:\n  evals: lots\n",
    "bad_parse.yaml": "run: [1, 2\n",
    "bad_parse.toml": "[run\nevals = 3\n",
    "not_a_mapping.json": "[1, 2]",
    "config.ini": "[run]\n",
    "broken_seed.py": "def parity(:\n    return 0\n",
    "no_function_seed.py": "x = 1\n",
    # one deep expression, under the 100 KB cap: the parser gives up (RecursionError / MemoryError)
    "deep_sum_seed.py": "def parity(b1, b2, b3, b4):\n    return " + "+".join(["b1"] * 30_000) + "\n",
    "deep_unary_seed.py": "def parity(b1, b2, b3, b4):\n    return " + "-" * 91_000 + "1\n",
    # configs nested beyond what the parsers (or anything after them) can take, and just deep enough to parse
    "deep_lists.yaml": "run:\n  evals: " + "[" * 5_000 + "]" * 5_000 + "\n",
    "deep_mappings.yaml": "run:\n" + "".join("  " * (k + 1) + f"k{k}:\n" for k in range(3_000)),
    "deep_lists.json": '{"run": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "forty_levels.yaml": "domain:\n  x: " + "[" * 40 + "]" * 40 + "\n",
}

CASES = [
    (["--config", "bad_key.yaml"], ["'run.evalz'", "Did you mean 'evals'"]),
    (["--config", "bad_section.yaml"], ["'runn'", "Did you mean 'run'"]),
    (["--config", "bad_type.yaml"], ["'run.evals'", "'lots'", "expected int"]),
    (["--config", "bad_parse.yaml"], ["bad_parse.yaml", "line 2", "fix its syntax"]),
    (["--config", "bad_parse.toml"], ["bad_parse.toml", "does not parse"]),
    (["--config", "not_a_mapping.json"], ["must hold a mapping"]),
    (["--config", "config.ini"], ["config.ini", ".yaml"]),
    (["--config", "missing.yaml"], ["missing.yaml", "does not exist"]),
    (["--set", "run.evals=abc"], ["'run.evals'", "'abc'"]),
    (["--set", "run.evals"], ["SECTION.KEY=VALUE"]),
    (["--set", "qd.binz=3"], ["'qd.binz'", "Did you mean 'bins'"]),
    (["--set", "mutator.rate=2"], ["'mutator.rate'"]),
    (["--evals", "-5"], ["'run.evals'", "greater than or equal to 1"]),
    (["--evals", "many"], ["'--evals'", "elm run --help"]),
    (["--workers", "0"], ["'run.workers'"]),
    (["--set", "run.workers=100000"], ["'run.workers' is 100,000", "per CPU", "--workers"]),
    (["--config", "deep_lists.yaml"], ["deep_lists.yaml", "nested too deeply"]),
    (["--config", "deep_mappings.yaml"], ["deep_mappings.yaml", "nested too deeply"]),
    (["--config", "deep_lists.json"], ["deep_lists.json", "nested too deeply"]),
    (["--config", "forty_levels.yaml"], ["forty_levels.yaml", "nested more than 32 levels"]),
    (["--set", "domain.x=" + "[" * 3_000 + "]" * 3_000], ["--set domain.x", "nested more than"]),
    (["--domain", "parrity"], ["unknown domain 'parrity'", "Did you mean 'parity'", "elm plugins"]),
    (["--mutator", "gpp"], ["unknown mutator 'gpp'", "Did you mean 'gp'"]),
    (["--qd", "map-elite"], ["unknown QD algorithm 'map-elite'", "Did you mean 'map-elites'"]),
    (["--domain", "sodarace", "--terrain", "flatt"], ["unknown terrain 'flatt'", "Did you mean 'flat'"]),
    (["--domain", "sodarace", "--terrain", "tunnel", "--set", "domain.terrain_options.clearence=5"], ["clearence"]),
    (["--domain", "parity", "--seed-program", "/nonexistent/seed.py"], ["/nonexistent/seed.py", "not found"]),
    (["--domain", "parity", "--seed-program", "broken_seed.py"], ["broken_seed.py", "does not parse"]),
    (["--domain", "parity", "--seed-program", "no_function_seed.py"], ["no_function_seed.py", "parity"]),
    (["--domain", "parity", "--seed-program", "deep_sum_seed.py"], ["deep_sum_seed.py", "nested too deeply"]),
    (["--domain", "parity", "--seed-program", "deep_unary_seed.py"], ["deep_unary_seed.py", "nested too deeply"]),
    (["--domain", "sodarace", "--seed-program", "squar"], ["squar", "square"]),
    (["--domain", "sodarace", "--seed-program", "broken_seed.py"], ["broken_seed.py", "does not parse"]),
    (["--bogus"], ["--bogus", "elm run --help"]),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad-input")
    for name, text in FILES.items():
        (path / name).write_text(text)
    return path


@pytest.mark.parametrize("args, needles", CASES, ids=[" ".join(args) for args, _ in CASES])
def test_bad_run_input_is_one_clear_line(workdir, args, needles):
    out = f"out-{abs(hash(tuple(args)))}"
    line = one_line_error(elm("run", *args, "--quiet", "--out", out, cwd=workdir))
    for needle in needles:
        assert needle in line, line
    assert not (workdir / out).exists()


@pytest.fixture(scope="module")
def finished_run(workdir):
    done = elm("run", "--domain", "parity", "--evals", "40", "--quiet", "--out", "done", cwd=workdir)
    assert done.returncode == 0, done.stderr
    return workdir / "done"


def test_resume_refuses_a_config_change(workdir, finished_run):
    for option in (["--set", "qd.bins=4"], ["--domain", "sodarace"], ["--config", "bad_key.yaml"]):
        line = one_line_error(elm("resume", str(finished_run), *option, cwd=workdir))
        assert f"takes no {option[0]}" in line and "elm run" in line and "--evals" in line


def test_starting_a_run_in_a_used_directory_is_refused(workdir, finished_run):
    line = one_line_error(elm("run", "--domain", "sodarace", "--evals", "5", "--out", str(finished_run), cwd=workdir))
    assert "already holds a run" in line and f"elm resume {finished_run}" in line


def test_resume_with_too_many_workers_is_refused(workdir, finished_run):
    line = one_line_error(elm("resume", str(finished_run), "--evals", "80", "--workers", "100000", cwd=workdir))
    assert "'--workers' is 100,000" in line and "per CPU" in line


def test_resume_of_a_directory_that_is_not_a_run(workdir):
    line = one_line_error(elm("resume", str(workdir), cwd=workdir))
    assert "not a run directory" in line and "elm run --out" in line
    line = one_line_error(elm("resume", cwd=workdir))
    assert "run_dir" in line and "elm resume --help" in line


def test_resume_of_a_run_made_with_another_plugin_config(workdir, finished_run, tmp_path):
    copy = tmp_path / "copy"
    done = elm("run", "--domain", "parity", "--evals", "40", "--quiet", "--out", str(copy), cwd=workdir)
    assert done.returncode == 0
    db = sqlite3.connect(copy / "store.sqlite")
    config = json.loads(db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
    config["qd"]["granularity"] = 3  # a key of some other version of the plugin
    db.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))
    db.commit()
    db.close()
    line = one_line_error(elm("resume", str(copy), "--evals", "80", cwd=workdir))
    assert "plugins refuse the config" in line and "qd.granularity" in line and "start a new run" in line


BOTH, RESUME, STATUS = ("status", "resume"), ("resume",), ("status",)
REPORT = ("report",)
EDITS = {  # what a hand edit did -> (SQL, the commands that read it, what their one-line error names)
    "bad JSON in meta": ("UPDATE meta SET value = '{not json' WHERE key = 'config'", BOTH,
                         "meta 'config' is not valid JSON"),
    "config of the wrong type": ("UPDATE meta SET value = '[1, 2]' WHERE key = 'config'", BOTH,
                                 "is a list, not a mapping"),
    "garbage descriptors": ("UPDATE candidates SET descriptors = 'oops' WHERE id = (SELECT MIN(id) FROM candidates "
                            "WHERE outcome = 'valid')", RESUME, "descriptors of candidate"),
    "descriptors not numbers": ("UPDATE candidates SET descriptors = '[\"a\", 1]' WHERE outcome = 'valid'", RESUME,
                                "not all finite numbers"),
    "garbage fitness": ("UPDATE candidates SET fitness = 'abc' WHERE outcome = 'valid'", RESUME + REPORT,
                        "not a finite number"),
    "garbage batch stats": ("UPDATE batches SET stats = '['", STATUS, "stats of the last batch is not valid JSON"),
    "garbage stats of a batch": ("UPDATE batches SET stats = '['", REPORT, "is not valid JSON"),
    "text in the batch stats": ("UPDATE batches SET stats = '{\"evals\": 5, \"filled\": \"many\"}'", STATUS + REPORT,
                                "stats of batch"),
    "an insert status no run writes": ("UPDATE candidates SET status = 'grand' WHERE entered = 1", REPORT,
                                       "the insert status of candidate"),
    "garbage descriptors of an elite": ("UPDATE candidates SET descriptors = 'oops' WHERE entered = 1", REPORT,
                                        "descriptors of candidate"),
}


def edited_copy(finished_run: Path, tmp_path: Path, sql: str) -> Path:
    copy = tmp_path / "edited"
    shutil.copytree(finished_run, copy)
    db = sqlite3.connect(copy / "store.sqlite")
    db.execute(sql)
    db.commit()
    db.close()
    return copy


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_hand_edited_store_is_one_clear_line(workdir, finished_run, tmp_path, edit):
    sql, commands, needle = EDITS[edit]
    copy = edited_copy(finished_run, tmp_path, sql)
    for command in commands:
        extra = {"resume": ["--evals", "80", "--quiet"], "report": ["--out", str(tmp_path / "report.html")]}
        line = one_line_error(elm(command, str(copy), *extra.get(command, []), cwd=workdir))
        assert needle in line and "restore it from a copy" in line, line


def test_empty_store_is_refused_and_left_empty(workdir, tmp_path):
    run = tmp_path / "empty-run"
    run.mkdir()
    (run / "store.sqlite").write_bytes(b"")
    for command in ("status", "resume"):
        line = one_line_error(elm(command, str(run), cwd=workdir))
        assert "is empty (0 bytes)" in line and "not a run store" in line, line
        assert (run / "store.sqlite").stat().st_size == 0, f"`elm {command}` wrote into the empty store"


def test_out_that_is_not_a_new_or_empty_directory_is_refused(workdir, tmp_path):
    """`elm run --out`: a directory with other files, a link (to anything), a file: one line,
    nothing written; a new run directory, and an empty one given, are made 0700."""
    full = tmp_path / "full"
    full.mkdir(mode=0o755)
    (full / "notes.txt").write_text("mine\n")
    empty_target = tmp_path / "empty-target"
    empty_target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(empty_target)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = {full: ["is not empty and holds no run", "'notes.txt'", "--out"],
             link: ["is a symbolic link", str(empty_target), "--out"],
             dangling: ["dangling symbolic link", "does not exist", "--out"],
             a_file: ["is not a directory", "--out"]}
    for out, needles in cases.items():
        line = one_line_error(elm("run", "--domain", "parity", "--evals", "5", "--quiet", "--out", str(out),
                                  cwd=workdir))
        for needle in needles:
            assert needle in line, line
    assert sorted(p.name for p in full.iterdir()) == ["notes.txt"] and (full.stat().st_mode & 0o777) == 0o755
    assert list(empty_target.iterdir()) == [] and not (tmp_path / "nowhere").exists()
    assert a_file.read_text() == "x"
    fresh, given = tmp_path / "fresh" / "run", tmp_path / "given-empty"
    given.mkdir(mode=0o755)
    for out in (fresh, given):
        done = elm("run", "--domain", "parity", "--evals", "5", "--quiet", "--out", str(out), cwd=workdir)
        assert done.returncode == 0, done.stderr
        assert (out / "store.sqlite").is_file() and (out.stat().st_mode & 0o777) == 0o700, oct(out.stat().st_mode)


def test_resume_of_a_run_that_is_still_going_says_it_is_in_use(workdir, tmp_path):
    """The running engine holds the run's lock; a second `elm resume` is one line and changes
    nothing (before, it took the run for one whose seeds had failed)."""
    run = tmp_path / "going"
    going = subprocess.Popen([sys.executable, "-m", "elmcore.cli", "run", "--domain", "parity", "--mutator", "gp",
                              "--evals", "1000000", "--quiet", "--out", str(run)], cwd=workdir,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and going.poll() is None:
            if (run / "store.sqlite").is_file() and RunStore.open(run, readonly=True).count() > 0:
                break
            time.sleep(0.2)
        assert going.poll() is None, going.stderr.read()
        line = one_line_error(elm("resume", str(run), "--quiet", cwd=workdir))
        assert "is in use" in line and f"process {going.pid}" in line and f"elm resume {run}" in line, line
        with pytest.raises(StoreError, match="is in use"):
            RunStore.open(run)
        assert going.poll() is None, "the second resume disturbed the run"
    finally:
        going.terminate()  # SIGTERM: the engine ends, and its workers and forkers without a word
        _, err = going.communicate(timeout=60)
    assert "Traceback" not in err, err[-3000:]
    store = RunStore.open(run)  # free again once its writer is gone
    assert store.count() > 0
    store.close()
