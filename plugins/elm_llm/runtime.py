"""The one home of elm's language-model runtime: finding a model (shipped, a directory, a hub
id), choosing its device and dtype, loading it with its tokenizer, reading its context
length, and training a code tokenizer. The diff, prompt and edit mutators, the trainer, the
sampler and the PPO learner all load models through here.

Errors are ``ModelError``: a problem and a fix that names the option to change as
``{option}``, so each caller words the fix with its own option (``--model``, ``--init``,
``mutator.device``, ``--device``) through ``ModelError.worded``."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from elm_llm.backend import LLMError

DTYPES = ("auto", "float32", "bfloat16", "float16")
DEFAULT_CONTEXT = 2048  # what a model config that names no context length is taken to have
DIFF_TOKENS = ("<NME>", "<BEF>", "<MSG>", "<DFF>")
END_OF_TEXT = "<|endoftext|>"


class ModelError(LLMError):
    """A model that cannot be found, placed or loaded. ``str()`` gives the problem and the
    fix worded with ``option`` as given when raised; ``worded(option)`` rewords the fix for
    another caller's option."""

    def __init__(self, problem: str, fix: str = "", option: str = "--model") -> None:
        self.problem = problem
        self.fix = fix
        self.option = option
        super().__init__(self.worded(option))

    def worded(self, option: str) -> str:
        return f"{self.problem}; {self.fix.format(option=option)}" if self.fix else self.problem


def looks_like_path(model: str) -> bool:
    """Whether ``model`` names a directory rather than a hub id ("org/name")."""
    return (os.path.exists(model) or model.startswith(("/", "./", "../", "~"))
            or model.count("/") > 1 or "\\" in model)


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """A quick TCP probe of the hub endpoint, so a machine without network fails in
    seconds instead of after a minute of download retries."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def resolve_device(device: str, option: str = "--device") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} requested but torch sees no GPU", "set {option} to 'cpu' or 'auto'",
                         option)
    return device


def resolve_dtype(dtype: str, device: str):
    import torch

    if dtype not in DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}", f"use one of {', '.join(DTYPES)}")
    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, dtype)


def locate_model(model: str, option: str = "--model") -> tuple[str, bool]:
    """(what to pass to ``from_pretrained``, whether to stay offline) for a model name: a
    model shipped with elm (by its name), a local directory, or a hub id (from the local
    cache when it is there; ModelError when it is not and the hub cannot be reached)."""
    from elm_models import shipped_model

    shipped = shipped_model(model)
    if shipped is not None:
        return str(shipped), True
    if looks_like_path(model):
        path = Path(model).expanduser()
        if not path.is_dir():
            raise ModelError(f"model path {model!r} is not a directory",
                             "pass {option} PATH to a directory written by save_pretrained", option)
        return str(path), True
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model, "config.json"), str):
        return model, True  # in the local hub cache: no network needed
    if not hub_reachable():
        raise ModelError(f"model {model!r} is not in the local Hugging Face cache and the hub cannot be reached",
                         "pass {option} PATH to a local directory with the model files", option)
    return model, False


def context_length(config: Any) -> int:
    """The longest sequence a model config allows: the first of ``n_positions`` (GPT-2,
    CodeGen), ``max_position_embeddings`` (most others) and ``n_ctx`` that is set."""
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_CONTEXT


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def load_causal_lm(model: str, dtype: Any = None, option: str = "--model") -> tuple[Any, Any]:
    """(tokenizer, model) of a causal LM named as ``locate_model`` reads names, on the CPU
    in ``dtype`` (default float32). The tokenizer gets a pad token (its end-of-text) when
    it has none; ModelError when it has neither."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    source, local = locate_model(model, option)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        lm = AutoModelForCausalLM.from_pretrained(source, local_files_only=local, dtype=dtype or torch.float32)
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError... for a bad model dir
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"cannot load model {model!r}: {first}",
                         "pass {option} PATH to a directory written by save_pretrained (config.json, weights, "
                         "tokenizer files)", option) from None
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is None:
            raise ModelError(f"model {model!r}: the tokenizer has neither a pad nor an end-of-text token",
                             "pass {option} a model whose tokenizer has an end-of-text token", option)
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, lm


LINE_PIECES = r"\n|^[-+]?[ \t]*|(?<![\w.])\d+(?:\.\d+)?"
"""Where ``pieces="lines"`` cuts text before BPE: at each newline, after each line's diff
marker and indentation, and around each number (not digits inside a name). The text of a
line between numbers can merge into one token, a line of a program and the same line as
diff context or removal end in the same tokens, and a number is a token of its own (a
hunk header is ``@@ -``, numbers and commas; changing a constant changes one token)."""


def train_code_tokenizer(texts: tuple[str, ...] | list[str], vocab_size: int = 512,
                         chat_template: str | None = None, pieces: str = "words") -> Any:
    """A byte-level BPE tokenizer with the diff markers and end-of-text as special tokens
    (a diff marker is then always one token, as in the diff-codegen tokenizer).
    ``pieces="words"`` merges within words (GPT-2's rule); ``"lines"`` within the text of a
    line (see ``LINE_PIECES``): a small model then reads and copies whole lines."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [END_OF_TEXT, *DIFF_TOKENS]
    raw = Tokenizer(models.BPE())
    if pieces == "lines":
        raw.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LINE_PIECES), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    elif pieces == "words":
        raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        raise ValueError(f"unknown pieces {pieces!r}; use 'words' or 'lines'")
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(list(texts), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token=END_OF_TEXT, bos_token=END_OF_TEXT,
                                        pad_token=END_OF_TEXT, model_max_length=1_000_000)
    tokenizer.add_special_tokens({"additional_special_tokens": list(DIFF_TOKENS)})
    if chat_template:
        tokenizer.chat_template = chat_template
    return tokenizer
