"""Evaluation on Ray (`run.executor: ray`): the same store as local workers, a lost node
loses nothing, and without Ray a one-line error says what to install."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time

import pytest

from elmcore.config import build_config
from elmcore.engine import Engine
from elmcore.plugins import get_plugin_manager
from toys import store_rows as rows

ray = pytest.importorskip("ray", reason="Ray is an extra: pip install -e '.[ray]' (CI installs it)")


def run(out, evals, workers, **run_keys):
    pm = get_plugin_manager()
    config = build_config(pm, shortcuts={"domain.name": "sodarace", "domain.seed_program": "square",
                                         "run.evals": evals, "run.workers": workers, "run.batch_size": 32,
                                         **{f"run.{k}": v for k, v in run_keys.items()}})
    engine = Engine.start(out, config, pm)
    try:
        engine.run()
    finally:
        engine.close()
    return rows(out)


@pytest.fixture()
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_gives_the_local_store_row_for_row(tmp_path, local_ray):
    local = run(tmp_path / "local", 200, 2)
    assert run(tmp_path / "ray", 200, 2, executor="ray") == local
    # the mutator in a Ray actor (as on a GPU node) writes the same children
    assert run(tmp_path / "generate", 200, 2, ray_generate_on="cpu") == local


def test_without_ray_the_error_says_what_to_install(tmp_path, monkeypatch):
    from elmcore.ray_pool import RayUnavailable

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as when it is not installed
    with pytest.raises(RayUnavailable, match=r"pip install -e \"\.\[ray\]\""):
        run(tmp_path / "r", 64, 1, executor="ray")
    assert not (tmp_path / "r").exists()


def test_an_unreachable_cluster_is_named(tmp_path):
    from elmcore.ray_pool import RayUnavailable

    with pytest.raises(RayUnavailable, match="no Ray cluster answers at 127.0.0.1:1"):
        run(tmp_path / "r", 64, 1, executor="ray", ray_address="127.0.0.1:1")
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_node_removed_mid_run_loses_nothing(tmp_path, monkeypatch):
    from ray.cluster_utils import Cluster

    from elmcore.ray_pool import RayPool

    lost = []
    close = RayPool.close
    monkeypatch.setattr(RayPool, "replace_timeout_s", 5.0)
    monkeypatch.setattr(RayPool, "close", lambda self: (lost.append(self.crashes), close(self)))

    local = run(tmp_path / "local", 1200, 2)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    doomed = cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    removed = threading.Event()

    def remove_when_running():
        store = tmp_path / "ray" / "store.sqlite"
        while not removed.is_set():
            if store.exists():
                db = sqlite3.connect(store)
                done = db.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
                db.close()
                if done >= 5:
                    cluster.remove_node(doomed)
                    removed.set()
                    return
            time.sleep(0.05)

    remover = threading.Thread(target=remove_when_running, daemon=True)
    remover.start()
    try:
        got = run(tmp_path / "ray", 1200, 4, executor="ray")
    finally:
        removed.set()
        ray.shutdown()
        cluster.shutdown()
    assert removed.is_set() and lost and lost[0] >= 1  # actors on the removed node were lost
    assert got == local
