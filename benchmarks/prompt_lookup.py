"""How many decoding steps drafting from the prompt would save, on a run's real completions.

For every completion a run stored (LLM mutators), replays it token by token: at each step
the draft is the tokens that followed the latest earlier occurrence (in the prompt or what
was written so far) of the last n tokens written (n from --ngram down to 1), at most --draft
of them; the step keeps the drafted tokens the completion really has next, plus one. Since
the completions are samples of the model, the share of drafted tokens kept estimates what
exact speculative sampling would keep. Prints tokens per step (1.00 = no gain).

    python benchmarks/prompt_lookup.py RUN_DIR [--model elm-diff-py-1m] [--ngram 3] [--draft 8]
        [--limit 400]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
from pathlib import Path


def steps(prompt: list[int], completion: list[int], ngram: int, draft_len: int) -> int:
    """Decoding steps to write ``completion`` after ``prompt`` with prompt-lookup drafts."""
    context = list(prompt)
    done = taken = 0
    while done < len(completion):
        draft: list[int] = []
        for n in range(ngram, 0, -1):
            if len(context) <= n:
                continue
            key = context[-n:]
            for start in range(len(context) - n - 1, -1, -1):
                if context[start:start + n] == key:
                    draft = context[start + n:start + n + draft_len]
                    break
            if draft:
                break
        kept = 0
        while kept < len(draft) and done + kept < len(completion) and draft[kept] == completion[done + kept]:
            kept += 1
        advance = min(kept + 1, len(completion) - done)
        context.extend(completion[done:done + advance])
        done += advance
        taken += 1
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--model", default="elm-diff-py-1m",
                        help="the tokenizer: a shipped model's name or a directory")
    parser.add_argument("--ngram", type=int, default=3)
    parser.add_argument("--draft", type=int, default=8)
    parser.add_argument("--limit", type=int, default=400, help="completions read, in store order")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    from elm_llm.runtime import locate_model
    tokenizer = AutoTokenizer.from_pretrained(locate_model(args.model)[0])
    with sqlite3.connect(args.run_dir / "store.sqlite") as db:
        rows = db.execute("SELECT prompt, completion FROM candidates WHERE completion IS NOT NULL "
                          "AND completion != '' AND prompt IS NOT NULL ORDER BY id LIMIT ?", (args.limit,)).fetchall()
    tokens = total = 0
    shares = []
    for prompt, completion in rows:
        written = tokenizer(completion)["input_ids"]
        if not written:
            continue
        taken = steps(tokenizer(prompt)["input_ids"], written, args.ngram, args.draft)
        tokens += len(written)
        total += taken
        shares.append(taken / len(written))
    if not shares:
        raise SystemExit(f"{args.run_dir}: no stored completion (a run of an LLM mutator stores them)")
    print(f"{len(shares)} completions, {tokens} tokens: {total} steps with drafts from the prompt "
          f"(n <= {args.ngram}, {args.draft} drafted), {tokens / total:.2f} tokens per step; "
          f"median steps per token {statistics.median(shares):.2f}")


if __name__ == "__main__":
    main()
