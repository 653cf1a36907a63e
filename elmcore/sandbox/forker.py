"""The forker: the small process that forks every sandbox child.

``elmcore.sandbox`` starts one per process that runs programs (an evaluation worker, or
any caller of ``run_in_sandbox``), by exec, with a minimal environment: no variable of
the engine (API keys...) is ever in its memory, so none is in the memory of the children
it forks (the bytes the kernel puts on the stack at exec survive fork, and
``/proc/self/environ`` shows them). It never sees a program's text or output either: each
child reads its program from a pipe of its own and writes its result into another, whose
read end goes to the caller over the control socket (SCM_RIGHTS). So a child holds no
secret and no other candidate's data. In an evaluation worker the forker is the first
process of a PID namespace of its own: when it dies, the kernel kills every process in
it, whatever a program did to its parent-death signal.

Control messages are JSON over a SOCK_SEQPACKET socket (one message per datagram):

    -> {"op": "init", "sys_path": [...], "confinement": {...}, "die_with_parent": bool}
    <- {"ready": true} | {"error": "..."}
    -> {"op": "run", "spec": {...}}          <- {"pid": n} + fds [program writer, result reader] | {"error": "..."}
    -> {"op": "finish", "wait": seconds}     <- {"status": wait status, "late": bool}

The forker exits when the control socket reaches end of file (its caller is gone), after
killing the child it is running.
"""

from __future__ import annotations

import builtins
import ctypes
import faulthandler
import importlib
import json
import os
import random
import resource
import select
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from elmcore.sandbox import landlock, namespaces, privileges, seccomp

# Imported by every forker before its first fork: the sandbox uid may be unable to read
# the Python installation (e.g. under /root), so a program can import only what its
# forker has loaded. These standard modules, plus the domain's ``SandboxSpec.preload``.
STANDARD_MODULES = ("math", "cmath", "random", "statistics", "fractions", "decimal", "itertools", "functools",
                    "operator", "collections", "heapq", "bisect", "array", "copy", "re", "string", "textwrap",
                    "dataclasses", "enum", "typing", "abc", "numbers", "threading", "time", "datetime")
# What a program may read besides its scratch directory (Landlock): the system's programs,
# libraries and settings, a few devices, /proc (its own memory maps, limits...), and the
# Python installation and the folders of the modules its forker loaded (``readable_paths``).
# Not the home directories, the run directories, /tmp, /var or /run.
SYSTEM_READABLE = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/proc",
                   "/sys/devices/system/cpu", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
FSIZE_LIMIT = 16 * 1024 * 1024
NOFILE_LIMIT = 64
SETUP_FAILED = 71
MESSAGE_BYTES = 1 << 20


def load_callable(path: str) -> Callable[..., Any]:
    """Import "package.module:function"."""
    module_name, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"harness {path!r} must look like 'package.module:function'")
    return getattr(importlib.import_module(module_name), attr)


_PREPARED: dict[tuple[Any, ...], tuple[Callable[..., Any], dict[str, Any]]] = {}

# The C library's fork, called with the GIL held (PyDLL): the child skips the interpreter's
# after-fork work (``os.register_at_fork`` hooks of threading and random), which writes to
# some 170 of the forker's pages and costs each child up to a millisecond of copying them.
# Done only where that work has nothing to do: the forker has no other thread (so no lock
# is held by one, and the child's thread state, GIL and import lock are as the forker's);
# the child then reseeds ``random`` itself, as random's own hook does.
_LIBC_FORK = ctypes.PyDLL(None, use_errno=True).fork
_LIBC_FORK.restype = ctypes.c_int
_LIBC_FORK.argtypes = []


def fork() -> int:
    """``os.fork()`` for a single-threaded forker, without the interpreter's after-fork
    hooks; ``os.fork()`` itself when another thread exists."""
    if threading.active_count() != 1:
        return os.fork()
    pid = _LIBC_FORK()
    if pid < 0:
        raise OSError(ctypes.get_errno(), f"fork: {os.strerror(ctypes.get_errno())}")
    if pid == 0:
        try:
            random.seed()
        except Exception:  # noqa: S110 - as for a failing after-fork hook: the child goes on
            pass
    return pid


def _prepared_key(harness: str, modules: dict[str, str], preload: tuple[str, ...] | list[str]) -> tuple[Any, ...]:
    return harness, tuple(sorted(modules.items())), tuple(preload)


def prepare(harness: str, modules: dict[str, str], preload: tuple[str, ...] | list[str]
            ) -> tuple[Callable[..., Any], dict[str, Any]]:
    """Import the harness and the modules programs may use, once, before any fork, so each
    child starts with them loaded."""
    key = _prepared_key(harness, modules, preload)
    if key not in _PREPARED:
        function = load_callable(harness)
        loaded = {alias: importlib.import_module(real) for alias, real in modules.items()}
        for name in preload:
            importlib.import_module(name)
        _PREPARED[key] = (function, loaded)
    return _PREPARED[key]


_READABLE: dict[int, tuple[str, ...]] = {}


def readable_paths() -> tuple[str, ...]:
    """The paths a program may read (Landlock rules): ``SYSTEM_READABLE``, the interpreter's
    prefixes, and for every module loaded here its package folder (or its file, for a
    single-file module), so a program can import what its forker loaded and the rest of
    those packages, and nothing that lies beside them (a run directory next to a checkout,
    the user's files). Folders inside another listed folder are left out."""
    if len(sys.modules) in _READABLE:
        return _READABLE[len(sys.modules)]
    prefixes = {p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix) if p}
    paths = set(SYSTEM_READABLE) | prefixes
    for module in list(sys.modules.values()):
        location = getattr(module, "__file__", None)
        if isinstance(location, str) and location.startswith("/"):
            folder, name = os.path.split(location)
            path = folder if name.startswith("__init__.") else location
            if not any(namespaces._is_within(path, prefix) for prefix in prefixes):  # the most: no realpath
                paths.add(path)
    paths = {os.path.realpath(p) for p in paths}
    paths.discard("/")
    home = os.path.realpath(os.path.expanduser("~"))
    paths.discard(home)
    kept = sorted(paths)
    found = tuple(p for p in kept if not any(p != q and namespaces._is_within(p, q) for q in kept))
    _READABLE.clear()
    _READABLE[len(sys.modules)] = found
    return found


class Forker:
    """The forker's state: its confinement settings, scratch directory and rule sets."""

    def __init__(self, conf: dict[str, Any]) -> None:
        self.scratch_root: str | None = conf["scratch_root"]
        self.scratch_dir: str | None = conf["scratch_dir"]
        self.private_dirs: tuple[str, ...] = tuple(conf["private_dirs"])
        self.sandbox_uid: int | None = conf["sandbox_uid"]
        self.landlock_abi: int = conf["landlock_abi"]
        self.seccomp: bool = conf["seccomp"]
        self.ruleset: int | None = None
        self.readable: tuple[str, ...] = ()  # what the rule set lets programs read
        self.scratch_inode = 0
        self.child: int | None = None
        self.workdir = ""
        for name in STANDARD_MODULES:
            importlib.import_module(name)
        tempfile.gettempdir()  # fixed now: the environment below changes per child
        self.environment = dict(os.environ)  # the forker's own, for importing (BLAS reads it)
        self.current_environment = self.environment  # what os.environ holds now
        self.devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        if self.seccomp:
            seccomp.prepared()  # packed once; each child only patches in its pid
        if self.scratch_dir:
            self.reset_scratch()

    def reset_scratch(self) -> None:
        """Give the fixed scratch directory back its owner and mode (a program may have
        changed them); if it was replaced, make it again with a new Landlock rule set. One
        directory and one rule set for all programs: they run one at a time and the
        directory is emptied after each."""
        path = self.scratch_dir
        assert path is not None
        try:
            status = os.lstat(path)
            if not stat.S_ISDIR(status.st_mode) or status.st_ino != self.scratch_inode:
                raise FileNotFoundError(path)
        except FileNotFoundError:
            namespaces.wipe(self.private_dirs)
            os.mkdir(path, 0o700)
            if self.ruleset is not None:  # made again for the new directory before the next program
                os.close(self.ruleset)
                self.ruleset = None
            self.scratch_inode = os.lstat(path).st_ino
        if self.sandbox_uid is not None:
            os.chown(path, self.sandbox_uid, self.sandbox_uid, follow_symlinks=False)
        os.chmod(path, 0o700, follow_symlinks=False)

    def set_environment(self, environment: dict[str, str]) -> None:
        """Make ``environment`` this process's whole environment (a forked child inherits it)."""
        current = self.current_environment
        if current.keys() == environment.keys():  # e.g. a new scratch directory: change what differs
            for key, value in environment.items():
                if current[key] != value:
                    os.environ[key] = value
        else:
            os.environ.clear()
            os.environ.update(environment)
        self.current_environment = environment

    def run(self, sock: socket.socket, spec: dict[str, Any]) -> None:
        if _prepared_key(spec["harness"], spec["modules"], spec["preload"]) not in _PREPARED:
            self.set_environment(self.environment)  # import with the forker's own environment
        harness, modules = prepare(spec["harness"], spec["modules"], spec["preload"])
        if self.landlock_abi:
            readable = readable_paths()  # after the imports: their folders are readable too
            if self.scratch_dir and (self.ruleset is None or readable != self.readable):
                if self.ruleset is not None:
                    os.close(self.ruleset)
                    self.ruleset = None
                self.ruleset = landlock.create_ruleset(self.scratch_dir, readable)
            self.readable = readable
        workdir = self.scratch_dir or tempfile.mkdtemp(prefix="elm-sandbox-", dir=self.scratch_root)
        # what the child would otherwise do after the fork, done here once per forker (or per
        # directory): every page a child writes is a copy of the forker's
        self.set_environment({"HOME": workdir, "TMPDIR": workdir, "PATH": "/usr/bin:/bin"})
        cpu = max(1, int(spec["timeout_s"] + 1))
        # the child starts with the forker's mappings (numpy...): the cap is on what it adds
        memory = _address_space_bytes() + int(spec["memory_mb"]) * 1024 * 1024
        program_r, program_w = os.pipe()
        result_r, result_w = os.pipe()
        parent = os.getpid()
        pid = fork()
        if pid == 0:  # never returns
            _child(sock.fileno(), program_r, result_w, harness, modules, workdir, (cpu, memory), self, parent)
        os.close(program_r)
        os.close(result_w)
        self.child, self.workdir = pid, workdir
        try:
            socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], [program_w, result_r])
        finally:
            os.close(program_w)
            os.close(result_r)

    def finish(self, wait: float) -> dict[str, Any]:
        """Give the child up to ``wait`` seconds to exit, then kill its process group while
        it is still unreaped (its pid cannot have been reused), reap it and wipe what it left."""
        pid = self.child
        assert pid is not None
        try:  # a pidfd is readable once the child has exited (it stays a zombie until reaped)
            handle = os.pidfd_open(pid)
        except (AttributeError, OSError):  # kernels before 5.3: poll
            handle = None
        if handle is not None:
            try:
                exited = bool(select.select([handle], [], [], max(0.0, wait))[0])
            finally:
                os.close(handle)
        else:
            deadline = time.monotonic() + max(0.0, wait)
            while not (exited := os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None):
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.0002)
        return {"status": self.kill(), "late": not exited}

    def kill(self) -> int:
        pid, self.child = self.child, None
        if pid is None:
            return 0
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 0
        if self.scratch_dir:  # empty it and whatever else the program left on the private tmpfs mounts
            namespaces.wipe(self.private_dirs, keep=self.scratch_dir)
            self.reset_scratch()
        else:
            namespaces.remove_tree(self.workdir)
        return status


def main(fd: int) -> None:
    """The forker's loop on control socket ``fd`` (see the module docstring)."""
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's to handle
    forker: Forker | None = None
    while True:
        try:
            data = sock.recv(MESSAGE_BYTES)
        except OSError:
            data = b""
        if not data:  # the caller is gone: so is the program it was running
            if forker is not None:
                forker.kill()
            return
        message = json.loads(data)
        try:
            if message["op"] == "init":
                sys.path[:] = message["sys_path"]
                if message["die_with_parent"]:
                    privileges.die_with_parent()
                privileges.hide_from_same_user()
                forker = Forker(message["confinement"])
                reply: dict[str, Any] | None = {"ready": True}
            elif message["op"] == "run":
                assert forker is not None
                forker.run(sock, message["spec"])
                reply = None
            else:
                assert forker is not None
                reply = forker.finish(float(message["wait"]))
        except Exception as exc:  # tell the caller, keep serving
            reply = {"error": describe(exc)}
        if reply is not None:
            try:
                sock.send(json.dumps(reply).encode())
            except OSError:  # the caller is gone (killed with the engine): end quietly, like at end of file
                if forker is not None:
                    forker.kill()
                return


def _child(control: int, program_r: int, result_w: int, harness: Callable[..., Any], modules: dict[str, Any],
           workdir: str, limits: tuple[int, int], forker: Forker, parent: int) -> None:
    code = 0
    try:
        os.close(control)
        ruleset = forker.ruleset if forker.scratch_dir else None
        close_inherited_fds(program_r, result_w, ruleset, forker.devnull)
        os.setsid()
        faulthandler.disable()  # its dumps would go to the caller's stderr
        try:
            program = _read_program(program_r)
            _confine(limits, workdir, forker, parent, ruleset)
        except BaseException as exc:  # fail closed: no program runs half-confined
            write_all(result_w, json.dumps({"ok": False, "error": f"sandbox setup failed: {describe(exc)}"}
                                           ).encode("utf-8", "replace"))
            os._exit(SETUP_FAILED)
        sys.modules.update(modules)
        namespace: dict[str, Any] = {"__name__": "__elm_program__", "__builtins__": builtins}
        try:
            exec(compile(program, "<program>", "exec"), namespace)  # noqa: S102 - sandboxed child
            output = harness(namespace)
            text = json.dumps({"ok": True, "output": output}, allow_nan=True, default=_not_plain)
        except SyntaxError as exc:
            text = json.dumps({"ok": False, "error": f"SyntaxError: {exc.msg} (line {exc.lineno})"})
        except BaseException as exc:  # the program's own failure is an outcome, not a crash
            text = json.dumps({"ok": False, "error": describe(exc)})
        write_all(result_w, text.encode("utf-8", "replace"))
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _read_program(fd: int) -> str:
    chunks = []
    while True:
        data = os.read(fd, 1 << 16)
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    return b"".join(chunks).decode("utf-8")


def close_inherited_fds(*keep: int | None) -> None:
    """Close every descriptor the child inherited but 0-2 and ``keep`` (its pipes, the
    Landlock rule set)."""
    low = 3
    for fd in sorted(k for k in keep if k is not None):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))


def describe(exc: BaseException) -> str:
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


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _confine(limits: tuple[int, int], workdir: str, forker: Forker, parent: int, ruleset: int | None) -> None:
    """Everything between fork and the program's first line, in this order: limits, quiet
    stdio, scratch dir, identity, death with the parent, Landlock, seccomp. The forker has
    already set the environment (``HOME`` and ``TMPDIR`` the scratch directory, ``PATH``,
    nothing else) and opened /dev/null."""
    cpu, memory = limits
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for fd in (0, 1, 2):  # sys.stdout and sys.stderr write to 1 and 2
        os.dup2(forker.devnull, fd)
    os.close(forker.devnull)
    os.chdir(workdir)
    if forker.sandbox_uid is not None:  # root ignores most limits: become a uid of our own
        if not forker.scratch_dir:
            os.chown(workdir, forker.sandbox_uid, forker.sandbox_uid)
        privileges.become(forker.sandbox_uid)
    else:
        privileges.drop_capabilities()
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # no fork bombs: this uid may start nothing
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE_LIMIT, NOFILE_LIMIT))
    privileges.die_with_parent(parent)  # after the uid change, which clears the setting
    if ruleset is not None:
        landlock.enforce(ruleset)
        os.close(ruleset)
    elif forker.landlock_abi:
        landlock.restrict(workdir, forker.readable)
    if forker.seccomp:
        seccomp.install(os.getpid())


_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _address_space_bytes() -> int:
    """This process's address space in bytes (/proc/self/statm, read without a file object)."""
    fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
    try:
        return int(os.read(fd, 256).split()[0]) * _PAGE_BYTES
    finally:
        os.close(fd)


if __name__ == "__main__":
    main(int(sys.argv[1]))
