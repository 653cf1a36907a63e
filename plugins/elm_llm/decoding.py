"""A sampling loop for GPT-2 models with a preallocated key/value cache.

``transformers``' ``generate`` spends most of a small model's time outside the arithmetic:
per step it runs a stack of logits processors and stopping criteria, grows its cache by
concatenation and goes through several layers of module calls. For the models elm trains
(a few million parameters, a CPU) that overhead is most of a diff's cost. This loop reads
the same weights and does only what sampling needs:

- a queue of prompts worked through ``slots`` rows at a time: a row that ends gives its slot
  to the next prompt (prefilled with the others that enter at that step; the same prompt
  twice is prefilled once), so a call does not wait on its longest row once per batch;
- one token per step, each layer's keys and values written in place into a cache allocated
  once per call;
- the same sampling rule as ``generate`` (temperature, then nucleus filtering with the same
  cut, then one draw per row), or the most likely token at temperature 0, computed with a
  partial sort and one uniform number per row (see ``_choose``);
- once no prompt is waiting, rows that ended (an end token, or a stop text found in what
  they wrote) leave the batch, so the steps that remain cost only what is still being written.

Same prompts, seed, slots and settings give the same completions on one machine; they are
not the token-for-token completions ``generate`` gives for that seed, because the random
draws are spread differently. Models other than GPT-2 (or GPT-2 variants with options this
loop does not implement) use ``generate``: :func:`supports` says which."""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence
from typing import Any, Callable

import torch
import torch.nn.functional as F

COMPACT_EVERY = 8  # steps between dropping finished rows from the batch
REFILL_SHARE = 8  # a slot that finished waits until 1/REFILL_SHARE of the slots are free (or COMPACT_EVERY steps)
NUCLEUS_K = 128  # the most likely tokens sorted per row; rows whose nucleus is larger are sorted in full


def supports(model: Any) -> bool:
    """Whether ``model`` is a plain GPT-2 language model this loop reproduces exactly."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) != "gpt2":
        return False
    if getattr(config, "add_cross_attention", False) or getattr(config, "scale_attn_by_inverse_layer_idx", False):
        return False
    if getattr(config, "reorder_and_upcast_attn", False) or not getattr(config, "scale_attn_weights", True):
        return False
    if getattr(config, "activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh", "gelu"):
        return False
    return hasattr(model, "transformer") and hasattr(model, "lm_head")


def _look_up(cumulative: torch.Tensor, target: torch.Tensor, size: int) -> torch.Tensor:
    """The first index whose ``cumulative`` mass passes ``target`` (one per row)."""
    return torch.searchsorted(cumulative, target, right=True).squeeze(-1).clamp(max=size - 1)


def _nucleus_pick(cumulative: torch.Tensor, order: torch.Tensor, draw: torch.Tensor, top_p: float) -> torch.Tensor:
    """Token ids drawn from the nucleus of rows given as the descending ``cumulative`` mass of
    their most likely tokens (ids in ``order``) and one uniform ``draw`` per row."""
    kept = (cumulative < top_p).sum(-1, keepdim=True).clamp(max=cumulative.shape[-1] - 1)  # last kept rank
    index = _look_up(cumulative, draw * cumulative.gather(-1, kept), cumulative.shape[-1])
    return order.gather(-1, torch.minimum(index, kept.squeeze(-1))[:, None]).squeeze(-1)


class _Batch:
    """The rows being written, one per slot: each layer's keys and values [slots, heads,
    capacity, head dim], which cache places hold a token of the slot's row (``valid``), where
    each slot writes next (``at``), the position its next token has (``position``), the
    prompt each slot is writing for (``rows``, -1 when free) and how many tokens it may still
    write (``left``). A prompt enters left-padded among those that enter with it, so slots
    differ in where their text starts, not in where their positions do."""

    def __init__(self, decoder: "GPT2Decoder", size: int, capacity: int) -> None:
        self.decoder, self.size = decoder, size
        w = decoder.wte
        shape = (size, decoder.heads, capacity, decoder.head_dim)
        # zeros, not empty: places a slot has not written are masked, but a masked NaN would still
        # reach the output through the attention weights' product with the values
        self.k = [torch.zeros(shape, dtype=w.dtype, device=w.device) for _ in decoder.layers]
        self.v = [torch.zeros(shape, dtype=w.dtype, device=w.device) for _ in decoder.layers]
        self.valid = torch.zeros(size, capacity, dtype=torch.bool, device=w.device)
        self.at = torch.zeros(size, dtype=torch.long, device=w.device)
        self.position = torch.zeros(size, dtype=torch.long, device=w.device)
        self.hidden = torch.zeros(size, decoder.width, dtype=w.dtype, device=w.device)
        self.rows = [-1] * size
        self.left = [0] * size

    def fill(self, slots: list[int], rows: list[int], prompts: Sequence[Sequence[int]], budget: list[int]) -> None:
        """Prefill ``rows``' prompts (each distinct prompt once) into ``slots``."""
        if not slots:
            return
        distinct: dict[tuple[int, ...], int] = {}
        groups = [distinct.setdefault(tuple(prompts[row]), len(distinct)) for row in rows]
        length = max(len(p) for p in distinct)
        device = self.valid.device
        ids = torch.zeros(len(distinct), length, dtype=torch.long, device=device)
        mask = torch.zeros(len(distinct), length, dtype=torch.long, device=device)
        for i, p in enumerate(distinct):
            ids[i, length - len(p):] = torch.tensor(p, dtype=torch.long, device=device)
            mask[i, length - len(p):] = 1
        hidden, cache_k, cache_v, positions = self.decoder._prefill(ids, mask, length)
        at = torch.tensor(slots, dtype=torch.long, device=device)
        which = torch.tensor(groups, dtype=torch.long, device=device)
        for own, new in zip(self.k + self.v, cache_k + cache_v):
            own[at, :, :length] = new[which]
        self.valid[at] = False
        self.valid[at, :length] = mask[which].bool()
        self.at[at] = length
        self.position[at] = positions[which, -1] + 1
        self.hidden[at] = hidden[which, -1]
        for slot, row in zip(slots, rows):
            self.rows[slot], self.left[slot] = row, budget[row]

    def keep(self, slots: list[int]) -> None:
        """Drop every slot but ``slots`` (when no prompt is waiting for them)."""
        index = torch.tensor(slots, dtype=torch.long, device=self.valid.device)
        self.k, self.v = [c[index] for c in self.k], [c[index] for c in self.v]
        self.valid, self.at, self.position = self.valid[index], self.at[index], self.position[index]
        self.hidden = self.hidden[index]
        self.rows, self.left = [self.rows[i] for i in slots], [self.left[i] for i in slots]
        self.size = len(slots)

    def step(self, token: torch.Tensor) -> None:
        """Feed each slot's new token: its keys and values go where the slot writes next."""
        decoder = self.decoder
        every = torch.arange(self.size, device=token.device)
        at = self.at.clamp(max=self.valid.shape[1] - 1)  # a free slot may have run to the end
        self.valid[every, at] = True
        end = int(at.max()) + 1
        mask = self.valid[:, None, None, :end]

        def attend(index: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            own_k, own_v = self.k[index], self.v[index]
            own_k[every, :, at] = k[:, :, 0]
            own_v[every, :, at] = v[:, :, 0]
            return F.scaled_dot_product_attention(q, own_k[:, :, :end], own_v[:, :, :end], attn_mask=mask)

        x = F.embedding(token, decoder.wte) + F.embedding(self.position.clamp(max=decoder.positions - 1), decoder.wpe)
        self.hidden = decoder._forward(x[:, None], attend)[:, -1]
        self.at = self.at + 1
        self.position = self.position + 1


class GPT2Decoder:
    """Sampling from a ``GPT2LMHeadModel``'s weights (shared, not copied)."""

    def __init__(self, model: Any) -> None:
        if not supports(model):
            raise ValueError("GPT2Decoder needs a plain GPT-2 model (see decoding.supports)")
        config = model.config
        t = model.transformer
        self.wte, self.wpe = t.wte.weight, t.wpe.weight
        self.lm_head = model.lm_head.weight
        self.ln_f = (t.ln_f.weight, t.ln_f.bias, t.ln_f.eps)
        self.layers = [dict(ln_1=(h.ln_1.weight, h.ln_1.bias, h.ln_1.eps), attn_w=h.attn.c_attn.weight,
                            attn_b=h.attn.c_attn.bias, proj_w=h.attn.c_proj.weight, proj_b=h.attn.c_proj.bias,
                            ln_2=(h.ln_2.weight, h.ln_2.bias, h.ln_2.eps), fc_w=h.mlp.c_fc.weight,
                            fc_b=h.mlp.c_fc.bias, fc2_w=h.mlp.c_proj.weight, fc2_b=h.mlp.c_proj.bias)
                       for h in t.h]
        self.heads = config.n_head
        self.width = config.n_embd
        self.head_dim = self.width // self.heads
        self.positions = config.n_positions
        exact = config.activation_function == "gelu"
        self.gelu: Callable[[torch.Tensor], torch.Tensor] = (
            (lambda x: F.gelu(x)) if exact else (lambda x: F.gelu(x, approximate="tanh")))

    # -- the network ----------------------------------------------------------------
    @staticmethod
    def _norm(x: torch.Tensor, ln: tuple) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), ln[0], ln[1], ln[2])

    def _forward(self, x: torch.Tensor, attend: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
                 ) -> torch.Tensor:
        """Run hidden states ``x`` [B, T, W] through the layers; ``attend(layer, q, k, v)``
        (each [B, heads, T, head dim]) stores the keys and values where it keeps them and
        returns the attention output. Returns the final-norm hidden states."""
        batch, steps, _ = x.shape
        for index, layer in enumerate(self.layers):
            h = self._norm(x, layer["ln_1"])
            qkv = torch.addmm(layer["attn_b"], h.reshape(-1, self.width), layer["attn_w"])
            q, k, v = qkv.view(batch, steps, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
            attended = attend(index, q, k, v).transpose(1, 2).reshape(-1, self.width)
            x = x + torch.addmm(layer["proj_b"], attended, layer["proj_w"]).view(batch, steps, self.width)
            h = self._norm(x, layer["ln_2"]).reshape(-1, self.width)
            h = self.gelu(torch.addmm(layer["fc_b"], h, layer["fc_w"]))
            x = x + torch.addmm(layer["fc2_b"], h, layer["fc2_w"]).view(batch, steps, self.width)
        return self._norm(x, self.ln_f)

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Next-token logits at every position of left-padded ``input_ids`` (as the model's own
        forward pass gives them at the positions that are not padding)."""
        return self._prefill(input_ids, attention_mask, input_ids.shape[1])[0] @ self.lm_head.T

    def _prefill(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, total: int
                 ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        """Run left-padded prompts: (final hidden states [B, L, W], each layer's key and value
        cache [B, heads, total, head dim] with the prompt in its first L places, the position
        of every prompt token)."""
        batch, length = input_ids.shape
        dtype, device = self.wte.dtype, self.wte.device
        shape = (batch, self.heads, total, self.head_dim)
        cache_k = [torch.empty(shape, dtype=dtype, device=device) for _ in self.layers]
        cache_v = [torch.empty(shape, dtype=dtype, device=device) for _ in self.layers]
        valid = attention_mask.bool()
        positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        causal = torch.ones(length, length, dtype=torch.bool, device=device).tril()
        # padding is never looked at; each position may look at itself, so no row of the mask is
        # empty (a padded query's output is never used)
        mask = ((causal[None] & valid[:, None, :]) | torch.eye(length, dtype=torch.bool, device=device)[None])[:, None]

        def attend(index: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            cache_k[index][:, :, :length] = k
            cache_v[index][:, :, :length] = v
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

        x = F.embedding(input_ids, self.wte) + F.embedding(positions, self.wpe)
        return self._forward(x, attend), cache_k, cache_v, positions

    # -- sampling -------------------------------------------------------------------
    @staticmethod
    def _choose(logits: torch.Tensor, temperature: float, top_p: float,
                generator: torch.Generator | None) -> torch.Tensor:
        """One token per row: the most likely at temperature 0, else a draw from the softmax
        of ``logits / temperature`` cut to its nucleus (``generate``'s rule: a token stays when
        the tokens more likely than it hold less than ``top_p`` of the mass). The nucleus is
        found among the ``NUCLEUS_K`` most likely tokens (a partial sort); a row whose nucleus
        is larger is sorted in full. The draw is one uniform number per row, looked up in the
        cumulative mass of the kept tokens (a full sort and ``torch.multinomial`` over the
        vocabulary cost more than the model's forward pass for a small model)."""
        if temperature <= 0:
            return logits.argmax(-1)
        probs = (logits.float() / temperature).softmax(-1)
        draw = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device)
        if top_p >= 1.0:
            cumulative = probs.cumsum(-1)
            return _look_up(cumulative, draw * cumulative[:, -1:], probs.shape[-1])
        top, order = probs.topk(min(NUCLEUS_K, probs.shape[-1]), dim=-1)
        cumulative = top.cumsum(-1)
        enough = cumulative[:, -1] >= top_p
        if not bool(enough.all()):  # the nucleus reaches past the partial sort: sort those rows in full
            wider, keep = (~enough).nonzero().squeeze(-1), enough.nonzero().squeeze(-1)
            full, full_order = probs[wider].sort(-1, descending=True)
            token = torch.zeros(probs.shape[0], dtype=torch.long, device=probs.device)
            token[wider] = _nucleus_pick(full.cumsum(-1), full_order, draw[wider], top_p)
            if len(keep):
                token[keep] = _nucleus_pick(cumulative[keep], order[keep], draw[keep], top_p)
            return token
        return _nucleus_pick(cumulative, order, draw, top_p)

    @torch.inference_mode()
    def sample(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int,
               temperature: float, top_p: float, end_ids: set[int],
               stop_check: Callable[[list[int]], bool] | None = None,
               generator: torch.Generator | None = None,
               guides: Sequence[Any] | None = None, line_starts: torch.Tensor | None = None) -> list[list[int]]:
        """``sample_prompts`` for the rows of left-padded ``input_ids``, all in the batch at once."""
        prompts = [row[keep].tolist() for row, keep in zip(input_ids, attention_mask.bool())]
        return self.sample_prompts(prompts, max_new_tokens, temperature, top_p, end_ids, stop_check, generator,
                                   guides, line_starts, slots=max(1, len(prompts)))

    @torch.inference_mode()
    def sample_prompts(self, prompts: Sequence[Sequence[int]], max_new_tokens: int, temperature: float,
                       top_p: float, end_ids: set[int], stop_check: Callable[[list[int]], bool] | None = None,
                       generator: torch.Generator | None = None, guides: Sequence[Any] | None = None,
                       line_starts: torch.Tensor | None = None, slots: int = 32,
                       context: int | None = None) -> list[list[int]]:
        """New tokens for each prompt (token ids): up to ``max_new_tokens`` (fewer where the
        context ends: the model's, or ``context`` tokens if fewer), the end token included
        when one was written.

        At most ``slots`` rows are written at once. A row that ends gives its slot to the
        next prompt waiting (prompts that are the same share one prefill), so the batch stays
        full until the prompts run out, instead of each batch waiting for its longest row.
        ``stop_check(tokens)`` (optional) is asked every few steps whether a row's text holds a
        stop string; a row it says yes to ends. ``guides`` (optional, one per prompt or None)
        see each sampled token and return the one the row writes instead
        (``guided.DiffGuide``); a row whose guide ``needs_newline`` samples only among the
        tokens ``line_starts`` (a mask over the vocabulary) allows."""
        written: list[list[int]] = [[] for _ in prompts]
        room = min(self.positions, context or self.positions)
        budget = [max(0, min(max_new_tokens, room - len(p))) for p in prompts]
        queue = deque(i for i, p in enumerate(prompts) if budget[i] > 0 and len(p) > 0)
        if not queue:
            return written
        # a prompt is padded to the longest of those that enter with it, and then writes its budget
        batch = _Batch(self, min(max(1, slots), len(queue)),
                       max(len(prompts[i]) for i in queue) + max(budget[i] for i in queue))
        batch.fill(list(range(batch.size)), [queue.popleft() for _ in range(batch.size)], prompts, budget)
        ends = torch.tensor(sorted(end_ids), dtype=torch.long, device=self.wte.device)
        for step in itertools.count():
            logits = batch.hidden @ self.lm_head.T
            rows = batch.rows
            if guides is not None and line_starts is not None:
                held = [i for i, row in enumerate(rows) if row >= 0 and guides[row] is not None
                        and guides[row].needs_newline]
                if held:
                    logits[held] = logits[held].masked_fill(~line_starts, -math.inf)
            token = self._choose(logits, temperature, top_p, generator)
            chosen = token.tolist()
            if guides is not None:
                for i, row in enumerate(rows):
                    if row >= 0 and guides[row] is not None:
                        chosen[i] = guides[row].next(chosen[i])
                token = torch.tensor(chosen, dtype=token.dtype, device=token.device)
            ended = torch.isin(token, ends).tolist() if len(ends) else [False] * len(rows)
            check = stop_check is not None and step % COMPACT_EVERY == COMPACT_EVERY - 1
            for i, (row, tok) in enumerate(zip(rows, chosen)):
                if row < 0:
                    continue
                written[row].append(tok)
                batch.left[i] -= 1
                if ended[i] or batch.left[i] <= 0 or (check and stop_check(written[row])):  # type: ignore[misc]
                    rows[i] = -1  # the slot is free
            free = [i for i, row in enumerate(rows) if row < 0]
            if len(free) == len(rows) and not queue:
                break
            if free and queue and (len(free) * REFILL_SHARE >= len(rows) or step % COMPACT_EVERY == COMPACT_EVERY - 1):
                take = [queue.popleft() for _ in range(min(len(free), len(queue)))]
                batch.step(token)  # the rows still writing take their token first
                batch.fill(free[:len(take)], take, prompts, budget)
                continue
            if free and not queue and (step % COMPACT_EVERY == COMPACT_EVERY - 1 or len(free) * 2 >= len(rows)):
                writing = [i for i, row in enumerate(rows) if row >= 0]
                batch.keep(writing)
                token = token[writing]
            batch.step(token)
        return written  # a row stops taking tokens once it has written an end token

