"""An LLM operator in a comparison, against the scripted OpenAI-compatible server of the LLM
tests: the plumbing (batched requests, per-operator settings, failed replies counted as failed
trials), not a measurement of any model."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from fake_openai import Fail, FakeOpenAIServer, Reply  # noqa: E402

from elm_compare.options import build_plan  # noqa: E402
from elm_compare.runner import Comparison  # noqa: E402
from elmcore.plugins import get_plugin_manager  # noqa: E402

CODE = re.compile(r"```python\n(.*?)```", re.S)


def editor():
    """Every 4th request: a fix; then prose, HTTP 500, a reply that changes nothing useful."""
    lock, turns = threading.Lock(), [0]

    def respond(path: str, payload: dict) -> object:
        with lock:
            turn = turns[0]
            turns[0] += 1
        program = CODE.search(payload["messages"][-1]["content"]).group(1)
        if turn % 4 == 0:
            for k in range(1, 5):
                program = program.replace(f"c{k}", f"b{k}")
            return Reply("```python\n" + program + "```")
        if turn % 4 == 1:
            return Reply("Looks right to me.")
        if turn % 4 == 2:
            return Fail(500)
        return Reply("```python\n" + program.replace("bit_sum %", "bit_sum //") + "```")

    return respond


def test_an_llm_operator_is_compared_through_its_backend(tmp_path: Path) -> None:
    pm = get_plugin_manager()
    with FakeOpenAIServer(responder=editor()) as server:
        plan = build_plan(pm, "parity", ("edit",), (1, 2), {"edit": 24}, {"edit": 8},
                          [f"edit.base_url={server.url}", "edit.model=fake-chat", "edit.retries=0",
                           "edit.temperature=0.5"])
        counts = Comparison(plan, pm, tmp_path, echo=lambda line: None).run()
        requests = server.requests
    assert len(requests) == 48 and all(payload["temperature"] == 0.5 for _, payload in requests)
    for count in counts:
        assert count.trials == 24 and count.successes == 6  # the fixes, one request in four
        assert count.outcomes["no_edit"] == 12  # prose and HTTP 500 count as failed trials
        assert count.outcomes["valid"] == 12
    assert (tmp_path / "results.png").exists()


def test_edits_written_against_text_that_is_not_there_are_not_credited(tmp_path: Path) -> None:
    """A server that always answers with the 1-bug program's line as its SEARCH text: the
    similarity rules would apply it to the 2-bug program too, and it passes every test, but
    a comparison credits only edits that apply to the program as it is."""
    stale = ("<<<<<<< SEARCH\n    bit_sum = sum([c1, b2, b3, b4])\n=======\n"
             "    bit_sum = sum([b1, b2, b3, b4])\n>>>>>>> REPLACE\n")
    pm = get_plugin_manager()
    with FakeOpenAIServer(responder=lambda path, payload: Reply(stale)) as server:
        plan = build_plan(pm, "parity", ("edit",), (1, 2), {"edit": 6}, {"edit": 3},
                          [f"edit.base_url={server.url}", "edit.model=fake-chat", "edit.retries=0"])
        one, two = Comparison(plan, pm, tmp_path, echo=lambda line: None).run()
    assert (one.successes, one.lenient_successes) == (6, 0)  # the SEARCH text is the 1-bug line
    assert (two.successes, two.lenient_successes) == (0, 6)  # applied only by similarity
    assert two.outcomes["valid"] == 6
    table = (tmp_path / "results.md").read_text()
    assert "| not credited |" in table and "| 6 |" in table
