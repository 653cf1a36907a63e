"""Stage 2 from nothing: language models that invent Sodarace walkers, trained on the elites
of elm's own runs, measured against the dataset they learnt from (the ELM paper's Figure 13
and its generalisation test).

    python examples/stage2/stage2.py --out out/stage2

1. Stage 1: GP runs on Sodarace from Square, CPPN-Fixed and CPPN-Mutable (two seeds each).
2. `elm dataset programs` at each threshold (the paper's 50 % and 80 %).
3. `elm train` a model of each size on each dataset, from scratch (0.1m and 1m by default;
   `--sizes 0.1m,1m,3m` adds a larger one at about 13 more minutes per threshold); with
   `--init MODEL` also MODEL fine-tuned on each dataset (a model pretrained on Python,
   examples/pretrain, labelled "init").
4. `elm sample` 1,024 programs from each model, and 1,024 drawn from each dataset, each set
   into a fresh map: % runnable, % valid, niches filled, QD score.
5. `elm sample --complete`: the first half of held-out programs and of the out-of-distribution
   walkers wheel, galloper and runner, completed 32 times by each model; the best
   completion's fitness as a % of the original's.

Every step is an ordinary elm command, skipped when its output exists, so the script can be
stopped and started again. Tables go to stdout and to figures.md / figures.json in --out;
every command's duration to timings.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from steps import Steps  # noqa: E402  (examples/steps.py)

STAGE1 = (("square", 0), ("square", 1), ("cppn-fixed", 0), ("cppn-fixed", 1), ("cppn-mutable", 0),
          ("cppn-mutable", 1))  # (seed program, seed)
OUT_OF_DISTRIBUTION = ("wheel", "galloper", "runner")
steps: Steps  # set by main()


def elm(*args: str) -> None:
    steps.elm(*args)


def sample_figures(run_dir: Path) -> dict:
    """What became of a sampling run's programs, its map, and the sampling speed."""
    db = sqlite3.connect(f"file:{run_dir / 'store.sqlite'}?mode=ro", uri=True)
    try:
        counts = dict(db.execute("SELECT outcome, COUNT(*) FROM candidates GROUP BY outcome").fetchall())
        total = sum(counts.values())
        stats = json.loads(db.execute("SELECT stats FROM batches ORDER BY batch DESC LIMIT 1").fetchone()[0])
        generate = db.execute("SELECT SUM(generate_seconds) FROM batches").fetchone()[0] or 0.0
    finally:
        db.close()

    def pct(*outcomes: str) -> float:
        return round(100.0 * sum(counts.get(o, 0) for o in outcomes) / max(total, 1), 1)

    return {"samples": total, "parsed_pct": pct("not_runnable", "invalid", "valid"),
            "runnable_pct": pct("invalid", "valid"), "valid_pct": pct("valid"), "niches": stats["filled"],
            "qd_score": round(stats["qd_score"], 1), "max_fitness": stats["max_fitness"],
            "programs_per_s": round(total / generate, 1) if generate > 0 else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/stage2"))
    parser.add_argument("--stage1-evals", type=int, default=10000, help="evaluations of each Stage-1 GP run")
    parser.add_argument("--thresholds", default="0.5,0.8")
    parser.add_argument("--sizes", default="0.1m,1m", help="model sizes (elm train --size), e.g. 0.1m,1m,3m")
    parser.add_argument("--steps", default="0.1m=600,1m=500,3m=400,10m=300",
                        help="training steps per size (the paper kept the checkpoint of lowest training loss "
                             "for these figures: many passes over a small dataset are what it asks for)")
    parser.add_argument("--init", default=None,
                        help="also fine-tune this model (e.g. a pretrained one: examples/pretrain) on each dataset, "
                             "beside the models trained from scratch")
    parser.add_argument("--init-steps", type=int, default=500, help="training steps of the --init model")
    parser.add_argument("--samples", type=int, default=1024, help="programs per model and per dataset")
    parser.add_argument("--completions", type=int, default=32, help="completions per half program")
    parser.add_argument("--held-out", type=int, default=4, help="held-out programs to complete")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    global steps
    steps = Steps(out)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    sizes = args.sizes.split(",")
    train_steps = dict(item.split("=") for item in args.steps.split(","))

    runs = []
    for seed_program, seed in STAGE1:
        run_dir = out / "runs" / f"gp-{seed_program}-s{seed}"
        runs.append(run_dir)
        if not (run_dir / "store.sqlite").exists():
            elm("run", "--domain", "sodarace", "--mutator", "gp", "--seed-program", seed_program, "--evals",
                str(args.stage1_evals), "--workers", str(args.workers), "--seed", str(seed), "--out", str(run_dir),
                "--quiet")

    samples, completions, datasets = [], [], {}
    for threshold in thresholds:
        tag = f"t{round(threshold * 100)}"
        data = out / "data" / tag
        if not data.exists():
            elm("dataset", "programs", *map(str, runs), "--threshold", str(threshold), "--exclude-seed", "radial",
                "--out", str(data))
        datasets[tag] = json.loads((data / "elm_dataset.json").read_text())["rows"]
        sources = [("dataset", None)] + [(size, out / "models" / f"{tag}-{size}") for size in sizes]
        if args.init is not None:
            sources.append(("init", out / "models" / f"{tag}-init"))
        for label, model in sources:
            if model is not None and label == "init":
                steps.train(model, "--data", str(data), "--init", args.init, "--steps", str(args.init_steps),
                            "--lr", "1e-3")
            elif model is not None:
                steps.train(model, "--data", str(data), "--size", label, "--steps", train_steps.get(label, "400"))
            run_dir = out / "samples" / f"{tag}-{label}"
            if not (run_dir / "store.sqlite").exists():
                source = ["--from-dataset", str(data)] if model is None else [str(model)]
                elm("sample", *source, "--n", str(args.samples), "--workers", str(args.workers), "--out",
                    str(run_dir), "--quiet")
            row = {"threshold": threshold, "source": label, **sample_figures(run_dir)}
            if model is not None:
                recipe = json.loads((model / "training.json").read_text())
                row.update(parameters=recipe["model"]["parameters"], train_tokens_per_s=recipe["tokens_per_s"],
                           train_seconds=recipe["train_seconds"], train_loss=recipe["final_train_loss"],
                           held_out_loss=recipe["final_eval_loss"])
                report = out / "completions" / f"{tag}-{label}.json"
                if not report.exists():
                    report.parent.mkdir(parents=True, exist_ok=True)
                    elm("sample", str(model), "--complete", str(data), "--complete", ",".join(OUT_OF_DISTRIBUTION),
                        "--tasks", str(args.held_out), "--n", str(args.completions), "--workers", str(args.workers),
                        "--report", str(report), "--quiet")
                completions.append({"threshold": threshold, "model": label,
                                    "rows": json.loads(report.read_text())["rows"]})
            samples.append(row)

    lines = ["| threshold | samples from | params | runnable % | valid % | niches | QD score | best | programs/s |",
             "|" + "---|" * 9]
    for r in samples:
        best = "-" if r["max_fitness"] is None else f"{r['max_fitness']:.0f}"
        lines.append(f"| {r['threshold']:.0%} | {r['source']} | {r.get('parameters', '-')} | {r['runnable_pct']} | "
                     f"{r['valid_pct']} | {r['niches']} | {r['qd_score']:.0f} | {best} | "
                     f"{(r['programs_per_s'] if r['source'] != 'dataset' else None) or '-'} |")
    lines += ["", "| threshold | model | held-out (mean best %) | " + " | ".join(OUT_OF_DISTRIBUTION) + " |",
              "|" + "---|" * (3 + len(OUT_OF_DISTRIBUTION))]
    for c in completions:
        held = [r["best_percent"] or 0.0 for r in c["rows"] if r["program"].startswith("held-out")]
        named = {r["program"]: r["best_percent"] for r in c["rows"]}
        cells = [f"{named.get(n) or 0.0:.1f}" for n in OUT_OF_DISTRIBUTION]  # no valid completion: 0 %
        lines.append(f"| {c['threshold']:.0%} | {c['model']} | {sum(held) / max(len(held), 1):.1f} | "
                     + " | ".join(cells) + " |")
    table = "\n".join(lines)
    steps.write_figures(table, {"samples": samples, "completions": completions, "datasets": datasets})


if __name__ == "__main__":
    main()
