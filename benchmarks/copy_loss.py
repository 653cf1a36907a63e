"""Does a diff model copy? Its loss on each kind of line of held-out commits.

    python benchmarks/copy_loss.py MODEL [MODEL ...] --commits DIR [--records 150]

A diff applies only when its context (" ") and removed ("-") lines are the program's lines,
character for character: the model has to copy them from the prompt. For each model this
prints the mean negative log-likelihood per token (nats) of the held-out commits of an
`elm dataset commits` directory (its test split: functions of files no model was trained
on), split by where the token is: the prompt (`<NME>`, `<BEF>`, `<MSG>`), hunk headers, and
the diff's context, removed and added lines. A model that copies has a context-line loss far
below its added-line loss (a copied token is nearly certain); one that does not has both
near its loss on new code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from elm_llm.runtime import load_causal_lm

KINDS = ("prompt", "header", "context", "removed", "added")
LINE_KIND = {"@": "header", " ": "context", "-": "removed", "+": "added"}


def line_kinds(prompt: str, completion: str) -> list[str]:
    """The kind of every character of ``prompt + completion``."""
    kinds = ["prompt"] * len(prompt)
    for line in completion.splitlines(keepends=True):
        kinds += [LINE_KIND.get(line[:1], "header" if line.strip() == "" else "added")] * len(line)
    return kinds


def copy_loss(model_path: str, records: list[dict]) -> dict[str, tuple[float, int]]:
    tokenizer, model = load_causal_lm(model_path)
    model.eval()
    context = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", 1024)
    totals = {k: [0.0, 0] for k in KINDS}
    for r in records:
        text = r["prompt"] + r["completion"]
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        if len(ids) < 2 or len(ids) > context:
            continue
        kinds = line_kinds(r["prompt"], r["completion"])
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, :-1].float()
        nll = torch.nn.functional.cross_entropy(logits, torch.tensor(ids[1:]), reduction="none")
        for i, value in enumerate(nll.tolist(), start=1):
            start = offsets[i][0]
            kind = kinds[min(start, len(kinds) - 1)]
            totals[kind][0] += value
            totals[kind][1] += 1
    return {k: (s / n if n else float("nan"), n) for k, (s, n) in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="model directories or names")
    parser.add_argument("--commits", required=True, type=Path, help="an `elm dataset commits` directory")
    parser.add_argument("--records", type=int, default=150, help="held-out commits to read")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    test = args.commits / "test.jsonl"
    if not test.is_file():
        print(f"copy_loss: {test} does not exist; give a directory made by `elm dataset commits`", file=sys.stderr)
        return 2
    records = [json.loads(line) for line in test.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = records[:args.records]
    figures = {}
    print(f"nats per token on {len(records)} held-out commits of {args.commits} (tokens in brackets)")
    print(f"| model | {' | '.join(KINDS)} |")
    print("|---" * (len(KINDS) + 1) + "|")
    for model in args.models:
        result = copy_loss(model, records)
        figures[model] = {k: {"nll": round(v, 3), "tokens": n} for k, (v, n) in result.items()}
        print(f"| {model} | " + " | ".join(f"{v:.2f} ({n:,})" for v, n in result.values()) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
