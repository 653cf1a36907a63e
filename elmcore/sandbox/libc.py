"""The C library through ctypes, for the sandbox modules: one handle, the prctl options
they use, and one way to turn a failed call into an ``OSError`` that names it."""

from __future__ import annotations

import ctypes
import os

PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.unshare.argtypes = [ctypes.c_int]
libc.prctl  # noqa: B018 - resolve the symbols before any fork, not in every child
libc.capset  # noqa: B018


def ulongs(*values: int) -> tuple[ctypes.c_ulong, ...]:
    """Arguments for variadic calls such as prctl, which read unsigned longs."""
    return tuple(ctypes.c_ulong(v) for v in values)


def prctl(option: int, *args: int) -> int:
    """prctl(option, args...) with the unused arguments 0; returns its result."""
    return libc.prctl(ctypes.c_int(option), *ulongs(*args, *(0,) * (4 - len(args))))


def error(what: str) -> OSError:
    """The OSError for the call ``what`` that just failed (from errno)."""
    errno = ctypes.get_errno()
    return OSError(errno, f"{what}: {os.strerror(errno)}")


def check(result: int, what: str) -> None:
    """Raise ``error(what)`` unless the call returned 0."""
    if result != 0:
        raise error(what)


_NO_NEW_PRIVS_ARGS = ulongs(1, 0, 0, 0)  # made once: a forked child allocates nothing to set it


def no_new_privs() -> None:
    """Set the calling process's no_new_privs bit, which Landlock and seccomp require;
    raises OSError if it cannot."""
    if libc.prctl(PR_SET_NO_NEW_PRIVS, *_NO_NEW_PRIVS_ARGS) != 0:
        raise error("prctl(PR_SET_NO_NEW_PRIVS)")
