"""A domain installed under a directory the workers make private (/tmp: venvs, clones)
still finds its files in the evaluation workers; a domain that cannot start says why."""

import sys
import textwrap

import pytest

from elmcore.workers import WorkerCrashed, WorkerPool

DOMAIN = textwrap.dedent('''
    from pathlib import Path
    from elmcore import Dimension, Domain, Evaluation, PluginConfig, SandboxSpec

    DATA = Path(__file__).with_name("target.txt")

    def harness(namespace):
        return namespace["value"]()

    class TmpDomain(Domain):
        name = "tmp-installed"

        class Config(PluginConfig):
            broken: bool = False

        def __init__(self, config=None):
            super().__init__(config)
            if self.config.broken:
                raise RuntimeError("cannot find my data")
            self.target = float(DATA.read_text())

        def seed_programs(self):
            return ["def value():\\n    return 1.0\\n"]

        def behaviour_space(self):
            return [Dimension("v", 0.0, 10.0, 10)]

        def sandbox_spec(self):
            return SandboxSpec(harness="tmp_installed_domain:harness", timeout_s=2.0)

        def evaluate(self, output, program):
            return Evaluation.valid(-abs(float(output) - float(DATA.read_text())), (float(output),))
''')


@pytest.fixture()
def tmp_domain(tmp_path, monkeypatch):
    assert str(tmp_path).startswith("/tmp/")
    (tmp_path / "tmp_installed_domain.py").write_text(DOMAIN)
    (tmp_path / "target.txt").write_text("3.0")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__("tmp_installed_domain")
    yield module.TmpDomain
    sys.modules.pop("tmp_installed_domain", None)


def test_domain_under_tmp_works_in_a_worker(tmp_domain):
    with WorkerPool(tmp_domain, {}, workers=1) as pool:
        [evaluation] = pool.evaluate(["def value():\n    return 5.0\n"])
    assert evaluation.outcome.value == "valid" and evaluation.fitness == -2.0


def test_domain_that_cannot_start_names_the_reason(tmp_domain):
    with pytest.raises(WorkerCrashed,
                       match="could not set up domain 'tmp-installed': RuntimeError: cannot find my data"):
        WorkerPool(tmp_domain, {"broken": True}, workers=1)


def test_paths_in_use_survives_odd_modules(monkeypatch):
    """Modules may answer __path__ with objects of their own (torch._classes does)."""
    import types

    from elmcore.sandbox import namespaces

    class Odd(types.ModuleType):
        def __getattr__(self, name):
            if name == "__path__":
                return object()
            raise AttributeError(name)

    class Raising(types.ModuleType):
        @property
        def __file__(self):
            raise RuntimeError("no file")

    monkeypatch.setitem(sys.modules, "elm_test_odd_module", Odd("elm_test_odd_module"))
    monkeypatch.setitem(sys.modules, "elm_test_raising_module", Raising("elm_test_raising_module"))
    paths = namespaces._paths_in_use()
    assert namespaces.__file__ in paths or any(p.endswith("namespaces.py") for p in paths)
