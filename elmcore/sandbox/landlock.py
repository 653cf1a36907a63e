"""Landlock: an unprivileged kernel rule set that confines one process (and its children).

``restrict(writable_dir, readable)`` lets the calling process write, create, rename and
delete only beneath ``writable_dir``, and read and execute only beneath it and the paths
``readable`` (directories, or single files); with no ``readable`` paths, reading stays
governed by file permissions alone. Where the kernel
supports it (Landlock ABI 4+) TCP bind/connect are refused, and (ABI 6+) the process may
not signal processes outside its own rule set nor reach abstract UNIX sockets outside it.
It needs no root and costs a few system calls. ``abi()`` is 0 when Landlock is missing.
"""

from __future__ import annotations

import ctypes
import os
import stat

from elmcore.sandbox.libc import error, libc, no_new_privs

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on every architecture
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
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

READ_DIRECTORY = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
READ_FILE_ONLY = FS_EXECUTE | FS_READ_FILE
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


def create_ruleset(writable_dir: str, readable: tuple[str, ...] | list[str] = ()) -> int:
    """A rule set (a file descriptor) that allows writing only beneath ``writable_dir`` and,
    when ``readable`` is given, reading only beneath it and those paths (a path that does
    not exist is skipped). Made once in a parent, it can be enforced by each forked child
    with ``enforce``."""
    version = abi()
    if version < 1:
        raise OSError(38, "Landlock is not available in this kernel")
    rights = write_rights(version) | (READ_DIRECTORY if readable else 0)
    attr = _RulesetAttr(handled_access_fs=rights,
                        handled_access_net=NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
                        scoped=SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24
    ruleset = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise error("landlock_create_ruleset")
    try:
        _add_rule(ruleset, writable_dir, rights, os.O_DIRECTORY)
        for path in readable:
            try:
                _add_rule(ruleset, path, None, 0)
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue  # nothing there to read (or not for us): nothing to allow
    except OSError:
        os.close(ruleset)
        raise
    return ruleset


def _add_rule(ruleset: int, path: str, rights: int | None, flags: int) -> None:
    """Allow ``rights`` beneath ``path`` (None: reading, as a directory or a single file)."""
    handle = os.open(path, os.O_PATH | os.O_CLOEXEC | flags)
    try:
        if rights is None:
            rights = READ_DIRECTORY if stat.S_ISDIR(os.fstat(handle).st_mode) else READ_FILE_ONLY
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=handle)
        if libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            raise error(f"landlock_add_rule {path}")
    finally:
        os.close(handle)


def enforce(ruleset: int) -> None:
    """Confine the calling process (and its future children) by ``ruleset``, for good."""
    no_new_privs()
    if libc.syscall(SYS_RESTRICT_SELF, ruleset, 0) != 0:
        raise error("landlock_restrict_self")


def restrict(writable_dir: str, readable: tuple[str, ...] | list[str] = ()) -> int:
    """Confine the calling process to writing beneath ``writable_dir`` (and reading beneath
    it and ``readable``, when given); returns the ABI used. Raises OSError if it cannot."""
    ruleset = create_ruleset(writable_dir, readable)
    try:
        enforce(ruleset)
    finally:
        os.close(ruleset)
    return abi()
