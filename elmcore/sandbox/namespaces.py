"""Moves an evaluation worker into its own network, mount and IPC namespaces, once, at start.

After ``isolate_worker()`` the worker and every sandbox child it forks see: no network
(an empty network namespace: not even loopback is up), the host filesystem read-only,
and fresh private tmpfs mounts on /tmp, /var/tmp and /dev/shm that no other process
sees and that the worker wipes after each program. System V / POSIX IPC objects live in
a private IPC namespace whose limits are set to zero. Root does this directly; another
user does it inside a new user namespace when the kernel allows unprivileged ones.
Anything that cannot be done is reported in ``Isolation.missing``, never raised: the
per-program limits (elmcore.sandbox.forker) still apply.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import Any

from elmcore.sandbox.libc import check, libc

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added in Linux 5.12)

PRIVATE_DIRS = ("/dev/shm", "/tmp", "/var/tmp")  # the first one that exists holds the scratch dirs
IPC_LIMITS = {"/proc/sys/kernel/shmmni": "0", "/proc/sys/kernel/msgmni": "0",
              "/proc/sys/kernel/sem": "0 0 0 0", "/proc/sys/fs/mqueue/queues_max": "0"}
_MOUNT_OPTION_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                       "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}


@dataclass(frozen=True)
class Isolation:
    """What ``isolate_worker`` achieved in this process."""

    network: bool = False  # own empty network namespace
    filesystem: bool = False  # host read-only, private tmpfs on PRIVATE_DIRS
    ipc: bool = False  # own IPC namespace
    pid: bool = False  # the next process started (the forker) is the first of a PID namespace of its own
    user_namespace: bool = False  # unprivileged: children must drop the namespace's capabilities
    private_dirs: tuple[str, ...] = ()
    missing: tuple[str, ...] = field(default_factory=tuple)  # one line per thing that could not be done

    def describe(self) -> str:
        parts = [name for name, ok in (("network", self.network), ("filesystem", self.filesystem),
                                       ("ipc", self.ipc), ("pid", self.pid)) if ok]
        how = " (user namespace)" if self.user_namespace else ""
        text = f"namespaces: {', '.join(parts) or 'none'}{how}"
        return text + (f"; missing: {'; '.join(self.missing)}" if self.missing else "")




class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(text)


def _enter_namespaces() -> tuple[bool, str | None]:
    """unshare net+mount+ipc+pid (with a user namespace when not root); (user_namespace, error)."""
    flags = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID
    if os.geteuid() == 0:
        try:
            check(libc.unshare(flags), "unshare")
            return False, None
        except OSError as exc:
            root_error = str(exc)
    else:
        root_error = None
    uid, gid = os.geteuid(), os.getegid()
    try:
        check(libc.unshare(flags | CLONE_NEWUSER), "unshare with a user namespace")
    except OSError as exc:
        return False, root_error or (f"{exc} (unprivileged user namespaces are disabled; "
                                     "run as root or allow them: sysctl kernel.unprivileged_userns_clone=1)")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    return True, None


def _make_host_read_only() -> None:
    attr = _MountAttr(attr_set=MOUNT_ATTR_RDONLY)
    result = libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr),
                           ctypes.c_size_t(ctypes.sizeof(attr)))
    if result == 0:
        return
    if ctypes.get_errno() != 38:  # not ENOSYS: a real refusal
        check(result, "mount_setattr / read-only")
    for target, options in _mount_points():  # kernels before 5.12: one remount per mount point
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        for option in options:
            flags |= _MOUNT_OPTION_FLAGS.get(option, 0)
        _mount(None, target, None, flags)


def _mount_points() -> list[tuple[str, list[str]]]:
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            fields = line.split()
            target = fields[4].encode().decode("unicode_escape")  # \040 etc. in names
            points.append((target, fields[5].split(",")))
    return points


def _is_within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _paths_in_use() -> set[str]:
    """Where this process's code and data come from: the import path, the interpreter's
    prefixes, the working directory and the folders of every loaded module (editable
    installs map packages to their source folders without a sys.path entry)."""
    paths = {os.path.realpath(p) for p in sys.path if p}
    paths |= {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.getcwd())}
    for module in list(sys.modules.values()):
        try:  # some modules answer attribute lookups with objects of their own (torch._classes)
            locations = [getattr(module, "__file__", None)]
            search: Any = getattr(module, "__path__", None)
            if isinstance(search, (list, tuple)) or type(search).__name__ == "_NamespacePath":
                locations.extend(search)
        except Exception:
            continue
        paths.update(os.path.realpath(p) for p in locations if isinstance(p, str) and p.startswith("/"))
    return paths


def isolate_worker(tmpfs_mb: int = 256) -> Isolation:
    """Put this (single-threaded, just started) process into private namespaces."""
    missing: list[str] = []
    user_ns, error = _enter_namespaces()
    if error is not None:
        return Isolation(missing=(f"no namespaces: {error}",))
    if not user_ns:  # inside a user namespace these stay the host's; the syscall filter refuses IPC objects
        for path, value in IPC_LIMITS.items():
            try:
                _write(path, value)
            except OSError as exc:
                missing.append(f"IPC limit {path}: {exc.strerror}")
    filesystem = True
    private: list[str] = []
    try:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _make_host_read_only()
        needed = _paths_in_use()
        for target in PRIVATE_DIRS:
            if not os.path.isdir(target):
                continue
            if any(_is_within(path, target) for path in needed):
                # the installation (a venv, a checkout) lives here: covering it would hide the
                # domain's own files; writes here are still refused by Landlock and the uid
                missing.append(f"private {target}: left visible, the installation lives under it")
                continue
            _mount("elm-private", target, "tmpfs", MS_NOSUID | MS_NODEV,
                   f"size={tmpfs_mb}m,nr_inodes=16384,mode=1777")
            private.append(target)
    except OSError as exc:
        filesystem = False
        missing.append(f"private filesystem: {exc}")
    return Isolation(network=True, filesystem=filesystem and bool(private), ipc=True, pid=True, user_namespace=user_ns,
                     private_dirs=tuple(private), missing=tuple(missing))


def wipe(directories: tuple[str, ...], keep: str | None = None) -> None:
    """Remove everything in the private tmpfs mounts (what a program left behind), and
    their extended attributes and modes; the directory ``keep`` stays, emptied and without
    extended attributes."""
    for directory in directories:
        kept = os.path.basename(keep) if keep and os.path.dirname(keep) == directory else None
        empty_directory(directory, keep=kept)
        clear_xattrs(directory)
        if kept:
            clear_xattrs(keep)  # type: ignore[arg-type]
        try:
            os.chmod(directory, 0o1777)
        except OSError:
            pass


def remove_tree(path: str) -> None:
    """Remove directory ``path`` and everything beneath it, however deep."""
    _quietly(os.chmod, path, 0o700, follow_symlinks=False)
    empty_directory(path)
    _quietly(os.rmdir, path)


def empty_directory(path: str, keep: str | None = None) -> None:
    """Remove everything beneath directory ``path`` whatever its depth and modes, without
    recursion: every directory below the first level is first moved up into ``path``, so
    no path grows long and nothing nests. ``keep``: the name of a subdirectory to empty
    but leave in place."""
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        pending: list[str] = []
        for entry in _entries(top):
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.name)
            else:
                _quietly(os.unlink, entry.name, dir_fd=top)
        while pending:
            name = pending.pop()
            if _open_and_empty(top, name, pending) and name != keep:
                _quietly(os.rmdir, name, dir_fd=top)
    finally:
        os.close(top)


def _open_and_empty(top: int, name: str, pending: list[str]) -> bool:
    """Unlink the files of directory ``name`` (in ``top``) and move its subdirectories up into
    ``top``, adding them to ``pending``."""
    try:
        if not stat.S_ISDIR(os.stat(name, dir_fd=top, follow_symlinks=False).st_mode):
            _quietly(os.unlink, name, dir_fd=top)
            return False
        os.chmod(name, 0o700, dir_fd=top)  # a directory: the mode of the thing itself
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
    except OSError:
        return False
    try:
        while True:
            entries = _entries(fd)
            if not entries:
                return True
            progress = False
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    target = _free_name(top)
                    _quietly(os.chmod, entry.name, 0o700, dir_fd=fd)  # moving a directory writes its ".."
                    if _quietly(os.rename, entry.name, target, src_dir_fd=fd, dst_dir_fd=top):
                        pending.append(target)
                        progress = True
                else:
                    progress |= _quietly(os.unlink, entry.name, dir_fd=fd)
            if not progress:
                return True
    finally:
        os.close(fd)


_MOVED = [0]


def _free_name(top: int) -> str:
    while True:
        _MOVED[0] += 1
        name = f".elm-wipe-{_MOVED[0]}"
        try:
            os.stat(name, dir_fd=top, follow_symlinks=False)
        except FileNotFoundError:
            return name
        except OSError:
            continue


def _entries(fd: int) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(fd) as it:
            return list(it)
    except OSError:
        return []


def _quietly(call: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        call(*args, **kwargs)
        return True
    except OSError:
        return False


def clear_xattrs(path: str) -> None:
    """Remove every extended attribute (user.*, POSIX ACLs...) of ``path``: a program could
    otherwise leave data there for the next one."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        _quietly(os.removexattr, path, name, follow_symlinks=False)
