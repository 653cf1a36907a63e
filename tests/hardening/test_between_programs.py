"""Nothing passes from one program to another in the same worker: not files, not a deep
directory chain (which must not crash the wipe), not extended attributes on the scratch
directory or the private tmpfs mounts, and not the text or scores of the other programs
of its chunk (a child is forked by a process that never held them)."""

from __future__ import annotations

import pytest

from elmcore.workers import WorkerPool
from hostile_domains import QuickParity
from hostile_programs import PARITY_OK

LEAVES = """
import os
for place in ('.', '/tmp', '/dev/shm', '/var/tmp'):
    for name, value in (('user.elm', b'left behind'), ('system.posix_acl_access', None)):
        try:
            os.setxattr(place, name, value or bytes.fromhex('02000000010007000000000004000700ffffffff200005000000'
                                                           '0000100007000000ffffffff'))
        except OSError:
            pass
    try:
        os.chmod(place, 0o777)
    except OSError:
        pass
open('left.txt', 'w').write('x')
os.mkdir('deep')
os.chdir('deep')
for _ in range(3000):  # deeper than any path and than Python's recursion limit
    os.mkdir('d')
    os.chdir('d')
open('bottom.txt', 'w').write('x')
"""
FINDS = """
import os, stat
found = []
for place in ('.', '/tmp', '/dev/shm', '/var/tmp'):
    try:
        found += [f'{place}: {name}' for name in os.listxattr(place)]
    except OSError:
        pass
found += [f'file {name}' for name in os.listdir('.')]
if stat.S_IMODE(os.stat('.').st_mode) != 0o700:
    found.append('the mode of its directory')
if found:
    raise RuntimeError('found what an earlier program left: ' + ', '.join(found))
"""
SECRET_HOLDER = "TOKEN = 'CANDIDATE-SECRET-7f3e9a'  # in its text: the worker holds it\n"
SEEKS = """
import ctypes, gc, re, sys
pattern = re.compile(re.escape(b'CANDIDATE-' + b'SECRET-') + rb'[0-9a-f]{6}')
found = []
frame = sys._getframe()
while frame is not None:  # up the stack: whoever forked us and what its frames hold
    found += [name for name, value in frame.f_locals.items() if pattern.search(repr(value).encode('utf-8', 'replace'))]
    frame = frame.f_back
for obj in gc.get_objects():
    try:
        if pattern.search(repr(obj)[:100_000].encode('utf-8', 'replace')):
            found.append(type(obj).__name__)
    except Exception:
        pass
with open('/proc/self/maps') as fh:
    regions = [line.split() for line in fh]
for fields in regions:
    if fields[1].startswith('rw'):
        start, end = (int(x, 16) for x in fields[0].split('-'))
        if pattern.search(ctypes.string_at(start, end - start)):
            found.append(fields[0])
if found:
    raise RuntimeError(f'found another program of its chunk: {found[:5]}')
"""


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(QuickParity, {}, workers=1) as one:
        yield one


def test_nothing_left_by_one_program_reaches_the_next(pool):
    pids = pool.worker_pids()
    leaves, finds = pool.evaluate([LEAVES + PARITY_OK, FINDS + PARITY_OK])
    assert leaves.outcome.value == "valid", leaves.reason
    assert finds.outcome.value == "valid", finds.reason
    assert pool.worker_pids() == pids and pool.crashes == 0, "the wipe crashed the worker"


def test_a_program_holds_no_other_program_of_its_chunk(pool):
    programs = [SECRET_HOLDER + PARITY_OK, SEEKS + PARITY_OK, SECRET_HOLDER + PARITY_OK] * 4  # chunks of 3
    evaluations = pool.evaluate(programs)
    assert [e.outcome.value for e in evaluations] == ["valid"] * 12, [e.reason for e in evaluations if e.reason]
