"""Plugins declare their own command-line options (``cli_options``) and default components
(``default``); the core names none of them. The run config is typed and validated once."""

from __future__ import annotations

import json
import sqlite3

import pytest
import typer
from typer.testing import CliRunner

from elmcore import PluginConfig, hookimpl
from elmcore.config import ConfigError, RunConfig, build_config, resolve
from elmcore.plugins import PluginManager
from toys import NumberDomain, ShiftMutator


class StartDomain(NumberDomain):
    name = "number-start"
    cli_options = ("start",)
    default = True


class MisnamedOptionDomain(NumberDomain):
    name = "number-misnamed"
    cli_options = ("begin",)  # not a key of its Config


class StartingMutator(ShiftMutator):
    """Claims --start for the mutator section, which the domain section already has."""

    name = "shift-start"

    class Config(PluginConfig):
        step: int = 3
        start: int = 0

    cli_options = ("start",)


class SeedingMutator(ShiftMutator):
    """Claims --seed, which `elm run` has itself."""

    name = "shift-seed"

    class Config(PluginConfig):
        step: int = 3
        seed: int = 0

    cli_options = ("seed", "step")
    default = True


class OptionPlugin:
    @hookimpl
    def elm_register_domains(self, register):
        register(NumberDomain)
        register(StartDomain)
        register(MisnamedOptionDomain)

    @hookimpl
    def elm_register_mutators(self, register):
        register(ShiftMutator)
        register(StartingMutator)
        register(SeedingMutator)


def option_manager() -> PluginManager:
    """The option plugin and the MAP-Elites plugin, nothing else."""
    import elm_mapelites.plugin

    return PluginManager(entry_point_group=None, plugins=[("options", OptionPlugin()),
                                                           ("map-elites", elm_mapelites.plugin)]).load()


@pytest.fixture()
def cli_app(monkeypatch):
    """`elm` with only the option plugin and MAP-Elites loaded."""
    from elmcore.cli import options as cli  # where plugin options and commands are installed

    pm = option_manager()
    app = typer.Typer()
    app.command(name="status")(lambda: None)
    monkeypatch.setattr(cli, "app", app)
    from elmcore.cli import runs

    monkeypatch.setattr(cli, "get_plugin_manager", lambda: pm)
    monkeypatch.setattr(runs, "get_plugin_manager", lambda: pm)  # the commands' own lookup
    monkeypatch.setattr(cli, "_PLUGIN_OPTIONS", {"run": [], "learn": []})
    cli._add_plugin_commands()
    return app, pm


def test_declared_options_appear_in_help_with_their_key(cli_app):
    app, _ = cli_app
    helped = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "250"}).output
    assert "--start" in helped and "domain.start; domain number-start" in helped
    assert "--step" in helped and "mutator.step; mutator shift-seed" in helped
    assert "(default: number-start)" in helped and "(default: shift-seed)" in helped
    assert "--begin" not in helped


def test_bad_declarations_are_rejected_by_name(cli_app):
    _, pm = cli_app
    errors = next(p for p in pm.plugins() if p.name == "options").errors
    assert any("'number-misnamed': cli_options names 'begin', which is not a key of its Config" in e for e in errors)
    assert any("'shift-seed': option --seed rejected: `elm run` has that option itself" in e for e in errors)
    assert any("'shift-start': option --start rejected: it already sets domain.start" in e for e in errors)


def test_a_declared_option_sets_its_key(cli_app, tmp_path):
    app, _ = cli_app
    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["run", "--start", "5", "--step", "1", "--evals", "4", "--batch-size", "2",
                                      "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(out / "store.sqlite")
    config = json.loads(db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
    seed_program = db.execute("SELECT program FROM candidates WHERE operator = 'seed'").fetchone()[0]
    db.close()
    assert config["domain"] == {"name": "number-start", "start": 5.0, "timeout_s": 2.0}  # the declared default
    assert config["mutator"] == {"name": "shift-seed", "step": 1, "seed": 0}
    assert "return 5.0" in seed_program


def test_an_option_of_another_component_says_whose_it_is(cli_app, tmp_path):
    app, _ = cli_app
    result = CliRunner().invoke(app, ["run", "--domain", "number", "--start", "5", "--out", str(tmp_path / "r")])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == ("--start is an option of domain number-start, not of domain 'number'; "
                                     "leave it out or choose --domain number-start")
    assert not (tmp_path / "r").exists()


def test_default_components_come_from_plugins():
    none = PluginManager(entry_point_group=None, plugins=[("toys", type("P", (), {
        "elm_register_domains": staticmethod(hookimpl(lambda register: register(NumberDomain)))})())]).load()
    with pytest.raises(ConfigError, match="no domain is set and no installed plugin offers a default one; "
                                          "choose one \\(installed: number\\)"):
        resolve({}, none)

    class OtherDefault(StartDomain):
        name = "number-other"

    two = PluginManager(entry_point_group=None, plugins=[("toys", type("P", (), {
        "elm_register_domains": staticmethod(hookimpl(
            lambda register: (register(StartDomain), register(OtherDefault))))})())]).load()
    with pytest.raises(ConfigError, match="plugins offer several defaults \\(number-other, number-start\\)"):
        resolve({}, two)


def test_the_run_config_is_typed_and_round_trips():
    pm = option_manager()
    config = build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift", "run.seed": 4})
    assert isinstance(config, RunConfig)
    assert config.run.seed == 4 and config.domain.cls is NumberDomain
    assert isinstance(config.domain.options, NumberDomain.Config) and config.mutator.options.step == 3
    assert resolve(config.as_dict(), pm).as_dict() == config.as_dict()
    assert config.with_run(evals=9).run.evals == 9 and config.run.evals == 10_000
    with pytest.raises(ConfigError, match="config key 'run.workers'"):
        config.with_run(workers=0)
