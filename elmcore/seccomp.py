"""A seccomp system-call filter for sandboxed programs (x86-64 Linux).

``install(own_pid)`` makes the kernel refuse, with EPERM, the calls a program has no
business making: starting processes or threads, signalling or tracing any process but
itself, opening sockets of any family, creating namespaces or mounts, creating kernel
keys or System V / POSIX IPC objects (they outlive the process), and the eBPF, perf,
userfaultfd and io_uring interfaces. Everything else is allowed. The filter is built
here as a classic BPF program, so it needs no library; on other architectures
``available()`` is False and the sandbox relies on its other layers.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_EPERM = 0x00050000 | 1
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data; arg0's low word (little-endian)

# calls allowed only when their first argument names the caller itself (or its own group)
SIGNAL_CALLS = {"kill": 62, "rt_sigqueueinfo": 129, "tkill": 200, "tgkill": 234, "rt_tgsigqueueinfo": 297}
DENIED_CALLS = {
    "clone": 56, "fork": 57, "vfork": 58, "clone3": 435,
    "pidfd_send_signal": 424, "pidfd_open": 434, "pidfd_getfd": 438,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "socket": 41,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442,
    "add_key": 248, "request_key": 249, "keyctl": 250, "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240,
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
}

_libc = ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def available() -> bool:
    """Whether this machine can take the filter (x86-64 with seccomp filtering)."""
    return platform.machine() == "x86_64" and _libc.prctl(PR_GET_SECCOMP, *_ulongs(0, 0, 0, 0)) >= 0


def _ulongs(*values: int) -> tuple[ctypes.c_ulong, ...]:
    return tuple(ctypes.c_ulong(v) for v in values)


def build_filter(own_pid: int) -> list[tuple[int, int, int, int]]:
    """The BPF program as (code, jump-if-true, jump-if-false, constant) instructions."""
    checks = [(nr, "self") for nr in SIGNAL_CALLS.values()] + [(nr, "deny") for nr in DENIED_CALLS.values()]
    head = 5  # the instructions before the per-call checks
    after_checks = head + len(checks)
    allow, self_check = after_checks, after_checks + 1
    self_ok, deny = self_check + 5, self_check + 6
    program = [
        (LD_W_ABS, 0, 0, OFFSET_ARCH),
        (JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        (RET_K, 0, 0, RET_KILL_PROCESS),  # another ABI (i386 through int 0x80): never ours
        (LD_W_ABS, 0, 0, OFFSET_NR),
        (JGE_K, deny - 5, 0, X32_SYSCALL_BIT),
    ]
    for index, (nr, target) in enumerate(checks, start=head):
        program.append((JEQ_K, (self_check if target == "self" else deny) - index - 1, 0, nr))
    program += [
        (RET_K, 0, 0, RET_ALLOW),
        (LD_W_ABS, 0, 0, OFFSET_ARG0),
        (JEQ_K, self_ok - (self_check + 2), 0, own_pid),
        (JEQ_K, self_ok - (self_check + 3), 0, 0),  # kill(0, ...): its own process group, only itself
        (JEQ_K, self_ok - (self_check + 4), 0, (-own_pid) & 0xFFFFFFFF),
        (RET_K, 0, 0, RET_EPERM),
        (RET_K, 0, 0, RET_ALLOW),
        (RET_K, 0, 0, RET_EPERM),
    ]
    assert all(0 <= jt <= 255 for _, jt, _, _ in program)
    return program


def install(own_pid: int) -> None:
    """Install the filter on the calling process for good; raises OSError if it cannot."""
    program = build_filter(own_pid)
    raw = b"".join(struct.pack("<HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = _SockFprog(len(program), ctypes.addressof(buffer))
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, *_ulongs(1, 0, 0, 0)) != 0:
        raise _error("prctl(PR_SET_NO_NEW_PRIVS)")
    if _libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                   ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise _error("prctl(PR_SET_SECCOMP)")


def _error(what: str) -> OSError:
    errno = ctypes.get_errno()
    return OSError(errno, f"{what}: {os.strerror(errno)}")
