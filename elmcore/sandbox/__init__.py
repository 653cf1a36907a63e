"""The sandbox: untrusted program text runs in a confined child process under limits.

Its modules:

- ``runner``: ``run_in_sandbox`` and what a process that runs programs holds: the
  confinement it applies, its forker (started on first use) and the client that drives it;
- ``forker``: the small process, started by exec, that forks, confines and reaps each child;
- ``namespaces``: an evaluation worker's private network, mount, IPC and PID namespaces,
  and the wiping of its private tmpfs mounts;
- ``landlock`` and ``seccomp``: the kernel rule set and system-call filter of each child;
- ``privileges``: the uid a child runs as, its capabilities, death with its parent;
- ``libc``: the C library through ctypes, for all of them.

The names below come from ``runner``, imported on first use: the forker imports only
``forker`` and the layers it applies, and a program can import only what its forker has
loaded. What the sandbox promises and what it does not is written down in docs/sandbox.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elmcore.sandbox.runner import (FORKER_KEEPS, FORKER_MAIN, SCRATCH_NAME, SINGLE_THREADED, Confinement,
                                        ForkerFailed, SandboxResult, confinement, forker_environment,
                                        isolate_worker, load_callable, prepare, run_in_sandbox, start_forker)

__all__ = [
    "FORKER_KEEPS", "FORKER_MAIN", "SCRATCH_NAME", "SINGLE_THREADED", "Confinement", "ForkerFailed",
    "SandboxResult", "confinement", "forker_environment", "isolate_worker", "load_callable", "prepare",
    "run_in_sandbox", "start_forker",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'elmcore.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module("elmcore.sandbox.runner"), name)
