"""One test per hook in elmcore.hookspecs, named test_<hook>: each registers a component
through that hook via a PluginManager and uses what comes back. A meta-test fails when a
hook is declared without a test here (or a test names a hook that no longer exists)."""

from __future__ import annotations

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from elmcore import Evaluation, MutationContext, Outcome, Parent, hookimpl, hookspecs
from elmcore.plugins import PluginManager
from elmcore.workers import evaluate_programs
from declared_hooks import declared_hooks
from meta_components import AnswerDomain, AppendLineMutator, BestProgramLearner, SingleNicheArchive


def manager(*plugins):
    return PluginManager(entry_point_group=None, plugins=list(plugins)).load()


def registering(hook_name, *args, **kwargs):
    """A plugin object implementing ``hook_name`` by calling register(*args, **kwargs)."""

    def hook(register):
        register(*args, **kwargs)

    return plugin_object(hook_name, hook)


def plugin_object(hook_name, hook):
    """An object whose method ``hook_name`` is ``hook``, marked as a hook implementation."""
    hook.__name__ = hook_name
    return type(f"Plugin_{hook_name}", (), {hook_name: staticmethod(hookimpl(hook))})()


def assert_registered_once(hook_name, kind, name, *args, **kwargs):
    """Registered under ``name`` by the first plugin; the same name from a second plugin is
    rejected with an error naming both, and the first registration stays."""
    pm = manager(("first", registering(hook_name, *args, **kwargs)),
                 ("second", registering(hook_name, *args, **kwargs)))
    first, second = pm.plugins()
    assert first.errors == [] and first.registered == {kind: [name]}
    assert len(second.errors) == 1 and "'first'" in second.errors[0] and name in second.errors[0]
    assert pm.registration(kind, name).plugin == "first"
    return pm


def test_elm_register_domains():
    pm = assert_registered_once("elm_register_domains", "domain", "meta-answer", AnswerDomain)
    cls = pm.get("domain", "meta-answer")
    domain = cls(cls.Config(target=3.0))
    good, bad = evaluate_programs(domain, ["def answer():\n    return 2.0\n", "def answer():\n    return 'x'\n"])
    assert good.outcome is Outcome.VALID and good.fitness == -1.0 and good.descriptors == (2.0,)
    assert bad.outcome is Outcome.INVALID


def test_elm_register_mutators():
    pm = assert_registered_once("elm_register_mutators", "mutator", "meta-append", AppendLineMutator)
    cls = pm.get("mutator", "meta-append")
    mutator = cls(cls.Config(), context=MutationContext(file_name="a.py", function_name="answer"))
    parents = [Parent(id=i, program="x = 1\n") for i in range(3)]
    children = mutator.mutate(parents, np.random.default_rng(0))
    again = mutator.mutate(parents, np.random.default_rng(0))
    assert [c.parent_id for c in children] == [0, 1, 2]
    assert [c.program for c in children] == [c.program for c in again]


def test_elm_register_qd_algorithms():
    pm = assert_registered_once("elm_register_qd_algorithms", "qd", "meta-single-niche", SingleNicheArchive)
    cls = pm.get("qd", "meta-single-niche")
    archive = cls(cls.Config(), space=AnswerDomain().behaviour_space(), seed=0)
    first = archive.insert([0, 1], ["a", "b"], [1.0, 1.0], [(0.0,), (1.0,)])
    assert [(r.status.value, r.added) for r in first] == [("new", True), ("new", False)]
    second = archive.insert([2, 3], ["c", "d"], [0.5, 2.0], [(0.0,), (0.0,)])
    assert [(r.status.value, r.added) for r in second] == [("not_added", False), ("improved", True)]
    assert archive.select(2, np.random.default_rng(0))[0].candidate_id == 3
    assert archive.stats().filled == 1


def test_elm_register_learners(tmp_path):
    pm = assert_registered_once("elm_register_learners", "learner", "meta-best-program", BestProgramLearner)
    cls = pm.get("learner", "meta-best-program")
    learner = cls(cls.Config(), None, ["flat", "hills"])
    rng = np.random.default_rng(0)
    learner.sample(["flat", "hills"], rng)
    learner.best = {}
    learner.last = [("flat", "p1"), ("hills", "p2")]
    assert learner.update([Evaluation.valid(1.0, (0.0,)), Evaluation.valid(2.0, (0.0,))], rng) == {"improved": 2.0}
    learner.last = [("flat", "p3")]
    learner.update([Evaluation.valid(0.5, (0.0,))], rng)
    learner.save(tmp_path)
    restored = cls(cls.Config(), None, ["flat", "hills"])
    restored.load(tmp_path)
    assert [c.program for c in restored.sample(["flat", "hills", "new"], rng)] == \
        ["p1", "p2", cls.Config().default_program]


def meta_greet(name: str = "world") -> None:
    """Say hello (a command added by a plugin)."""
    typer.echo(f"hello {name}")


def test_elm_register_commands(monkeypatch):
    from elmcore.cli import options as cli  # where plugin options and commands are installed

    pm = assert_registered_once("elm_register_commands", "command", "meta-greet", "meta-greet", meta_greet,
                                help="say hello")
    assert pm.registration("command", "meta-greet").help == "say hello"
    app = typer.Typer()
    app.command(name="builtin")(lambda: None)
    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(cli, "get_plugin_manager", lambda: pm)
    cli._add_plugin_commands()
    result = CliRunner().invoke(app, ["meta-greet", "--name", "elm"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello elm\n"
    assert "say hello" in CliRunner().invoke(app, ["--help"]).output


def test_elm_batch_committed(tmp_path, capsys):
    seen = []

    def hook(run_dir, batch, stats, records):
        seen.append((run_dir, batch, stats["evals"], len(records)))

    def broken(run_dir, batch, stats, records):
        raise RuntimeError("dashboard down")

    pm = manager(("follower", plugin_object("elm_batch_committed", hook)),
                 ("broken", plugin_object("elm_batch_committed", broken)))
    for batch in range(3):
        pm.batch_committed(tmp_path, batch, {"evals": 10 * (batch + 1)}, [None] * 10)
    assert seen == [(str(tmp_path), b, 10 * (b + 1), 10) for b in range(3)]
    assert capsys.readouterr().err.count("'broken': elm_batch_committed failed (RuntimeError: dashboard down)") == 1
    assert all(p.errors == [] for p in pm.plugins())  # a lifecycle failure is not a loading error


def test_every_declared_hook_has_a_test_here():
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_elm_")}
    declared = declared_hooks()
    assert declared, "no hookspecs found in elmcore.hookspecs"
    missing = sorted(declared - tested)
    stale = sorted(tested - declared)
    assert not missing, f"hooks without a test in {__file__}: {missing}; add test_<hook> functions"
    assert not stale, f"tests for hooks that elmcore.hookspecs no longer declares: {stale}"


def test_every_declared_hook_is_called_by_the_plugin_manager():
    assert set(hookspecs.KINDS.values()) | set(hookspecs.LIFECYCLE) == declared_hooks()


@pytest.mark.parametrize("hook_name", sorted(hookspecs.KINDS.values()))
def test_a_plugin_raising_in_the_hook_is_isolated(hook_name):
    def hook(register):
        raise RuntimeError("cannot start")

    pm = manager(("broken", plugin_object(hook_name, hook)),
                 ("good", registering("elm_register_domains", AnswerDomain)))
    infos = {p.name: p for p in pm.plugins()}
    assert infos["broken"].errors == [f"{hook_name} failed: RuntimeError: cannot start"]
    assert pm.names("domain") == ["meta-answer"]
