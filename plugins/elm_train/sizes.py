"""Named model sizes for training from scratch: GPT-2 shapes, named by their parameter count
without the embeddings (the count the ELM paper's Table 1 uses), starting at the paper's
smallest (2 layers, width 64, 4 heads). The small ones train on a CPU in minutes; the
large ones want a GPU."""

from __future__ import annotations

SIZES: dict[str, dict[str, int]] = {
    "0.1m": dict(n_layer=2, n_embd=64, n_head=4),
    "1m": dict(n_layer=4, n_embd=128, n_head=4),
    "3m": dict(n_layer=6, n_embd=192, n_head=6),
    "10m": dict(n_layer=8, n_embd=320, n_head=8),
    "85m": dict(n_layer=12, n_embd=768, n_head=12),
    "300m": dict(n_layer=24, n_embd=1024, n_head=16),
}


def size_names() -> str:
    return ", ".join(SIZES)


def gpt2_config(size: str, vocab_size: int, context: int, eos_id: int, dropout: float = 0.0):
    """The ``GPT2Config`` of a named size, for a tokenizer of ``vocab_size`` and sequences
    of up to ``context`` tokens."""
    from transformers import GPT2Config

    if size not in SIZES:
        raise ValueError(f"unknown model size {size!r}; use one of {size_names()}")
    return GPT2Config(vocab_size=vocab_size, n_positions=context, bos_token_id=eos_id, eos_token_id=eos_id,
                      pad_token_id=eos_id, resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout,
                      tie_word_embeddings=True, **SIZES[size])
