"""Hugging Face transformers backend: a causal LM loaded from a local directory or the hub,
sampled with elm's own loop for GPT-2 models (every prompt of a call in one queue,
``forward_batch`` rows at a time) and with ``generate`` in left-padded batches for the rest;
seeded per call (per batch for ``generate``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

from elm_llm.backend import Backend, ChatMessages, Completion, LLMError, SamplingParams, cut_at_stop
from elm_llm.decoding import GPT2Decoder, supports
from elm_llm.guided import DiffGuide
from elm_llm.runtime import context_length, load_causal_lm, resolve_device, resolve_dtype

MIN_NEW_TOKENS = 64  # what a prompt near the end of the context is still given; max_new_tokens shrinks to fit


class _PaddedDecodeWarningFilter(logging.Filter):
    """transformers warns about a missing attention mask when a finished row's pad token
    is fed back during decoding; the mask is passed and the warning is noise here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "strongly recommend passing in an `attention_mask`" not in record.getMessage()


_PADDED_DECODE_FILTER = _PaddedDecodeWarningFilter()


class TransformersBackend(Backend):
    """A causal LM run in this process. ``forward_batch`` counts sequences per forward pass."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", forward_batch: int = 8,
                 decoder: str = "auto") -> None:
        import torch
        from transformers.utils import logging as hf_logging

        modeling_logger = hf_logging.get_logger("transformers.modeling_utils")
        if _PADDED_DECODE_FILTER not in modeling_logger.filters:
            modeling_logger.addFilter(_PADDED_DECODE_FILTER)
        self.model_name = model
        self.forward_batch = max(1, int(forward_batch))
        self.device = resolve_device(device, option="mutator.device")
        self.dtype = resolve_dtype(dtype, self.device)
        self.tokenizer, self.model = load_causal_lm(model, self.dtype, option="--model")
        self.model.to(self.device)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.context_length = context_length(self.model.config)
        self.supports_chat = bool(getattr(self.tokenizer, "chat_template", None))
        self.start_text = self.tokenizer.bos_token or self.tokenizer.eos_token or ""
        # set by elm's trainer: the model never wrote longer completions, so longer ones are rambling
        self.model_max_new_tokens = getattr(self.model.generation_config, "max_new_tokens", None)
        if decoder not in ("auto", "generate"):
            raise LLMError(f"unknown decoder {decoder!r}; use auto or generate")
        # elm's own sampling loop where it reproduces the model (GPT-2), generate otherwise
        self.decoder = GPT2Decoder(self.model) if decoder == "auto" and supports(self.model) else None
        self._torch = torch
        self._vocab_text: list[str] | None = None
        self._line_start_ids: list[int] = []

    def _vocab(self) -> tuple[list[str], list[int]]:
        """Each token's text, and the tokens that begin a new line, for the diff guides (built once)."""
        if self._vocab_text is None:
            self._vocab_text = [self.tokenizer.decode([i]) for i in range(len(self.tokenizer))]
            self._line_start_ids = [i for i, text in enumerate(self._vocab_text) if text.startswith("\n")]
        return self._vocab_text, self._line_start_ids

    def describe(self) -> str:
        loop = "cached loop" if self.decoder is not None else "generate"
        return f"transformers:{self.model_name} ({self.device}, {str(self.dtype).removeprefix('torch.')}, {loop})"

    # -- sampling -----------------------------------------------------------------
    def generate(self, prompts: Sequence[str], params: SamplingParams, seed: int | None = None) -> list[Completion]:
        return self._sample(list(prompts), params, seed, add_special_tokens=True)

    def chat(self, conversations: Sequence[ChatMessages], params: SamplingParams,
             seed: int | None = None) -> list[Completion]:
        if not self.supports_chat:
            raise LLMError(f"model {self.model_name!r} has no chat template; the edit mutator needs a chat "
                           f"model (an instruct model, or --base-url of a chat server)")
        prompts = [self.tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
                   for c in conversations]
        return self._sample(prompts, params, seed, add_special_tokens=False)

    def _sample(self, prompts: list[str], params: SamplingParams, seed: int | None,
                add_special_tokens: bool) -> list[Completion]:
        n = max(1, params.n)
        results: list[Completion | None] = [None] * (len(prompts) * n)
        encoded = [self.tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"] for p in prompts]
        runnable: list[int] = []
        # a prompt near the end of the context still gets MIN_NEW_TOKENS (or max_new_tokens if fewer)
        budget = self.context_length - min(params.max_new_tokens, MIN_NEW_TOKENS)
        for i, ids in enumerate(encoded):
            if len(ids) > budget:
                reason = (f"prompt is {len(ids)} tokens; the model's context of {self.context_length} leaves "
                          f"room for prompts of up to {max(budget, 0)} tokens")
                for k in range(n):
                    results[i * n + k] = Completion(prompt_index=i, error=reason)
            else:
                runnable.append(i)
        if self.decoder is not None:  # one call: finished rows hand their slot to the next prompt
            sources = [params.copy_from[i] for i in runnable] if params.copy_from is not None else None
            outputs = self._cached_loop([encoded[i] for i in runnable], params, n, seed, sources)
            chunks = [(runnable, outputs)]
        else:
            # similar lengths together: less padding per batch
            runnable.sort(key=lambda i: len(encoded[i]))
            per_batch = max(1, self.forward_batch // n)
            chunks = []
            for b, start in enumerate(range(0, len(runnable), per_batch)):
                chunk = runnable[start:start + per_batch]
                batch_seed = None if seed is None else (seed + b) % (2**63)
                chunks.append((chunk, self._generate_batch([encoded[i] for i in chunk], params, n, batch_seed)))
        for chunk, outputs in chunks:
            for j, i in enumerate(chunk):
                for k in range(n):
                    comp = outputs[j * n + k]
                    comp.prompt_index = i
                    results[i * n + k] = comp
        return [c for c in results if c is not None]

    def _stop_tokens(self, stops: Sequence[str]) -> tuple[set[int], tuple[str, ...]]:
        """The stop strings that are single special tokens of the vocabulary (as ids), and the
        rest (as text, for the slower string matching)."""
        special = set(self.tokenizer.all_special_tokens)
        ids: set[int] = set()
        texts: list[str] = []
        for stop in stops:
            token_id = self.tokenizer.convert_tokens_to_ids(stop) if stop in special else None
            if isinstance(token_id, int) and token_id != self.tokenizer.unk_token_id:
                ids.add(token_id)
            else:
                texts.append(stop)
        return ids, tuple(texts)

    def _generate_batch(self, batch_ids: list[list[int]], params: SamplingParams, n: int,
                        seed: int | None) -> list[Completion]:
        """One batch through transformers' ``generate`` (models the cached loop does not cover)."""
        padded = self.tokenizer.pad({"input_ids": batch_ids}, padding=True, return_tensors="pt")
        input_ids = padded["input_ids"].to(self.device)
        attention_mask = padded["attention_mask"].to(self.device)
        sampling = params.temperature > 0
        kwargs: dict = dict(
            input_ids=input_ids, attention_mask=attention_mask,
            max_new_tokens=min(params.max_new_tokens, self.model_max_new_tokens or params.max_new_tokens,
                               self.context_length - input_ids.shape[1]),
            do_sample=sampling, num_return_sequences=n, pad_token_id=self.tokenizer.pad_token_id,
        )
        if sampling:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        stop_ids, stop_texts = self._stop_tokens(params.stop)
        if stop_ids:  # stop strings that are whole tokens end a row like end-of-text, at no cost
            kwargs.update(eos_token_id=sorted(self.eos_ids | stop_ids))
        if stop_texts:
            kwargs.update(stop_strings=list(stop_texts), tokenizer=self.tokenizer)
        with self._seeded(seed), self._out_of_memory(len(batch_ids) * n, params):
            out = self.model.generate(**kwargs)
        return self._completions(out[:, input_ids.shape[1]:].tolist(), params, stop_ids, guided=False)

    @contextlib.contextmanager
    def _seeded(self, seed: int | None) -> Iterator[None]:
        torch = self._torch
        devices = [self.device] if self.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            yield

    @contextlib.contextmanager
    def _out_of_memory(self, rows: int, params: SamplingParams) -> Iterator[None]:
        try:
            yield
        except self._torch.cuda.OutOfMemoryError:
            raise LLMError(f"out of GPU memory generating {rows} sequences of up to "
                           f"{params.max_new_tokens} tokens; lower mutator.forward_batch "
                           f"(now {self.forward_batch}) or max_new_tokens") from None

    def _completions(self, new_tokens: list[list[int]], params: SamplingParams, stop_ids: set[int],
                     guided: bool) -> list[Completion]:
        completions = []
        ends = self.eos_ids | stop_ids
        for row in new_tokens:
            end = next((t for t, tok in enumerate(row) if tok in ends), None)
            hit_eos = end is not None
            ids = row[:end] if hit_eos else row
            while ids and ids[-1] == self.tokenizer.pad_token_id:  # rows that finished early are padded
                ids = ids[:-1]
            text, hit_stop = cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=False), params.stop)
            if guided and not (hit_eos or hit_stop):  # out of tokens: a copied line may be cut short
                text = text[:text.rfind("\n") + 1]
            completions.append(Completion(prompt_index=-1, text=text, tokens=len(ids),
                                          finish_reason="stop" if (hit_eos or hit_stop) else "length"))
        return completions

    def _cached_loop(self, prompts: list[list[int]], params: SamplingParams, n: int, seed: int | None,
                     sources: list[str] | None = None) -> list[Completion]:
        """``generate``'s job done by elm's GPT-2 loop (decoding.py) for every prompt at once,
        ``forward_batch`` rows at a time: each prompt ``n`` times, each row guided by its
        prompt's program in ``sources`` when given."""
        torch = self._torch
        rows = [ids for ids in prompts for _ in range(n)]
        stop_ids, stop_texts = self._stop_tokens(params.stop)
        stop_check = None
        if stop_texts:
            def stop_check(tokens: list[int]) -> bool:
                text = self.tokenizer.decode(tokens, skip_special_tokens=False)
                return any(stop in text for stop in stop_texts)
        temperature = params.temperature if params.temperature > 0 else 0.0
        guides, line_starts = None, None
        if sources is not None:
            (vocab, line_start_ids), end_id = self._vocab(), min(self.eos_ids | stop_ids)

            def encode(text: str) -> list[int]:
                return self.tokenizer(text, add_special_tokens=False)["input_ids"]

            guides = [DiffGuide(sources[row // n], vocab, encode, end_id) for row in range(len(rows))]
            line_starts = torch.zeros(self.decoder.lm_head.shape[0], dtype=torch.bool, device=self.device)
            line_starts[line_start_ids] = True
            line_starts[sorted(self.eos_ids | stop_ids)] = True  # the diff may also end there
        most = min(params.max_new_tokens, self.model_max_new_tokens or params.max_new_tokens)
        with self._seeded(seed), self._out_of_memory(min(len(rows), self.forward_batch), params):
            generator = None if seed is None else torch.Generator(device=self.device).manual_seed(seed)
            new_tokens = self.decoder.sample_prompts(rows, most, temperature, params.top_p, self.eos_ids | stop_ids,
                                                     stop_check, generator, guides, line_starts,
                                                     slots=self.forward_batch, context=self.context_length)
        return self._completions(new_tokens, params, stop_ids, guided=sources is not None)

    def close(self) -> None:
        torch = self._torch
        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
