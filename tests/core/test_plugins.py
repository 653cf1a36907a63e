"""The plugin manager: registration, isolation of broken plugins, duplicates, lookups."""

import importlib.metadata as md

import pytest

from elmcore import Domain, hookimpl
from elmcore.plugins import PluginManager, UnknownComponent
from toys import NumberDomain, ShiftMutator, ToyPlugin


class DuplicatePlugin:
    @hookimpl
    def elm_register_domains(self, register):
        register(NumberDomain)


class TypoPlugin:
    @hookimpl
    def elm_register_domain(self, register):  # misspelt hook name
        register(NumberDomain)


class RaisingPlugin:
    @hookimpl
    def elm_register_mutators(self, register):
        raise RuntimeError("cannot initialise")


class NotAComponentPlugin:
    @hookimpl
    def elm_register_domains(self, register):
        register(object)


def greet(name: str = "world") -> None:
    print(f"hello {name}")


class CommandPlugin:
    @hookimpl
    def elm_register_commands(self, register):
        register("greet", greet, help="say hello")


def manager(*plugins):
    return PluginManager(entry_point_group=None, plugins=list(plugins)).load()


def test_registers_components_by_name():
    pm = manager(("toys", ToyPlugin()))
    assert pm.get("domain", "number") is NumberDomain
    assert pm.get("mutator", "shift") is ShiftMutator
    info = pm.plugins()[0]
    assert info.registered == {"domain": ["number"], "mutator": ["shift", "guess"]} and not info.errors


def test_duplicate_name_is_rejected_naming_both_plugins():
    pm = manager(("first", ToyPlugin()), ("second", DuplicatePlugin()))
    assert pm.get("domain", "number") is NumberDomain
    errors = {p.name: p.errors for p in pm.plugins()}
    assert errors["first"] == []
    assert len(errors["second"]) == 1
    assert "'first'" in errors["second"][0] and "'second'" in errors["second"][0] and "number" in errors["second"][0]


def test_misspelt_hook_is_reported_and_plugin_left_out():
    pm = manager(("typo", TypoPlugin()), ("toys", ToyPlugin()))
    typo = next(p for p in pm.plugins() if p.name == "typo")
    assert "elm_register_domain" in typo.errors[0]
    assert pm.names("domain") == ["number"]


def test_plugin_raising_in_hook_is_isolated():
    pm = manager(("bad", RaisingPlugin()), ("toys", ToyPlugin()))
    bad = next(p for p in pm.plugins() if p.name == "bad")
    assert "cannot initialise" in bad.errors[0]
    assert pm.names("mutator") == ["guess", "shift"]


def test_registering_a_non_component_is_an_error():
    pm = manager(("wrong", NotAComponentPlugin()))
    assert "not a subclass of elmcore.Domain" in pm.plugins()[0].errors[0]
    assert pm.names("domain") == []


def test_unknown_name_suggests_the_closest():
    pm = manager(("toys", ToyPlugin()))
    with pytest.raises(UnknownComponent, match="Did you mean 'number'"):
        pm.get("domain", "numbr")


def test_commands_are_registered():
    pm = manager(("cmd", CommandPlugin()))
    reg = pm.registration("command", "greet")
    assert reg.obj is greet and reg.help == "say hello"


def test_broken_entry_point_is_recorded_and_others_load(monkeypatch):
    good = md.EntryPoint(name="good", value="toys:toy_plugin", group="elm")
    broken = md.EntryPoint(name="broken", value="elm_no_such_module_xyz", group="elm")
    monkeypatch.setattr(md, "entry_points", lambda group: [broken, good] if group == "elm" else [])
    pm = PluginManager().load()
    infos = {p.name: p for p in pm.plugins()}
    assert "ModuleNotFoundError" in infos["broken"].errors[0]
    assert not infos["good"].errors
    assert issubclass(pm.get("domain", "number"), Domain)


def test_loads_once():
    pm = manager(("toys", ToyPlugin()))
    pm.load()
    pm.load()
    assert pm.names("domain") == ["number"]


def test_installed_first_party_plugins_all_load():
    pm = PluginManager().load()
    broken = {p.name: p.errors for p in pm.plugins() if p.errors}
    assert broken == {}
    assert {"parity", "quadratic"} <= set(pm.names("domain"))
    assert {"map-elites", "cvt-map-elites"} <= set(pm.names("qd"))
    assert "gp" in pm.names("mutator")
