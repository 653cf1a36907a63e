"""Runs untrusted program text in a confined child process under limits.

The caller (an evaluation worker, never the engine) asks its forker
(``elmcore.sandbox.forker``: a small process started by exec with a minimal environment,
so no secret of the engine is in its memory) for a child per program. The child gets its
own process group and scratch directory, resource limits (CPU seconds, address space,
file size, open files, no processes, no core dumps), stdout/stderr sent to /dev/null, and
is confined in layers: an unprivileged uid of its own when the caller is root (no
capabilities otherwise), Landlock (writes only in its scratch directory, no TCP, no
signals out), a seccomp filter (no processes, sockets, signals or scheduling changes to
others, namespaces, mounts, IPC objects, terminal control), and — in evaluation workers —
private network, mount, IPC and PID namespaces (elmcore.sandbox.namespaces). The child
reads the program from a pipe, executes it into a fresh namespace, calls the domain's
harness on that namespace and writes the harness output as JSON into a pipe that this
process reads. This process enforces a wall-clock timeout and caps the bytes it reads;
the forker kills the child's process group, reaps it and removes what it wrote; this
process parses the JSON. Every failure becomes a ``SandboxResult`` with ``ok=False`` and
a reason; nothing raises.

What this promises and what it does not is written down in docs/sandbox.md.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from elmcore.sandbox import forker as _forker_module
from elmcore.sandbox import landlock, namespaces, privileges, seccomp
from elmcore.sandbox.forker import load_callable  # noqa: F401 - part of the package's interface
from elmcore.types import SandboxSpec

# Sandbox children may not start threads: a BLAS thread pool inherited over fork would wait
# for threads that do not exist. Set in the forker's environment (and in workers').
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# the only variables of the caller's environment the forker gets (locale, libraries)
FORKER_KEEPS = ("LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "TZ")
# what the forker's interpreter runs: its loop on the control socket passed as argv[1]
FORKER_MAIN = "import sys\nfrom elmcore.sandbox.forker import main\nmain(int(sys.argv[1]))"


@dataclass
class SandboxResult:
    ok: bool
    output: Any = None
    reason: str = ""  # why it did not run, when not ok (the core records NOT_RUNNABLE)
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
        if not (self.seccomp or (self.isolation and self.isolation.pid)):
            found.append("outlive the engine by clearing their parent-death signal "
                         "(no seccomp filter, no PID namespace)")
        if self.sandbox_uid is None and not self.seccomp:
            found.append("change the limits, priority and CPUs of the engine and use its terminal (no seccomp filter)")
        return found


def prepare(spec: SandboxSpec) -> tuple[Any, dict[str, Any]]:
    """Import the harness and the modules programs may use in this process (the forker
    imports them too, before its first fork): fails early when the spec names something
    that cannot be imported."""
    return _forker_module.prepare(spec.harness, spec.modules, spec.preload)


_ISOLATION: list[namespaces.Isolation] = []
_CONFINEMENT: dict[int, Confinement] = {}
SCRATCH_NAME = "elm-sandbox"


def isolate_worker(tmpfs_mb: int = 256) -> namespaces.Isolation:
    """Called once by an evaluation worker at start, before it starts threads: private
    network, mount, IPC and PID namespaces for it and every program it runs."""
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
        _CONFINEMENT[pid] = Confinement(
            isolation=isolation, scratch_root=private[0] if private else _shared_scratch_root(),
            scratch_dir=os.path.join(private[0], SCRATCH_NAME) if private else None, private_dirs=private,
            sandbox_uid=privileges.sandbox_uid(pid) if os.geteuid() == 0 else None,
            landlock_abi=landlock.abi(), seccomp=seccomp.available())
    return _CONFINEMENT[pid]


def _shared_scratch_root() -> str | None:
    """A RAM-backed folder for the per-program directories when there is one: creating and
    removing a directory there costs ~30 µs instead of milliseconds on disk."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


class ForkerFailed(RuntimeError):
    """The forker could not be started, or answered with an error."""


def forker_environment(sys_path: list[str]) -> dict[str, str]:
    """The whole environment the forker is started with: nothing of the caller's but the
    locale and library path, so no secret of the engine is on its stack or its children's."""
    env = {key: os.environ[key] for key in FORKER_KEEPS if key in os.environ}
    env.update(SINGLE_THREADED)
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", PYTHONPATH=os.pathsep.join(sys_path))
    return env


class _ForkerClient:
    """This process's forker: started by exec, driven over a SOCK_SEQPACKET socket."""

    def __init__(self, conf: Confinement, die_with_parent: bool) -> None:
        if not sys.executable:
            raise ForkerFailed("this Python does not know its interpreter (sys.executable is empty)")
        sys_path = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", FORKER_MAIN, str(theirs.fileno())], env=forker_environment(sys_path),
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd="/")
        except OSError as exc:
            ours.close()
            raise ForkerFailed(f"could not start the forker: {exc}") from exc
        finally:
            theirs.close()
        self.sock = ours
        self.request({"op": "init", "sys_path": sys_path, "die_with_parent": die_with_parent, "confinement": {
            "scratch_root": conf.scratch_root, "scratch_dir": conf.scratch_dir,
            "private_dirs": list(conf.private_dirs), "sandbox_uid": conf.sandbox_uid,
            "landlock_abi": conf.landlock_abi, "seccomp": conf.seccomp}})

    def _reply(self, data: bytes) -> dict[str, Any]:
        if not data:
            code = self.process.wait()
            raise ForkerFailed(f"the forker exited (status {code})")
        reply = json.loads(data)
        if "error" in reply:
            raise ForkerFailed(reply["error"])
        return reply

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            self.sock.send(json.dumps(message).encode())
            return self._reply(self.sock.recv(_forker_module.MESSAGE_BYTES))
        except OSError as exc:
            raise ForkerFailed(f"lost the forker: {exc}") from exc

    def start(self, spec: SandboxSpec) -> tuple[int, int]:
        """Fork a child for ``spec``: (pipe to write its program into, pipe to read its result from)."""
        message = {"op": "run", "spec": {"harness": spec.harness, "modules": dict(spec.modules),
                                         "preload": list(spec.preload), "timeout_s": spec.timeout_s,
                                         "memory_mb": spec.memory_mb}}
        try:
            self.sock.send(json.dumps(message).encode())
            data, fds, _, _ = socket.recv_fds(self.sock, _forker_module.MESSAGE_BYTES, 2)
        except OSError as exc:
            raise ForkerFailed(f"lost the forker: {exc}") from exc
        try:
            self._reply(data)
        except ForkerFailed:
            for fd in fds:
                os.close(fd)
            raise
        program_w, result_r = fds
        return program_w, result_r

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_FORKERS: dict[int, _ForkerClient] = {}
_LOCK = threading.Lock()


def start_forker() -> _ForkerClient:
    """This process's forker, started on first use (or again if it died)."""
    pid = os.getpid()
    client = _FORKERS.get(pid)
    if client is None or not client.alive():
        _FORKERS.clear()  # a forker of the process we were forked from is not ours
        _FORKERS[pid] = client = _ForkerClient(confinement(), die_with_parent=bool(_ISOLATION))
    return client


def _fail(reason: str, started: float) -> SandboxResult:
    return SandboxResult(ok=False, reason=reason, seconds=time.perf_counter() - started)


def run_in_sandbox(program: str, spec: SandboxSpec) -> SandboxResult:
    """Execute ``program`` and its domain harness in a confined child; return plain data."""
    started = time.perf_counter()
    if not isinstance(program, str):
        return _fail(f"program is {type(program).__name__}, not text", started)
    privileges.hide_from_same_user()
    with _LOCK:
        try:
            client = start_forker()
            program_w, result_r = client.start(spec)
        except ForkerFailed as exc:
            return _fail(f"sandbox setup failed: {exc}"[:500], started)
        try:
            _send_program(program_w, program)
            return _collect(client, result_r, spec, started)
        except ForkerFailed as exc:
            return _fail(f"sandbox failed: {exc}"[:500], started)
        finally:
            os.close(result_r)


def _send_program(fd: int, program: str) -> None:
    """Write the program into the child's pipe (it reads it before anything else)."""
    try:
        _forker_module.write_all(fd, program.encode("utf-8", "surrogatepass"))
    except BrokenPipeError:
        pass  # the child failed before reading it: its result says why
    finally:
        os.close(fd)


def _collect(client: _ForkerClient, read_fd: int, spec: SandboxSpec, started: float) -> SandboxResult:
    deadline = started + spec.timeout_s
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            client.request({"op": "finish", "wait": 0})
            return _fail(f"timeout: still running after {spec.timeout_s:g} s wall clock", started)
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        data = os.read(read_fd, 1 << 16)
        if not data:
            break
        size += len(data)
        if size > spec.max_output_bytes:
            client.request({"op": "finish", "wait": 0})
            return _fail(f"output too large: over {spec.max_output_bytes} bytes", started)
        chunks.append(data)
    # it closed the pipe; it exits right after, unless it closed it early
    finished = client.request({"op": "finish", "wait": deadline - time.perf_counter()})
    if finished["late"]:
        return _fail(f"timeout: did not exit within {spec.timeout_s:g} s", started)
    status = int(finished["status"])
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
