"""The domain as the engine sees it: plugin registration, config, behaviour space."""

from __future__ import annotations

import pytest

from elmcore.config import ConfigError, build_config
from elmcore.plugins import get_plugin_manager
from elm_sodarace.domain import SodaraceDomain

from sodarace_helpers import make_domain


def test_plugin_registers_domain_and_render_command():
    pm = get_plugin_manager()
    assert pm.get("domain", "sodarace") is SodaraceDomain
    assert pm.registration("command", "render").obj.__name__ == "render_command"


def test_behaviour_space_is_height_width_mass_12_bins():
    dims = SodaraceDomain().behaviour_space()
    assert [d.name for d in dims] == ["height", "width", "mass"]
    assert [d.bins for d in dims] == [12, 12, 12]


def test_sandbox_spec_provides_walk_creator():
    spec = SodaraceDomain().sandbox_spec()
    assert spec.modules == {"walk_creator": "elm_sodarace.walk_creator"}
    assert spec.harness == "elm_sodarace.harness:run_walker"


def test_mutation_context_uses_the_paper_commit_messages():
    context = SodaraceDomain().mutation_context()
    assert context.function_name == "make_walker"
    assert sum(weight for _, weight in context.commit_messages) == pytest.approx(1.0)


def test_run_config_accepts_terrain_and_physics_overrides():
    resolved = build_config(get_plugin_manager(), None, {"domain.name": "sodarace", "domain.terrain": "bumpy"},
                            ["domain.physics.duration_s=4", "domain.terrain_options.amplitude=2"]).as_dict()
    assert resolved["domain"]["terrain"] == "bumpy"
    assert resolved["domain"]["physics"]["duration_s"] == 4
    assert resolved["domain"]["terrain_options"] == {"amplitude": 2.0}


@pytest.mark.parametrize("overrides, message", [
    ({"domain.terrain": "flatt"}, "Did you mean 'flat'"),
    ({"domain.seed_program": "squares"}, "no such Sodarace seed"),
])
def test_run_config_errors_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        build_config(get_plugin_manager(), None, {"domain.name": "sodarace", **overrides})


def test_unknown_physics_key_is_rejected():
    with pytest.raises(ConfigError, match="physics"):
        build_config(get_plugin_manager(), None, {"domain.name": "sodarace"}, ["domain.physics.gravty=3"])


def test_evaluation_extras_record_terrain_and_sizes():
    data = {"joints": [[0, 0], [3, 0], [1.5, 2]],
            "muscles": [[0, 1, {"type": "distance"}], [1, 2, {"type": "muscle", "amplitude": 0.5, "phase": 1.0}],
                        [2, 0, {"type": "distance"}]]}
    evaluation = make_domain("tunnel", duration_s=1.0).evaluate(data, "")
    assert evaluation.extras["terrain"] == "tunnel"
    assert evaluation.extras["joints"] == 3 and evaluation.extras["active_muscles"] == 1
    assert evaluation.descriptors[:2] == (2.0, 3.0)
