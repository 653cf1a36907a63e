"""What the Sodarace harness makes the sandbox's forker import: every module the forker
holds is copied into each program's child, so the harness's imports stay light."""

import json
import subprocess
import sys

import elm_sodarace

PREPARE = """
import json, sys
from elmcore.sandbox import forker
forker.prepare(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]))
print(" ".join(sorted(sys.modules)))
"""


def test_the_harness_loads_neither_pydantic_nor_pluggy_nor_the_terrains():
    from elmcore.plugins import get_plugin_manager
    domain_cls = get_plugin_manager().get("domain", "sodarace")
    spec = domain_cls(domain_cls.Config()).sandbox_spec()
    done = subprocess.run([sys.executable, "-c", PREPARE, spec.harness, json.dumps(dict(spec.modules)),
                           json.dumps(list(spec.preload))], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert {"elm_sodarace.harness", "elm_sodarace.walk_creator", "numpy"} <= loaded
    assert not loaded & {"pydantic", "pluggy", "elm_sodarace.terrains", "elm_sodarace.simulation", "Box2D"}


def test_the_package_names_load_on_first_use():
    for name in elm_sodarace.__all__:
        assert getattr(elm_sodarace, name) is not None
    assert elm_sodarace.terrains.Terrain is elm_sodarace.Terrain  # submodules too
    try:
        elm_sodarace.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
