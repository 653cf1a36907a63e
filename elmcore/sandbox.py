"""Runs untrusted program text in a forked child process under limits.

The caller (an evaluation worker, never the engine) forks once per program. The child
gets its own process group and temporary directory, resource limits (CPU seconds,
address space, file size, open files, no core dumps), stdout/stderr sent to /dev/null,
and — when running as root — drops to an unprivileged user. It executes the program
into a fresh namespace, calls the domain's harness on that namespace and writes the
harness output as JSON to a pipe. The parent enforces a wall-clock timeout, caps the
bytes it reads, kills the whole process group afterwards and parses the JSON. Every
failure becomes a ``SandboxResult`` with ``ok=False`` and a reason; nothing raises.

What this promises and what it does not is written down in docs/sandbox.md.
"""

from __future__ import annotations

import builtins
import faulthandler
import importlib
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elmcore.types import Outcome, SandboxSpec

UNPRIVILEGED_UID = 65534  # "nobody" on Debian-like systems
_FSIZE_LIMIT = 16 * 1024 * 1024
_NOFILE_LIMIT = 64


@dataclass
class SandboxResult:
    ok: bool
    output: Any = None
    outcome: Outcome | None = None  # NOT_RUNNABLE when not ok
    reason: str = ""
    seconds: float = 0.0


def load_callable(path: str) -> Callable[..., Any]:
    """Import "package.module:function"."""
    module_name, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"harness {path!r} must look like 'package.module:function'")
    return getattr(importlib.import_module(module_name), attr)


_PREPARED: dict[tuple[Any, ...], tuple[Callable[..., Any], dict[str, Any]]] = {}


def prepare(spec: SandboxSpec) -> tuple[Callable[..., Any], dict[str, Any]]:
    """Import the harness and the modules programs may use, once per process, before any
    fork, so each child starts with them loaded (fork is then the only per-program cost)."""
    key = (spec.harness, tuple(sorted(spec.modules.items())), tuple(spec.preload))
    if key not in _PREPARED:
        harness = load_callable(spec.harness)
        modules = {alias: importlib.import_module(real) for alias, real in spec.modules.items()}
        for name in spec.preload:
            importlib.import_module(name)
        _PREPARED[key] = (harness, modules)
    return _PREPARED[key]


def _fail(reason: str, started: float) -> SandboxResult:
    return SandboxResult(ok=False, outcome=Outcome.NOT_RUNNABLE, reason=reason,
                         seconds=time.perf_counter() - started)


def run_in_sandbox(program: str, spec: SandboxSpec) -> SandboxResult:
    """Execute ``program`` and its domain harness in a limited child; return plain data."""
    started = time.perf_counter()
    if not isinstance(program, str):
        return _fail(f"program is {type(program).__name__}, not text", started)
    harness, modules = prepare(spec)
    workdir = tempfile.mkdtemp(prefix="elm-sandbox-", dir=_scratch_root())
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_fd)
        _child(program, spec, harness, modules, workdir, write_fd)
    os.close(write_fd)
    try:
        return _collect(pid, read_fd, spec, started)
    finally:
        os.close(read_fd)
        _kill_group(pid)
        shutil.rmtree(workdir, ignore_errors=True)


_SCRATCH: list[str | None] = []


def _scratch_root() -> str | None:
    """A RAM-backed folder for the per-program working directories when there is one:
    creating and removing a directory there costs ~30 µs instead of milliseconds on disk."""
    if not _SCRATCH:
        shm = "/dev/shm"
        _SCRATCH.append(shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None)
    return _SCRATCH[0]


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _collect(pid: int, read_fd: int, spec: SandboxSpec, started: float) -> SandboxResult:
    deadline = started + spec.timeout_s
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            _kill_group(pid)
            _reap(pid)
            return _fail(f"timeout: still running after {spec.timeout_s:g} s wall clock", started)
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        data = os.read(read_fd, 1 << 16)
        if not data:
            break
        size += len(data)
        if size > spec.max_output_bytes:
            _kill_group(pid)
            _reap(pid)
            return _fail(f"output too large: over {spec.max_output_bytes} bytes", started)
        chunks.append(data)
    status = _reap(pid, deadline)
    raw = b"".join(chunks)
    if status is None:
        _kill_group(pid)
        _reap(pid)
        return _fail(f"timeout: did not exit within {spec.timeout_s:g} s", started)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        why = {"SIGXCPU": "CPU time limit exceeded", "SIGKILL": "killed (memory or CPU limit)",
               "SIGSEGV": "crashed (segmentation fault)"}.get(name, "killed by a signal")
        return _fail(f"{why}: {name}", started)
    if not raw:
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        return _fail(f"exited with status {code} before returning a result", started)
    try:
        message = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _fail("garbage output: the result is not valid JSON", started)
    if not isinstance(message, dict) or message.get("ok") not in (True, False):
        return _fail("garbage output: not a sandbox result message", started)
    if message["ok"] is not True:
        error = message.get("error")
        return _fail(str(error)[:500] if error else "failed without a reason", started)
    return SandboxResult(ok=True, output=message.get("output"), seconds=time.perf_counter() - started)


def _reap(pid: int, deadline: float | None = None) -> int | None:
    """Wait for the child; None if it is still alive at ``deadline``."""
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG if deadline is not None else 0)
        except ChildProcessError:
            return 0
        if done:
            return status
        if deadline is None or time.perf_counter() >= deadline:
            return None
        time.sleep(0.0005)


def _child(program: str, spec: SandboxSpec, harness: Callable[..., Any], modules: dict[str, Any],
           workdir: str, write_fd: int) -> None:
    code = 0
    try:
        os.setsid()
        faulthandler.disable()  # its dumps would go to the caller's stderr
        _limit(spec, workdir)
        sys.modules.update(modules)
        namespace: dict[str, Any] = {"__name__": "__elm_program__", "__builtins__": builtins}
        try:
            exec(compile(program, "<program>", "exec"), namespace)  # noqa: S102 - sandboxed child
            output = harness(namespace)
            text = json.dumps({"ok": True, "output": output}, allow_nan=True, default=_not_plain)
        except SyntaxError as exc:
            text = json.dumps({"ok": False, "error": f"SyntaxError: {exc.msg} (line {exc.lineno})"})
        except BaseException as exc:  # the program's own failure is an outcome, not a crash
            text = json.dumps({"ok": False, "error": _describe(exc)})
        _write_all(write_fd, text.encode("utf-8", "replace"))
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _describe(exc: BaseException) -> str:
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    name = type(exc).__name__ if isinstance(type(exc).__name__, str) else "Exception"
    text = f"{name}: {message}" if message else name
    return text[:500]


def _not_plain(obj: Any) -> Any:
    raise TypeError(f"result contains a {type(obj).__name__}, which is not plain data "
                    "(return lists, dicts, strings and numbers)")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _limit(spec: SandboxSpec, workdir: str) -> None:
    cpu = max(1, int(spec.timeout_s + 1))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # the child starts with the worker's mappings (numpy, Box2D...): the cap is on what it adds
    memory = _address_space_bytes() + spec.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (_FSIZE_LIMIT, _FSIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child exits, never closes
    os.chdir(workdir)
    if os.geteuid() == 0:  # root ignores most limits: become nobody
        os.chown(workdir, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
        os.setgroups([])
        os.setgid(UNPRIVILEGED_UID)
        os.setuid(UNPRIVILEGED_UID)
    if os.getuid() != 0:  # an unprivileged child may not fork (fork bombs)
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (_NOFILE_LIMIT, _NOFILE_LIMIT))
    os.environ.clear()
    os.environ.update({"HOME": workdir, "TMPDIR": workdir, "PATH": "/usr/bin:/bin"})


def _address_space_bytes() -> int:
    with open("/proc/self/statm", "rb") as fh:
        pages = int(fh.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")
