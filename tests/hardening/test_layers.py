"""Each sandbox layer on its own: the seccomp filter (interpreted here, and live in a
child), Landlock, the worker namespaces, per-process uids, death with the parent,
failing closed, and recycling a worker whose memory grows."""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import json
import os
import struct
import subprocess
import sys
import traceback
import signal
import socket
import tempfile
import time

import pytest

from elmcore import sandbox
from elmcore.sandbox import landlock, libc, namespaces, privileges, seccomp
from elmcore.sandbox import run_in_sandbox
from elmcore.types import SandboxSpec
from elmcore.workers import WorkerPool
from conftest import processes_of
from leaky_domain import CrashingDomain, LeakyDomain

SPEC = SandboxSpec(harness="leaky_domain:harness", timeout_s=3.0, memory_mb=128)


def run_bpf(program, nr: int, arg0: int = 0, arch: int = seccomp.AUDIT_ARCH_X86_64, arg1: int = 0,
            arg4: int = 0) -> int:
    """A classic-BPF interpreter for the few instructions the filter uses."""
    data = {seccomp.OFFSET_NR: nr, seccomp.OFFSET_ARCH: arch, seccomp.OFFSET_ARG0: arg0 & 0xFFFFFFFF,
            seccomp.OFFSET_ARG1: arg1 & 0xFFFFFFFF, seccomp.OFFSET_ARG4: arg4 & 0xFFFFFFFF,
            seccomp.OFFSET_ARG4_HIGH: (arg4 >> 32) & 0xFFFFFFFF}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == seccomp.LD_W_ABS:
            acc = data[k]
        elif code == seccomp.AND_K:
            acc &= k
        elif code == seccomp.JEQ_K:
            pc += jt if acc == k else jf
        elif code == seccomp.JGE_K:
            pc += jt if acc >= k else jf
        elif code == seccomp.RET_K:
            return k
        pc += 1


def test_seccomp_filter_decisions():
    me = 4321
    program = seccomp.build_filter(me)
    allow, eperm = seccomp.RET_ALLOW, seccomp.RET_EPERM
    for name, nr in seccomp.DENIED_CALLS.items():
        assert run_bpf(program, nr) == eperm, name
    for nr in seccomp.SIGNAL_CALLS.values():
        assert run_bpf(program, nr, arg0=me) == allow
        assert run_bpf(program, nr, arg0=0) == allow  # its own process group
        assert run_bpf(program, nr, arg0=-me) == allow
        assert run_bpf(program, nr, arg0=1) == eperm
        assert run_bpf(program, nr, arg0=-1) == eperm  # kill(-1): everything it may signal
        assert run_bpf(program, nr, arg0=me + 1) == eperm
    for allowed in (0, 1, 2, 3, 9, 60, 231, 39):  # read, write, open, close, mmap, exit, exit_group, getpid
        assert run_bpf(program, allowed) == allow
    assert run_bpf(program, 0x40000000 + 1) == eperm  # x32 ABI
    assert run_bpf(program, 1, arch=0x40000003) == seccomp.RET_KILL_PROCESS  # i386


def test_seccomp_argument_decisions():
    """Limits, priority, CPUs, scheduling: only its own; prctl, fcntl, terminal ioctls: not
    the options that reach other processes or outlive its parent."""
    me = 4321
    program = seccomp.build_filter(me)
    allow, eperm = seccomp.RET_ALLOW, seccomp.RET_EPERM
    tried = 0
    for name, nr in seccomp.OWN_PID_CALLS.items():
        for pid, verdict in ((0, allow), (me, allow), (1, eperm), (me + 1, eperm), (-1, eperm)):
            assert run_bpf(program, nr, arg0=pid) == verdict, (name, pid)
            tried += 1
    for name, (nr, which) in seccomp.WHICH_WHO_CALLS.items():
        for args, verdict in (((which, 0), allow), ((which, me), allow), ((which, 1), eperm),
                              ((which ^ 1, 0), eperm), ((2, me), eperm)):  # 2: every process of the user
            assert run_bpf(program, nr, arg0=args[0], arg1=args[1]) == verdict, (name, args)
            tried += 1
    for name, option in seccomp.DENIED_PRCTL.items():
        assert run_bpf(program, seccomp.PRCTL, arg0=option, arg1=0) == eperm, name
    for option in (15, 16, 38, 22):  # PR_SET_NAME, PR_GET_NAME, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP
        assert run_bpf(program, seccomp.PRCTL, arg0=option) == allow
    for name, command in seccomp.DENIED_FCNTL.items():
        assert run_bpf(program, seccomp.FCNTL, arg0=3, arg1=command) == eperm, name
    for command in (0, 1, 2, 3, 4, 1030):  # F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC
        assert run_bpf(program, seccomp.FCNTL, arg0=3, arg1=command) == allow
    tty_setters = {"TCSETS": 0x5402, "TCSETSF": 0x5404, "TCXONC": 0x540A, "TIOCSTI": 0x5412,
                   "TIOCSPGRP": 0x5410, "TIOCSWINSZ": 0x5414, "TIOCCONS": 0x541D, "TIOCSETD": 0x5423,
                   "TIOCVHANGUP": 0x5437, "FIOASYNC": 0x5452, "TCSETS2": 0x402C542B, "TIOCSIG": 0x40045436,
                   **seccomp.DENIED_IOCTL}
    for name, command in tty_setters.items():
        assert run_bpf(program, seccomp.IOCTL, arg0=0, arg1=command) == eperm, name
    for command in (*seccomp.TTY_IOCTL_ALLOWED.values(), 0x8004_6601):  # and FS_IOC_GETFLAGS: not a terminal
        assert run_bpf(program, seccomp.IOCTL, arg0=0, arg1=command) == allow, hex(command)
    for name, nr in seccomp.NO_DESTINATION_CALLS.items():  # send() on a socketpair, never to an address
        for address, verdict in ((0, allow), (0x7FFD_1234_5678, eperm), (1 << 32, eperm), (8, eperm)):
            assert run_bpf(program, nr, arg0=3, arg4=address) == verdict, (name, hex(address))
            tried += 1
    tried += len(seccomp.DENIED_PRCTL) + len(seccomp.DENIED_FCNTL) + len(tty_setters)
    print(f"seccomp argument rules: {tried} refusals and acceptances checked")


def in_child(body) -> int:
    """Run ``body()`` in a forked child; returns its exit code (70 when it raised)."""
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = body()
        except BaseException:
            traceback.print_exc()  # shown in the test's captured stderr
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(not seccomp.available(), reason="seccomp filter needs x86-64 Linux")
def test_seccomp_filter_live():
    parent = os.getpid()

    def body() -> int:
        seccomp.install(os.getpid())
        for call in (lambda: os.kill(parent, 0), lambda: socket.socket(), lambda: os.fork(),
                     lambda: os.unshare(os.CLONE_NEWUSER) if hasattr(os, "unshare") else os.kill(1, 0)):
            try:
                call()
                return 1
            except PermissionError:
                pass
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)  # allowed: a pair, no address
        ours.send(b"x")
        assert theirs.recv(1) == b"x"
        for call in (lambda: ours.sendto(b"x", "/dev/log"), lambda: ours.connect("/dev/log"),
                     lambda: ours.bind("\0elm-test"), lambda: ours.sendmsg([b"x"]),
                     lambda: socket.send_fds(ours, [b"x"], [0]), lambda: os.memfd_create("hold")):
            try:
                call()
                return 3
            except PermissionError:
                pass
        os.kill(os.getpid(), 0)  # itself: allowed
        return 0 if os.getpid() > 0 else 2

    assert in_child(body) == 0


@pytest.mark.skipif(landlock.abi() < 1, reason="Landlock is not available in this kernel")
def test_landlock_allows_writes_only_in_its_directory(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()

    def body() -> int:
        landlock.restrict(str(inside))
        (inside / "ok").write_text("x")
        for attempt in (lambda: (outside / "no").write_text("x"), lambda: os.mkdir(outside / "d"),
                        lambda: os.rename(inside / "ok", outside / "moved")):
            try:
                attempt()
                return 1
            except PermissionError:
                pass
        return 0

    assert in_child(body) == 0
    assert (inside / "ok").exists() and list(outside.iterdir()) == []


@pytest.mark.skipif(landlock.abi() < 1, reason="Landlock is not available in this kernel")
def test_landlock_read_rules_allow_only_the_listed_paths(tmp_path):
    """With ``readable`` paths, reading is confined too: the scratch directory, a listed
    folder and a listed file; not a file beside them, nor through /proc/self/root."""
    inside, library, other = tmp_path / "inside", tmp_path / "library", tmp_path / "other"
    for folder in (inside, library, other):
        folder.mkdir()
    (library / "module.py").write_text("x = 1\n")
    (other / "single.py").write_text("y = 2\n")
    (other / "secret.txt").write_text("no\n")

    def body() -> int:
        landlock.restrict(str(inside), (str(library), str(other / "single.py"), "/nonexistent/path"))
        (inside / "ok").write_text("x")
        assert (inside / "ok").read_text() == "x" and (library / "module.py").read_text() == "x = 1\n"
        assert (other / "single.py").read_text() == "y = 2\n" and os.listdir(library) == ["module.py"]
        for attempt in (lambda: (other / "secret.txt").read_text(), lambda: os.listdir(other),
                        lambda: open(f"/proc/self/root{other}/secret.txt").read(), lambda: os.listdir(tmp_path)):
            try:
                attempt()
                return 1
            except PermissionError:
                pass
        return 0

    assert in_child(body) == 0


def test_programs_read_only_the_installation_and_the_system():
    """What the forker lets programs read: system folders and the installation, never a home
    directory or the file system's root."""
    from elmcore.sandbox.forker import readable_paths

    paths = readable_paths()
    assert "/usr" in paths and "/proc" in paths and "/" not in paths
    assert os.path.realpath(os.path.expanduser("~")) not in paths
    assert any(namespaces._is_within(os.path.realpath(sandbox.__file__), p) for p in paths)
    assert not any(p != q and namespaces._is_within(p, q) for p in paths for q in paths)


def installation_dirs() -> list[str]:
    """The private-tmpfs targets this installation lives under (a venv or clone in /tmp):
    the worker leaves those visible."""
    used = namespaces._paths_in_use()
    return [d for d in namespaces.PRIVATE_DIRS
            if os.path.isdir(d) and any(namespaces._is_within(p, d) for p in used)]


def test_worker_namespaces():
    if os.geteuid() != 0:
        pytest.skip("as another user the worker needs a user namespace: covered by test_unprivileged")
    host_net = os.readlink("/proc/self/ns/net")
    marker = f"elm-layers-{os.getpid()}"

    def body() -> int:
        visible = installation_dirs()
        iso = namespaces.isolate_worker(tmpfs_mb=8)
        assert iso.network and iso.filesystem and iso.ipc, iso.describe()
        assert len(iso.missing) == len(visible) and all("left visible" in m for m in iso.missing), iso.describe()
        assert os.readlink("/proc/self/ns/net") != host_net
        assert "/dev/shm" in iso.private_dirs
        for private in iso.private_dirs:
            assert os.listdir(private) == []
            with open(f"{private}/{marker}", "w") as fh:  # private: the host never sees it
                fh.write("x")
        try:
            open(os.path.join(os.getcwd(), marker), "w")
            return 1
        except OSError as exc:
            assert exc.errno == errno.EROFS
        os.mkdir("/dev/shm/leftover")
        namespaces.wipe(iso.private_dirs)
        return 0 if all(os.listdir(private) == [] for private in iso.private_dirs) else 3

    assert in_child(body) == 0
    assert not any(os.path.exists(f"{d}/{marker}") for d in namespaces.PRIVATE_DIRS)
    assert not os.path.exists(marker)


def test_worker_namespaces_on_a_kernel_without_mount_setattr(monkeypatch):
    """Kernels before 5.12: the host is made read-only one mount point at a time."""
    if os.geteuid() != 0:
        pytest.skip("covered as root only")
    monkeypatch.setattr(namespaces, "SYS_MOUNT_SETATTR", 99_999)  # no such call: ENOSYS, as on old kernels

    def body() -> int:
        visible = installation_dirs()
        iso = namespaces.isolate_worker(tmpfs_mb=8)
        assert iso.filesystem and len(iso.missing) == len(visible), iso.describe()
        with open("/proc/self/mountinfo", encoding="utf-8") as fh:
            mounts = [line.split() for line in fh]
        top = {m[4]: m[5] for m in mounts}  # a mount stacked on the same point hides the one below
        writable = [point for point, options in top.items() if "rw" in options.split(",")]
        return 0 if sorted(writable) == sorted(iso.private_dirs) else 1

    assert in_child(body) == 0


def test_each_forking_process_has_its_own_sandbox_uid():
    assert privileges.sandbox_uid(100) != privileges.sandbox_uid(101)
    if os.geteuid() == 0:
        result = run_in_sandbox("import os\ndef value():\n    return [os.getuid(), os.getgid(), os.getgroups()]", SPEC)
        uid = privileges.sandbox_uid(os.getpid())
        assert result.ok and result.output == [uid, uid, []]


def test_programs_can_import_the_standard_modules():
    """As root the sandbox uid may not read the installation: the forker imports them."""
    from elmcore.sandbox.forker import STANDARD_MODULES

    result = run_in_sandbox(f"import {', '.join(STANDARD_MODULES)}\ndef value():\n    return math.gcd(12, 18)", SPEC)
    assert result.ok and result.output == 6, result.reason


def test_sandbox_child_dies_with_its_parent():
    """A worker killed mid-program (e.g. with the engine) takes its sandbox child along."""
    read_fd, write_fd = os.pipe()
    parent = os.fork()
    if parent == 0:  # plays the worker
        os.close(read_fd)
        os.write(write_fd, b"go")
        run_in_sandbox("import time\ndef value():\n    time.sleep(60)", SandboxSpec(harness=SPEC.harness, timeout_s=60))
        os._exit(0)
    os.close(write_fd)
    os.read(read_fd, 2)
    os.close(read_fd)
    uid = privileges.sandbox_uid(parent)
    deadline = time.time() + 10
    while not _children_of(parent) and time.time() < deadline:
        time.sleep(0.02)
    children = _children_of(parent)
    assert children, "the sandbox child did not start"
    os.kill(parent, signal.SIGKILL)
    os.waitpid(parent, 0)
    while any(os.path.exists(f"/proc/{c}") and not _is_zombie(c) for c in children) and time.time() < deadline:
        time.sleep(0.02)
    assert not [c for c in children if os.path.exists(f"/proc/{c}") and not _is_zombie(c)]
    if os.geteuid() == 0:
        assert processes_of({uid}) == []


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def refuse_system_call(nr: int) -> None:
    """Install a seccomp filter on this process that answers EPERM to call ``nr``; the
    forker started afterwards inherits it, and so do its children."""
    program = [(seccomp.LD_W_ABS, 0, 0, seccomp.OFFSET_NR), (seccomp.JEQ_K, 0, 1, nr),
               (seccomp.RET_K, 0, 0, seccomp.RET_EPERM), (seccomp.RET_K, 0, 0, seccomp.RET_ALLOW)]
    code = ctypes.create_string_buffer(b"".join(struct.pack("<HBBI", *i) for i in program))
    fprog = seccomp._SockFprog(len(program), ctypes.addressof(code))
    libc.no_new_privs()
    assert libc.libc.prctl(libc.PR_SET_SECCOMP, seccomp.SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


@pytest.mark.skipif(not seccomp.available(), reason="seccomp filter needs x86-64 Linux")
def test_sandbox_fails_closed_when_a_layer_cannot_be_applied():
    if not sandbox.confinement().landlock_abi:
        pytest.skip("no Landlock here")

    def body() -> int:
        refuse_system_call(landlock.SYS_RESTRICT_SELF)
        result = run_in_sandbox("def value():\n    return 1", SPEC)
        assert not result.ok and "sandbox setup failed" in result.reason, result.reason
        assert "landlock_restrict_self" in result.reason, result.reason
        return 0

    assert in_child(body) == 0


def test_scratch_directory_is_removed():
    before = set(os.listdir(sandbox.confinement().scratch_root or tempfile.gettempdir()))
    result = run_in_sandbox("import os\ndef value():\n    os.mkdir('d')\n    open('d/f', 'w').write('x')\n"
                            "    os.chmod('d', 0)\n    return os.getcwd()", SPEC)
    assert result.ok
    assert not os.path.exists(result.output)
    after = set(os.listdir(sandbox.confinement().scratch_root or tempfile.gettempdir()))
    assert os.path.basename(result.output) not in after - before


def test_a_crashed_worker_is_reported_with_its_exit_code():
    """The worker is reaped before its exit code is read (it used to say 'exit code None')."""
    with WorkerPool(CrashingDomain, {}, workers=1) as pool:
        evaluations = pool.evaluate(["def value():\n    return 1", "def value():\n    return 7"])
        assert [e.outcome.value for e in evaluations] == ["valid", "not_runnable"]
        assert evaluations[1].reason == "evaluation worker crashed on this program (exit code 7)"
        assert pool.crashes >= 1 and pool.evaluate(["def value():\n    return 2"])[0].outcome.value == "valid"


def test_worker_is_recycled_when_its_memory_grows():
    with WorkerPool(LeakyDomain, {"leak_mb": 40}, workers=1, max_rss_growth_mb=100) as pool:
        first = pool.worker_pids()
        for _ in range(6):
            assert [e.outcome.value for e in pool.evaluate(["def value():\n    return 1"])] == ["valid"]
        assert pool.recycled >= 1 and pool.worker_pids() != first


ENGINE = """
import sys
from elm_parity.domain import ParityDomain
from elmcore.workers import WorkerPool
with WorkerPool(ParityDomain, {}, workers=1) as pool:
    print(pool.worker_pids()[0], flush=True)
    pool.evaluate([sys.argv[1]])
"""
CLINGS_ON = """
import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG: none (refused by the filter where there is one)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
time.sleep(600)
def parity(b1, b2, b3, b4):
    return 0
"""


def _ns_pids(pid: int) -> list[int]:
    with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
        return [int(p) for line in fh if line.startswith("NSpid:") for p in line.split()[1:]]


def _wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_nothing_outlives_an_engine_killed_with_sigkill():
    """A program tries to give up its parent-death signal and sleeps; the engine is killed
    with SIGKILL: its worker goes, the worker's forker (the first process of its own PID
    namespace) goes, and with it, whatever the program did, the program."""
    if os.geteuid() != 0:
        pytest.skip("finds the program by its sandbox uid, which only root's workers use")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    engine = subprocess.Popen([sys.executable, "-c", ENGINE, CLINGS_ON], stdout=subprocess.PIPE, text=True, env=env)
    try:
        worker = int(engine.stdout.readline())
        uid = privileges.sandbox_uid(worker)
        _wait_for(lambda: processes_of({uid}))
        [program] = [int(p.split()[0]) for p in processes_of({uid})]
        [forker] = _children_of(worker)
        assert _ns_pids(forker)[-1] == 1, "the forker is not the first process of a PID namespace"
        assert len(_ns_pids(program)) == 2 and _children_of(forker) == [program]
    finally:
        engine.kill()
        engine.wait()
    _wait_for(lambda: not processes_of({uid}) and not os.path.exists(f"/proc/{worker}"))
    assert processes_of({uid}) == [], "the program outlived the engine"
    assert not os.path.exists(f"/proc/{worker}") or _is_zombie(worker)


def test_confinement_names_what_each_missing_layer_leaves_open():
    full = sandbox.Confinement(
        isolation=namespaces.Isolation(network=True, filesystem=True, ipc=True, pid=True), scratch_root=None,
        scratch_dir=None, private_dirs=(), sandbox_uid=None, landlock_abi=6, seccomp=True)
    assert full.weaknesses == []
    no_filter = dataclasses.replace(full, seccomp=False)
    assert no_filter.weaknesses == ["change the limits, priority and CPUs of the engine and use its terminal "
                                    "(no seccomp filter)"]
    nothing = dataclasses.replace(no_filter, isolation=None, landlock_abi=0)
    found = "; ".join(nothing.weaknesses)
    for words in ("world-writable", "network connections", "signal processes", "outlive the engine", "priority"):
        assert words in found, found
    assert dataclasses.replace(nothing, sandbox_uid=2_000_000_123).weaknesses == nothing.weaknesses[:2] + [
        nothing.weaknesses[3]]  # root: a uid of its own covers signals and other processes' settings


def test_a_forker_whose_caller_is_gone_ends_quietly():
    """The engine killed (SIGTERM) while a forker answers a request: the forker finds its
    socket closed, kills the program it started and exits without a traceback on the
    engine's terminal."""
    from elmcore.sandbox import runner

    conf = sandbox.confinement()
    sys_path = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    forker = subprocess.Popen([sys.executable, "-c", runner.FORKER_MAIN, str(theirs.fileno())],
                              env=runner.forker_environment(sys_path), pass_fds=(theirs.fileno(),),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")
    theirs.close()
    try:
        ours.send(json.dumps({"op": "init", "sys_path": sys_path, "die_with_parent": False, "confinement": {
            "scratch_root": conf.scratch_root, "scratch_dir": None, "private_dirs": [],
            "sandbox_uid": conf.sandbox_uid, "landlock_abi": conf.landlock_abi, "seccomp": conf.seccomp}}).encode())
        assert json.loads(ours.recv(4096)) == {"ready": True}
        os.kill(forker.pid, signal.SIGSTOP)  # the request is queued, then its caller disappears
        ours.send(json.dumps({"op": "run", "spec": {"harness": SPEC.harness, "modules": {}, "preload": [],
                                                    "timeout_s": 3.0, "memory_mb": 128}}).encode())
        ours.close()
        os.kill(forker.pid, signal.SIGCONT)
        _, err = forker.communicate(timeout=60)
    finally:
        if forker.poll() is None:
            forker.kill()
            forker.wait()
    assert forker.returncode == 0 and err.decode() == "", err.decode()[-2000:]
    assert processes_of({privileges.sandbox_uid(forker.pid)}) == []
