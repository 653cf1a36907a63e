"""A sampling loop for GPT-2 models with a preallocated key/value cache.

``transformers``' ``generate`` spends most of a small model's time outside the arithmetic:
per step it runs a stack of logits processors and stopping criteria, grows its cache by
concatenation and goes through several layers of module calls. For the models elm trains
(a few million parameters, a CPU) that overhead is most of a diff's cost. This loop reads
the same weights and does only what sampling needs:

- one prefill of the (left-padded) prompts, then one token per step, each layer's keys and
  values written in place into a cache allocated once for the longest sequence;
- the same sampling rule as ``generate`` (temperature, then nucleus filtering with the same
  cut, then one multinomial draw per row), or the most likely token at temperature 0;
- rows that ended (an end token, or a stop text found in what they wrote) leave the batch,
  so the steps that remain cost only what is still being written.

Same prompts, seed and settings give the same completions on one machine; they are not the
token-for-token completions ``generate`` gives for that seed, because rows leave the batch
and the random draws are spread differently. Models other than GPT-2 (or GPT-2 variants with
options this loop does not implement) use ``generate``: :func:`supports` says which."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Callable

import torch
import torch.nn.functional as F

COMPACT_EVERY = 8  # steps between dropping finished rows from the batch


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

    def _forward(self, x: torch.Tensor, cache_k: list[torch.Tensor], cache_v: list[torch.Tensor], start: int,
                 mask: torch.Tensor) -> torch.Tensor:
        """Run hidden states ``x`` [B, T, W] (positions start..start+T-1 of the cache) through
        the layers, writing their keys and values into the caches; ``mask`` [B, 1, T, start+T]
        is True where a query may look. Returns the final-norm hidden states."""
        batch, steps, _ = x.shape
        end = start + steps
        for layer, k_cache, v_cache in zip(self.layers, cache_k, cache_v):
            h = self._norm(x, layer["ln_1"])
            qkv = torch.addmm(layer["attn_b"], h.reshape(-1, self.width), layer["attn_w"])
            q, k, v = qkv.view(batch, steps, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
            k_cache[:, :, start:end] = k
            v_cache[:, :, start:end] = v
            attended = F.scaled_dot_product_attention(q, k_cache[:, :, :end], v_cache[:, :, :end], attn_mask=mask)
            attended = attended.transpose(1, 2).reshape(-1, self.width)
            x = x + torch.addmm(layer["proj_b"], attended, layer["proj_w"]).view(batch, steps, self.width)
            h = self._norm(x, layer["ln_2"]).reshape(-1, self.width)
            h = self.gelu(torch.addmm(layer["fc_b"], h, layer["fc_w"]))
            x = x + torch.addmm(layer["fc2_b"], h, layer["fc2_w"]).view(batch, steps, self.width)
        return self._norm(x, self.ln_f)

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Next-token logits at every position of left-padded ``input_ids`` (as the model's own
        forward pass gives them at the positions that are not padding)."""
        cache_k, cache_v, _, mask, x = self._prefill_inputs(input_ids, attention_mask, input_ids.shape[1])
        return self._forward(x, cache_k, cache_v, 0, mask) @ self.lm_head.T

    def _prefill_inputs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, total: int):
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
        mask = (causal[None] & valid[:, None, :]) | torch.eye(length, dtype=torch.bool, device=device)[None]
        x = F.embedding(input_ids, self.wte) + F.embedding(positions, self.wpe)
        return cache_k, cache_v, positions, mask[:, None], x

    # -- sampling -------------------------------------------------------------------
    @staticmethod
    def _choose(logits: torch.Tensor, temperature: float, top_p: float,
                generator: torch.Generator | None) -> torch.Tensor:
        if temperature <= 0:
            return logits.argmax(-1)
        logits = logits.float() / temperature
        if top_p < 1.0:  # nucleus: drop the least likely tokens whose total is at most 1 - top_p
            ordered, order = torch.sort(logits, descending=False)
            cumulative = ordered.softmax(-1).cumsum(-1)
            drop = cumulative <= 1 - top_p
            drop[..., -1:] = False  # the most likely token always stays
            logits = logits.masked_fill(drop.scatter(-1, order, drop), -math.inf)
        return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)

    @torch.inference_mode()
    def sample(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int,
               temperature: float, top_p: float, end_ids: set[int],
               stop_check: Callable[[list[int]], bool] | None = None,
               generator: torch.Generator | None = None,
               guides: Sequence[Any] | None = None, line_starts: torch.Tensor | None = None) -> list[list[int]]:
        """New tokens for each row of left-padded ``input_ids``: up to ``max_new_tokens``, the
        end token included when one was written. ``stop_check(tokens)`` (optional) is asked
        every few steps whether a row's text holds a stop string; a row it says yes to ends.
        ``guides`` (optional, one per row or None) see each sampled token and return the one
        the row writes instead (``guided.DiffGuide``); a row whose guide ``needs_newline``
        samples only among the tokens ``line_starts`` (a mask over the vocabulary) allows."""
        batch, length = input_ids.shape
        max_new_tokens = max(0, min(max_new_tokens, self.positions - length))
        written: list[list[int]] = [[] for _ in range(batch)]
        if max_new_tokens == 0 or batch == 0:
            return written
        total = length + max_new_tokens
        cache_k, cache_v, positions, mask, x = self._prefill_inputs(input_ids, attention_mask, total)
        hidden = self._forward(x, cache_k, cache_v, 0, mask)[:, -1]
        rows = torch.arange(batch, device=input_ids.device)  # which original row each batch row is
        valid = torch.zeros(batch, total, dtype=torch.bool, device=input_ids.device)
        valid[:, :length] = attention_mask.bool()
        position = positions[:, -1]
        ends = torch.tensor(sorted(end_ids), dtype=torch.long, device=input_ids.device)
        done = torch.zeros(batch, dtype=torch.bool, device=input_ids.device)  # rows that ended, still in the batch
        for step in range(max_new_tokens):
            logits = hidden @ self.lm_head.T
            if guides is not None:
                row_ids = rows.tolist()
                held = [i for i, row in enumerate(row_ids) if guides[row] is not None and guides[row].needs_newline]
                if held and line_starts is not None:
                    logits[held] = logits[held].masked_fill(~line_starts, -math.inf)
                token = self._choose(logits, temperature, top_p, generator)
                chosen = token.tolist()
                for i, (row, ended) in enumerate(zip(row_ids, done.tolist())):
                    if not ended and guides[row] is not None:
                        chosen[i] = guides[row].next(chosen[i])
                token = torch.tensor(chosen, dtype=token.dtype, device=token.device)
            else:
                token = self._choose(logits, temperature, top_p, generator)
            for row, tok, ended in zip(rows.tolist(), token.tolist(), done.tolist()):
                if not ended:
                    written[row].append(tok)
            if len(ends):
                done = done | torch.isin(token, ends)
            if stop_check is not None and step % COMPACT_EVERY == COMPACT_EVERY - 1:
                flags = [stop_check(written[row]) for row in rows.tolist()]
                done = done | torch.tensor(flags, dtype=torch.bool, device=done.device)
            if step == max_new_tokens - 1 or bool(done.all()):
                break
            if bool(done.any()) and (step % COMPACT_EVERY == COMPACT_EVERY - 1 or done.float().mean() >= 0.5):
                keep = (~done).nonzero().squeeze(-1)
                rows, token, position, valid, done = rows[keep], token[keep], position[keep], valid[keep], done[keep]
                cache_k = [c[keep] for c in cache_k]
                cache_v = [c[keep] for c in cache_v]
            at = length + step
            position = position + 1
            valid[:, at] = True
            x = F.embedding(token, self.wte) + F.embedding(position.clamp(max=self.positions - 1), self.wpe)
            hidden = self._forward(x[:, None], cache_k, cache_v, at, valid[:, None, None, :at + 1])[:, -1]
        return written  # a row stops taking tokens once it has written an end token
