"""A scripted OpenAI-compatible server on 127.0.0.1 for tests: ``/v1/chat/completions``
and ``/v1/completions``. Each request takes the next scripted action (a reply, an HTTP
error, a hang, a malformed body), or asks ``responder`` when the script is empty.

Reusable from other test areas::

    from tests.llm.fake_openai import FakeOpenAIServer, Reply, Fail
    with FakeOpenAIServer(responder=lambda path, payload: Reply("...")) as server:
        ... server.url ...
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """A normal answer: one text per choice (a single str is repeated ``n`` times)."""

    texts: str | list[str]
    finish_reason: str = "stop"


@dataclass
class Fail:
    """An HTTP error status with an OpenAI-style error body."""

    status: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Sleep before answering (longer than the client's timeout: a timeout)."""

    seconds: float
    then: Any = None


@dataclass
class Raw:
    """A body sent as it is, e.g. malformed JSON."""

    body: str
    status: int = 200
    content_type: str = "application/json"


Action = Reply | Fail | Hang | Raw
Responder = Callable[[str, dict[str, Any]], Action]


def _completion_body(path: str, payload: dict[str, Any], reply: Reply) -> dict[str, Any]:
    n = int(payload.get("n") or 1)
    texts = [reply.texts] * n if isinstance(reply.texts, str) else list(reply.texts)
    chat = path.endswith("/chat/completions")
    if chat:
        choices = [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": reply.finish_reason}
                   for i, t in enumerate(texts)]
    else:
        choices = [{"index": i, "text": t, "finish_reason": reply.finish_reason, "logprobs": None}
                   for i, t in enumerate(texts)]
    return {"id": "fake-1", "object": "chat.completion" if chat else "text_completion", "created": 0,
            "model": payload.get("model", ""), "choices": choices,
            "usage": {"prompt_tokens": 1, "completion_tokens": sum(len(t.split()) for t in texts),
                      "total_tokens": 1 + sum(len(t.split()) for t in texts)}}


class FakeOpenAIServer:
    """Context manager; ``url`` is the base URL to give the client (ends in /v1)."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder = responder
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._script: deque[Action] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *actions: Action) -> None:
        with self._lock:
            self._script.extend(actions)

    def _next_action(self, path: str, payload: dict[str, Any]) -> Action:
        with self._lock:
            self.requests.append((path, payload))
            if self._script:
                return self._script.popleft()
        if self.responder is not None:
            return self.responder(path, payload)
        return Fail(503, "nothing scripted")

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    payload = {}
                path = self.path.rstrip("/")
                if not path.endswith(("/chat/completions", "/completions")):
                    self._send(404, json.dumps({"error": {"message": f"no route {path}"}}))
                    return
                action = server._next_action(path, payload)
                while isinstance(action, Hang):
                    time.sleep(action.seconds)
                    action = action.then if action.then is not None else Reply("late")
                if isinstance(action, Reply):
                    self._send(200, json.dumps(_completion_body(path, payload, action)))
                elif isinstance(action, Fail):
                    body = json.dumps({"error": {"message": action.message, "type": "server_error"}})
                    self._send(action.status, body, extra=action.headers)
                else:
                    self._send(action.status, action.body, content_type=action.content_type)

            def _send(self, status: int, body: str, content_type: str = "application/json",
                      extra: dict[str, str] | None = None) -> None:
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", content_type)
                    self.send_header("content-length", str(len(data)))
                    for k, v in (extra or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler
