"""A seccomp system-call filter for sandboxed programs (x86-64 Linux).

``install(own_pid)`` makes the kernel refuse, with EPERM, the calls a program has no
business making: starting processes or threads, signalling or tracing any process but
itself, changing the limits, priority, CPUs or scheduling of any process but itself,
opening sockets of any family or giving the sockets of a ``socketpair`` an address
(``connect``, ``bind``, ``sendto`` with a destination, ``sendmsg``/``sendmmsg``: no
datagram to a path-named socket, no descriptor passed in flight), anonymous memory files
(``memfd_create``, ``memfd_secret``: memory outside the address-space limit),
creating namespaces or mounts, creating kernel keys or
System V / POSIX IPC objects (they outlive the process), the eBPF, perf, userfaultfd and
io_uring interfaces, giving up its parent-death signal or becoming dumpable again
(``prctl``), asking for signals on a descriptor's I/O (``F_SETOWN``/``F_SETSIG``) and
every terminal ioctl but the read-only ones (echo, keystroke injection, flow control).
Everything else is allowed. The filter is built
here as a classic BPF program, so it needs no library; on other architectures
``available()`` is False and the sandbox relies on its other layers.
"""

from __future__ import annotations

import ctypes
import platform
import struct
from typing import Any

from elmcore.sandbox.libc import (PR_GET_SECCOMP, PR_SET_DUMPABLE, PR_SET_PDEATHSIG, PR_SET_SECCOMP, error, libc,
                                  no_new_privs, prctl)

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
SECCOMP_MODE_FILTER = 2
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_EPERM = 0x00050000 | 1
LD_W_ABS, JEQ_K, JGE_K, AND_K, RET_K = 0x20, 0x15, 0x35, 0x54, 0x06
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0, OFFSET_ARG1 = 0, 4, 16, 24  # struct seccomp_data; low words (little-endian)
OFFSET_ARG4, OFFSET_ARG4_HIGH = 48, 52

# calls allowed only when their first argument names the caller itself (or its own group)
SIGNAL_CALLS = {"kill": 62, "rt_sigqueueinfo": 129, "tkill": 200, "tgkill": 234, "rt_tgsigqueueinfo": 297}
# calls allowed only when their first argument is 0 or the caller's pid (itself)
OWN_PID_CALLS = {"sched_setparam": 142, "sched_setscheduler": 144, "sched_setaffinity": 203,
                 "migrate_pages": 256, "move_pages": 279, "prlimit64": 302, "sched_setattr": 314}
# calls allowed only as (PRIO_PROCESS / IOPRIO_WHO_PROCESS, 0 or the caller's pid)
WHICH_WHO_CALLS = {"setpriority": (141, 0), "ioprio_set": (251, 1)}
# calls allowed only without a destination address (fifth argument NULL): ``send`` on a
# socket of a ``socketpair``, never a datagram to a path-named socket of the host
NO_DESTINATION_CALLS = {"sendto": 44}
PRCTL = 157
DENIED_PRCTL = {"PR_SET_PDEATHSIG": PR_SET_PDEATHSIG, "PR_SET_DUMPABLE": PR_SET_DUMPABLE,
                "PR_SET_CHILD_SUBREAPER": 36, "PR_SET_PTRACER": 0x59616D61}
FCNTL = 72
DENIED_FCNTL = {"F_SETOWN": 8, "F_SETSIG": 10, "F_SETOWN_EX": 15}
IOCTL = 16
DENIED_IOCTL = {"FIOSETOWN": 0x8901, "SIOCSPGRP": 0x8902}
TTY_IOCTL_TYPE = 0x5400  # ('T' << 8): every terminal ioctl is refused but these, which only read
TTY_IOCTL_ALLOWED = {"TCGETS": 0x5401, "TCGETA": 0x5405, "TIOCGPGRP": 0x540F, "TIOCOUTQ": 0x5411,
                     "TIOCGWINSZ": 0x5413, "FIONREAD": 0x541B, "FIONBIO": 0x5421, "TIOCGETD": 0x5424,
                     "TIOCGSID": 0x5429, "FIONCLEX": 0x5450, "FIOCLEX": 0x5451}
DENIED_CALLS = {
    "clone": 56, "fork": 57, "vfork": 58, "clone3": 435,
    "pidfd_send_signal": 424, "pidfd_open": 434, "pidfd_getfd": 438,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "socket": 41, "connect": 42, "bind": 49, "sendmsg": 46, "sendmmsg": 307,
    "memfd_create": 319, "memfd_secret": 447,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442,
    "add_key": 248, "request_key": 249, "keyctl": 250, "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240,
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
}

class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def available() -> bool:
    """Whether this machine can take the filter (x86-64 with seccomp filtering)."""
    return platform.machine() == "x86_64" and prctl(PR_GET_SECCOMP) >= 0


Instruction = tuple[int, int, int, int]  # (code, jump-if-true, jump-if-false, constant)


def build_filter(own_pid: int) -> list[Instruction]:
    """The BPF program. The calls it treats specially are found by a binary search on the
    call number, so every call takes a handful of comparisons (the kernel also runs the
    filter for every call number once when it is installed, to cache the constant verdicts)."""
    special = [(nr, "self") for nr in SIGNAL_CALLS.values()] + [(nr, "deny") for nr in DENIED_CALLS.values()]
    special += [(nr, "own_pid") for nr in OWN_PID_CALLS.values()]
    special += [(nr, f"which_{which}") for nr, which in WHICH_WHO_CALLS.values()]
    special += [(nr, "no_destination") for nr in NO_DESTINATION_CALLS.values()]
    special += [(PRCTL, "prctl"), (FCNTL, "fcntl"), (IOCTL, "ioctl")]
    me, minus_me = own_pid, (-own_pid) & 0xFFFFFFFF
    code: list[tuple[Any, ...]] = [  # instructions with symbolic jump targets, and ("label", name)
        ("op", LD_W_ABS, 0, 0, OFFSET_ARCH),
        ("op", JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        ("op", RET_K, 0, 0, RET_KILL_PROCESS),  # another ABI (i386 through int 0x80): never ours
        ("op", LD_W_ABS, 0, 0, OFFSET_NR),
        ("op", JGE_K, "deny", 0, X32_SYSCALL_BIT),
    ]
    _search(sorted(special), code, "root")
    for which in sorted({which for _, which in WHICH_WHO_CALLS.values()}):
        code += [("label", f"which_{which}"), ("op", LD_W_ABS, 0, 0, OFFSET_ARG0),
                 ("op", JEQ_K, 0, "deny", which), ("op", LD_W_ABS, 0, 0, OFFSET_ARG1),
                 ("op", JEQ_K, "allow", 0, me), ("op", JEQ_K, "allow", "deny", 0)]
    code += [("label", "no_destination"), ("op", LD_W_ABS, 0, 0, OFFSET_ARG4), ("op", JEQ_K, 0, "deny", 0),
             ("op", LD_W_ABS, 0, 0, OFFSET_ARG4_HIGH), ("op", JEQ_K, "allow", "deny", 0)]
    code += [("label", "prctl"), ("op", LD_W_ABS, 0, 0, OFFSET_ARG0)]
    code += [("op", JEQ_K, "deny", 0, option) for option in DENIED_PRCTL.values()]
    code += [("op", RET_K, 0, 0, RET_ALLOW), ("label", "fcntl"), ("op", LD_W_ABS, 0, 0, OFFSET_ARG1)]
    code += [("op", JEQ_K, "deny", 0, command) for command in DENIED_FCNTL.values()]
    code += [("op", RET_K, 0, 0, RET_ALLOW), ("label", "ioctl"), ("op", LD_W_ABS, 0, 0, OFFSET_ARG1)]
    code += [("op", JEQ_K, "deny", 0, command) for command in DENIED_IOCTL.values()]
    code += [("op", AND_K, 0, 0, 0xFF00), ("op", JEQ_K, 0, "allow", TTY_IOCTL_TYPE),
             ("op", LD_W_ABS, 0, 0, OFFSET_ARG1)]
    code += [("op", JEQ_K, "allow", 0, command) for command in TTY_IOCTL_ALLOWED.values()]
    code += [
        ("op", JGE_K, "deny", "deny", 0),
        ("label", "own_pid"),
        ("op", LD_W_ABS, 0, 0, OFFSET_ARG0),
        ("op", JEQ_K, "allow", 0, me),
        ("op", JEQ_K, "allow", "deny", 0),
        ("label", "self"),
        ("op", LD_W_ABS, 0, 0, OFFSET_ARG0),
        ("op", JEQ_K, "allow", 0, me),
        ("op", JEQ_K, "allow", 0, 0),  # kill(0, ...): its own process group, only itself
        ("op", JEQ_K, "allow", 0, minus_me),
        ("label", "deny"),
        ("op", RET_K, 0, 0, RET_EPERM),
        ("label", "allow"),
        ("op", RET_K, 0, 0, RET_ALLOW),
    ]
    return _resolve(code)


def _search(calls: list[tuple[int, str]], code: list[tuple[Any, ...]], name: str) -> None:
    """Emit a search over ``calls`` (sorted): equal to one of them -> its target, else allow."""
    if len(calls) <= 3:
        for nr, target in calls:
            code.append(("op", JEQ_K, target, 0, nr))
        code.append(("op", RET_K, 0, 0, RET_ALLOW))
        return
    middle = len(calls) // 2
    code.append(("op", JGE_K, f"{name}>", 0, calls[middle][0]))
    _search(calls[:middle], code, name + "<")
    code.append(("label", f"{name}>"))
    _search(calls[middle:], code, name + ">")


def _resolve(code: list[tuple[Any, ...]]) -> list[Instruction]:
    labels: dict[str, int] = {}
    position = 0
    for entry in code:
        if entry[0] == "label":
            labels[entry[1]] = position
        else:
            position += 1
    program: list[Instruction] = []
    for entry in code:
        if entry[0] == "label":
            continue
        _, op, jt, jf, k = entry
        here = len(program) + 1
        jt = labels[jt] - here if isinstance(jt, str) else jt
        jf = labels[jf] - here if isinstance(jf, str) else jf
        assert 0 <= jt <= 255 and 0 <= jf <= 255, "BPF jumps are forward and at most 255"
        program.append((op, jt, jf, k))
    return program


class PreparedFilter:
    """The filter packed once in the parent, so the child only patches in its pid and
    makes two prctl calls (fork's copy-on-write makes every Python object a child touches
    cost a page copy)."""

    _PLACEHOLDER = 0x7FFFFFF0

    def __init__(self) -> None:
        program = build_filter(self._PLACEHOLDER)
        self._buffer = ctypes.create_string_buffer(b"".join(struct.pack("<HBBI", *i) for i in program))
        self._pid_words = [8 * n + 4 for n, (_, _, _, k) in enumerate(program) if k == self._PLACEHOLDER]
        self._minus_words = [8 * n + 4 for n, (_, _, _, k) in enumerate(program)
                             if k == (-self._PLACEHOLDER) & 0xFFFFFFFF]
        self._fprog = _SockFprog(len(program), ctypes.addressof(self._buffer))
        self._args = (ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(self._fprog), ctypes.c_ulong(0),
                      ctypes.c_ulong(0))

    def install(self, own_pid: int) -> None:
        """Install on the calling process for good; raises OSError if it cannot."""
        for offset in self._pid_words:
            struct.pack_into("<I", self._buffer, offset, own_pid)
        for offset in self._minus_words:
            struct.pack_into("<I", self._buffer, offset, (-own_pid) & 0xFFFFFFFF)
        no_new_privs()
        if libc.prctl(PR_SET_SECCOMP, *self._args) != 0:
            raise error("prctl(PR_SET_SECCOMP)")


_PREPARED: list[PreparedFilter] = []


def prepared() -> PreparedFilter:
    """This process's packed filter (made on first use: call it before forking)."""
    if not _PREPARED:
        _PREPARED.append(PreparedFilter())
    return _PREPARED[0]


def install(own_pid: int) -> None:
    """Install the filter on the calling process for good; raises OSError if it cannot."""
    prepared().install(own_pid)
