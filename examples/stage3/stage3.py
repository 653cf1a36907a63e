"""Stage 3 from the Stage-2 model: PPO turns the model that invents walkers into one that
writes the right walker for the terrain it is shown (the ELM paper's section 7 and its
Figures 18-19).

    python examples/stage3/stage3.py --stage2 out/stage2 --out out/stage3

It starts from what `examples/stage2/stage2.py` made: the 1m model trained on the 50 %
dataset (`--model` picks another) and that dataset (for the table's first column).

1. `elm learn --learner ppo --ten discrete`, then `--ten vision`, on LEFT-WALL, RIGHT-WALL
   and TUNNEL (the paper's first set), `--samples` programs per iteration for
   `--iterations` iterations.
2. `elm evaluate-learner` on both runs: for each terrain, the best and mean fitness of
   `--n` programs drawn from the dataset, written by the Stage-2 model and by each learnt
   policy, with the mean signed displacement of the valid walkers (which way they walk).
3. `elm render --best --terrain T` of each run: the best walker each policy wrote for
   each terrain, as GIFs.

Every step is an ordinary elm command, skipped when its output exists; a killed learning
run is continued with `elm resume`. Tables go to stdout and to figures.md / figures.json in
--out; every command's duration to timings.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from steps import Steps  # noqa: E402  (examples/steps.py)

steps: Steps  # set by main()


def elm(*args: str) -> None:
    steps.elm(*args)


def iterations_done(run_dir: Path) -> int:
    if not (run_dir / "store.sqlite").exists():
        return 0
    db = sqlite3.connect(f"file:{run_dir / 'store.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
    finally:
        db.close()


def learning_figures(run_dir: Path) -> dict:
    """Time per iteration (median of sampling, evaluation and update) and the learning curve:
    per condition, the mean reward and % valid of each iteration."""
    db = sqlite3.connect(f"file:{run_dir / 'store.sqlite'}?mode=ro", uri=True)
    try:
        stats = [json.loads(row[0]) for row in db.execute("SELECT stats FROM batches ORDER BY batch")]
    finally:
        db.close()
    seconds = {part: round(statistics.median(s["seconds"][part] for s in stats), 2)
               for part in ("sample", "evaluate", "update")}
    curve = {condition: [(round(s["conditions"][condition]["reward_mean"], 3),
                          round(s["conditions"][condition]["valid_pct"], 1))
                         for s in stats if condition in s["conditions"]]
             for condition in stats[0]["conditions"]}
    return {"iterations": len(stats), "median_seconds": seconds,
            "total_seconds": round(sum(sum(s["seconds"].values()) for s in stats)),
            "kl_last": stats[-1].get("kl"), "valid_pct_first": stats[0]["valid_pct"],
            "valid_pct_last": stats[-1]["valid_pct"], "curve": curve}


def direction_curve(run_dir: Path, block: int = 10) -> dict[str, list[list[float]]]:
    """Which way the valid walkers went, per condition and block of ``block`` iterations:
    [first iteration, mean signed displacement, % walking left (< -2), % walking right (> 2)]."""
    db = sqlite3.connect(f"file:{run_dir / 'store.sqlite'}?mode=ro", uri=True)
    groups: dict[tuple[str, int], list[float]] = {}
    try:
        for batch, extras in db.execute("SELECT batch, extras FROM candidates WHERE outcome = 'valid'"):
            extra = json.loads(extras)
            groups.setdefault((extra["condition"], batch // block), []).append(float(extra["displacement"]))
    finally:
        db.close()
    curve: dict[str, list[list[float]]] = {}
    for (condition, k), values in sorted(groups.items()):
        curve.setdefault(condition, []).append([
            k * block, round(statistics.fmean(values), 1), round(100 * sum(v < -2 for v in values) / len(values)),
            round(100 * sum(v > 2 for v in values) / len(values))])
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage2", type=Path, default=Path("out/stage2"), help="--out of examples/stage2")
    parser.add_argument("--model", default="t50-1m", help="Stage-2 model, under STAGE2/models")
    parser.add_argument("--dataset", default="t50", help="Stage-2 dataset, under STAGE2/data")
    parser.add_argument("--out", type=Path, default=Path("out/stage3"))
    parser.add_argument("--terrains", default="left-wall,right-wall,tunnel")
    parser.add_argument("--tens", default="discrete,vision", help="terrain embedding networks to learn with")
    parser.add_argument("--samples", type=int, default=192, help="programs per PPO iteration (the paper: 1,024)")
    parser.add_argument("--iterations", type=int, default=60, help="PPO iterations (the paper: 100)")
    parser.add_argument("--n", type=int, default=256, help="programs per terrain and source in the table")
    parser.add_argument("--workers", type=int, default=1, help="evaluation processes per terrain")
    parser.add_argument("--device", default="auto", help="where the language models run: auto, cpu, cuda")
    parser.add_argument("--gifs", action=argparse.BooleanOptionalAction, default=True,
                        help="render each run's best walker per terrain")
    args = parser.parse_args()
    model = args.stage2 / "models" / args.model
    dataset = args.stage2 / "data" / args.dataset
    for path, what in ((model / "training.json", "the Stage-2 model"), (dataset / "elm_dataset.json", "the dataset")):
        if not path.exists():
            sys.exit(f"stage3.py: {path} is missing: {what} comes from "
                     f"`python examples/stage2/stage2.py --out {args.stage2}`")
    out: Path = args.out
    global steps
    steps = Steps(out)
    tens = [t for t in args.tens.split(",") if t]
    terrains = [t for t in args.terrains.split(",") if t]

    runs = {}
    for ten in tens:
        run_dir = out / "runs" / ten
        runs[ten] = run_dir
        done = iterations_done(run_dir)
        if done == 0:
            elm("learn", "--learner", "ppo", "--model", str(model), "--terrains", ",".join(terrains), "--ten", ten,
                "--samples", str(args.samples), "--iterations", str(args.iterations), "--workers",
                str(args.workers), "--set", f"learner.device={args.device}", "--out", str(run_dir), "--quiet")
        elif done < args.iterations:
            elm("resume", str(run_dir), "--iterations", str(args.iterations), "--quiet")

    report = out / "table.json"
    if not report.exists():
        elm("evaluate-learner", *map(str, runs.values()), "--n", str(args.n), "--dataset", str(dataset),
            "--extra", "displacement", "--workers", str(args.workers), "--report", str(report))
    table = json.loads(report.read_text())

    gifs = {}
    if args.gifs:
        for ten, run_dir in runs.items():
            for terrain in terrains:
                gif = out / "gifs" / f"{ten}-{terrain}.gif"
                if not gif.exists():
                    gif.parent.mkdir(parents=True, exist_ok=True)
                    elm("render", str(run_dir), "--best", "--terrain", terrain, "--out", str(gif), "--width", "320",
                        "--height", "180", "--fps", "10")
                gifs[f"{ten}/{terrain}"] = str(gif.relative_to(out))

    learning = {ten: {**learning_figures(run_dir), "direction": direction_curve(run_dir)}
                for ten, run_dir in runs.items()}
    sources = table["sources"]
    lines = ["| terrain | " + " | ".join(f"{s} best / mean (valid %, mean Δx)" for s in sources) + " |",
             "|---|" + "---|" * len(sources)]
    for terrain, row in table["terrains"].items():
        cells = [f"{row[s]['best']:.0f} / {row[s]['mean']:.1f} ({row[s]['valid_pct']:.0f} %, "
                 f"{row[s]['extra_mean']:+.1f})" if row[s].get("extra_mean") is not None else
                 f"{row[s]['best']:.0f} / {row[s]['mean']:.1f} ({row[s]['valid_pct']:.0f} %, -)" for s in sources]
        lines.append(f"| {terrain} | " + " | ".join(cells) + " |")
    lines += ["", "Which way the valid walkers went: mean signed displacement (% left / % right), "
              "per block of 10 iterations", ""]
    for ten, fig in learning.items():
        blocks = next(iter(fig["direction"].values()))
        lines += [f"| {ten} | " + " | ".join(f"it. {b[0]}-{b[0] + 9}" for b in blocks) + " |",
                  "|---|" + "---|" * len(blocks)]
        for condition, rows in fig["direction"].items():
            lines.append(f"| {condition} | " + " | ".join(f"{r[1]:+.1f} ({r[2]}/{r[3]})" for r in rows) + " |")
        lines.append("")
    lines += ["| run | iterations | sampling s | evaluation s | update s | valid % first → last | KL |",
              "|---|---|---|---|---|---|---|"]
    for ten, fig in learning.items():
        sec = fig["median_seconds"]
        lines.append(f"| {ten} | {fig['iterations']} | {sec['sample']} | {sec['evaluate']} | {sec['update']} | "
                     f"{fig['valid_pct_first']:.0f} → {fig['valid_pct_last']:.0f} | {fig['kl_last']:.2f} |")
    text = "\n".join(lines)
    steps.write_figures(text, {"table": table, "learning": learning, "gifs": gifs, "samples": args.samples,
                               "iterations": args.iterations})


if __name__ == "__main__":
    main()
