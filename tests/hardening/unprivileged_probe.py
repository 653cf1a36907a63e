"""Run by test_unprivileged.py as an ordinary user (not root): plays the engine, runs the
hostile parity programs through a WorkerPool and prints what became of each as JSON.

    python unprivileged_probe.py '<json>'

where <json> is an object with marker, canary_dir, victim, store, home_file, tcp_port,
udp_port, abstract and dgram_socket.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import sys
import warnings
from pathlib import Path

from conftest import make_own_home
from elmcore.workers import WorkerPool
from hostile_domains import QuickParity
from hostile_programs import PARITY_PROGRAMS


def main() -> None:
    values = json.loads(sys.argv[1])
    values.update(engine_pid=os.getpid(), engine_cwd=os.getcwd())
    own_home = make_own_home(Path(values["canary_dir"]) / f"own-home-{os.getuid()}", values["marker"])
    values.update(own_home=own_home, own_secret=own_home / "secret.txt", own_store=own_home / "run" / "store.sqlite")
    os.environ["ELM_HOSTILE_SECRET"] = values["marker"]
    programs = [string.Template(h.code).substitute(values) for h in PARITY_PROGRAMS]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with WorkerPool(QuickParity, {}, workers=2) as pool:
            pids = pool.worker_pids()
            evaluations = pool.evaluate(programs)
            report = {
                "uid": os.getuid(), "confinement": pool.confinement.describe(),
                "user_namespace": bool(pool.confinement.isolation and pool.confinement.isolation.user_namespace),
                "weaknesses": pool.confinement.weaknesses, "warnings": [str(w.message) for w in caught],
                "workers_unchanged": pool.worker_pids() == pids and pool.crashes == 0,
                "results": {h.name: [e.outcome.value, e.reason or ""] for h, e in zip(PARITY_PROGRAMS, evaluations)},
            }
    shutil.rmtree(own_home)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
