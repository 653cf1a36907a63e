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
