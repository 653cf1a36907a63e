"""Registration: through a PluginManager handed the plugin module, and through the real
entry point of the installed distribution."""

import importlib.metadata as md

from elmcore.plugins import PluginManager
from elm_example_plugin import plugin
from elm_example_plugin.domain import CurveDomain
from elm_example_plugin.mutator import NudgeMutator
from elm_example_plugin.targets_command import curve_targets


def test_plugin_module_registers_domain_mutator_and_command():
    pm = PluginManager(entry_point_group=None, plugins=[("curve", plugin)]).load()
    [info] = pm.plugins()
    assert info.errors == []
    assert info.registered == {"domain": ["curve"], "mutator": ["nudge"], "command": ["curve-targets"]}
    assert pm.get("domain", "curve") is CurveDomain
    assert pm.get("mutator", "nudge") is NudgeMutator
    assert pm.registration("command", "curve-targets").obj is curve_targets


def test_installed_entry_point_is_found_and_loads_cleanly():
    [entry_point] = [ep for ep in md.entry_points(group="elm") if ep.name == "curve"]
    assert entry_point.value == "elm_example_plugin.plugin"
    assert entry_point.dist.metadata["Name"] == "elm-plugin-example"
    pm = PluginManager().load()
    info = next(p for p in pm.plugins() if p.name == "curve")
    assert info.errors == [] and info.distribution == "elm-plugin-example"
    assert pm.get("domain", "curve") is CurveDomain
    assert pm.get("mutator", "nudge") is NudgeMutator
