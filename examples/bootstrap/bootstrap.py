"""ELM from zero: a diff model bootstrapped from elm's own runs, with nothing downloaded.

    python examples/bootstrap/bootstrap.py --out out/bootstrap

1. GP runs on Sodarace (GP needs no model): three from Square, one each from Radial and
   CPPN-Fixed.
2. `elm dataset diffs` of their edits that gave valid walkers; `elm train` a small model
   from scratch on them (round 0): first with the loss on programs and diffs, then on the
   diffs alone. With `--init MODEL` (a pretrained model, examples/pretrain) round 0 is
   MODEL fine-tuned on the diffs alone.
3. Each round: an ELM run from Square with the latest model as the diff mutator; its own
   diffs that gave valid walkers are exported and the model is fine-tuned on them.
4. Per round, at equal evaluations from Square: % of children whose edit applied, that
   ran, that were valid, niches filled and QD score (GP as the reference), printed as a
   table and written to figures.json / figures.md in --out.

Every step is an ordinary elm command; each one is skipped when its output exists, so
the script can be stopped and started again.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from steps import Steps  # noqa: E402  (examples/steps.py)

from elmcore.store import RunStore

GP_RUNS = (("square", 0), ("square", 1), ("square", 2), ("radial", 0), ("cppn_fixed", 0))  # (seed program, seed)
APPLIED = ("not_runnable", "invalid", "valid")
RAN = ("invalid", "valid")


steps: Steps  # set by main()


def elm(*args: str) -> None:
    steps.elm(*args)


def train(model: Path, *options: str) -> None:
    steps.train(model, *options)


def run_figures(run_dir: Path) -> dict:
    """What a run's children became, and its archive at the end."""
    store = RunStore.open(run_dir, readonly=True)
    try:
        counts = store.outcome_counts()
        seeds = sum(1 for _ in store.iter_candidates("operator = 'seed'"))
        stats = store.last_stats() or {}
        evals = store.count()
    finally:
        store.close()
    children = max(1, evals - seeds)

    def pct(outcomes: tuple[str, ...]) -> float:
        share = sum(counts.get(o, 0) for o in outcomes)
        if "valid" in outcomes:
            share -= seeds  # the seeds are valid but nobody's edit
        return round(100.0 * share / children, 1)

    return {"run": str(run_dir), "evals": evals, "applied_pct": pct(APPLIED), "runnable_pct": pct(RAN),
            "valid_pct": pct(("valid",)), "niches": stats.get("filled"),
            "qd_score": round(stats.get("qd_score") or 0.0, 1), "max_fitness": stats.get("max_fitness")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/bootstrap"))
    parser.add_argument("--gp-evals", type=int, default=20000, help="evaluations of each GP run")
    parser.add_argument("--round-evals", type=int, default=4000, help="evaluations of each ELM run")
    parser.add_argument("--rounds", type=int, default=2, help="fine-tuning rounds after the first model")
    parser.add_argument("--init", default=None,
                        help="start round 0 from this model (a pretrained one: examples/pretrain) instead of "
                             "from nothing; round 0 is then its fine-tuning on the GP diffs")
    parser.add_argument("--size", default="1m", help="model size of the first model (elm train --size)")
    parser.add_argument("--epochs", type=float, default=1.5, help="epochs of the first model on programs and diffs")
    parser.add_argument("--diff-steps", type=int, default=200, help="steps of the first model on the diffs alone")
    parser.add_argument("--finetune-steps", type=int, default=120, help="training steps of each fine-tuning")
    parser.add_argument("--finetune-lr", type=float, default=5e-4, help="peak learning rate of each fine-tuning")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ship", type=Path, default=None, help="copy the last model here (a models/ entry)")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    global steps
    steps = Steps(out)

    gp_runs = []
    for seed_program, seed in GP_RUNS:
        run_dir = out / "runs" / f"gp-{seed_program}-s{seed}"
        gp_runs.append(run_dir)
        if not (run_dir / "store.sqlite").exists():
            elm("run", "--domain", "sodarace", "--mutator", "gp", "--seed-program", seed_program,
                "--evals", str(args.gp_evals), "--workers", str(args.workers), "--seed", str(seed),
                "--out", str(run_dir), "--quiet")
    data = out / "data" / "round0"
    if not data.exists():
        elm("dataset", "diffs", *map(str, gp_runs), "--filter", "valid", "--context", "1", "--out", str(data))
    if args.init is None:
        # round 0 from scratch, in two steps: first the programs and the diffs (loss on all
        # tokens: the model has never read code), then the diffs alone
        read = out / "models" / "round0-read"
        train(read, "--data", str(data), "--size", args.size, "--epochs", str(args.epochs), "--lr", "2e-3",
              "--loss", "all")
    else:
        read = Path(args.init)  # a model that has read code already: only the diffs
    model = out / "models" / "round0"
    train(model, "--data", str(data), "--init", str(read), "--steps", str(args.diff_steps), "--lr", "1e-3")

    reference = out / "runs" / "gp-square-reference"
    if not (reference / "store.sqlite").exists():
        elm("run", "--domain", "sodarace", "--mutator", "gp", "--seed-program", "square", "--evals",
            str(args.round_evals), "--workers", str(args.workers), "--seed", "100", "--out", str(reference),
            "--quiet")
    rows = [{"round": "GP", "model": "-", **run_figures(reference)}]
    for k in range(args.rounds + 1):
        run_dir = out / "runs" / f"diff-round{k}"
        if not (run_dir / "store.sqlite").exists():
            elm("run", "--domain", "sodarace", "--mutator", "diff", "--model", str(model), "--seed-program",
                "square", "--evals", str(args.round_evals), "--workers", str(args.workers), "--seed", "100",
                "--out", str(run_dir), "--quiet")
        rows.append({"round": k, "model": str(model), **run_figures(run_dir)})
        if k == args.rounds:
            break
        data = out / "data" / f"round{k + 1}"
        if not data.exists():
            elm("dataset", "diffs", str(run_dir), "--filter", "valid", "--context", "1", "--out", str(data))
        tuned = out / "models" / f"round{k + 1}"
        train(tuned, "--data", str(data), "--init", str(model), "--steps", str(args.finetune_steps), "--lr",
              str(args.finetune_lr))
        model = tuned

    header = "| round | evals | edit applied % | runnable % | valid % | niches | QD score | best |"
    lines = [header, "|" + "---|" * 8]
    for r in rows:
        best = "-" if r["max_fitness"] is None else f"{r['max_fitness']:.1f}"
        lines.append(f"| {r['round']} | {r['evals']} | {r['applied_pct']} | {r['runnable_pct']} | {r['valid_pct']} "
                     f"| {r['niches']} | {r['qd_score']} | {best} |")
    table = "\n".join(lines)
    steps.write_figures(table, {"rows": rows})
    if args.ship is not None:
        shutil.copytree(model, args.ship, dirs_exist_ok=True, ignore=shutil.ignore_patterns("checkpoint*"))
        print(f"shipped {model} to {args.ship}")


if __name__ == "__main__":
    main()
