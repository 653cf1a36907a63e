"""Tiny local causal LMs for tests (no hub, no download): a tokenizer trained on the spot,
a 2-layer GPT-2 of width 32, saved with save_pretrained and loaded back by path.

Reusable from other test areas::

    from tests.llm.tiny_models import build_tiny_model, teach_continuation
"""

from __future__ import annotations

from pathlib import Path

from elm_llm.random_models import CHAT_TEMPLATE, save_random_model

TINY_SIZES = dict(n_layer=2, n_embd=32, n_head=2, n_positions=1024)


def build_tiny_model(path: str | Path, chat: bool = False, seed: int = 0, **sizes) -> Path:
    """A random tiny GPT-2 and its tokenizer in ``path`` (with a chat template if ``chat``)."""
    return save_random_model(path, "gpt2", chat_template=CHAT_TEMPLATE if chat else None, seed=seed,
                             **{**TINY_SIZES, **sizes})


def teach_continuation(path: str | Path, prompt: str, continuation: str, steps: int = 400,
                       lr: float = 1e-2, margin_steps: int = 10) -> int:
    """Overfit the model in ``path`` until greedy decoding of ``prompt`` yields
    ``continuation`` followed by end-of-text; saves it back and returns the final loss.
    Lets a test drive a real, known-good completion through the transformers backend.
    Returns the number of steps taken; raises AssertionError if it never learns it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    prompt_ids = tokenizer(prompt)["input_ids"]
    target_ids = tokenizer(continuation)["input_ids"] + [tokenizer.eos_token_id]
    ids = torch.tensor([prompt_ids + target_ids])
    labels = ids.clone()
    labels[0, :len(prompt_ids)] = -100  # learn only the continuation, as the diff models were trained
    torch.manual_seed(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    learned_at = None
    for step in range(steps):
        out = model(input_ids=ids, labels=labels)
        greedy_right = bool((out.logits[0, len(prompt_ids) - 1:-1].argmax(-1) == ids[0, len(prompt_ids):]).all())
        if greedy_right and learned_at is None:
            learned_at = step
        if learned_at is not None and step >= learned_at + margin_steps:
            break
        optimiser.zero_grad()
        out.loss.backward()
        optimiser.step()
    assert learned_at is not None, f"the tiny model did not learn the continuation in {steps} steps"
    model.eval()
    model.save_pretrained(path)
    return step
