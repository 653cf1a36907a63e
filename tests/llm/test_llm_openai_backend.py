"""The OpenAI-compatible backend against a scripted local server: retries, backoff,
timeouts, HTTP errors, malformed bodies, concurrency, keys."""

from __future__ import annotations

import threading
import time

import pytest
from fake_openai import Fail, Hang, Raw, Reply

from elm_llm.backend import LLMError, SamplingParams
from elm_llm.openai_backend import OpenAIBackend

PARAMS = SamplingParams(max_new_tokens=32, stop=("\nEND",))


def backend_for(server, **kwargs) -> OpenAIBackend:
    options = dict(retries=3, retry_backoff_s=0.001, timeout_s=2.0)
    options.update(kwargs)
    return OpenAIBackend("fake-model", base_url=server.url, **options)


def test_completions_request_carries_the_sampling_parameters(fake_openai):
    fake_openai.script(Reply("x = 2\nEND and more"))
    [completion] = backend_for(fake_openai).generate(["x = 1\n"], PARAMS, seed=7)
    assert completion.ok and completion.text == "x = 2" and completion.finish_reason == "stop"
    path, payload = fake_openai.requests[0]
    assert path == "/v1/completions"
    assert payload == {"model": "fake-model", "prompt": "x = 1\n", "max_tokens": 32, "temperature": 0.8,
                       "top_p": 0.95, "n": 1, "stop": ["\nEND"], "seed": 7}


def test_chat_request_and_prompt_order(fake_openai):
    fake_openai.responder = lambda path, payload: Reply("re: " + payload["messages"][-1]["content"])
    conversations = [[{"role": "user", "content": f"q{i}"}] for i in range(6)]
    out = backend_for(fake_openai, concurrency=3).chat(conversations, PARAMS, seed=0)
    assert [c.text for c in out] == [f"re: q{i}" for i in range(6)]
    assert {p for p, _ in fake_openai.requests} == {"/v1/chat/completions"}
    assert sorted(payload["seed"] for _, payload in fake_openai.requests) == list(range(6))


@pytest.mark.parametrize("failure", [Fail(500), Fail(502), Fail(503), Fail(429), Raw("{not json"),
                                     Raw("<html>bad gateway</html>", content_type="text/html")])
def test_transient_failures_are_retried(fake_openai, failure):
    fake_openai.script(failure, failure, Reply("fine"))
    [completion] = backend_for(fake_openai).generate(["p"], PARAMS)
    assert completion.ok and completion.text == "fine"
    assert len(fake_openai.requests) == 3


def test_a_request_that_keeps_failing_says_why(fake_openai):
    fake_openai.responder = lambda path, payload: Fail(500)
    [completion] = backend_for(fake_openai, retries=2).generate(["p"], PARAMS)
    assert completion.error == "HTTP 500 after 2 retries"
    assert len(fake_openai.requests) == 3


def test_timeouts_are_retried(fake_openai):
    fake_openai.script(Hang(1.0), Reply("in time"))
    [completion] = backend_for(fake_openai, timeout_s=0.2).generate(["p"], PARAMS)
    assert completion.ok and completion.text == "in time"


def test_timeout_on_every_attempt(fake_openai):
    fake_openai.responder = lambda path, payload: Hang(0.6)
    [completion] = backend_for(fake_openai, timeout_s=0.2, retries=1).generate(["p"], PARAMS)
    assert completion.error == "timeout after 0.2 s after 1 retries"


def test_client_errors_are_not_retried(fake_openai):
    fake_openai.script(Fail(404, "model 'fake-model' not found"))
    [completion] = backend_for(fake_openai).generate(["p"], PARAMS)
    assert completion.error == "HTTP 404: model 'fake-model' not found"
    assert len(fake_openai.requests) == 1


def test_retry_after_header_is_honoured(fake_openai):
    fake_openai.script(Fail(429, headers={"retry-after": "0.3"}), Reply("ok"))
    started = time.monotonic()
    [completion] = backend_for(fake_openai).generate(["p"], PARAMS)
    assert completion.ok and time.monotonic() - started >= 0.3


def test_empty_and_missing_choices(fake_openai):
    fake_openai.script(Reply(""), Raw('{"id": "x", "object": "text_completion", "choices": []}'))
    first, second = backend_for(fake_openai, concurrency=1).generate(["a", "b"], PARAMS)
    assert first.ok and first.text == ""
    assert second.error == "server returned 0 of 1 choices"


def test_concurrency_is_bounded(fake_openai):
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow(path, payload):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        return Reply("ok")

    fake_openai.responder = slow
    out = backend_for(fake_openai, concurrency=2).generate([f"p{i}" for i in range(8)], PARAMS)
    assert len(out) == 8 and all(c.ok for c in out)
    assert peak[0] <= 2


def test_unreachable_server_is_a_connection_error(unused_port_url):
    backend = OpenAIBackend("m", base_url=unused_port_url, retries=1, retry_backoff_s=0.001, timeout_s=1.0)
    [completion] = backend.generate(["p"], PARAMS)
    assert completion.error.startswith("connection error") and completion.error.endswith("after 1 retries")


def test_api_key_from_the_environment(fake_openai, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMError, match="OPENAI_API_KEY is not set"):
        OpenAIBackend("gpt-4o-mini")
    monkeypatch.setenv("ELM_TEST_KEY", "sk-test")
    fake_openai.script(Reply("ok"))
    backend = OpenAIBackend("m", base_url=fake_openai.url, api_key_env="ELM_TEST_KEY")
    assert backend.client.api_key == "sk-test"
    assert backend.generate(["p"], PARAMS)[0].ok


@pytest.fixture
def unused_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
