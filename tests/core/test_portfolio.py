"""Portfolios of operators (--mutator a,b): the bandit's credit rule, the config, the split of
each batch, determinism and resume; and the crossover operator."""

from __future__ import annotations

import ast
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from elmcore.config import ConfigError, build_config
from elmcore.engine import Engine
from elmcore.plugins import PluginManager
from elmcore.portfolio import DECAY, Bandit
from toys import ToyPlugin, resumed_rows, store_rows as rows


@pytest.fixture(scope="module")
def pm():
    return PluginManager(plugins=[("toys", ToyPlugin())]).load()


def portfolio_config(pm, *overrides, **run):
    sets = [f"run.{k}={v}" for k, v in {"evals": 301, "batch_size": 25, **run}.items()]
    return build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift,shift:far"},
                        overrides=[*sets, "mutator.shift:far.step=9", *overrides])


# -- the bandit -------------------------------------------------------------------------------
def test_uniform_shares_and_largest_remainder_split():
    bandit = Bandit(["a", "b", "c"], rule="uniform")
    assert bandit.shares() == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    assert bandit.split(64) == {"a": 22, "b": 21, "c": 21}  # the remainder goes to the earlier label
    assert sum(bandit.split(7).values()) == 7


def test_the_adaptive_rule_credits_children_that_enter_the_archive():
    bandit = Bandit(["good", "bad"], rule="adaptive", floor=0.1)
    assert bandit.shares() == pytest.approx({"good": 0.5, "bad": 0.5})  # no record yet
    bandit.credit([("good", True)] * 6 + [("good", False)] * 4 + [("bad", False)] * 10)
    # scores: good (6 + 1) / (10 + 2), bad (0 + 1) / (10 + 2); shares 0.1 + 0.8 * score / total
    good, bad = 7 / 12, 1 / 12
    assert bandit.shares() == pytest.approx({"good": 0.1 + 0.8 * good / (good + bad),
                                             "bad": 0.1 + 0.8 * bad / (good + bad)})
    assert bandit.split(20) == {"good": 16, "bad": 4}
    bandit.credit([])  # a batch with nothing: the record decays
    assert bandit.children["good"] == pytest.approx(10 * DECAY) and bandit.successes["good"] == pytest.approx(6 * DECAY)
    for _ in range(200):  # the floor keeps the worse operator alive
        bandit.credit([("good", True)] * 10 + [("bad", False)] * 10)
    assert bandit.shares()["bad"] >= 0.1 - 1e-12


# -- the config ---------------------------------------------------------------------------------
def test_portfolio_config_keys(pm):
    config = portfolio_config(pm)
    assert [m.label for m in config.mutators] == ["shift", "shift:far"]
    assert [m.options.step for m in config.mutators] == [3, 9]
    stored = config.as_dict()["mutator"]
    assert stored == {"name": "shift,shift:far", "shift": {"step": 3, "variants": 100},
                      "shift:far": {"step": 9, "variants": 100}}
    shared = portfolio_config(pm, "mutator.step=5")  # a key outside LABEL: goes to every operator taking it
    assert [m.options.step for m in shared.mutators] == [5, 9]
    with pytest.raises(ConfigError, match="config key 'mutator.steps' is not accepted by any of shift, shift:far"):
        portfolio_config(pm, "mutator.steps=5")
    with pytest.raises(ConfigError, match="names an operator twice"):
        build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift,shift"})
    with pytest.raises(ConfigError, match="cannot mix operators that write programs from nothing"):
        Engine.start("unused", build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift,guess"}),
                     pm)
    with pytest.raises(ConfigError, match="this takes one mutator, not the portfolio shift,shift:far"):
        _ = config.mutator


# -- runs -----------------------------------------------------------------------------------------
def test_a_portfolio_run_splits_batches_and_records_each_operator(pm, tmp_path):
    engine = Engine.start(tmp_path / "r", portfolio_config(pm), pm)
    engine.run()
    counts = engine.store.operator_counts()
    engine.close()
    assert set(counts) == {"seed", "shift", "shift:far"}
    assert counts["shift"]["children"] + counts["shift:far"]["children"] == 300
    db = sqlite3.connect(tmp_path / "r" / "store.sqlite")
    last = db.execute("SELECT stats FROM batches ORDER BY batch DESC LIMIT 1").fetchone()[0]
    db.close()
    assert '"operators"' in last and '"next_share"' in last


def test_uniform_portfolio_gives_equal_shares(pm, tmp_path):
    engine = Engine.start(tmp_path / "u", portfolio_config(pm, portfolio="uniform"), pm)
    engine.run()
    counts = engine.store.operator_counts()
    engine.close()
    assert counts["shift"]["children"] == 156 and counts["shift:far"]["children"] == 144  # 13 and 12 per batch


@pytest.mark.parametrize("overlap", [True, False])
def test_portfolio_resume_equals_an_uninterrupted_run(pm, tmp_path, overlap):
    resumed, whole = resumed_rows(pm, lambda pm, **run: portfolio_config(pm, **run), tmp_path, 101, overlap=overlap)
    assert resumed == whole
    again = Engine.start(tmp_path / "again", portfolio_config(pm, overlap=overlap, workers=2), pm)
    again.run()
    again.close()
    assert rows(tmp_path / "again") == rows(tmp_path / "whole")


def test_status_shows_each_operator(pm, tmp_path):
    engine = Engine.start(tmp_path / "r", portfolio_config(pm), pm)
    engine.run()
    engine.close()
    shown = subprocess.run([sys.executable, "-m", "elmcore.cli", "status", str(tmp_path / "r")],
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    line = next(s for s in shown.stdout.splitlines() if s.startswith("operators: "))
    assert "shift " in line and "shift:far " in line and "% of children" in line and "entered the archive" in line


# -- crossover ------------------------------------------------------------------------------------
FIRST = '''def make_walker():
    """First parent."""
    wc = walker_creator()
    a = wc.add_joint(0, 0)
    b = wc.add_joint(1, 0)
    c = wc.add_joint(2, 0)
    wc.add_muscle(a, b)
    return wc.get_walker()
'''
SECOND = '''def make_walker():
    wc = walker_creator()
    a = wc.add_joint(5, 5)
    b = wc.add_joint(6, 5)
    c = wc.add_joint(7, 5)
    wc.add_muscle(b, c, False, 2.0, 0.5)
    return wc.get_walker()
'''


def test_crossover_children_parse_and_come_from_both_parents():
    from elm_gp.crossover import CrossoverMutator
    from elmcore import MutationContext, Parent

    mutator = CrossoverMutator(CrossoverMutator.Config(),
                               context=MutationContext(file_name="walker.py", function_name="make_walker"))
    parents = [Parent(id=1, program=FIRST, fitness=0.0), Parent(id=2, program=SECOND, fitness=0.0)] * 40
    children = mutator.mutate(parents, np.random.default_rng(0))
    assert len(children) == 40
    made = [c for c in children if c.program is not None]
    # a cut that keeps all but the last statement gives the first parent back: no edit
    assert all(c.outcome.value == "no_edit" and "first parent as it is" in c.reason for c in children if c not in made)
    assert len(made) > 25
    cuts = set()
    for child in made:
        assert child.parent_id == 1 and child.meta["parents"] == [1, 2]
        tree = ast.parse(child.program)
        body = tree.body[0].body
        assert ast.get_docstring(tree.body[0]) == "First parent."  # the first parent's docstring stays
        text = child.program
        assert "wc = walker_creator()" in text and text.rstrip().endswith("return wc.get_walker()")
        from_second = any(s in text for s in ("(5, 5)", "(6, 5)", "(7, 5)", "2.0, 0.5"))
        assert from_second and len(body) == 7  # homologous: the statements keep their places
        cuts.add(child.message)
    assert len(cuts) > 2
    same = mutator.mutate([Parent(id=1, program=FIRST, fitness=0.0)] * 2, np.random.default_rng(0))[0]
    assert same.program is None and same.outcome.value == "no_edit"


def test_a_new_niche_can_be_credited_above_an_improvement():
    """Two operators with as many entries: the one whose entries are new niches gets the larger
    share once new niches weigh more; with equal credits they tie."""
    batch = [("explorer", True, "new")] * 4 + [("explorer", False, "not_added")] * 6 \
        + [("refiner", True, "improved")] * 4 + [("refiner", False, "not_added")] * 6
    equal = Bandit(["explorer", "refiner"], floor=0.1)
    equal.credit(batch)
    assert equal.shares()["explorer"] == pytest.approx(equal.shares()["refiner"])
    weighted = Bandit(["explorer", "refiner"], floor=0.1, new_niche=1.0, improvement=0.25)
    weighted.credit(batch)
    assert weighted.successes == pytest.approx({"explorer": 4.0, "refiner": 1.0})
    shares = weighted.shares()
    # scores (4 + 1) / (10 + 2) and (1 + 1) / (10 + 2): 0.1 + 0.8 * 5 / 7 and 0.1 + 0.8 * 2 / 7
    assert (shares["explorer"] == pytest.approx(0.1 + 0.8 * 5 / 7)
            and shares["refiner"] == pytest.approx(0.1 + 0.8 * 2 / 7))
    assert weighted.split(64) == {"explorer": 43, "refiner": 21}
    weighted.credit([("explorer", True, "new"), ("refiner", True, "improved"), ("refiner", False, None)])
    assert weighted.successes == pytest.approx({"explorer": 4.0 * DECAY + 1.0, "refiner": 1.0 * DECAY + 0.25})


def test_the_credit_keys_reach_the_bandit_and_resume_rebuilds_it(pm, tmp_path):
    config = portfolio_config(pm, "run.portfolio_credit_new_niche=2.0", "run.portfolio_credit_improvement=0.5")
    engine = Engine.start(tmp_path / "r", config, pm)
    assert (engine.operators.bandit.new_niche, engine.operators.bandit.improvement) == (2.0, 0.5)
    engine.run()
    engine.close()
    again = Engine.resume(tmp_path / "r", pm)  # the record rebuilt from the store, statuses included
    assert again.operators.bandit.successes == pytest.approx(engine.operators.bandit.successes)
    assert again.operators.bandit.children == pytest.approx(engine.operators.bandit.children)
    again.close()
    with pytest.raises(ConfigError, match="portfolio_credit_new_niche"):
        portfolio_config(pm, "run.portfolio_credit_new_niche=-1")
