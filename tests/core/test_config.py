"""Config files, --set overrides and one-line errors that name the key."""

import pytest

from elmcore.config import ConfigError, build_config
from elmcore.plugins import PluginManager
from toys import ToyPlugin


@pytest.fixture(scope="module")
def pm():
    return PluginManager(plugins=[("toys", ToyPlugin())]).load()


def test_defaults_are_filled_in(pm):
    resolved = build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift"}).as_dict()
    assert resolved["run"] == {"evals": 10000, "batch_size": 64, "workers": 1, "seed": 0, "overlap": True,
                               "executor": "local", "ray_address": None, "ray_generate_on": "local",
                               "portfolio": "adaptive", "portfolio_floor": 0.1, "islands": 1,
                               "migrate_every": 10, "migrants": 1, "deduplicate": True, "duplicate_retries": 3,
                               "portfolio_credit_new_niche": 1.0, "portfolio_credit_improvement": 1.0}
    assert resolved["domain"] == {"name": "number", "start": 0.0, "timeout_s": 2.0}
    assert resolved["mutator"] == {"name": "shift", "step": 3, "variants": 100}
    assert resolved["qd"]["name"] == "map-elites"


def test_yaml_file_and_overrides(pm, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("run: {evals: 50, seed: 3}\ndomain: {name: number, start: 2}\nmutator: shift\n")
    resolved = build_config(pm, path, {"run.evals": 80}, ["mutator.step=5", "qd.bins=7"]).as_dict()
    assert resolved["run"]["evals"] == 80 and resolved["run"]["seed"] == 3
    assert resolved["domain"]["start"] == 2.0 and resolved["mutator"]["step"] == 5
    assert resolved["qd"]["bins"] == 7


def test_toml_file(pm, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[run]\nevals = 12\n[domain]\nname = "number"\n[mutator]\nname = "shift"\n')
    assert build_config(pm, path).run.evals == 12


@pytest.mark.parametrize("overrides, message", [
    (["qd.binz=3"], "config key 'qd.binz' is not accepted. Did you mean 'bins'?"),
    (["run.evalz=3"], "'run.evalz' is not accepted. Did you mean 'evals'?"),
    (["run.evals=many"], "config key 'run.evals'"),
    (["run.workers=0"], "greater than or equal to 1"),
    (["mutator.step=x"], "config key 'mutator.step'"),
    (["qd.name=map-elite"], "Did you mean 'map-elites'?"),
    (["domian.name=number"], "'domian' is not accepted. Did you mean 'domain'?"),
    (["novalue"], "SECTION.KEY=VALUE"),
])
def test_errors_name_the_key(pm, overrides, message):
    with pytest.raises(ConfigError) as err:
        build_config(pm, shortcuts={"domain.name": "number", "mutator.name": "shift"}, overrides=overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_file(pm, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("run: [unclosed\n")
    with pytest.raises(ConfigError, match="does not parse"):
        build_config(pm, path)
    with pytest.raises(ConfigError, match="does not exist"):
        build_config(pm, tmp_path / "missing.yaml")


def test_switching_component_drops_the_files_options(pm, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("domain: {name: parity, bugs: 2}\nmutator: shift\n")
    resolved = build_config(pm, path, {"domain.name": "number"}).as_dict()
    assert resolved["domain"]["name"] == "number" and "bugs" not in resolved["domain"]


def test_a_renamed_key_still_reads_under_its_old_name():
    """mutator.batch_size became mutator.forward_batch (sequences per forward pass, unlike
    run.batch_size): configs stored under the old name still resolve, portfolios included."""
    full = PluginManager().load()
    for shared in ("batch_size", "forward_batch"):
        config = build_config(full, shortcuts={"domain.name": "parity", "mutator.name": "diff"},
                              overrides=[f"mutator.{shared}=4"])
        assert config.as_dict()["mutator"]["forward_batch"] == 4 and "batch_size" not in config.as_dict()["mutator"]
    portfolio = build_config(full, shortcuts={"domain.name": "parity", "mutator.name": "gp,diff"},
                             overrides=["mutator.batch_size=5"])
    assert portfolio.as_dict()["mutator"]["diff"]["forward_batch"] == 5
    with pytest.raises(ConfigError, match="Did you mean 'forward_batch'"):
        build_config(full, shortcuts={"domain.name": "parity", "mutator.name": "diff"},
                     overrides=["mutator.forward_btch=4"])


def test_stored_diff_configs_from_before_guided_diffs_resume_unguided():
    from elmcore.config import resolve, with_stored_defaults
    full = PluginManager().load()
    made = build_config(full, shortcuts={"domain.name": "parity", "mutator.name": "gp,diff"}).as_dict()
    assert made["mutator"]["diff"]["guided"] is True  # the default now
    del made["mutator"]["diff"]["guided"]
    assert resolve(with_stored_defaults(made, full), full).mutators[1].options.guided is False
    single = build_config(full, shortcuts={"domain.name": "parity", "mutator.name": "diff"},
                          overrides=["mutator.guided=true"]).as_dict()
    assert resolve(with_stored_defaults(single, full), full).mutator.options.guided is True
