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

SANDBOX_UID_BASE = 2_000_000_000  # far above account uids and the usual subordinate-uid ranges
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3
CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


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
    if _libc.capset(ctypes.byref(header), data) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"capset: {os.strerror(errno)}")


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies; exit now if it already
    has (when ``parent_pid`` is given: a process whose parent is in another PID namespace
    sees 0 as its parent's pid)."""
    if _libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0), ctypes.c_ulong(0),
                   ctypes.c_ulong(0)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(0)


def hide_from_same_user() -> None:
    """Without root, programs run as this process's user: make this process non-dumpable so
    they cannot read its memory or environment through /proc (nor ptrace it)."""
    if os.geteuid() != 0 and _libc.prctl(PR_GET_DUMPABLE, *(ctypes.c_ulong(0),) * 4) != 0:
        _libc.prctl(PR_SET_DUMPABLE, *(ctypes.c_ulong(a) for a in (0, 0, 0, 0)))
