"""A catalogue of hostile and broken programs for the parity and Sodarace domains.

Each program is a ``string.Template``: ``$marker`` (a file name no one else uses),
``$canary_dir`` (a world-writable directory every user can reach), ``$victim`` (a
world-writable file in it), ``$store`` (a run store created by ``RunStore.create``),
``$home_file`` (a file in the engine user's home), ``$engine_pid``, ``$engine_cwd``,
``$tcp_port``/``$udp_port`` (servers on 127.0.0.1), ``$abstract`` (an abstract UNIX
socket name) and ``$dgram_socket`` (a path-named UNIX datagram socket every user may send
to), ``$own_home``, ``$own_secret`` and ``$own_store`` (a folder of the engine's own
user, a 0600 file and a run store in it) are filled in by the tests. ``expect`` lists the acceptable outcomes and
``reason`` a regular expression the recorded reason must match; ``needs`` names sandbox
layers without which the expected outcome may differ (the "nothing escapes" checks
always apply).
"""

from __future__ import annotations

from dataclasses import dataclass

PARITY_OK = "\n\ndef parity(b1, b2, b3, b4):\n    return (b1 + b2 + b3 + b4) % 2\n"
WALKER_HEAD = "from walk_creator import walker_creator\n\n"
SQUARE = """
def square():
    wc = walker_creator()
    a, b, c, d = wc.add_joint(0, 0), wc.add_joint(0, 10), wc.add_joint(10, 10), wc.add_joint(10, 0)
    for i, j in ((a, b), (b, c), (c, d), (d, a)):
        wc.add_muscle(i, j)
    wc.add_muscle(a, c, False, 2.0, 0.0)
    wc.add_muscle(b, d, False, 2.0, 3.14)
    return wc
"""


@dataclass(frozen=True)
class Hostile:
    name: str
    domain: str  # "parity" or "sodarace"
    code: str
    expect: tuple[str, ...]  # acceptable outcome values
    reason: str  # regular expression for the reason ("" for valid outcomes)
    needs: tuple[str, ...] = ()  # "landlock", "seccomp", "namespaces", "root"


def parity(name: str, hostile: str, expect: tuple[str, ...] = ("not_runnable",), reason: str = "",
           needs: tuple[str, ...] = ()) -> Hostile:
    """Hostile code at module level, then a correct parity function."""
    return Hostile(name, "parity", hostile.strip("\n") + PARITY_OK, expect, reason, needs)


def walker(name: str, body: str, expect: tuple[str, ...] = ("not_runnable",), reason: str = "",
           needs: tuple[str, ...] = ()) -> Hostile:
    """``body`` is the (4-space indented) inside of make_walker()."""
    return Hostile(name, "sodarace", WALKER_HEAD + SQUARE + "\n\ndef make_walker():\n" + body, expect, reason, needs)


DENIED = r"PermissionError|Operation not permitted|Permission denied|Read-only file system"
NO_PROCESS = DENIED + "|Resource temporarily unavailable"  # seccomp says EPERM, RLIMIT_NPROC EAGAIN
WRITE_TARGETS = {"tmp": "/tmp", "var_tmp": "/var/tmp", "dev_shm": "/dev/shm", "canary_dir": "$canary_dir",
                 "engine_cwd": "$engine_cwd"}

PARITY_PROGRAMS = [
    parity("infinite_loop", "while True:\n    pass", reason="timeout"),
    parity("loop_ignoring_signals", """
import signal
for sig in signal.valid_signals():
    try:
        signal.signal(sig, signal.SIG_IGN)
    except (OSError, ValueError, RuntimeError):
        pass
while True:
    try:
        while True:
            pass
    except BaseException:
        pass""", reason="timeout"),
    parity("sigterm_handler_and_sleep", """
import signal, time
def refuse(signum, frame):
    while True:
        time.sleep(1)
signal.signal(signal.SIGTERM, refuse)
signal.signal(signal.SIGXCPU, refuse)
time.sleep(10_000)""", reason="timeout"),
    parity("fork_bomb", "import os\nwhile True:\n    os.fork()", reason=NO_PROCESS),
    parity("setsid_grandchild", """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(10_000)
    os._exit(0)""", reason=NO_PROCESS),
    parity("posix_spawn_sleep", "import os\nos.posix_spawn('/bin/sleep', ['sleep', '1000'], {})", reason=NO_PROCESS),
    parity("thread_bomb", "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(1000,)).start()",
           reason="can't start new thread"),
    parity("memory_bomb", "block = bytearray(64 * 1024 ** 3)", reason="MemoryError"),
    parity("memory_bomb_gradual", "hoard = []\nwhile True:\n    hoard.append(bytearray(50 * 1024 ** 2))",
           reason="MemoryError|timeout"),  # touching 512 MB may take longer than the 1 s timeout
    parity("memory_bomb_list", "cells = [0] * (10 ** 10)", reason="MemoryError"),
    parity("deep_recursion", "def down(n):\n    return down(n + 1)\ndown(0)", reason="RecursionError"),
    parity("recursion_limit_raised", "import sys\nsys.setrecursionlimit(10 ** 8)\ndef down(n):\n    return down(n + 1)\n"
           "down(0)", reason="segmentation fault|RecursionError|MemoryError|killed|timeout"),
    parity("megabytes_to_stdout", "import os, sys\nfor _ in range(20):\n    print('x' * 1_000_000)\n"
           "    os.write(2, b'y' * 1_000_000)", expect=("valid",)),
    parity("megabytes_into_every_fd", """
import os
for fd in range(3, 64):
    try:
        os.write(fd, b'[' * 5_000_000)
    except OSError:
        pass
os._exit(0)""", reason="output too large|garbage output|exited with status"),
    *[parity(f"write_{key}", f"open('{target}/$marker', 'w').write('escaped')", reason=DENIED + "|No such file",
             needs=("landlock",)) for key, target in WRITE_TARGETS.items()],
    parity("write_victim_file", "open('$victim', 'a').write('escaped')", reason=DENIED, needs=("landlock",)),
    parity("delete_victim_file", "import os\nos.remove('$victim')", reason=DENIED, needs=("landlock",)),
    parity("rename_victim_file", "import os\nos.rename('$victim', '$canary_dir/$marker')", reason=DENIED,
           needs=("landlock",)),
    parity("symlink_out_of_scratch", "import os\nos.symlink('$canary_dir', 'out')\nopen('out/$marker', 'w').write('x')",
           reason=DENIED, needs=("landlock",)),
    parity("fill_scratch_tmpfs", """
import os
for n in range(100_000):
    with open(f'fill{n}', 'wb') as fh:
        fh.write(b'\\0' * (15 * 1024 * 1024))""", reason="No space left|File too large|MemoryError|Disk quota",
           needs=("namespaces",)),
    parity("read_run_store", "data = open('$store', 'rb').read(100)", reason=DENIED + "|No such file"),
    parity("read_home_file", "data = open('$home_file').read()", reason=DENIED + "|No such file", needs=("root",)),
    # the engine user's own files: closed by the uid (root) or by Landlock's read rules (not root)
    parity("read_own_run_store", "data = open('$own_store', 'rb').read(100)", reason=DENIED, needs=("landlock",)),
    parity("read_own_secret", "data = open('$own_secret').read()", reason=DENIED, needs=("landlock",)),
    parity("list_own_home", "import os\nnames = os.listdir('$own_home')", reason=DENIED, needs=("landlock",)),
    parity("read_own_secret_through_proc_root", "data = open('/proc/self/root$own_secret').read()", reason=DENIED,
           needs=("landlock",)),
    parity("read_engine_environ", "data = open('/proc/$engine_pid/environ', 'rb').read()", reason=DENIED),
    parity("read_worker_environ", "import os\ndata = open(f'/proc/{os.getppid()}/environ', 'rb').read()",
           reason=DENIED),
    parity("read_engine_memory", "import os\nfh = open('/proc/$engine_pid/mem', 'rb')", reason=DENIED),
    parity("engine_secret_in_environment", "import os\nif 'ELM_HOSTILE_SECRET' in str(dict(os.environ)):\n"
           "    raise RuntimeError('LEAKED the engine environment')", expect=("valid",)),
    # the canary ELM_HOSTILE_SECRET=<10 hex digits> is in the engine's environment; the needle
    # is put together at run time, so the program's own text does not contain it
    parity("secret_in_own_memory", """
import ctypes, re
pattern = re.compile(re.escape(b'ELM_HOSTILE_' + b'SECRET=') + rb'[0-9a-f]{10}')
with open('/proc/self/maps') as fh:
    regions = [line.split() for line in fh]
found = scanned = 0
for fields in regions:
    if not fields[1].startswith('rw'):  # the stack (exec-time environment), heap, data: what the process wrote
        continue
    start, end = (int(x, 16) for x in fields[0].split('-'))
    data = ctypes.string_at(start, end - start)
    scanned += len(data)
    found += len(pattern.findall(data))
if found or scanned < 1 << 20:
    raise RuntimeError(f'LEAKED the engine environment {found} times in its own memory ({scanned} bytes)')""",
           expect=("valid",)),
    parity("secret_in_environ_after_dumpable", """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
refused = libc.prctl(4, 1, 0, 0, 0) != 0
try:
    data = open('/proc/self/environ', 'rb').read()
except OSError:
    data = b''
if b'ELM_HOSTILE_' + b'SECRET' in data:
    raise RuntimeError('LEAKED the engine environment through /proc/self/environ')
if refused:
    raise PermissionError(ctypes.get_errno(), 'prctl(PR_SET_DUMPABLE) refused')""", reason=DENIED,
           needs=("seccomp",)),
    parity("clear_parent_death_signal", """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(1, 0, 0, 0, 0) != 0 or libc.prctl(36, 1, 0, 0, 0) != 0:
    raise PermissionError(ctypes.get_errno(), 'prctl refused')""", reason=DENIED, needs=("seccomp",)),
    parity("prlimit_engine", "import os, resource\nresource.prlimit($engine_pid, resource.RLIMIT_NOFILE, (3, 3))",
           reason=DENIED, needs=("seccomp",)),
    parity("prlimit_worker", "import os, resource\nresource.prlimit(os.getppid(), resource.RLIMIT_AS, (1, 1))",
           reason=DENIED, needs=("seccomp",)),
    parity("renice_engine", "import os\nos.setpriority(os.PRIO_PROCESS, $engine_pid, 19)", reason=DENIED,
           needs=("seccomp",)),
    parity("renice_every_process_of_the_user", "import os\nos.setpriority(os.PRIO_USER, 0, 19)", reason=DENIED,
           needs=("seccomp",)),
    parity("pin_engine_cpus", "import os\nos.sched_setaffinity($engine_pid, {0})", reason=DENIED,
           needs=("seccomp",)),
    parity("scheduler_of_worker", "import os\nos.sched_setscheduler(os.getppid(), os.SCHED_IDLE, os.sched_param(0))",
           reason=DENIED, needs=("seccomp",)),
    # fcntl and ioctl on stdin (/dev/null): without the filter F_SETOWN works and the
    # terminal ioctls say ENOTTY; the filter refuses them whatever the descriptor
    *[parity(name, f"import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nif libc.{call} != 0:\n"
             "    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))", reason=DENIED, needs=("seccomp",))
      for name, call in (("fcntl_setown_engine", "fcntl(0, 8, $engine_pid)"), ("fcntl_setsig", "fcntl(0, 10, 9)"),
                         ("terminal_inject_keystroke", "ioctl(0, 0x5412, b'x')"),
                         ("terminal_echo_off", "ioctl(0, 0x5402, bytes(60))"),
                         ("terminal_stop_output", "ioctl(0, 0x540A, 0)"))],
    parity("tcp_to_localhost_server", "import socket\nsocket.create_connection(('127.0.0.1', $tcp_port), timeout=2)",
           reason=DENIED + "|unreachable|refused|LookupError"),
    parity("tcp_raw_socket_call", "import _socket\ns = _socket.socket(2, 1)\ns.connect(('127.0.0.1', $tcp_port))",
           reason=DENIED + "|unreachable|refused"),
    parity("udp_to_localhost_server", "import _socket\ns = _socket.socket(2, 2)\ns.sendto(b'x', ('127.0.0.1', $udp_port))",
           reason=DENIED + "|unreachable"),
    parity("abstract_unix_socket", "import _socket\ns = _socket.socket(1, 1)\ns.connect('\\0$abstract')",
           reason=DENIED + "|refused"),
    # socket() is refused, socketpair() is not: its sockets must not reach any address
    *[parity(f"socketpair_{name}", "import socket\na, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
             + send, reason=DENIED, needs=("seccomp",))
      for name, send in (("sendto_host_socket", "a.sendto(b'escaped', '$dgram_socket')"),
                         ("connect_host_socket", "a.connect('$dgram_socket')\na.send(b'escaped')"),
                         ("sendmsg_host_socket", "a.sendmsg([b'escaped'], [], 0, '$dgram_socket')"),
                         ("sendto_dev_log", "a.sendto(b'<14>elm: escaped', '/dev/log')"),
                         ("bind_abstract_name", "a.bind('\\0$abstract-squatted')"))],
    # memory outside the address-space limit: anonymous files, parked in flight over SCM_RIGHTS
    parity("memfds_parked_in_flight", """
import os, socket
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
held = 0
for n in range(200):
    fd = os.memfd_create(f'hold{n}')
    os.ftruncate(fd, 16 * 1024 * 1024 - 4096)
    os.write(fd, b'x' * (16 * 1024 * 1024 - 4096))
    socket.send_fds(a, [b'x'], [fd])
    os.close(fd)
    held += 16
raise RuntimeError(f'HELD {held} MiB outside the memory limit')""", reason=DENIED + "|MemoryError",
           needs=("seccomp",)),
    parity("memfds_kept_open", """
import os
fds = []
for n in range(60):
    fd = os.memfd_create(f'hold{n}')
    os.write(fd, b'x' * (16 * 1024 * 1024 - 4096))
    fds.append(fd)
raise RuntimeError(f'HELD {len(fds) * 16} MiB outside the memory limit')""", reason=DENIED + "|MemoryError",
           needs=("seccomp",)),
    parity("kill_worker", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", reason=DENIED),
    parity("kill_engine", "import os, signal\nos.kill($engine_pid, signal.SIGKILL)", reason=DENIED),
    parity("kill_everything", "import os, signal\nos.kill(-1, signal.SIGKILL)", reason=DENIED),
    # in a worker's PID namespace the forker's group lies outside: getpgid says 0, its own group
    parity("killpg_worker_group", "import os, signal\nos.killpg(os.getpgid(os.getppid()), signal.SIGTERM)",
           reason=DENIED + "|killed by a signal: SIGTERM"),
    parity("pidfd_signal_worker", "import os, signal\nsignal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)",
           reason=DENIED),
    parity("os_exit", "import os\nos._exit(0)", reason="exited with status 0"),
    parity("system_exit", "raise SystemExit(3)", reason="SystemExit: 3"),
    parity("keyboard_interrupt", "raise KeyboardInterrupt", reason="KeyboardInterrupt"),
    parity("replace_builtins", """
import builtins
builtins.isinstance = lambda *a: False
builtins.len = lambda *a: 0
builtins.__import__ = None""", expect=("not_runnable", "invalid", "valid"), reason=""),
    parity("ctypes_segfault", "import ctypes\nctypes.string_at(0)", reason="segmentation fault"),
    parity("ctypes_unshare_user_namespace", """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000 | 0x00020000) == 0:
    raise RuntimeError('ESCAPED: created a user namespace')
raise PermissionError(ctypes.get_errno(), 'unshare refused')""", reason=DENIED + r"|\[Errno 1\]"),
    parity("ctypes_sysv_shared_memory", """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0, 1 << 20, 0o1000 | 0o600) >= 0:
    raise RuntimeError('ESCAPED: made a System V segment')
raise PermissionError(ctypes.get_errno(), 'shmget refused')""", reason=r"PermissionError|\[Errno (1|28)\]"),
    parity("ctypes_kernel_keyring", """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.syscall(248, b'user', b'elm-hostile', b'secret', 6, -4) >= 0:
    raise RuntimeError('ESCAPED: added a key to the user keyring')
raise PermissionError(ctypes.get_errno(), 'add_key refused')""", reason=r"PermissionError"),
    parity("tamper_with_harness_module", "import elm_parity.harness as h\nh.run_parity = lambda ns: {'found': True, "
           "'outputs': [0] * 16, 'errors': [None] * 16}", expect=("valid",)),
    Hostile("return_generator", "parity", "def parity(b1, b2, b3, b4):\n    return (b for b in range(3))\n",
            ("valid",), ""),
    Hostile("return_hostile_eq", "parity", """
class Evil(float):
    def __eq__(self, other):
        raise RuntimeError('eq')
    def __float__(self):
        while True:
            pass
    def __repr__(self):
        raise RuntimeError('repr')
def parity(b1, b2, b3, b4):
    return Evil(1.0)
""", ("valid", "invalid", "not_runnable"), ""),
    Hostile("return_huge_nested_list", "parity", """
def parity(b1, b2, b3, b4):
    nest = []
    for _ in range(5_000):
        nest = [nest]
    return nest
""", ("valid", "invalid"), ""),
    # strings that cannot be stored as UTF-8 (a lone surrogate) in the reason and in the data
    parity("lone_surrogate_in_error", "raise ValueError('bad \\udcff text \\ud800')", reason=r"ValueError: bad"),
    Hostile("lone_surrogate_in_returned_data", "parity",
            "def parity(b1, b2, b3, b4):\n    raise ValueError('\\udcff' * 3)\n", ("valid",), ""),
    Hostile("lone_surrogate_forged_result", "parity", """
import os
for fd in range(3, 64):
    try:
        os.write(fd, b'{"ok": false, "error": "forged \\\\udcff reason"}')
    except OSError:
        pass
os._exit(0)
""", ("not_runnable",), "forged|exited|garbage"),
    Hostile("garbage_into_result_pipe", "parity", """
import os, json
for fd in range(3, 64):
    try:
        os.write(fd, json.dumps({"ok": True, "output": {"found": True, "outputs": "x" * 10, "errors": 7}}).encode())
    except OSError:
        pass
os._exit(0)
""", ("invalid", "not_runnable"), "malformed|garbage|exited"),
]

SODARACE_PROGRAMS = [
    walker("infinite_loop", "    while True:\n        pass\n", reason="timeout"),
    walker("memory_bomb", "    hoard = []\n    while True:\n        hoard.append(bytearray(50 * 1024 ** 2))\n",
           reason="MemoryError|timeout"),
    walker("fork_bomb", "    import os\n    while True:\n        os.fork()\n", reason=NO_PROCESS),
    walker("deep_recursion", "    return make_walker()\n", reason="RecursionError"),
    walker("write_outside", "    open('$canary_dir/$marker', 'w').write('x')\n    return square().get_walker()\n",
           reason=DENIED, needs=("landlock",)),
    walker("tcp_to_localhost_server", "    import socket\n    socket.create_connection(('127.0.0.1', $tcp_port))\n",
           reason=DENIED + "|unreachable|refused|LookupError"),
    walker("kill_worker", "    import os\n    os.kill(os.getppid(), 9)\n", reason=DENIED),
    walker("socketpair_sendto_host_socket", "    import socket\n    a, b = socket.socketpair(socket.AF_UNIX, "
           "socket.SOCK_DGRAM)\n    a.sendto(b'escaped', '$dgram_socket')\n", reason=DENIED, needs=("seccomp",)),
    walker("os_exit", "    import os\n    os._exit(0)\n", reason="exited with status 0"),
    walker("ctypes_segfault", "    import ctypes\n    ctypes.string_at(0)\n", reason="segmentation fault"),
    Hostile("replace_walk_creator_module", "sodarace", """
import sys, types
fake = types.ModuleType('walk_creator')
class walker_creator:
    def get_walker(self):
        return {'joints': 'everywhere', 'muscles': None}
fake.walker_creator = walker_creator
sys.modules['walk_creator'] = fake
from walk_creator import walker_creator
def make_walker():
    return walker_creator().get_walker()
""", ("invalid",), "not a list"),
    Hostile("patch_walker_creator_class", "sodarace", WALKER_HEAD + """
import walk_creator
walk_creator.walker_creator.get_walker = lambda self: {'joints': [[0, 0]] * 5000, 'muscles': []}
def make_walker():
    return walker_creator().get_walker()
""", ("invalid",), "at most"),
    Hostile("replace_builtins", "sodarace", WALKER_HEAD + SQUARE + """
import builtins
builtins.isinstance = lambda *a: True
builtins.dict = list
def make_walker():
    return square().get_walker()
""", ("not_runnable", "invalid", "valid"), ""),
    walker("nan_coordinates", "    wc = walker_creator()\n    a = wc.add_joint(float('nan'), 0)\n    b = wc.add_joint(5, 5)\n"
           "    wc.add_muscle(a, b)\n    return wc.get_walker()\n", expect=("invalid",), reason="not a finite number"),
    walker("infinite_coordinates", "    wc = walker_creator()\n    a = wc.add_joint(0, float('inf'))\n"
           "    b = wc.add_joint(5, 5)\n    wc.add_muscle(a, b)\n    return wc.get_walker()\n",
           expect=("invalid",), reason="not a finite number"),
    walker("joints_100000_through_walk_creator", "    wc = walker_creator()\n    for i in range(100_000):\n"
           "        wc.add_joint(i, 0)\n    return wc.get_walker()\n", reason="more than 10000 joints"),
    # twice the joint cap (10,000), built and sent back in well under the battery's 1 s even on a busy machine
    walker("joints_20000_returned_directly", "    return {'joints': [[i, 0] for i in range(20_000)], "
           "'muscles': [[0, 1, {'type': 'distance'}]]}\n", expect=("invalid", "not_runnable"),
           reason="at most 100|output too large"),
    walker("zero_length_muscle", "    wc = walker_creator()\n    a = wc.add_joint(1, 1)\n    b = wc.add_joint(1, 1)\n"
           "    wc.add_muscle(a, b, False, 1.0, 0.0)\n    return wc.get_walker()\n", expect=("invalid",),
           reason="length|apart"),
    walker("self_connected_muscle", "    wc = walker_creator()\n    a = wc.add_joint(0, 0)\n    wc.add_joint(5, 0)\n"
           "    wc.add_muscle(a, a)\n    return wc.get_walker()\n", expect=("invalid",), reason="to itself"),
    walker("huge_integer_coordinate", "    return {'joints': [[10 ** 400, 0], [0, 5]], 'muscles': [[0, 1, {'type': 'distance'}]]}\n",
           expect=("invalid",), reason=r"joint 0 x is an integer of \d+ bits.*limit max_coordinate"),
    walker("coordinates_near_float_max", "    wc = walker_creator()\n    a = wc.add_joint(1e308, 0)\n"
           "    b = wc.add_joint(1e308, 10)\n    wc.add_muscle(a, b)\n    return wc.get_walker()\n",
           expect=("invalid",), reason=r"joint 0 x is 1e\+308; at most 1e\+06 .*limit max_coordinate"),
    walker("huge_integer_amplitude", "    return {'joints': [[0, 0], [0, 5]], 'muscles': [[0, 1, {'type': 'muscle', "
           "'amplitude': -10 ** 400, 'phase': 0}]]}\n", expect=("invalid",), reason="amplitude is an integer of"),
    walker("absurd_amplitudes", "    wc = square()\n    j = wc.add_joint(20, 0)\n    wc.add_muscle(0, j, False, 1e300, 1e300)\n"
           "    wc.add_muscle(1, j, False, -1e308, -5.0)\n    return wc.get_walker()\n", expect=("valid",)),
    walker("infinite_amplitude", "    wc = square()\n    wc.add_muscle(0, 2, False, float('inf'), 0.0)\n"
           "    return wc.get_walker()\n", expect=("invalid",), reason="not a finite number"),
    walker("muscle_to_missing_joint", "    wc = square()\n    wc.add_muscle(0, 99)\n    return wc.get_walker()\n",
           expect=("invalid",), reason="refers to joint 99"),
    walker("return_generator", "    return (j for j in range(3))\n", reason="must return"),
    walker("hostile_eq_inside_walker", "    class Evil:\n        def __eq__(self, other):\n            raise RuntimeError\n"
           "        __hash__ = None\n    w = square().get_walker()\n    w['joints'][0] = Evil()\n    return w\n",
           reason="Evil"),
    walker("huge_nested_list", "    nest = []\n    for _ in range(100_000):\n        nest = [nest]\n"
           "    return {'joints': nest, 'muscles': []}\n", reason="nested too deeply"),
    walker("lone_surrogate_in_error", "    raise ValueError('\\udcff')\n", reason="ValueError"),
    walker("lone_surrogate_muscle_type", "    return {'joints': [[0, 0], [0, 5]], 'muscles': [[0, 1, {'type': '\\udcff'}]]}\n",
           expect=("invalid", "not_runnable"), reason=""),
    walker("strings_as_coordinates", "    return {'joints': [['0', '0'], ['5', '5']], 'muscles': [[0, 1, {'type': 'distance'}]]}\n",
           expect=("invalid",), reason="not a number"),
]

ALL_PROGRAMS = PARITY_PROGRAMS + SODARACE_PROGRAMS
