"""Fixtures for the hardening tests: the things a hostile program might touch (canary files,
a run store, a file in the engine user's home, the engine's environment), servers it
might reach, and ``assert_nothing_escaped`` which checks that none of it changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import string
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from elmcore.sandbox.privileges import sandbox_uid
from elmcore.store import RunStore

WORLD_WRITABLE_CANDIDATES = ("/run/lock", "/var/lock", "/var/tmp", "/tmp")
SEARCHED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock")
VICTIM_TEXT = "a file every user may change\n"


class Listeners:
    """A TCP server, a UDP socket, an abstract UNIX socket and a path-named UNIX datagram
    socket (``dgram_path``, writable by every user) on this machine that record every
    contact (a sandboxed program must make none)."""

    def __init__(self, token: str, dgram_path: Path) -> None:
        self.contacts: list[str] = []
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.abstract = f"elm-hostile-{token}"
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + self.abstract)
        self.unix.listen()
        self.dgram_path = dgram_path
        self.dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.dgram.bind(str(dgram_path))
        dgram_path.chmod(0o666)  # any user may send to it unless the sandbox stops it
        self._stop = False
        self._threads = [threading.Thread(target=self._serve, args=(s, kind), daemon=True)
                         for s, kind in ((self.tcp, "tcp"), (self.udp, "udp"), (self.unix, "unix"),
                                         (self.dgram, "unix-dgram"))]
        for thread in self._threads:
            thread.start()

    def _serve(self, sock: socket.socket, kind: str) -> None:
        sock.settimeout(0.2)
        while not self._stop:
            try:
                if kind in ("udp", "unix-dgram"):
                    data, peer = sock.recvfrom(1024)
                    self.contacts.append(f"{kind} datagram from {peer!r}: {data[:20]!r}")
                else:
                    conn, peer = sock.accept()
                    self.contacts.append(f"{kind} connection from {peer!r}")
                    conn.close()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return

    @property
    def tcp_port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def close(self) -> None:
        self._stop = True
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in (self.tcp, self.udp, self.unix, self.dgram):
            sock.close()


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mode


@dataclass
class Surroundings:
    """Everything a hostile program is pointed at, and what it looked like before."""

    token: str
    canary_dir: Path
    victim: Path
    store: Path
    home_file: Path
    listeners: Listeners
    own_home: Path  # the engine user's own folder: a secret (0600) and a run store (0700 directory)
    engine_pid: int = field(default_factory=os.getpid)
    engine_cwd: str = field(default_factory=os.getcwd)
    environment: dict[str, str] = field(default_factory=dict)
    digests: dict[Path, tuple[str, int]] = field(default_factory=dict)
    sysv_segments: int = 0

    @property
    def marker(self) -> str:
        return f"elm-hostile-{self.token}"

    def fill(self, code: str) -> str:
        return string.Template(code).substitute(
            marker=self.marker, canary_dir=self.canary_dir, victim=self.victim, store=self.store,
            home_file=self.home_file, engine_pid=self.engine_pid, engine_cwd=self.engine_cwd,
            tcp_port=self.listeners.tcp_port, udp_port=self.listeners.udp_port, abstract=self.listeners.abstract,
            dgram_socket=self.listeners.dgram_path, own_home=self.own_home, own_secret=self.own_home / "secret.txt",
            own_store=self.own_home / "run" / "store.sqlite")

    def snapshot(self) -> None:
        self.environment = _environment()
        self.digests = {p: _digest(p) for p in (self.victim, self.store, self.home_file)}
        self.sysv_segments = _sysv_segments()

    def assert_nothing_escaped(self, worker_pids: list[int] = ()) -> None:
        """Check everything; repair what a program changed (so one escape does not fail
        every later test) and then fail with the list of what escaped."""
        escaped = []
        if _environment() != _environment(self.environment):
            escaped.append("the engine's environment changed")
        if os.getcwd() != self.engine_cwd:
            escaped.append("the engine's working directory changed")
            os.chdir(self.engine_cwd)
        for path, (digest, mode) in self.digests.items():
            if not path.exists() or _digest(path) != (digest, mode):
                escaped.append(f"{path} was changed or removed")
                if path == self.victim:
                    path.write_text(VICTIM_TEXT)
                    path.chmod(0o666)
                    self.digests[path] = _digest(path)
        expected = {self.victim.name, self.store.parent.name, self.listeners.dgram_path.name, self.own_home.name}
        for extra in {p.name for p in self.canary_dir.iterdir()} - expected:
            escaped.append(f"a program created {self.canary_dir / extra}")
            _remove(self.canary_dir / extra)
        for directory in (*SEARCHED_DIRS, self.engine_cwd, str(Path.home())):
            path = os.path.join(directory, self.marker)
            if os.path.lexists(path):
                escaped.append(f"a program wrote {path}")
                _remove(Path(path))
        if self.listeners.contacts:
            escaped.append(f"a program reached the network: {self.listeners.contacts}")
            self.listeners.contacts.clear()
        uids = {sandbox_uid(pid) for pid in (*worker_pids, os.getpid())}
        left = processes_of(uids)
        if left:
            escaped.append(f"processes left behind: {left}")
        if _sysv_segments() != self.sysv_segments:
            escaped.append("a System V shared memory segment was left behind")
            self.sysv_segments = _sysv_segments()
        for entry in os.scandir("/dev/shm") if os.path.isdir("/dev/shm") else ():
            if entry.name.startswith("elm-sandbox-"):
                try:
                    owner = entry.stat(follow_symlinks=False).st_uid
                except FileNotFoundError:
                    continue  # being removed by its (other) owner
                if owner in uids:
                    escaped.append(f"scratch directory left behind: {entry.path}")
        assert not escaped, "; ".join(escaped)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _environment(env: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if env is None else env)
    env.pop("PYTEST_CURRENT_TEST", None)  # pytest's own, changes per test
    return env


def processes_of(uids: set[int]) -> list[str]:
    """'pid comm' of every process whose real uid is in ``uids``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
                status = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if int(status["Uid"].split()[0]) in uids and status.get("State", "").strip()[:1] != "Z":
            found.append(f"{pid} {status['Name'].strip()}")
    return found


def _sysv_segments() -> int:
    try:
        with open("/proc/sysvipc/shm", encoding="utf-8") as fh:
            return max(0, len(fh.readlines()) - 1)
    except OSError:
        return 0


def make_own_home(folder: Path, token: str) -> Path:
    """A folder of the engine's user (0700) with a secret (0600) and a run store in it: what
    an engine's programs must not read, whoever the engine runs as."""
    folder.mkdir(mode=0o700)
    secret = folder / "secret.txt"
    secret.write_text(f"secret of the engine's user {token}\n")
    secret.chmod(0o600)
    store = RunStore.create(folder / "run")
    store.set_meta("secret", token)
    store.close()
    return folder


def _world_writable_base() -> Path:
    for candidate in WORLD_WRITABLE_CANDIDATES:
        if os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            return Path(candidate)
    pytest.skip("no world-writable directory to put canaries in")


@pytest.fixture(scope="session")
def surroundings() -> Iterator[Surroundings]:
    token = uuid.uuid4().hex[:10]
    canary_dir = _world_writable_base() / f"elm-canary-{token}"
    canary_dir.mkdir()
    canary_dir.chmod(0o777)  # any user may write here unless the sandbox stops it
    victim = canary_dir / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    victim.chmod(0o666)
    store = RunStore.create(canary_dir / "run")
    store.set_meta("secret", token)
    store.close()
    home_file = Path.home() / f".elm-canary-{token}"
    home_file.write_text("a dotfile of the engine's user\n")
    home_file.chmod(0o644)
    os.environ["ELM_HOSTILE_SECRET"] = token  # workers inherit it; programs must not see it
    listeners = Listeners(token, canary_dir / "dgram.sock")
    own_home = make_own_home(canary_dir / "own-home", token)
    found = Surroundings(token, canary_dir, victim, canary_dir / "run" / "store.sqlite", home_file, listeners,
                         own_home)
    found.snapshot()
    try:
        yield found
    finally:
        listeners.close()
        os.environ.pop("ELM_HOSTILE_SECRET", None)
        home_file.unlink(missing_ok=True)
        shutil.rmtree(canary_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many hostile program cases ran (in workers, in-process, as an ordinary user)."""
    runs = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])
            if getattr(r, "when", "") == "call" and "::test_hostile_program" in r.nodeid]
    if runs:
        failed = sum(1 for r in runs if r.failed)
        terminalreporter.write_line(f"hostile battery: {len(runs)} program cases tried, {failed} failed")
