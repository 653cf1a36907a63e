"""Runs untrusted program text in a forked child process under limits.

The caller (an evaluation worker, never the engine) forks once per program. The child
gets its own process group and scratch directory, resource limits (CPU seconds, address
space, file size, open files, no processes, no core dumps), stdout/stderr sent to
/dev/null, and is confined in layers: an unprivileged uid of its own when the caller is
root (no capabilities otherwise), Landlock (writes only in its scratch directory, no TCP,
no signals out), a seccomp filter (no processes, sockets, signals to others, namespaces,
mounts, IPC objects), and — in evaluation workers — private network, mount and IPC
namespaces (elmcore.namespaces). It executes the program into a fresh namespace, calls
the domain's harness on that namespace and writes the harness output as JSON to a pipe.
The parent enforces a wall-clock timeout, caps the bytes it reads, kills the child's
process group, reaps it, removes what it wrote and parses the JSON. Every failure becomes
a ``SandboxResult`` with ``ok=False`` and a reason; nothing raises.

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
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elmcore import landlock, namespaces, privileges, seccomp
from elmcore.types import Outcome, SandboxSpec

_FSIZE_LIMIT = 16 * 1024 * 1024
_NOFILE_LIMIT = 64
_SETUP_FAILED = 71


@dataclass
class SandboxResult:
    ok: bool
    output: Any = None
    outcome: Outcome | None = None  # NOT_RUNNABLE when not ok
    reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Confinement:
    """The layers this process puts around each program it runs (see ``confinement()``)."""

    isolation: namespaces.Isolation | None  # set in evaluation workers by ``isolate_worker``
    scratch_root: str | None  # where per-program directories are made (None: the system default)
    scratch_dir: str | None  # a worker's one scratch directory on its private tmpfs, emptied after each program
    private_dirs: tuple[str, ...]  # private tmpfs mounts wiped after each program
    sandbox_uid: int | None  # the uid programs run as (None: the caller's, without capabilities)
    landlock_abi: int  # 0: no Landlock
    seccomp: bool

    def describe(self) -> str:
        who = f"uid {self.sandbox_uid}" if self.sandbox_uid is not None else "caller's uid without capabilities"
        land = f"Landlock ABI {self.landlock_abi}" if self.landlock_abi else "no Landlock"
        filt = "seccomp filter" if self.seccomp else "no seccomp filter"
        spaces = self.isolation.describe() if self.isolation else "namespaces: none (not an evaluation worker)"
        return f"{who}; {land}; {filt}; {spaces}"

    @property
    def weaknesses(self) -> list[str]:
        """What a program could still do here that the full sandbox prevents."""
        found = []
        if not (self.landlock_abi or (self.isolation and self.isolation.filesystem)):
            found.append("write to world-writable directories (no Landlock, no private mount namespace)")
        if not (self.seccomp or (self.isolation and self.isolation.network)):
            found.append("open network connections (no seccomp filter, no network namespace)")
        if self.sandbox_uid is None and not (self.seccomp or self.landlock_abi >= 6):
            found.append("signal processes of the same user, the engine included")
        return found


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


_ISOLATION: list[namespaces.Isolation] = []
_CONFINEMENT: dict[int, Confinement] = {}
_SCRATCH: dict[int, tuple[int, int | None]] = {}  # pid -> (inode of its scratch_dir, Landlock rule set for it)
SCRATCH_NAME = "elm-sandbox"


def isolate_worker(tmpfs_mb: int = 256) -> namespaces.Isolation:
    """Called once by an evaluation worker at start, before it starts threads: private
    network, mount and IPC namespaces for it and every program it runs."""
    if not _ISOLATION:
        _ISOLATION.append(namespaces.isolate_worker(tmpfs_mb))
        _CONFINEMENT.clear()
    return _ISOLATION[0]


def confinement() -> Confinement:
    """The confinement this process applies to its programs (computed once per process)."""
    pid = os.getpid()
    if pid not in _CONFINEMENT:
        isolation = _ISOLATION[0] if _ISOLATION else None
        private = isolation.private_dirs if isolation is not None and isolation.filesystem else ()
        _CONFINEMENT.clear()
        _SCRATCH.clear()
        conf = Confinement(
            isolation=isolation, scratch_root=private[0] if private else _shared_scratch_root(),
            scratch_dir=os.path.join(private[0], SCRATCH_NAME) if private else None, private_dirs=private,
            sandbox_uid=privileges.sandbox_uid(pid) if os.geteuid() == 0 else None,
            landlock_abi=landlock.abi(), seccomp=seccomp.available())
        if conf.seccomp:
            seccomp.prepared()  # packed here once; each child only patches in its pid
        _CONFINEMENT[pid] = conf
        if conf.scratch_dir:
            _reset_scratch(conf)
    return _CONFINEMENT[pid]


def _reset_scratch(conf: Confinement) -> None:
    """Give a worker's fixed scratch directory back its owner and mode (a program may have
    changed them); if it was replaced, make it again with a new Landlock rule set. One
    directory and one rule set for all the worker's programs: they run one at a time and
    the directory is emptied after each."""
    path, pid = conf.scratch_dir, os.getpid()
    assert path is not None
    try:
        status = os.lstat(path)
        if not stat.S_ISDIR(status.st_mode) or pid not in _SCRATCH or _SCRATCH[pid][0] != status.st_ino:
            raise FileNotFoundError(path)
    except FileNotFoundError:
        namespaces.wipe(conf.private_dirs)
        os.mkdir(path, 0o700)
        old = _SCRATCH.pop(pid, (0, None))[1]
        if old is not None:
            os.close(old)
        ruleset = landlock.create_ruleset(path) if conf.landlock_abi else None
        _SCRATCH[pid] = (os.lstat(path).st_ino, ruleset)
    if conf.sandbox_uid is not None:
        os.chown(path, conf.sandbox_uid, conf.sandbox_uid, follow_symlinks=False)
    os.chmod(path, 0o700, follow_symlinks=False)


def _shared_scratch_root() -> str | None:
    """A RAM-backed folder for the per-program directories when there is one: creating and
    removing a directory there costs ~30 µs instead of milliseconds on disk."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _fail(reason: str, started: float) -> SandboxResult:
    return SandboxResult(ok=False, outcome=Outcome.NOT_RUNNABLE, reason=reason,
                         seconds=time.perf_counter() - started)


def run_in_sandbox(program: str, spec: SandboxSpec) -> SandboxResult:
    """Execute ``program`` and its domain harness in a confined child; return plain data."""
    started = time.perf_counter()
    if not isinstance(program, str):
        return _fail(f"program is {type(program).__name__}, not text", started)
    harness, modules = prepare(spec)
    conf = confinement()
    privileges.hide_from_same_user()
    workdir = conf.scratch_dir or tempfile.mkdtemp(prefix="elm-sandbox-", dir=conf.scratch_root)
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_fd)
        _child(program, spec, harness, modules, workdir, write_fd, conf, parent)
    os.close(write_fd)
    child = _Child(pid)
    try:
        return _collect(child, read_fd, spec, started)
    finally:
        os.close(read_fd)
        child.finish()
        if conf.scratch_dir:  # empty it and whatever else the program left on the private tmpfs mounts
            namespaces.wipe(conf.private_dirs, keep=conf.scratch_dir)
            _reset_scratch(conf)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


class _Child:
    """A forked child and its process group. The group is killed only while the child is
    unreaped: its pid (and so the group id) cannot have been reused by another process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None

    def exited(self) -> bool:
        """Whether the child has exited (it stays a zombie until ``finish``)."""
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def finish(self) -> int:
        """Kill the whole group and reap the child; returns its wait status."""
        if self.status is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                _, self.status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                self.status = 0
        return self.status


def _collect(child: _Child, read_fd: int, spec: SandboxSpec, started: float) -> SandboxResult:
    deadline = started + spec.timeout_s
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            child.finish()
            return _fail(f"timeout: still running after {spec.timeout_s:g} s wall clock", started)
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        data = os.read(read_fd, 1 << 16)
        if not data:
            break
        size += len(data)
        if size > spec.max_output_bytes:
            child.finish()
            return _fail(f"output too large: over {spec.max_output_bytes} bytes", started)
        chunks.append(data)
    while not child.exited():  # it closed the pipe; it exits right after, unless it closed it early
        if time.perf_counter() >= deadline:
            child.finish()
            return _fail(f"timeout: did not exit within {spec.timeout_s:g} s", started)
        time.sleep(0.0002)
    status = child.finish()
    raw = b"".join(chunks)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        why = {"SIGXCPU": "CPU time limit exceeded", "SIGKILL": "killed (memory or CPU limit, or by itself)",
               "SIGSEGV": "crashed (segmentation fault)", "SIGSYS": "made a forbidden system call"
               }.get(name, "killed by a signal")
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


def _child(program: str, spec: SandboxSpec, harness: Callable[..., Any], modules: dict[str, Any],
           workdir: str, write_fd: int, conf: Confinement, parent: int) -> None:
    code = 0
    try:
        ruleset = _SCRATCH[parent][1] if conf.scratch_dir else None
        _close_inherited_fds(write_fd, ruleset)
        os.setsid()
        faulthandler.disable()  # its dumps would go to the caller's stderr
        try:
            _confine(spec, workdir, conf, parent, ruleset)
        except BaseException as exc:  # fail closed: no program runs half-confined
            _write_all(write_fd, json.dumps({"ok": False, "error": f"sandbox setup failed: {_describe(exc)}"}
                                            ).encode("utf-8", "replace"))
            os._exit(_SETUP_FAILED)
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


def _close_inherited_fds(*keep: int | None) -> None:
    """Close every descriptor the child inherited but 0-2 and ``keep`` (the result pipe, the
    Landlock rule set): among them is the worker's connection to the engine, which a
    program could otherwise write forged messages into."""
    low = 3
    for fd in sorted(k for k in keep if k is not None):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))


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


def _confine(spec: SandboxSpec, workdir: str, conf: Confinement, parent: int, ruleset: int | None) -> None:
    """Everything between fork and the program's first line, in this order: limits, quiet
    stdio, scratch dir, identity, death with the parent, environment, Landlock, seccomp."""
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
    if conf.sandbox_uid is not None:  # root ignores most limits: become a uid of our own
        if not conf.scratch_dir:
            os.chown(workdir, conf.sandbox_uid, conf.sandbox_uid)
        privileges.become(conf.sandbox_uid)
    else:
        privileges.drop_capabilities()
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no fork bombs: this uid may start nothing
    resource.setrlimit(resource.RLIMIT_NOFILE, (_NOFILE_LIMIT, _NOFILE_LIMIT))
    privileges.die_with_parent(parent)  # after the uid change, which clears the setting
    os.environ.clear()
    os.environ.update({"HOME": workdir, "TMPDIR": workdir, "PATH": "/usr/bin:/bin"})
    if ruleset is not None:
        landlock.enforce(ruleset)
        os.close(ruleset)
    elif conf.landlock_abi:
        landlock.restrict(workdir)
    if conf.seccomp:
        seccomp.install(os.getpid())


def _address_space_bytes() -> int:
    with open("/proc/self/statm", "rb") as fh:
        pages = int(fh.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")
