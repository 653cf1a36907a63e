"""Small randomly initialised causal LMs with a tokenizer trained on the spot (by the
runtime's ``train_code_tokenizer``), saved as a model directory: they exercise the
transformers backend offline (tests, benchmarks) where no pretrained weights can be
downloaded. Their output is noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elm_llm.runtime import DIFF_TOKENS, END_OF_TEXT, train_code_tokenizer

__all__ = ["CHAT_TEMPLATE", "CODEGEN_350M", "DIFF_TOKENS", "END_OF_TEXT", "TRAINING_TEXTS", "build_random_model",
           "save_random_model", "train_code_tokenizer"]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

# Salesforce/codegen-350M-mono's config.json (the base of diff-codegen-350m): 20 layers,
# width 1024, 16 heads, rotary dim 32, vocab 51,200, context 2,048 (about 357M parameters)
CODEGEN_350M = dict(n_layer=20, n_embd=1024, n_head=16, rotary_dim=32, vocab_size=51200, n_positions=2048,
                    n_ctx=2048, activation_function="gelu_new", tie_word_embeddings=False)

TRAINING_TEXTS = (
    "def parity(b1, b2, b3, b4):\n    \"\"\"Return binary parity of a sequence of input bits.\"\"\"\n"
    "    bit_sum = sum([b1, b2, b3, b4])\n    return bit_sum % 2\n",
    "from walk_creator import walker_creator\n\n\ndef make_walker():\n    wc = walker_creator()\n"
    "    j0 = wc.add_joint(0, 0)\n    j1 = wc.add_joint(5, 5)\n    wc.add_muscle(j0, j1, False, 2.0, 0.5)\n"
    "    return wc.get_walker()\n",
    "@@ -1,4 +1,4 @@\n def parity(b1, b2, b3, b4):\n-    return bit_sum % 3\n+    return bit_sum % 2\n",
    "<<<<<<< SEARCH\n    x = 1\n=======\n    x = 2\n>>>>>>> REPLACE\n```python\nfor i in range(10):\n"
    "    print(i, [i * 2 for i in range(3)])\n```\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n"
    "    def __repr__(self):\n        return f'Point({self.x}, {self.y})'\n",
)


def build_random_model(kind: str, tokenizer: Any, seed: int = 0, **sizes: Any) -> Any:
    """A randomly initialised ``gpt2`` or ``codegen`` causal LM sized by ``sizes``
    (GPT-2 names: n_layer, n_embd, n_head, n_positions; codegen also rotary_dim)."""
    import torch
    from transformers import CodeGenConfig, CodeGenForCausalLM, GPT2Config, GPT2LMHeadModel

    ids = dict(bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    sizes.setdefault("vocab_size", len(tokenizer))
    torch.manual_seed(seed)
    if kind == "gpt2":
        return GPT2LMHeadModel(GPT2Config(**ids, **sizes))
    if kind == "codegen":
        return CodeGenForCausalLM(CodeGenConfig(**ids, **sizes))
    raise ValueError(f"unknown model kind {kind!r}; use 'gpt2' or 'codegen'")


def save_random_model(path: str | Path, kind: str = "gpt2", chat_template: str | None = None, seed: int = 0,
                      texts: tuple[str, ...] | list[str] = TRAINING_TEXTS, tokenizer_vocab: int = 512,
                      **sizes: Any) -> Path:
    """Train a tokenizer, build a random model, ``save_pretrained`` both to ``path``.
    The model's ``vocab_size`` defaults to the tokenizer's; a larger one (the real
    CodeGen's 51,200) keeps the real output layer cost, the extra ids decode to nothing."""
    path = Path(path)
    tokenizer = train_code_tokenizer(texts, vocab_size=tokenizer_vocab, chat_template=chat_template)
    model = build_random_model(kind, tokenizer, seed=seed, **sizes)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
