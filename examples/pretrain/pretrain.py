"""A diff model that knows Python, from a fresh clone, with nothing downloaded.

    python examples/pretrain/pretrain.py --out out/pretrain [--ship models/NAME]

1. `elm dataset code`: the Python on this machine (the standard library and the installed
   packages whose licence is permissive) as a deduplicated corpus with a licence manifest.
2. `elm dataset commits`: synthetic commits made from the corpus's functions (bugs put in
   and fixed, missing lines written back, small changes), every diff checked to apply.
3. `elm train` from scratch on a sample of the corpus and all the commits: the model reads
   code and learns to write diffs in the diff models' format.
4. The copying phase: more commits, with three context lines around each change (a diff
   is mostly lines copied from the program), and `elm train --init` on them alone with a
   512-token context: what the model has to learn for its diffs to apply is to copy.
   `--copy-steps 0` leaves it out.
5. How often the diffs apply to programs no model saw (held-out commits, the 4-Parity and
   Quadratic seeds, the Sodarace seeds), beside the model that read elm's runs only
   (`benchmarks/diffs_apply.py`), and whether each model copies (`benchmarks/copy_loss.py`:
   its loss on context, removed and added lines).
6. Fine-tuning on elm's own Sodarace runs: GP runs from four seeds (Square, Radial, Runner,
   Galloper), the children that entered their maps exported with messages that say where
   each child moved (`elm dataset diffs --filter entered --max-repeats 3 --messages moves`),
   and `elm train --init` on them (300 steps): the model of `--ship` (models/elm-diff-py-1m).
   `--finetune-steps 0` leaves it out.
7. Optionally (`--bootstrap`), the bootstrap rounds of examples/bootstrap from the last model:
   ELM runs with it and fine-tuning on its own valid children.

Every step is an ordinary elm command (or script) whose output is kept; a step whose output
exists is skipped and a training stopped half-way resumes from its checkpoint, so the
script can be stopped and started again. Times go to timings.jsonl; figures to
figures.md / figures.json in --out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from steps import Steps  # noqa: E402  (examples/steps.py)

from elmcore.store import RunStore  # noqa: E402

REPO = HERE.parent.parent
BASELINE = "elm-diff-1m"  # the model trained on elm's runs alone
FINETUNE_SEEDS = ("square", "radial", "runner", "galloper")  # seed programs of the GP runs fine-tuned on


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/pretrain"))
    parser.add_argument("--from", dest="sources", default="stdlib,site-packages",
                        help="where the corpus comes from (elm dataset code --from)")
    parser.add_argument("--code-rows", type=int, default=20000,
                        help="corpus records sampled into the pretraining mix (the commits are all used)")
    parser.add_argument("--commits", type=int, default=60000, help="training commits to make")
    parser.add_argument("--size", default="1m", help="model size (elm train --size)")
    parser.add_argument("--steps", type=int, default=1500, help="pretraining steps")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the pretraining")
    parser.add_argument("--context", type=int, default=1024, help="context length of the model")
    parser.add_argument("--batch-tokens", type=int, default=8192, help="tokens per batch, padding included")
    parser.add_argument("--copy-steps", type=int, default=1600, help="steps of the copying phase (0: none)")
    parser.add_argument("--copy-lr", type=float, default=2e-3, help="peak learning rate of the copying phase")
    parser.add_argument("--gp-evals", type=int, default=10000, help="evaluations of each GP run fine-tuned on")
    parser.add_argument("--gp-seed", type=int, default=21, help="random seed of those GP runs")
    parser.add_argument("--finetune-steps", type=int, default=300,
                        help="steps of fine-tuning on the GP runs' entered children (0: none)")
    parser.add_argument("--finetune-lr", type=float, default=1e-3, help="peak learning rate of that fine-tuning")
    parser.add_argument("--bootstrap", action=argparse.BooleanOptionalAction, default=False,
                        help="then the bootstrap rounds of examples/bootstrap (ELM runs with the model and "
                             "fine-tuning on its own valid children)")
    parser.add_argument("--bootstrap-gp-evals", type=int, default=20000,
                        help="evaluations of each GP run of the bootstrap")
    parser.add_argument("--round-evals", type=int, default=4000, help="evaluations of each bootstrap ELM run")
    parser.add_argument("--rounds", type=int, default=2, help="bootstrap fine-tuning rounds")
    parser.add_argument("--prompts", type=int, default=100, help="held-out commits in the diffs-apply figures")
    parser.add_argument("--diffs-per-prompt", type=int, default=8, help="diffs sampled per program in those figures")
    parser.add_argument("--ship", type=Path, default=None, help="copy the last model here (a models/ entry)")
    args = parser.parse_args()
    out: Path = args.out
    steps = Steps(out)

    code, commits = out / "data" / "code", out / "data" / "commits"
    if not (code / "elm_dataset.json").exists():
        steps.elm("dataset", "code", "--from", args.sources, "--out", str(code))
    if not (commits / "elm_dataset.json").exists():
        steps.elm("dataset", "commits", "--from", str(code), "--out", str(commits), "--context", "1",
                  "--max-commits", str(args.commits))

    pretrained = out / "models" / "pretrained"
    steps.train(pretrained, "--data", f"{code}:{args.code_rows}", "--data", str(commits), "--size", args.size,
          "--steps", str(args.steps), "--lr", str(args.lr), "--context", str(args.context),
          "--batch-tokens", str(args.batch_tokens))

    models, held_out = [pretrained], commits
    if args.copy_steps > 0:
        commits3 = out / "data" / "commits3"
        if not (commits3 / "elm_dataset.json").exists():
            steps.elm("dataset", "commits", "--from", str(code), "--out", str(commits3), "--context", "3",
                      "--mix", "bugfix=0.6,complete=0.1,change=0.3")
        copying = out / "models" / "copying"
        steps.train(copying, "--init", str(pretrained), "--data", str(commits3), "--steps", str(args.copy_steps),
                    "--lr", str(args.copy_lr), "--context", "512", "--batch-tokens", str(args.batch_tokens),
                    "--loss", "completion")
        models, held_out = [pretrained, copying], commits3

    applies = out / "diffs_apply.json"
    if not applies.exists():
        steps.script(REPO / "benchmarks" / "diffs_apply.py", BASELINE, *map(str, models), "--commits", str(held_out),
                     "--prompts", str(args.prompts), "--n", str(args.diffs_per_prompt), "--json", str(applies))
    copies = out / "copy_loss.json"
    if not copies.exists():
        steps.script(REPO / "benchmarks" / "copy_loss.py", BASELINE, *map(str, models), "--commits", str(held_out),
                     "--json", str(copies))

    model = models[-1]
    if args.finetune_steps > 0:
        model = finetune(steps, out, model, args)
    if args.bootstrap:
        boot = out / "bootstrap"
        steps.script(REPO / "examples" / "bootstrap" / "bootstrap.py", "--out", str(boot), "--init", str(model),
                     "--gp-evals", str(args.bootstrap_gp_evals), "--round-evals", str(args.round_evals),
                     "--rounds", str(args.rounds))
        model = boot / "models" / f"round{args.rounds}"

    figures = json.loads(applies.read_text())
    table = ["| model | programs | diffs | apply exactly % | parse % | fixed % |", "|---|---|---|---|---|---|"]
    for name, measured in figures.items():
        for source, r in measured["rows"].items():
            fixed = f"{100 * r['fixed'] / r['diffs']:.1f}" if r["targets"] else "-"
            table.append(f"| {Path(name).name} | {source} | {r['diffs']} | {100 * r['applied'] / r['diffs']:.1f} "
                         f"| {100 * r['parses'] / r['diffs']:.1f} | {fixed} |")
    loss = json.loads(copies.read_text())
    kinds = list(next(iter(loss.values())))
    table += ["", "Loss in nats per token on held-out commits, by where the token is (a model that copies has "
              "a context-line loss far below its added-line loss):", "",
              "| model | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    table += [f"| {Path(name).name} | " + " | ".join(f"{v['nll']:.2f}" for v in per.values()) + " |"
              for name, per in loss.items()]
    steps.write_figures("\n".join(table), {"diffs_apply": figures, "copy_loss": loss, "model": str(model)})
    if args.ship is not None:
        shutil.copytree(model, args.ship, dirs_exist_ok=True, ignore=shutil.ignore_patterns("checkpoint*"))
        print(f"shipped {model} to {args.ship}")


def finetune(steps: Steps, out: Path, init: Path, args: argparse.Namespace) -> Path:
    """GP runs from four seeds; the children that entered their maps (new niches and
    improvements, an identical change kept at most three times) with messages that say
    where each child moved; `elm train --init` on them. Returns the fine-tuned model."""
    runs = []
    for seed_program in FINETUNE_SEEDS:
        run = out / "runs" / f"gp-{seed_program}"
        if (run / "store.sqlite").exists():
            if not _finished(run, args.gp_evals):
                steps.elm("resume", str(run), "--quiet")  # stopped half-way
        else:
            steps.elm("run", "--domain", "sodarace", "--seed-program", seed_program, "--mutator", "gp",
                      "--evals", str(args.gp_evals), "--seed", str(args.gp_seed), "--out", str(run), "--quiet")
        runs.append(str(run))
    entered = out / "data" / "gp-entered"
    if not (entered / "elm_dataset.json").exists():
        steps.elm("dataset", "diffs", *runs, "--filter", "entered", "--max-repeats", "3", "--messages", "moves",
                  "--context", "3", "--out", str(entered))
    model = out / "models" / "finetuned"
    steps.train(model, "--init", str(init), "--data", str(entered), "--steps", str(args.finetune_steps),
                "--lr", str(args.finetune_lr), "--context", str(args.context), "--batch-tokens",
                str(args.batch_tokens), "--loss", "completion")
    return model


def _finished(run: Path, evals: int) -> bool:
    store = RunStore.open(run, readonly=True)
    try:
        return store.evaluations() >= evals
    finally:
        store.close()


if __name__ == "__main__":
    main()
