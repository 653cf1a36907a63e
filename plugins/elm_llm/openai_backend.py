"""OpenAI-compatible HTTP backend (OpenAI, vLLM, Ollama, llama.cpp server) through the
``openai`` client: concurrent requests, timeouts, retries with exponential backoff.

A request that still fails after its retries becomes a ``Completion`` with ``error`` set
(e.g. "HTTP 500 after 3 retries"); the run goes on.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from elm_llm.backend import Backend, ChatMessages, Completion, LLMError, SamplingParams, cut_at_stop

MAX_API_STOPS = 4  # the OpenAI API accepts at most four stop strings; the rest are cut locally
LOCAL_SERVER_KEY = "not-needed"  # local servers ignore the key, but the client insists on one


@dataclass(frozen=True)
class RequestFailure:
    reason: str
    retryable: bool
    retry_after_s: float | None = None


def classify_failure(exc: Exception, timeout_s: float) -> RequestFailure:
    """What went wrong with one request and whether trying again may help."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return RequestFailure(f"timeout after {timeout_s:g} s", True)
    if isinstance(exc, openai.APIConnectionError):
        return RequestFailure(f"connection error ({_first_line(exc)})", True)
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        retry_after = _retry_after(exc.response.headers.get("retry-after"))
        if code in (408, 409, 429) or code >= 500:
            return RequestFailure(f"HTTP {code}", True, retry_after)
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = str(body.get("message") or _first_line(exc))
        return RequestFailure(f"HTTP {code}: {detail.splitlines()[0][:200] if detail else ''}", False)
    if isinstance(exc, (openai.APIResponseValidationError, ValueError, TypeError, AttributeError, KeyError)):
        return RequestFailure(f"malformed response ({type(exc).__name__}: {_first_line(exc)[:120]})", True)
    return RequestFailure(f"{type(exc).__name__}: {_first_line(exc)[:200]}", False)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _tokens_per_choice(response: Any) -> int:
    """Generated tokens per choice, from the usage block when the server sends one."""
    usage = getattr(response, "usage", None)
    total = getattr(usage, "completion_tokens", None) if usage is not None else None
    return int(total) // max(1, len(response.choices)) if isinstance(total, int) else 0


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class OpenAIBackend(Backend):
    """Talks to ``base_url`` (None: api.openai.com) as model ``model``."""

    supports_chat = True

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 concurrency: int = 8, timeout_s: float = 60.0, retries: int = 3,
                 retry_backoff_s: float = 1.0, max_backoff_s: float = 30.0, send_seed: bool = True) -> None:
        import openai

        key = os.environ.get(api_key_env)
        if not key:
            if base_url is None:
                raise LLMError(f"environment variable {api_key_env} is not set; export your API key there "
                               f"(or set mutator.api_key_env), or pass --base-url of a local server")
            key = LOCAL_SERVER_KEY
        self.model_name = model
        self.base_url = base_url
        self.concurrency = max(1, int(concurrency))
        self.timeout_s = float(timeout_s)
        self.retries = max(0, int(retries))
        self.retry_backoff_s = float(retry_backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.send_seed = send_seed
        self.client = openai.OpenAI(api_key=key, base_url=base_url, timeout=self.timeout_s, max_retries=0)
        self._jitter = random.Random()  # spreads retries in time only; never touches results

    def describe(self) -> str:
        return f"openai:{self.model_name}@{self.base_url or 'api.openai.com'}"

    # -- public API -----------------------------------------------------------------
    def generate(self, prompts: Sequence[str], params: SamplingParams, seed: int | None = None) -> list[Completion]:
        def request(i: int, prompt: str) -> Any:
            return self.client.completions.create(
                model=self.model_name, prompt=prompt, **self._sampling_kwargs(params, seed, i))

        def texts(response: Any) -> list[tuple[str, str | None, int]]:
            tokens = _tokens_per_choice(response)
            return [(c.text or "", c.finish_reason, tokens) for c in sorted(response.choices, key=lambda c: c.index)]

        return self._run(list(prompts), request, texts, params)

    def chat(self, conversations: Sequence[ChatMessages], params: SamplingParams,
             seed: int | None = None) -> list[Completion]:
        def request(i: int, messages: ChatMessages) -> Any:
            return self.client.chat.completions.create(
                model=self.model_name, messages=list(messages), **self._sampling_kwargs(params, seed, i))

        def texts(response: Any) -> list[tuple[str, str | None, int]]:
            tokens = _tokens_per_choice(response)
            return [(c.message.content or "", c.finish_reason, tokens)
                    for c in sorted(response.choices, key=lambda c: c.index)]

        return self._run(list(conversations), request, texts, params)

    def close(self) -> None:
        self.client.close()

    # -- machinery ------------------------------------------------------------------
    def _sampling_kwargs(self, params: SamplingParams, seed: int | None, i: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(max_tokens=params.max_new_tokens, temperature=params.temperature,
                                      top_p=params.top_p, n=max(1, params.n))
        if params.stop:
            kwargs["stop"] = list(params.stop[:MAX_API_STOPS])
        if self.send_seed and seed is not None:
            kwargs["seed"] = (seed + i) % (2**31)
        return kwargs

    def _run(self, items: list[Any], request: Callable[[int, Any], Any],
             texts: Callable[[Any], list[tuple[str, str | None, int]]], params: SamplingParams) -> list[Completion]:
        n = max(1, params.n)

        def one(i: int) -> list[Completion]:
            outcome = self._with_retries(lambda: texts(request(i, items[i])))
            if isinstance(outcome, RequestFailure):
                return [Completion(prompt_index=i, error=outcome.reason) for _ in range(n)]
            found = []
            for text, finish, tokens in outcome[:n]:
                text, hit = cut_at_stop(text, params.stop)
                found.append(Completion(prompt_index=i, text=text, tokens=tokens,
                                        finish_reason="stop" if hit else finish))
            missing = n - len(found)
            found += [Completion(prompt_index=i, error=f"server returned {len(outcome)} of {n} choices")
                      for _ in range(missing)]
            return found

        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            per_item = list(pool.map(one, range(len(items))))
        return [c for group in per_item for c in group]

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        """The call's result, or a RequestFailure saying why the last attempt failed."""
        for attempt in range(self.retries + 1):
            try:
                return call()
            except Exception as exc:  # classified below; a failed request must not stop the run
                failure = classify_failure(exc, self.timeout_s)
            if not failure.retryable:
                return failure
            if attempt == self.retries:
                suffix = f" after {self.retries} retries" if self.retries else ""
                return RequestFailure(failure.reason + suffix, False)
            delay = min(self.max_backoff_s, self.retry_backoff_s * 2**attempt)
            delay *= 0.5 + self._jitter.random()
            if failure.retry_after_s is not None:
                delay = min(self.max_backoff_s, max(delay, failure.retry_after_s))
            time.sleep(delay)
        return RequestFailure("no attempt made", False)  # retries >= 0, so the loop always returns
