"""Who a sandboxed program runs as, and what ties it to its parent.

As root, every forking process gets its own unprivileged uid for its children,
``SANDBOX_UID_BASE + its pid``: unique among live processes, owning no file, in no group.
Two workers' programs therefore cannot signal, trace or read each other, and a uid limit
of zero processes (RLIMIT_NPROC) means a program cannot start any. Without root the
program keeps the caller's uid and loses every capability.
"""

from __future__ import annotations

import ctypes
import os
import signal

from elmcore.sandbox.libc import PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_PDEATHSIG, check, error, libc, prctl, ulongs

SANDBOX_UID_BASE = 2_000_000_000  # far above account uids and the usual subordinate-uid ranges
CAPABILITY_VERSION_3 = 0x20080522



class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def sandbox_uid(forking_pid: int) -> int:
    """The uid the children of process ``forking_pid`` run as when it is root."""
    return SANDBOX_UID_BASE + forking_pid


def become(uid: int) -> None:
    """Root only: switch to ``uid``/gid ``uid`` with no supplementary groups (drops all capabilities)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def drop_capabilities() -> None:
    """Clear every capability (those of a user namespace included)."""
    header = _CapHeader(CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    check(libc.capset(ctypes.byref(header), data), "capset")


_PDEATHSIG_ARGS = ulongs(signal.SIGKILL, 0, 0, 0)  # made once: a forked child only makes the call


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies; exit now if it already
    has (when ``parent_pid`` is given: a process whose parent is in another PID namespace
    sees 0 as its parent's pid)."""
    if libc.prctl(PR_SET_PDEATHSIG, *_PDEATHSIG_ARGS) != 0:
        raise error("prctl(PR_SET_PDEATHSIG)")
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(0)


def hide_from_same_user() -> None:
    """Without root, programs run as this process's user: make this process non-dumpable so
    they cannot read its memory or environment through /proc (nor ptrace it)."""
    if os.geteuid() != 0 and prctl(PR_GET_DUMPABLE) != 0:
        prctl(PR_SET_DUMPABLE, 0)
