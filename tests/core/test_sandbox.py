"""The sandbox turns every way a program can fail into an outcome with a reason."""

import os

import pytest

from elmcore.sandbox import run_in_sandbox
from elmcore.types import SandboxSpec

SPEC = SandboxSpec(harness="toys:harness", timeout_s=1.5, memory_mb=128, max_output_bytes=200_000)


def run(body: str):
    return run_in_sandbox(body, SPEC)


def test_plain_result_comes_back():
    result = run("def value():\n    return {'a': [1, 2.5, None, 'x']}")
    assert result.ok and result.output == {"a": [1, 2.5, None, "x"]}


@pytest.mark.parametrize("program, reason", [
    ("def value():\n    raise ValueError('boom')", "ValueError: boom"),
    ("def value(:\n", "SyntaxError"),
    ("x = 1", "KeyError"),
    ("def value():\n    while True:\n        pass", "timeout"),
    ("import time\ndef value():\n    time.sleep(30)", "timeout"),
    ("def value():\n    return bytearray(1_000_000_000)", "MemoryError"),
    ("def value():\n    return (i for i in range(3))", "not plain data"),
    ("def value():\n    return object()", "not plain data"),
    ("import os\ndef value():\n    os._exit(0)", "before returning a result"),
    ("import ctypes\ndef value():\n    return ctypes.string_at(0)", "segmentation fault"),
    ("def value():\n    return 'x' * 1_000_000", "output too large"),
    ("def value():\n    x = []\n    for _ in range(100000):\n        x = [x]\n    return x", "RecursionError"),
    ("def value():\n    f = lambda n: f(n + 1)\n    return f(0)", "RecursionError"),
])
def test_failures_are_outcomes(program, reason):
    result = run(program)
    assert not result.ok
    assert reason in result.reason


def test_output_to_stdout_is_discarded(capfd):
    result = run("def value():\n    print('x' * 5_000_000)\n    return 3")
    assert result.ok and result.output == 3
    assert "xxxx" not in capfd.readouterr().out


def test_program_cannot_change_the_callers_state():
    os.environ["ELM_TEST_MARKER"] = "kept"
    result = run("import os\nos.environ.clear()\nimport sys\nsys.modules.clear()\ndef value():\n    return 1")
    assert result.ok
    assert os.environ["ELM_TEST_MARKER"] == "kept"


def test_program_sees_no_engine_environment():
    os.environ["ELM_SECRET_TOKEN"] = "s3cret"
    result = run("import os\ndef value():\n    return os.environ.get('ELM_SECRET_TOKEN')")
    assert result.ok and result.output is None


def _processes_running(argv: list[str]) -> int:
    found = 0
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if fh.read().split(b"\0")[:-1] == [a.encode() for a in argv]:
                    found += 1
        except OSError:
            continue
    return found


def test_no_process_is_left_behind():
    result = run("import subprocess\ndef value():\n    subprocess.Popen(['sleep', '31.5'])\n    return 1")
    # either starting a process is refused (unprivileged) or the group is killed afterwards
    assert _processes_running(["sleep", "31.5"]) == 0
    assert result.ok or "Error" in result.reason


def test_program_environment_is_its_scratch_directory_and_path_only():
    body = "import os\ndef value():\n    return [dict(os.environ), os.getcwd()]"
    first, second = run(body), run(body)
    assert first.ok and second.ok, (first.reason, second.reason)
    for env, cwd in (first.output, second.output):
        assert env == {"HOME": cwd, "TMPDIR": cwd, "PATH": "/usr/bin:/bin"}


def test_each_program_draws_fresh_random_numbers():
    """The forker forks without the interpreter's after-fork hooks; each child still reseeds
    ``random``, as random's own hook does, so two runs of one program do not repeat."""
    body = "import random\ndef value():\n    return [random.getrandbits(64), random.random()]"
    draws = [run(body) for _ in range(3)]
    assert all(d.ok for d in draws), [d.reason for d in draws]
    assert len({tuple(d.output) for d in draws}) == 3


def test_output_to_stderr_is_discarded(capfd):
    result = run("import sys\ndef value():\n    sys.stderr.write('y' * 100_000)\n    sys.stderr.flush()\n    return 4")
    assert result.ok and result.output == 4
    assert "yyyy" not in capfd.readouterr().err


FORK_PROBE = """
import os, random, sys, threading, time
from elmcore.sandbox import forker
hooked = []
os.register_at_fork(after_in_child=lambda: hooked.append(1))

def child_report():
    r, w = os.pipe()
    pid = forker.fork()
    if pid == 0:
        os.write(w, f"{len(hooked)} {random.getrandbits(64)}".encode())
        os._exit(0)
    os.close(w)
    text = os.read(r, 100).decode()
    os.waitpid(pid, 0)
    return text

random.seed(5)
state = random.getstate()
alone = child_report()
random.setstate(state)
parent_draw = random.getrandbits(64)
stop = threading.Event()
other = threading.Thread(target=stop.wait)
other.start()
with_thread = child_report()
stop.set()
other.join()
print(alone, parent_draw, with_thread)
"""


def test_forker_fork_skips_after_fork_hooks_only_when_single_threaded():
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", FORK_PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    alone_hooks, alone_draw, parent_draw, thread_hooks, _ = done.stdout.split()
    assert alone_hooks == "0"  # single-threaded: the C library's fork, no hook ran
    assert alone_draw != parent_draw  # ... and the child reseeded random itself
    assert thread_hooks == "1"  # another thread: os.fork, with every hook
