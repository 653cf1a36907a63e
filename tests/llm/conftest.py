"""Fixtures for the LLM mutator tests: tiny local models, a scripted OpenAI-compatible
server, and the 4-Parity mutation context."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from elmcore import MutationContext
from fake_openai import FakeOpenAIServer
from tiny_models import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-gpt2")))


@pytest.fixture(scope="session")
def tiny_chat_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-chat"), chat=True))


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def parity_context() -> MutationContext:
    return MutationContext(file_name="parity.py", function_name="parity",
                           commit_messages=(("Fixed bugs", 1.0),), instruction="Fix the bugs.")
