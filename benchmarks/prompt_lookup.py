"""How many decoding steps drafting from the prompt would save, on a run's real completions.

For every completion a run stored (LLM mutators), replays it token by token: at each step
the draft is the tokens that followed the latest earlier occurrence (in the prompt or what
was written so far) of the last n tokens written (n from --ngram down to 1), at most --draft
of them; the step keeps the drafted tokens the completion really has next, plus one. Since
the completions are samples of the model, the share of drafted tokens kept estimates what
exact speculative sampling would keep. Prints tokens per step (1.00 = no gain).

With ``--step-cost``, also times what such a step costs in elm's GPT-2 sampling loop
(``elm_llm.decoding``): one forward pass writing 1 + draft positions per row into the cache
(each attending to the row's cache and the positions before it in the draft), the logits and
the draw for every position, against today's step of one position, at ``--rows`` rows whose
context is one of the run's prompts plus 75 tokens. It leaves out checking the drafts, so
the figure is the least such a step costs, and tokens per step over the cost ratio the most
a run could gain.

    python benchmarks/prompt_lookup.py RUN_DIR [--model elm-diff-py-1m] [--ngram 3] [--draft 8]
        [--limit 400] [--step-cost] [--rows 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
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


def step_cost(model_name: str, prompts: list[list[int]], positions: list[int], rounds: int = 3,
              steps_per_round: int = 20) -> dict[int, float]:
    """Median ms of one decoding step writing T positions per row, for each T in ``positions``."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM

    from elm_llm.decoding import GPT2Decoder, _Batch
    from elm_llm.runtime import locate_model
    decoder = GPT2Decoder(AutoModelForCausalLM.from_pretrained(locate_model(model_name)[0]).eval())
    rows = len(prompts)

    def started() -> _Batch:
        batch = _Batch(decoder, rows, max(map(len, prompts)) + 75 + max(positions) * steps_per_round + 1)
        batch.fill(list(range(rows)), list(range(rows)), prompts, [10**6] * rows)
        for _ in range(75):
            batch.step(torch.randint(0, 100, (rows,)))
        return batch

    def wide_step(batch: _Batch, tokens: torch.Tensor) -> None:
        width = tokens.shape[1]
        every = torch.arange(rows)[:, None]
        at = batch.at[:, None] + torch.arange(width)[None]
        end = int(at.max()) + 1
        columns = torch.arange(end)[None, None, :]
        drafted = (columns >= batch.at[:, None, None]) & (columns <= at[:, :, None])  # [rows, T, end]
        mask = batch.valid[:, None, None, :end] | drafted[:, None]
        batch.valid[every, at] = True

        def attend(index: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            batch.k[index][every, :, at] = k.permute(0, 2, 1, 3)
            batch.v[index][every, :, at] = v.permute(0, 2, 1, 3)
            return F.scaled_dot_product_attention(q, batch.k[index][:, :, :end], batch.v[index][:, :, :end],
                                                  attn_mask=mask)

        where = (batch.position[:, None] + torch.arange(width)[None]).clamp(max=decoder.positions - 1)
        hidden = decoder._forward(F.embedding(tokens, decoder.wte) + F.embedding(where, decoder.wpe), attend)
        decoder._choose(hidden.reshape(-1, decoder.width) @ decoder.lm_head.T, 0.8, 0.95, None)
        batch.at, batch.position = batch.at + width, batch.position + width

    times: dict[int, list[float]] = {t: [] for t in positions}
    with torch.inference_mode():
        for _ in range(rounds):
            for width in positions:  # interleaved
                batch = started()
                tokens = torch.randint(0, 100, (rows, width))
                begin = time.perf_counter()
                for _ in range(steps_per_round):
                    if width == 1:  # today's step
                        decoder._choose(batch.hidden @ decoder.lm_head.T, 0.8, 0.95, None)
                        batch.step(tokens[:, 0])
                    else:
                        wide_step(batch, tokens)
                times[width].append((time.perf_counter() - begin) / steps_per_round * 1e3)
    return {width: statistics.median(found) for width, found in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--model", default="elm-diff-py-1m",
                        help="the tokenizer: a shipped model's name or a directory")
    parser.add_argument("--ngram", type=int, default=3)
    parser.add_argument("--draft", type=int, default=8)
    parser.add_argument("--limit", type=int, default=400, help="completions read, in store order")
    parser.add_argument("--step-cost", action="store_true", help="also time a step writing 1 + draft positions")
    parser.add_argument("--rows", type=int, default=32, help="rows per step for --step-cost (the diff mutator's "
                        "forward_batch)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for --step-cost")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    from elm_llm.runtime import locate_model
    tokenizer = AutoTokenizer.from_pretrained(locate_model(args.model)[0])
    with sqlite3.connect(args.run_dir / "store.sqlite") as db:
        rows = db.execute("SELECT prompt, completion FROM candidates WHERE completion IS NOT NULL "
                          "AND completion != '' AND prompt IS NOT NULL ORDER BY id LIMIT ?", (args.limit,)).fetchall()
    tokens = total = 0
    shares = []
    prompts = []
    for prompt, completion in rows:
        written = tokenizer(completion)["input_ids"]
        if not written:
            continue
        prompts.append(tokenizer(prompt)["input_ids"])
        taken = steps(prompts[-1], written, args.ngram, args.draft)
        tokens += len(written)
        total += taken
        shares.append(taken / len(written))
    if not shares:
        raise SystemExit(f"{args.run_dir}: no stored completion (a run of an LLM mutator stores them)")
    print(f"{len(shares)} completions, {tokens} tokens: {total} steps with drafts from the prompt "
          f"(n <= {args.ngram}, {args.draft} drafted), {tokens / total:.2f} tokens per step; "
          f"median steps per token {statistics.median(shares):.2f}")
    if args.step_cost:
        import torch
        torch.set_num_threads(args.threads)
        cost = step_cost(args.model, prompts[:args.rows], [1, 1 + args.draft])
        ratio = cost[1 + args.draft] / cost[1]
        print(f"a step at {min(args.rows, len(prompts))} rows, {args.threads} thread(s): {cost[1]:.2f} ms writing 1 "
              f"position per row, {cost[1 + args.draft]:.2f} ms writing {1 + args.draft} ({ratio:.2f}x); "
              f"at most {tokens / total / ratio:.2f}x the tokens per second")


if __name__ == "__main__":
    main()
