"""Landlock: an unprivileged kernel rule set that confines one process (and its children).

``restrict(writable_dir)`` lets the calling process write, create, rename and delete only
beneath ``writable_dir``; reading stays governed by file permissions. Where the kernel
supports it (Landlock ABI 4+) TCP bind/connect are refused, and (ABI 6+) the process may
not signal processes outside its own rule set nor reach abstract UNIX sockets outside it.
It needs no root and costs a few system calls. ``abi()`` is 0 when Landlock is missing.
"""

from __future__ import annotations

import ctypes
import os

from elmcore.sandbox.libc import error, libc, no_new_privs

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on every architecture
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

FS_WRITE_FILE = 1 << 1
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_WRITES = (FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR | FS_MAKE_REG
           | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM)



class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_ABI: list[int] = []


def abi() -> int:
    """The Landlock ABI version the kernel offers (0: none)."""
    if not _ABI:
        version = libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION)
        _ABI.append(max(0, int(version)))
    return _ABI[0]


def write_rights(version: int) -> int:
    rights = _WRITES
    if version >= 2:
        rights |= FS_REFER
    if version >= 3:
        rights |= FS_TRUNCATE
    return rights


def create_ruleset(writable_dir: str) -> int:
    """A rule set (a file descriptor) that allows writing only beneath ``writable_dir``.
    Made once in a parent, it can be enforced by each forked child with ``enforce``."""
    version = abi()
    if version < 1:
        raise OSError(38, "Landlock is not available in this kernel")
    rights = write_rights(version)
    attr = _RulesetAttr(handled_access_fs=rights,
                        handled_access_net=NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
                        scoped=SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24
    ruleset = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise error("landlock_create_ruleset")
    try:
        directory = os.open(writable_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            rule = _PathBeneathAttr(allowed_access=rights, parent_fd=directory)
            if libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                raise error("landlock_add_rule")
        finally:
            os.close(directory)
    except OSError:
        os.close(ruleset)
        raise
    return ruleset


def enforce(ruleset: int) -> None:
    """Confine the calling process (and its future children) by ``ruleset``, for good."""
    no_new_privs()
    if libc.syscall(SYS_RESTRICT_SELF, ruleset, 0) != 0:
        raise error("landlock_restrict_self")


def restrict(writable_dir: str) -> int:
    """Confine the calling process to writing beneath ``writable_dir``; returns the ABI used.
    Raises OSError if it cannot."""
    ruleset = create_ruleset(writable_dir)
    try:
        enforce(ruleset)
    finally:
        os.close(ruleset)
    return abi()
