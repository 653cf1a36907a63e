"""No evaluation spent twice: normalisation, duplicates stored but not evaluated, replacements,
determinism and resume with duplicates, every kind of run (portfolio, islands, inventing)."""

from __future__ import annotations

import sqlite3

import pytest

from elmcore import Child, Mutator, PluginConfig, hookimpl
from elmcore.config import build_config
from elmcore.duplicates import program_key
from elmcore.engine import Engine, RunError, STALLED_BATCHES
from elmcore.plugins import PluginManager
from elmcore.store import RunStore
from toys import NumberDomain, ToyPlugin, store_rows


class Repeat(Mutator):
    """Proposes the same child for every parent in its first ``stubborn`` calls of a batch
    (one program per call), then distinct ones; ``stubborn: -1`` repeats forever."""

    name = "repeat"

    class Config(PluginConfig):
        stubborn: int = 1

    calls: list[int] = []

    def mutate(self, parents, rng):
        Repeat.calls.append(len(parents))
        draw = int(rng.integers(1 << 40))
        if self.config.stubborn < 0:
            return [Child("def value():\n    return 1.0\n", p.id, self.name) for p in parents]
        return [Child(f"def value():\n    return {float(draw % 40 - 20)}\nvariant = {draw + k}\n", p.id, self.name)
                for k, p in enumerate(parents)]


class RepeatPlugin:
    @hookimpl
    def elm_register_mutators(self, register):
        register(Repeat)


@pytest.fixture(scope="module")
def pm():
    return PluginManager(plugins=[("toys", ToyPlugin()), ("repeat", RepeatPlugin())]).load()


def config(pm, mutator="shift", *overrides, **run):
    sets = [f"run.{k}={v}" for k, v in {"evals": 150, "batch_size": 25, **run}.items()]
    return build_config(pm, shortcuts={"domain.name": "number", "mutator.name": mutator}, overrides=[*sets, *overrides])


def candidates(run_dir):
    db = sqlite3.connect(run_dir / "store.sqlite")
    try:
        return db.execute("SELECT id, batch, operator, program, outcome, program_hash, duplicate_of, eval_seconds, "
                          "fitness FROM candidates ORDER BY id").fetchall()
    finally:
        db.close()


def check_no_evaluation_twice(rows):
    """Every evaluated program is new; every duplicate points at an earlier candidate with its hash."""
    by_id = {r[0]: r for r in rows}
    evaluated = [r for r in rows if r[3] is not None and r[4] in ("valid", "invalid", "not_runnable")]
    assert len({r[5] for r in evaluated}) == len(evaluated)
    duplicates = [r for r in rows if r[4] == "duplicate"]
    for r in duplicates:
        original = by_id[r[6]]
        assert original[0] < r[0] and original[5] == r[5] and original[4] != "duplicate"
        assert not r[7] and r[8] is None  # not evaluated: no time, no fitness
    return duplicates


# -- normalisation ------------------------------------------------------------------------------
def test_formatting_does_not_make_another_program_but_a_constant_does():
    domain = NumberDomain()
    base = "def value():\n    x = (1 + 2) * 3\n    return x\n"
    same = [
        "def value():\n    # a comment\n    x = (1+2)*3\n\n\n    return x   # another\n",
        "def value():\n    x = ((1 + 2)) * 3\n    return (x)\n",
        "def value(\n):\n    x = (1 +\n         2) * 3\n    return x",
        "\n\ndef value():\n\tx = (1 + 2) * 3\n\treturn x\n",
    ]
    for text in same:
        assert program_key(domain, text) == program_key(domain, base), text
    for text in ("def value():\n    x = (1 + 2) * 4\n    return x\n",  # a changed constant
                 "def value():\n    x = (1 + 2) * 3.0\n    return x\n",
                 "def value():\n    y = (1 + 2) * 3\n    return y\n",
                 'def value():\n    """Docstrings count."""\n    x = (1 + 2) * 3\n    return x\n'):
        assert program_key(domain, text) != program_key(domain, base), text


def test_a_program_that_does_not_parse_is_compared_as_it_is():
    domain = NumberDomain()
    broken = "def value(:\n    return 1\n"
    assert program_key(domain, broken) == program_key(domain, broken)
    assert program_key(domain, broken) != program_key(domain, broken.replace("1", "1 "))
    assert program_key(domain, "x = 1\0") != program_key(domain, "x = 1")  # ast.parse refuses NUL: raw text


def test_a_domain_may_say_how_it_normalises():
    class CaseBlind(NumberDomain):
        def normalise(self, program):
            return program.lower()

    class Failing(NumberDomain):
        def normalise(self, program):
            raise RuntimeError("bug in the domain")

    assert program_key(CaseBlind(), "X = 1") == program_key(CaseBlind(), "x = 1")
    assert program_key(NumberDomain(), "X = 1") != program_key(NumberDomain(), "x = 1")
    assert program_key(Failing(), "x = 1") != program_key(Failing(), "x  =  1")  # the raw text, no crash


def test_a_normal_form_the_operator_made_gives_the_same_key_and_a_domain_normaliser_still_rules():
    """GP hands the engine each child's default normal form (``Child.normalised``); the key
    from it is the key from the text, and a domain with its own normalisation is asked."""
    import numpy as np

    from elm_gp.ast_mutation import MutationSettings, mutate_source

    domain = NumberDomain()
    parent = "def value():\n    x = (1 + 2) * 3.5\n    y = [x, -1, 2 ** -3]\n    return x - (y[0] - 2)\n"
    rng = np.random.default_rng(3)
    made = 0
    for _ in range(60):
        try:
            result = mutate_source(parent, rng, MutationSettings(), None)
        except Exception:
            continue
        made += 1
        assert result.normalised is not None
        assert program_key(domain, result.program, result.normalised) == program_key(domain, result.program)
    assert made > 30

    class CaseBlind(NumberDomain):
        def normalise(self, program):
            return program.lower()

    assert program_key(CaseBlind(), "X = 1", "X = 1") == program_key(CaseBlind(), "x = 1")


# -- a run ----------------------------------------------------------------------------------------
def test_duplicates_cost_no_evaluation_and_are_stored(pm, tmp_path):
    engine = Engine.start(tmp_path / "r", config(pm, "shift", "mutator.variants=10"), pm)
    stats = engine.run()
    engine.close()
    rows = candidates(tmp_path / "r")
    duplicates = check_no_evaluation_twice(rows)
    assert len(duplicates) > 20  # four variants of a few values: many proposals repeat
    assert len(rows) - len(duplicates) == 150  # the budget counted evaluations only
    assert all("already evaluated" in RunStore.open(tmp_path / "r").get(r[0]).reason for r in duplicates[:3])
    store = RunStore.open(tmp_path / "r", readonly=True)
    assert store.evaluations() == 150 and store.count() == len(rows)
    assert store.last_stats()["evals"] == 150
    history_duplicates = sqlite3.connect(tmp_path / "r" / "store.sqlite").execute(
        "SELECT SUM(json_extract(stats, '$.duplicates')) FROM batches").fetchone()[0]
    assert history_duplicates == len(duplicates)
    assert stats.filled > 0


def test_without_deduplication_programs_are_evaluated_again(pm, tmp_path):
    Engine.start(tmp_path / "r", config(pm, "shift", "mutator.variants=10", deduplicate="false"), pm).run()
    rows = candidates(tmp_path / "r")
    assert len(rows) == 150 and not [r for r in rows if r[4] == "duplicate"]
    evaluated = [r for r in rows if r[4] in ("valid", "invalid", "not_runnable")]
    assert len({r[5] for r in evaluated}) < len(evaluated)  # the same programs ran again; the hash shows it


def test_replacements_are_asked_for_up_to_the_configured_rounds(pm, tmp_path):
    """Each round asks the operator for as many children as were duplicates, in the same batch."""
    Repeat.calls = []
    # a mutator that always gives one program: the seed, then one new child, then only duplicates
    with pytest.raises(RunError) as caught:
        Engine.start(tmp_path / "stuck", config(pm, "repeat", "mutator.stubborn=-1", evals=50, batch_size=4,
                                                duplicate_retries=2), pm).run()
    message = str(caught.value)
    assert "already evaluated" in message and "elm resume" in message and "\n" not in message
    rows = candidates(tmp_path / "stuck")
    per_batch = {}
    for r in rows:
        per_batch.setdefault(r[1], []).append(r[4])
    # batch 1: 4 children, 3 of them duplicates, replaced twice (3 + 3): 10 proposals, one evaluated
    assert per_batch[1] == ["valid"] + ["duplicate"] * 9
    assert Repeat.calls[:3] == [4, 3, 3]
    stalled = [b for b, outcomes in per_batch.items() if set(outcomes) == {"duplicate"}]
    assert len(stalled) == STALLED_BATCHES and all(len(per_batch[b]) == 4 + 4 + 4 for b in stalled)
    store = RunStore.open(tmp_path / "stuck", readonly=True)
    assert store.evaluations() == 2 and store.next_batch() == 2 + STALLED_BATCHES  # everything committed is kept


def test_no_retries_leaves_a_batch_short_and_the_run_goes_on(pm, tmp_path):
    engine = Engine.start(tmp_path / "r", config(pm, "shift", "mutator.variants=10", duplicate_retries=0), pm)
    engine.run()
    rows = candidates(tmp_path / "r")
    assert check_no_evaluation_twice(rows)
    sizes: dict[int, list[int]] = {}
    for r in rows:
        sizes.setdefault(r[1], [0, 0])[r[4] == "duplicate"] += 1
    done = sizes[0][0]  # the seed
    for batch in range(1, max(sizes) + 1):
        evaluated, duplicates = sizes[batch]
        assert evaluated + duplicates == min(25, 150 - done)  # asked once, never replaced
        done += evaluated
    assert done == 150


class Stop(Exception):
    pass


def interrupted(pm, config_for, run_dir, batches, **run):
    """A run stopped after ``batches`` committed batches (as by Ctrl-C or a kill): the
    budget is not what ends it, so the last batch is whole."""
    def stop(progress):
        if progress.batch + 1 >= batches:
            raise Stop

    engine = Engine.start(run_dir, config_for(pm, **run), pm)
    with pytest.raises(Stop):
        engine.run(stop)
    engine.close()


@pytest.mark.parametrize("overlap", [True, False])
def test_resume_with_duplicates_gives_the_rows_of_an_uninterrupted_run(pm, tmp_path, overlap):
    def config_for(pm, **run):
        return config(pm, "shift", "mutator.variants=10", **run)

    Engine.start(tmp_path / "whole", config_for(pm, overlap=overlap), pm).run()
    interrupted(pm, config_for, tmp_path / "part", 4, overlap=overlap)
    assert RunStore.open(tmp_path / "part", readonly=True).next_batch() == 4
    Engine.resume(tmp_path / "part", pm).run()
    whole = store_rows(tmp_path / "whole")
    assert store_rows(tmp_path / "part") == whole
    assert sum(r[5] == "duplicate" for r in whole) > 20


def test_same_config_and_seed_same_duplicates(pm, tmp_path):
    for name, workers in (("a", 1), ("b", 2)):
        Engine.start(tmp_path / name, config(pm, "shift", "mutator.variants=10", workers=workers), pm).run()
    assert store_rows(tmp_path / "a") == store_rows(tmp_path / "b")
    Engine.start(tmp_path / "c", config(pm, "shift", "mutator.variants=10", seed=1), pm).run()
    assert store_rows(tmp_path / "a") != store_rows(tmp_path / "c")


def test_a_store_without_hashes_resumes_knowing_its_programs(pm, tmp_path):
    """A run stored before hashes were: its programs are hashed on resume, so none is evaluated again."""
    def config_for(pm, **run):
        return config(pm, "shift", "mutator.variants=10", **run)

    Engine.start(tmp_path / "whole", config_for(pm), pm).run()
    interrupted(pm, config_for, tmp_path / "part", 4)
    db = sqlite3.connect(tmp_path / "part" / "store.sqlite")
    db.execute("UPDATE candidates SET program_hash = NULL")
    db.commit()
    db.close()
    Engine.resume(tmp_path / "part", pm).run()
    strip = lambda rows: [r[:-2] for r in rows]  # noqa: E731 (the old rows have no hash)
    assert strip(store_rows(tmp_path / "part")) == strip(store_rows(tmp_path / "whole"))


def test_a_portfolio_replaces_each_duplicate_from_its_own_operator(pm, tmp_path):
    Repeat.calls = []
    Engine.start(tmp_path / "r", config(pm, "shift,repeat", "mutator.repeat.stubborn=-1", portfolio="uniform",
                                        evals=100), pm).run()
    # repeat's share is 12 of 25; its one program is new once, then only its replacements are asked of it
    assert Repeat.calls[:8] == [12, 11, 11, 11, 12, 12, 12, 12]
    rows = candidates(tmp_path / "r")
    check_no_evaluation_twice(rows)
    counts = RunStore.open(tmp_path / "r", readonly=True).operator_counts()
    assert counts["repeat"]["children"] == 1 and counts["repeat"]["duplicates"] == sum(Repeat.calls) - 1
    assert counts["shift"]["children"] + counts["repeat"]["children"] == 99  # the seed is the hundredth


def test_islands_share_one_record_of_evaluated_programs(pm, tmp_path):
    Engine.start(tmp_path / "r", config(pm, "shift", "mutator.variants=10", islands=3, migrate_every=2), pm).run()
    assert check_no_evaluation_twice(candidates(tmp_path / "r"))


def test_an_inventing_run_does_not_evaluate_a_program_twice(pm, tmp_path):
    Engine.start(tmp_path / "r", config(pm, "guess", evals=150), pm).run()
    rows = candidates(tmp_path / "r")
    check_no_evaluation_twice(rows)
    assert len(rows) >= 150
