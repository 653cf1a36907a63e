"""Parsing in the engine process goes through elmcore.parsing, one thread at a time: CPython
3.11's AST constructor keeps a recursion counter shared by all threads, and two threads
parsing at once (a run mutating with GP while another thread computes 4-Parity's descriptors
from the programs' code) can fail with ``SystemError: AST constructor recursion depth
mismatch`` on programs that are fine. Seen in `elm compare` and in the test suite."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from elmcore.parsing import _LOCK, parse

ROOT = Path(__file__).resolve().parents[2]
# offline dataset builders, single-threaded and never part of a run
OFFLINE = {"plugins/elm_train/corpus.py", "plugins/elm_train/commits.py"}


def test_engine_side_code_parses_through_the_shared_lock() -> None:
    direct = []
    for folder in ("elmcore", "domains", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if name in OFFLINE or name == "elmcore/parsing.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if re.search(r"\bast\.parse\(", code) and "``" not in code:
                    direct.append(f"{name}:{number}")
    assert direct == [], f"parse with elmcore.parsing.parse, not ast.parse: {direct}"


def test_parse_waits_for_another_thread_that_is_parsing() -> None:
    finished = threading.Event()
    with _LOCK:
        other = threading.Thread(target=lambda: (parse("x = 1"), finished.set()))
        other.start()
        assert not finished.wait(0.2)  # the other thread waits while this one holds the parser
    other.join(5)
    assert finished.is_set()
    assert parse("def f(a):\n    return a + 1\n").body[0].name == "f"
