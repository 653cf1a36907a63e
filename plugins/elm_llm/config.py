"""Configuration of the LLM mutators (the ``mutator`` section of a run config) and the
choice of backend it implies."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, model_validator

from elmcore import PluginConfig
from elm_llm.backend import Backend

DEFAULT_DIFF_MODEL = "elm-diff-py-1m"  # shipped with elm (models/): pretrained on Python, fine-tuned on GP runs
DEFAULT_PROMPT_MODEL = "Salesforce/codegen-350M-mono"
DEFAULT_EDIT_MODEL = "Qwen/Qwen2.5-Coder-1.5B-Instruct"


MODEL_HELP = "shipped model name, hub id, local directory, or the server's model name"


class LLMConfig(PluginConfig):
    """Keys shared by every LLM mutator."""

    model: str = Field(DEFAULT_DIFF_MODEL, description=MODEL_HELP)
    backend: Literal["hf", "openai"] | None = Field(
        None, description="'hf' (transformers in this process) or 'openai' (an OpenAI-compatible server); "
                          "default: openai when base_url is set, else hf")
    base_url: str | None = Field(None, description="OpenAI-compatible server, e.g. http://localhost:8000/v1")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    temperature: float = Field(0.8, ge=0.0, le=5.0, description="0 = greedy")
    temperatures: list[float] | None = Field(
        None, description="temperatures taken in turn by the prompts of each batch (prompt k: temperatures[k % len], "
                          "e.g. [0.3, 0.8, 1.2]); replaces temperature")
    samples_per_parent: int = Field(
        1, ge=1, le=64, description="completions per prompt in one generation call (num_return_sequences): a batch "
                                    "of B children is written for ceil(B / samples_per_parent) parents; repeated "
                                    "programs are dropped as duplicates before evaluation")
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_new_tokens: int = Field(512, ge=1, le=32768)
    forward_batch: int = Field(32, ge=1, validation_alias=AliasChoices("forward_batch", "batch_size"),
                               description="hf: sequences per forward pass (not run.batch_size, the children per "
                                           "batch; the key was called batch_size before, which still reads)")
    device: str = Field("auto", description="hf: 'auto' (cuda if available), 'cpu', 'cuda', 'cuda:1', ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="hf: auto = bfloat16 on a GPU, float32 on CPU")
    decoder: Literal["auto", "generate"] = Field(
        "auto", description="hf: auto = elm's sampling loop with a preallocated cache for GPT-2 models "
                            "(transformers' generate for others); generate = always transformers' generate")
    concurrency: int = Field(8, ge=1, description="openai: requests in flight at once")
    timeout_s: float = Field(60.0, gt=0, description="openai: seconds per request")
    retries: int = Field(3, ge=0, description="openai: retries after a timeout, 429 or 5xx")
    retry_backoff_s: float = Field(1.0, ge=0, description="openai: first retry delay, doubled each retry")
    commit_messages: dict[str, float] | None = Field(
        None, description="message -> weight; replaces the domain's commit messages")

    @model_validator(mode="after")
    def _backend_matches_url(self) -> "LLMConfig":
        if self.temperatures is not None:
            if not self.temperatures:
                raise ValueError("temperatures is empty; give one or more, e.g. [0.3, 0.8, 1.2], or leave it out")
            bad = [t for t in self.temperatures if not 0.0 <= t <= 5.0]
            if bad:
                raise ValueError(f"temperatures {self.temperatures}: each must be between 0 and 5 (got {bad[0]})")
        if self.backend == "hf" and self.base_url:
            raise ValueError("base_url is set but backend is 'hf'; drop base_url or set backend to 'openai'")
        if not self.model.strip():
            raise ValueError("model is empty; pass --model with a hub id, a local directory or a server model name")
        return self

    @property
    def backend_kind(self) -> str:
        return self.backend or ("openai" if self.base_url else "hf")


class DiffConfig(LLMConfig):
    stored_defaults: ClassVar[dict[str, Any]] = {"guided": False}  # runs made before guided diffs were unguided

    model: str = Field(DEFAULT_DIFF_MODEL, description=MODEL_HELP)
    direct: bool = Field(False, description="aim each child at a place in the map: the QD algorithm proposes an "
                                            "empty or weak niche near the parent and the commit message asks for "
                                            "the move (\"Make the walker taller and lighter.\")")
    guided: bool = Field(True, description="hf with a GPT-2 model: copy the lines a diff keeps or removes from "
                                           "the parent as the model starts them, so every diff applies; the "
                                           "model writes where each hunk goes and the added lines (false: the "
                                           "model writes every line)")


class PromptConfig(LLMConfig):
    model: str = Field(DEFAULT_PROMPT_MODEL, description=MODEL_HELP)
    max_new_tokens: int = Field(256, ge=1, le=32768)
    template: str = Field("auto", description="'auto', 'bugfix', 'generic', or a template with {program}, "
                                              "{message}, {function_name}, {file_name}")

    @model_validator(mode="after")
    def _template_has_program(self) -> "PromptConfig":
        if self.template not in ("auto", "bugfix", "generic") and "{program}" not in self.template:
            raise ValueError(f"template {self.template!r} has no {{program}} placeholder; "
                             f"use 'auto', 'bugfix', 'generic' or a template containing {{program}}")
        return self


class EditConfig(LLMConfig):
    model: str = Field(DEFAULT_EDIT_MODEL, description=MODEL_HELP)
    max_new_tokens: int = Field(1024, ge=1, le=32768)
    instruction_source: Literal["auto", "instruction", "message"] = Field(
        "auto", description="auto: the domain's instruction if it has one, else the sampled commit message")


class SampleConfig(LLMConfig):
    model: str = Field("", description="the model that writes programs: a model directory made by `elm train` "
                                       "on `elm dataset programs`, a hub id, or the server's model name")
    max_new_tokens: int = Field(1024, ge=1, le=32768, description="longest program in tokens (an elm-trained "
                                                                   "model also stops at its own limit)")
    forward_batch: int = Field(128, ge=1, validation_alias=AliasChoices("forward_batch", "batch_size"),
                               description="hf: sequences per forward pass: a whole `elm sample` batch in one pass")
    prefix: str = Field("", description="text every program starts with; the model writes the rest")
    start_text: str | None = Field(None, description="text put before the prefix; default: the model's "
                                                     "start-of-document token (hf), nothing (openai)")


def make_backend(config: LLMConfig) -> Backend:
    """Build (and for hf, load) the backend the config asks for; LLMError if impossible."""
    if config.backend_kind == "openai":
        from elm_llm.openai_backend import OpenAIBackend

        return OpenAIBackend(config.model, base_url=config.base_url, api_key_env=config.api_key_env,
                             concurrency=config.concurrency, timeout_s=config.timeout_s, retries=config.retries,
                             retry_backoff_s=config.retry_backoff_s)
    from elm_llm.hf_backend import TransformersBackend

    return TransformersBackend(config.model, device=config.device, dtype=config.dtype,
                               forward_batch=config.forward_batch, decoder=config.decoder)
